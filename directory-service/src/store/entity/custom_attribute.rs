use sea_orm::entity::prelude::*;

/// A custom attribute a workspace declared for its users.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_attributes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    /// Lowercased schema URN: declarations are unique case-insensitively.
    #[sea_orm(primary_key, auto_increment = false)]
    pub schema_key: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub name_key: String,
    pub schema: String,
    pub name: String,
    /// `AttributeKind::as_str`.
    pub kind: String,
    pub multi_valued: bool,
    pub case_exact: bool,
    pub description: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

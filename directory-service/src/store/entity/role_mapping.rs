use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "role_mappings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: Uuid,
    /// `domain::roles::MappingSource::as_str`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source: String,
    /// The IdP role value or group name, exactly as it must match.
    #[sea_orm(primary_key, auto_increment = false)]
    pub source_value: String,
    pub role: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

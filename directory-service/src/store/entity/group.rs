use sea_orm::entity::prelude::*;

/// A SCIM group. Members are rows of `group_members`, never a column here.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "groups")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub display_name: String,
    /// `domain::groups::display_name_key(display_name)`: unique per workspace.
    pub display_name_key: String,
    pub external_id: Option<String>,
    /// `domain::roles::GroupRole::as_str`.
    pub role: String,
    /// Set when the group is a subscription's license group.
    pub license_subscription: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub extensions: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

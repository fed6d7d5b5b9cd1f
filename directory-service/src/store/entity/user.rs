use sea_orm::entity::prelude::*;

/// One SCIM user. `profile` is the whole domain profile as JSON (the source of truth);
/// the other attribute columns are indexed projections of it, written together with it.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub user_name: String,
    /// `domain::users::user_name_key(user_name)`: unique per workspace.
    pub user_name_key: String,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    /// Lowercased displayName (in Rust): the indexed, case-insensitive filter key.
    pub display_name_key: Option<String>,
    pub given_name: Option<String>,
    /// `domain::case_key(given_name)`: the indexed, case-insensitive filter key.
    pub given_name_key: Option<String>,
    pub family_name: Option<String>,
    /// `domain::case_key(family_name)`.
    pub family_name_key: Option<String>,
    /// `{schema URN: {attribute: case_key(value)}}` for every string value of an extension
    /// schema: what case-insensitive custom attributes are filtered on.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub custom_keys: Option<Json>,
    pub active: bool,
    /// `UserProfile::primary_role_value`, for role mappings.
    pub idp_role: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub profile: Json,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub version: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

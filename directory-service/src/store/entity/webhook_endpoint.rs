use sea_orm::entity::prelude::*;

/// A webhook endpoint and its delivery state (migration m0010).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub url: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub event_types: Json,
    pub enabled: bool,
    pub secret: String,
    pub created_at: DateTimeUtc,
    pub cursor: i64,
    pub attempts: i32,
    pub failing_since: Option<DateTimeUtc>,
    pub next_attempt_at: DateTimeUtc,
    pub failed: bool,
    pub last_error: Option<String>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// One SCIM request as the gateway served it (migration m0012).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "request_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub received_at: DateTimeUtc,
    pub method: String,
    #[sea_orm(column_type = "Text")]
    pub path: String,
    #[sea_orm(column_type = "Text")]
    pub query: String,
    pub status: i32,
    pub scim_type: String,
    pub latency_micros: i64,
    pub token_id: String,
    pub trace_id: String,
    pub request_id: String,
    #[sea_orm(column_type = "Text")]
    pub request_body: String,
    #[sea_orm(column_type = "Text")]
    pub response_body: String,
    pub request_body_truncated: bool,
    pub response_body_truncated: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

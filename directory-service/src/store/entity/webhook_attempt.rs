use sea_orm::entity::prelude::*;

/// One delivery attempt of one event to one endpoint (migration m0010).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub endpoint_id: Uuid,
    pub event_id: Uuid,
    pub sequence: i64,
    pub event_type: String,
    pub attempt: i32,
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub attempted_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

use sea_orm::entity::prelude::*;

/// One recorded change (the outbox row). See migration m0010 for the sequence rule.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub sequence: i64,
    pub event_type: String,
    pub resource_type: String,
    pub resource_id: String,
    pub actor_kind: String,
    pub actor_id: String,
    pub actor_name: String,
    pub occurred_at: DateTimeUtc,
    #[sea_orm(column_type = "JsonBinary")]
    pub data: Json,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub changes: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

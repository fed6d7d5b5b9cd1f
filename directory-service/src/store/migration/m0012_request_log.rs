//! The request log (`request_log`): one row per authenticated SCIM request the gateway
//! served — method, path, query, status, `scim_type`, latency, the token id, trace and
//! request ids, and the request and response bodies (capped and redacted by the gateway).
//! Kept for the retention period and pruned in bounded batches by `received_at`; a
//! deleted workspace's rows cascade away with it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("request_log")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(timestamp_with_time_zone("received_at"))
                    .col(string("method"))
                    .col(text("path"))
                    .col(text("query"))
                    .col(integer("status"))
                    .col(string("scim_type"))
                    .col(big_integer("latency_micros"))
                    .col(string("token_id"))
                    .col(string("trace_id"))
                    .col(string("request_id"))
                    .col(text("request_body"))
                    .col(text("response_body"))
                    .col(boolean("request_body_truncated"))
                    .col(boolean("response_body_truncated"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_request_log_workspace")
                            .from("request_log", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Listing: a workspace's newest first (ids are UUID v7, time-ordered).
        manager
            .create_index(
                Index::create()
                    .name("ix_request_log_workspace_id")
                    .table("request_log")
                    .col("workspace_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;
        // Pruning by age.
        manager
            .create_index(
                Index::create()
                    .name("ix_request_log_received_at")
                    .table("request_log")
                    .col("received_at")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("request_log").to_owned())
            .await
    }
}

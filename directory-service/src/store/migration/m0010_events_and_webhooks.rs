//! The outbox and webhooks.
//!
//! - `events`: one row per change, written in the change's transaction. `sequence` is
//!   per workspace, strictly increasing and gap-free in commit order: it is taken from
//!   `event_sequences` (one counter row per workspace) as the transaction's last write, so
//!   the row lock orders the commits. `data` is the payload, `changes` the audit diff.
//! - `webhook_endpoints`: URL, event types (JSON array, empty = all), enabled flag, the
//!   signing secret, and the delivery state: `cursor` (last sequence done), consecutive
//!   `attempts`, `failing_since`, `next_attempt_at`, `failed`, and a lease (`lease_owner`,
//!   `lease_until`) so that one replica delivers an endpoint at a time.
//! - `webhook_attempts`: every delivery attempt (status, latency, error).

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
                    .table("event_sequences")
                    .col(pk_uuid("workspace_id"))
                    .col(big_integer("last_sequence"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_event_sequences_workspace")
                            .from("event_sequences", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("events")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(big_integer("sequence"))
                    .col(string("event_type"))
                    .col(string("resource_type"))
                    .col(string("resource_id"))
                    .col(string("actor_kind"))
                    .col(string("actor_id"))
                    .col(string("actor_name"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(json_binary("data"))
                    .col(json_binary_null("changes"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_events_workspace")
                            .from("events", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_events_workspace_sequence")
                    .table("events")
                    .col("workspace_id")
                    .col("sequence")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_events_occurred_at")
                    .table("events")
                    .col("occurred_at")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_endpoints")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string("url"))
                    .col(json_binary("event_types"))
                    .col(boolean("enabled"))
                    .col(string("secret"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(big_integer("cursor"))
                    .col(integer("attempts"))
                    .col(timestamp_with_time_zone_null("failing_since"))
                    .col(timestamp_with_time_zone("next_attempt_at"))
                    .col(boolean("failed"))
                    .col(string_null("last_error"))
                    .col(string_null("lease_owner"))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_endpoints_workspace")
                            .from("webhook_endpoints", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("webhook_attempts")
                    .col(pk_uuid("id"))
                    .col(uuid("endpoint_id"))
                    .col(uuid("event_id"))
                    .col(big_integer("sequence"))
                    .col(string("event_type"))
                    .col(integer("attempt"))
                    .col(integer_null("status"))
                    .col(big_integer("latency_ms"))
                    .col(string_null("error"))
                    .col(timestamp_with_time_zone("attempted_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_webhook_attempts_endpoint")
                            .from("webhook_attempts", "endpoint_id")
                            .to("webhook_endpoints", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_webhook_attempts_endpoint")
                    .table("webhook_attempts")
                    .col("endpoint_id")
                    .col("id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "webhook_attempts",
            "webhook_endpoints",
            "events",
            "event_sequences",
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

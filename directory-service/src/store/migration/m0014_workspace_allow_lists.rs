//! Per-workspace IP allow-lists (issue #20): one row per workspace that has one;
//! `allowed_cidrs` is the comma-separated CIDR list (as `scim_tokens.allowed_cidrs`).

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
                    .table("workspace_allow_lists")
                    .col(uuid("workspace_id").primary_key())
                    .col(text("allowed_cidrs"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workspace_allow_lists_workspace")
                            .from("workspace_allow_lists", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("workspace_allow_lists").to_owned())
            .await
    }
}

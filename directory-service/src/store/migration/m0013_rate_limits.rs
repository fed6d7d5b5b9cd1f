//! Rate limits per workspace and per token (issue #18). `token_id` is the nil UUID for the
//! workspace's own limit (a primary key column cannot be NULL on both backends).

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
                    .table("rate_limits")
                    .col(uuid("workspace_id"))
                    .col(uuid("token_id"))
                    .col(integer("per_second"))
                    .col(integer("burst"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("workspace_id").col("token_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_rate_limits_workspace")
                            .from("rate_limits", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("rate_limits").to_owned())
            .await
    }
}

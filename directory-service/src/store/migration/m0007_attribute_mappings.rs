//! Attribute mappings per workspace.

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
                    .table("attribute_mappings")
                    .col(uuid("workspace_id"))
                    .col(string("destination"))
                    .col(string("source"))
                    .col(text_null("template"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("workspace_id").col("destination"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_attribute_mappings_workspace")
                            .from("attribute_mappings", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("attribute_mappings").to_owned())
            .await
    }
}

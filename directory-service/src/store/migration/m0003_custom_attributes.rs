//! Custom attribute declarations per workspace.

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
                    .table("custom_attributes")
                    .col(uuid("workspace_id"))
                    .col(string("schema_key"))
                    .col(string("name_key"))
                    .col(string("schema"))
                    .col(string("name"))
                    .col(string("kind"))
                    .col(boolean("multi_valued"))
                    .col(boolean("case_exact"))
                    .col(string("description"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(
                        Index::create()
                            .col("workspace_id")
                            .col("schema_key")
                            .col("name_key"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_custom_attributes_workspace")
                            .from("custom_attributes", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("custom_attributes").to_owned())
            .await
    }
}

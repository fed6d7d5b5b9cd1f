//! Role mappings (IdP role values and group names to workspace roles) and the user's
//! IdP role value as an indexed column.

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
                    .table("role_mappings")
                    .col(uuid("workspace_id"))
                    .col(string("source"))
                    .col(string("source_value"))
                    .col(string("role"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(
                        Index::create()
                            .col("workspace_id")
                            .col("source")
                            .col("source_value"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_role_mappings_workspace")
                            .from("role_mappings", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(string_null("idp_role"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_users_idp_role")
                    .table("users")
                    .col("workspace_id")
                    .col("idp_role")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_users_idp_role")
                    .table("users")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("idp_role")
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table("role_mappings").to_owned())
            .await
    }
}

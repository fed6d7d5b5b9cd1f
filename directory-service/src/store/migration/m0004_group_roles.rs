//! The workspace role a group grants (fixed at creation from its displayName).

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
            .alter_table(
                Table::alter()
                    .table("groups")
                    .add_column(string("role").default("none"))
                    .to_owned(),
            )
            .await?;
        // Role groups are looked up for every admin count.
        manager
            .create_index(
                Index::create()
                    .name("ix_groups_role")
                    .table("groups")
                    .col("workspace_id")
                    .col("role")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_groups_role")
                    .table("groups")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("groups")
                    .drop_column("role")
                    .to_owned(),
            )
            .await
    }
}

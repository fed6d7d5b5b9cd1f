//! A version on each workspace row, bumped by every write that changes its attribute
//! mappings or custom attribute declarations: directories cache both per workspace and
//! reuse them while the version they read with the workspace row is unchanged.

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
                    .table("workspaces")
                    .add_column(big_integer("config_version").default(0))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("workspaces")
                    .drop_column("config_version")
                    .to_owned(),
            )
            .await
    }
}

//! A maintained count of each workspace's users and groups, so that an unfiltered list
//! answers `totalResults` with one primary-key read instead of counting the workspace.
//! `ops::write::Write::commit` keeps it in step with the rows (one upsert per write that
//! created or deleted users or groups); the rows go with their workspace. Existing
//! workspaces, empty ones included, are counted here.

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
                    .table("workspace_counts")
                    .col(uuid("workspace_id").primary_key())
                    .col(big_integer("users").default(0))
                    .col(big_integer("groups").default(0))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_workspace_counts_workspace")
                            .from("workspace_counts", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                r#"INSERT INTO workspace_counts (workspace_id, "users", "groups")
                   SELECT w.id,
                          (SELECT count(*) FROM users u WHERE u.workspace_id = w.id),
                          (SELECT count(*) FROM "groups" g WHERE g.workspace_id = w.id)
                   FROM workspaces w"#,
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("workspace_counts").to_owned())
            .await
    }
}

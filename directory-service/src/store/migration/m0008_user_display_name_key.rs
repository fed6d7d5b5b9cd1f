//! An indexed, case-insensitive key for user displayName filters.

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
                    .table("users")
                    .add_column(string_null("display_name_key"))
                    .to_owned(),
            )
            .await?;
        // Rows written before this migration: SQL lower() (ASCII-only on SQLite); every
        // later write sets the key in Rust.
        manager
            .get_connection()
            .execute_unprepared("UPDATE users SET display_name_key = lower(display_name) WHERE display_name IS NOT NULL")
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_users_display_name_key")
                    .table("users")
                    .col("workspace_id")
                    .col("display_name_key")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_users_display_name_key")
                    .table("users")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .drop_column("display_name_key")
                    .to_owned(),
            )
            .await
    }
}

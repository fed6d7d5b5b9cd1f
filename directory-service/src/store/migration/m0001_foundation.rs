//! Workspaces, users and SCIM tokens.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    // SQLite migrations do not run in a transaction unless asked; a half-applied schema
    // would be worse than a failed start.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("workspaces")
                    .col(pk_uuid("id"))
                    .col(string_uniq("slug"))
                    .col(string("display_name"))
                    .col(timestamp_with_time_zone("created_at"))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string("user_name"))
                    .col(string("user_name_key"))
                    .col(string_null("external_id"))
                    .col(string_null("display_name"))
                    .col(string_null("given_name"))
                    .col(string_null("family_name"))
                    .col(boolean("active"))
                    .col(json_binary("profile"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(big_integer("version"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_users_workspace")
                            .from("users", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The key, not lower(user_name): SQLite's lower() is ASCII-only.
        manager
            .create_index(
                Index::create()
                    .name("ux_users_user_name_key")
                    .table("users")
                    .col("workspace_id")
                    .col("user_name_key")
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_users_external_id")
                    .table("users")
                    .col("workspace_id")
                    .col("external_id")
                    .to_owned(),
            )
            .await?;
        // Paging walks (workspace_id, id); ids are UUIDv7, so this is also creation order.
        manager
            .create_index(
                Index::create()
                    .name("ix_users_workspace_id")
                    .table("users")
                    .col("workspace_id")
                    .col("id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("scim_tokens")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string("name"))
                    .col(string_uniq("prefix"))
                    .col(string("secret_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_scim_tokens_workspace")
                            .from("scim_tokens", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scim_tokens_workspace")
                    .table("scim_tokens")
                    .col("workspace_id")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["scim_tokens", "users", "workspaces"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

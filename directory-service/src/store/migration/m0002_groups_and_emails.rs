//! Groups, memberships (their own table: changes cost O(members changed)) and the email
//! index for user lookups by address.

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
                    .table("groups")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string("display_name"))
                    .col(string("display_name_key"))
                    .col(string_null("external_id"))
                    .col(json_binary("extensions"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .col(big_integer("version"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_groups_workspace")
                            .from("groups", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        for (name, columns, unique) in [
            (
                "ux_groups_display_name_key",
                &["workspace_id", "display_name_key"][..],
                true,
            ),
            (
                "ix_groups_external_id",
                &["workspace_id", "external_id"][..],
                false,
            ),
            ("ix_groups_workspace_id", &["workspace_id", "id"][..], false),
        ] {
            let mut index = Index::create().name(name).table("groups").to_owned();
            for column in columns {
                index.col(*column);
            }
            if unique {
                index.unique();
            }
            manager.create_index(index).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("group_members")
                    .col(uuid("group_id"))
                    .col(uuid("user_id"))
                    .col(uuid("workspace_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("group_id").col("user_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_group_members_group")
                            .from("group_members", "group_id")
                            .to("groups", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_group_members_user")
                            .from("group_members", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // "Which groups is this user in" (user reads, deletes cascade).
        manager
            .create_index(
                Index::create()
                    .name("ix_group_members_user")
                    .table("group_members")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("user_emails")
                    .col(uuid("user_id"))
                    .col(integer("position"))
                    .col(uuid("workspace_id"))
                    .col(string("value_key"))
                    .col(string_null("type_key"))
                    .col(boolean("primary"))
                    .primary_key(Index::create().col("user_id").col("position"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_user_emails_user")
                            .from("user_emails", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_user_emails_value")
                    .table("user_emails")
                    .col("workspace_id")
                    .col("value_key")
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["user_emails", "group_members", "groups"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

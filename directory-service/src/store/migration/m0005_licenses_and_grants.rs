//! Subscriptions, license groups, and direct license and role grants.

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
                    .table("subscriptions")
                    .col(uuid("workspace_id"))
                    .col(string("subscription_id"))
                    .col(string("plan"))
                    .col(string("product"))
                    .col(big_integer("seats"))
                    .col(string("group_name"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("workspace_id").col("subscription_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_subscriptions_workspace")
                            .from("subscriptions", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("groups")
                    .add_column(string_null("license_subscription"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("license_grants")
                    .col(uuid("workspace_id"))
                    .col(string("subscription_id"))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(
                        Index::create()
                            .col("workspace_id")
                            .col("subscription_id")
                            .col("user_id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_license_grants_user")
                            .from("license_grants", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_license_grants_user")
                    .table("license_grants")
                    .col("user_id")
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("role_grants")
                    .col(pk_uuid("user_id"))
                    .col(uuid("workspace_id"))
                    .col(string("role"))
                    .col(timestamp_with_time_zone("created_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_role_grants_user")
                            .from("role_grants", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_role_grants_workspace_role")
                    .table("role_grants")
                    .col("workspace_id")
                    .col("role")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["role_grants", "license_grants", "subscriptions"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("groups")
                    .drop_column("license_subscription")
                    .to_owned(),
            )
            .await
    }
}

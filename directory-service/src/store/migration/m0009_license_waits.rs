//! Members waiting for a license seat (reactivated while the subscription was full).

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
                    .table("license_waits")
                    .col(uuid("workspace_id"))
                    .col(string("subscription_id"))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("since"))
                    .primary_key(
                        Index::create()
                            .col("workspace_id")
                            .col("subscription_id")
                            .col("user_id"),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_license_waits_user")
                            .from("license_waits", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_license_waits_subscription")
                            .from_tbl("license_waits")
                            .from_col("workspace_id")
                            .from_col("subscription_id")
                            .to_tbl("subscriptions")
                            .to_col("workspace_id")
                            .to_col("subscription_id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_license_waits_user")
                    .table("license_waits")
                    .col("user_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("license_waits").to_owned())
            .await
    }
}

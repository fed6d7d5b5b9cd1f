//! Service credentials: the callers of the directory's gRPC API.
//!
//! - `service_credentials`: one row per named credential: `role` (`gateway`, `reader`,
//!   `admin`), the public lookup `prefix` (unique), the hex SHA-256 of the whole secret,
//!   `created_at`, `last_used_at` (refreshed at most once a minute), `revoked_at`. The
//!   name is unique. The bootstrap credential (`DIRECTORY_CREDENTIAL`) has no row.

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
                    .table("service_credentials")
                    .col(pk_uuid("id"))
                    .col(string("name"))
                    .col(string("role"))
                    .col(string_uniq("prefix"))
                    .col(string("secret_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("last_used_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ux_service_credentials_credential_name")
                    .table("service_credentials")
                    .col("name")
                    .unique()
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table("service_credentials").to_owned())
            .await
    }
}

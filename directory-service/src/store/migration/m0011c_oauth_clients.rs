//! OAuth 2.0 clients (client credentials grant).
//!
//! - `oauth_clients`: per workspace; `client_id` is the public identifier (unique);
//!   `expires_at` bounds every access token it gets; `revoked_at`.
//! - `oauth_client_secrets`: one or more per client (rotation): public `prefix` (unique),
//!   SHA-256 `secret_hash`, `revoked_at`.
//! - `scim_tokens.oauth_client_id`: an access token is a SCIM token issued to a client
//!   (looked up like any other); revoking the client revokes them.

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
                    .table("oauth_clients")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string("name"))
                    .col(string_uniq("client_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("expires_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_clients_workspace")
                            .from("oauth_clients", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("oauth_client_secrets")
                    .col(pk_uuid("id"))
                    .col(uuid("client_id"))
                    .col(string_uniq("prefix"))
                    .col(string("secret_hash"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_oauth_client_secrets_client")
                            .from("oauth_client_secrets", "client_id")
                            .to("oauth_clients", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("scim_tokens")
                    .add_column(uuid_null("oauth_client_id"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("ix_scim_tokens_oauth_client")
                    .table("scim_tokens")
                    .col("oauth_client_id")
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("ix_scim_tokens_oauth_client")
                    .table("scim_tokens")
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("scim_tokens")
                    .drop_column("oauth_client_id")
                    .to_owned(),
            )
            .await?;
        for table in ["oauth_client_secrets", "oauth_clients"] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

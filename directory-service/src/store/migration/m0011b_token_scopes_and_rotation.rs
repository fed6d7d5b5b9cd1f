//! SCIM token scopes and rotation.
//!
//! - `scim_tokens.scope`: `full` (existing tokens), `read-only`, `users-only`,
//!   `groups-only` (`domain::tokens::TokenScope`).
//! - `scim_tokens.replaces` / `replaced_by`: a rotation links the successor and the old
//!   token both ways; the old token's `expires_at` becomes the end of the overlap.
//! - `scim_tokens.allowed_cidrs`: the token's IP allow-list, comma-separated CIDRs (NULL:
//!   any address).

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
        // One column per statement: SQLite alters one thing at a time.
        for column in [
            string("scope").default("full").to_owned(),
            uuid_null("replaces"),
            uuid_null("replaced_by"),
            text_null("allowed_cidrs"),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table("scim_tokens")
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["allowed_cidrs", "replaced_by", "replaces", "scope"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("scim_tokens")
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

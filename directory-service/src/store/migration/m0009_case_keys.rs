//! Case-insensitive keys computed in Rust for givenName, familyName and the string values
//! of extension schemas (case-insensitive custom attributes), replacing SQL `lower()`
//! (ASCII-only on SQLite). Existing rows get their keys here, in Rust, including the
//! displayName key that m0008 filled with SQL `lower()`.

use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use uuid::Uuid;

use crate::domain::case_key;
use crate::domain::users::UserProfile;
use crate::store::entity::user;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Rows read and rewritten per round of the backfill.
const BATCH: u64 = 1000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["given_name_key", "family_name_key"] {
            manager
                .alter_table(
                    Table::alter()
                        .table("users")
                        .add_column(string_null(column))
                        .to_owned(),
                )
                .await?;
        }
        manager
            .alter_table(
                Table::alter()
                    .table("users")
                    .add_column(json_binary_null("custom_keys"))
                    .to_owned(),
            )
            .await?;
        backfill(manager.get_connection()).await?;
        for (name, column) in [
            ("ix_users_given_name_key", "given_name_key"),
            ("ix_users_family_name_key", "family_name_key"),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table("users")
                        .col("workspace_id")
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["ix_users_given_name_key", "ix_users_family_name_key"] {
            manager
                .drop_index(Index::drop().name(name).table("users").to_owned())
                .await?;
        }
        for column in ["given_name_key", "family_name_key", "custom_keys"] {
            manager
                .alter_table(Table::alter().table("users").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}

/// Walks the users in id order, `BATCH` at a time, and writes their keys.
async fn backfill(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let mut after: Option<Uuid> = None;
    loop {
        let mut query = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .column(user::Column::Profile)
            .order_by_asc(user::Column::Id)
            .limit(BATCH);
        if let Some(after) = after {
            query = query.filter(user::Column::Id.gt(after));
        }
        let rows: Vec<(Uuid, serde_json::Value)> = query.into_tuple().all(db).await?;
        let Some((last, _)) = rows.last() else {
            return Ok(());
        };
        after = Some(*last);
        for (id, profile) in rows {
            // An unreadable profile keeps NULL keys: it fails loudly on its next read.
            let Ok(profile) = serde_json::from_value::<UserProfile>(profile) else {
                continue;
            };
            user::Entity::update_many()
                .col_expr(
                    user::Column::DisplayNameKey,
                    Expr::value(profile.display_name.as_deref().map(case_key)),
                )
                .col_expr(
                    user::Column::GivenNameKey,
                    Expr::value(profile.name.given_name.as_deref().map(case_key)),
                )
                .col_expr(
                    user::Column::FamilyNameKey,
                    Expr::value(profile.name.family_name.as_deref().map(case_key)),
                )
                .col_expr(
                    user::Column::CustomKeys,
                    Expr::value(crate::store::users::custom_keys(&profile)),
                )
                .filter(user::Column::Id.eq(id))
                .exec(db)
                .await?;
        }
    }
}

//! Rate limit settings (`rate_limits`; the nil token id is the workspace's own).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::entity::rate_limit;
use super::{WriteTx, db_error};
use crate::domain::DomainResult;
use crate::domain::rate_limits::RateLimit;

fn to_domain(row: rate_limit::Model) -> RateLimit {
    RateLimit {
        workspace_id: row.workspace_id,
        token_id: (!row.token_id.is_nil()).then_some(row.token_id),
        per_second: u32::try_from(row.per_second).unwrap_or(1),
        burst: u32::try_from(row.burst).unwrap_or(1),
    }
}

/// The workspace's settings, its own first.
pub async fn list(db: &impl ConnectionTrait, workspace_id: Uuid) -> DomainResult<Vec<RateLimit>> {
    let rows = rate_limit::Entity::find()
        .filter(rate_limit::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(rate_limit::Column::TokenId)
        .all(db)
        .await
        .map_err(db_error)?;
    let mut limits: Vec<RateLimit> = rows.into_iter().map(to_domain).collect();
    limits.sort_by_key(|limit| limit.token_id.is_some());
    Ok(limits)
}

/// The settings that may apply to `token_id`: its own and its workspace's.
pub async fn for_token(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    token_id: Uuid,
) -> DomainResult<Vec<RateLimit>> {
    let rows = rate_limit::Entity::find()
        .filter(rate_limit::Column::WorkspaceId.eq(workspace_id))
        .filter(rate_limit::Column::TokenId.is_in([token_id, Uuid::nil()]))
        .all(db)
        .await
        .map_err(db_error)?;
    Ok(rows.into_iter().map(to_domain).collect())
}

pub async fn upsert(tx: &WriteTx, limit: RateLimit, now: DateTime<Utc>) -> DomainResult<()> {
    let row = rate_limit::ActiveModel {
        workspace_id: Set(limit.workspace_id),
        token_id: Set(limit.token_id.unwrap_or_else(Uuid::nil)),
        per_second: Set(i32::try_from(limit.per_second).unwrap_or(i32::MAX)),
        burst: Set(i32::try_from(limit.burst).unwrap_or(i32::MAX)),
        updated_at: Set(now),
    };
    rate_limit::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([rate_limit::Column::WorkspaceId, rate_limit::Column::TokenId])
                .update_columns([
                    rate_limit::Column::PerSecond,
                    rate_limit::Column::Burst,
                    rate_limit::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Whether a setting was there.
pub async fn delete(
    tx: &WriteTx,
    workspace_id: Uuid,
    token_id: Option<Uuid>,
) -> DomainResult<bool> {
    let result = rate_limit::Entity::delete_many()
        .filter(rate_limit::Column::WorkspaceId.eq(workspace_id))
        .filter(rate_limit::Column::TokenId.eq(token_id.unwrap_or_else(Uuid::nil)))
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected > 0)
}

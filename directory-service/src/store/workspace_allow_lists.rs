//! Per-workspace IP allow-lists (`workspace_allow_lists`; no row: any address).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

use super::entity::workspace_allow_list;
use super::{WriteTx, db_error};
use crate::domain::DomainResult;

/// The stored list (comma-separated CIDRs), if the workspace has one.
pub async fn find(db: &impl ConnectionTrait, workspace_id: Uuid) -> DomainResult<Option<String>> {
    Ok(workspace_allow_list::Entity::find_by_id(workspace_id)
        .one(db)
        .await
        .map_err(db_error)?
        .map(|row| row.allowed_cidrs))
}

pub async fn upsert(
    tx: &WriteTx,
    workspace_id: Uuid,
    stored: String,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let row = workspace_allow_list::ActiveModel {
        workspace_id: Set(workspace_id),
        allowed_cidrs: Set(stored),
        updated_at: Set(now),
    };
    workspace_allow_list::Entity::insert(row)
        .on_conflict(
            OnConflict::column(workspace_allow_list::Column::WorkspaceId)
                .update_columns([
                    workspace_allow_list::Column::AllowedCidrs,
                    workspace_allow_list::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

pub async fn delete(tx: &WriteTx, workspace_id: Uuid) -> DomainResult<()> {
    workspace_allow_list::Entity::delete_many()
        .filter(workspace_allow_list::Column::WorkspaceId.eq(workspace_id))
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

//! The request log's rows: batch insert (idempotent on the id, so a gateway may resend a
//! batch), listing newest first with a cursor, one record by id, and pruning by age.
//!
//! These writes are bookkeeping outside the write step (like pruning events and a token's
//! `last_used_at`): no workspace rule reads the request log.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TryInsertResult,
};
use uuid::Uuid;

use super::db_error;
use super::entity::{request_log, workspace};
use crate::domain::DomainResult;

pub type RequestRecord = request_log::Model;

/// Rows per INSERT (16 columns: well under SQLite's and Postgres' bind limits).
const INSERT_CHUNK: usize = 500;

/// Inserts the records whose workspace exists (a workspace deleted meanwhile drops its
/// records instead of failing the batch) and returns how many were new.
pub async fn insert_many(db: &impl ConnectionTrait, rows: Vec<RequestRecord>) -> DomainResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut workspace_ids: Vec<Uuid> = rows.iter().map(|r| r.workspace_id).collect();
    workspace_ids.sort();
    workspace_ids.dedup();
    let known: Vec<Uuid> = workspace::Entity::find()
        .select_only()
        .column(workspace::Column::Id)
        .filter(workspace::Column::Id.is_in(workspace_ids))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let rows: Vec<RequestRecord> = rows
        .into_iter()
        .filter(|r| known.contains(&r.workspace_id))
        .collect();
    let mut inserted = 0;
    for chunk in rows.chunks(INSERT_CHUNK) {
        let models: Vec<request_log::ActiveModel> = chunk.iter().cloned().map(Into::into).collect();
        let done = request_log::Entity::insert_many(models)
            .on_conflict_do_nothing()
            .exec_without_returning(db)
            .await
            .map_err(db_error)?;
        if let TryInsertResult::Inserted(n) = done {
            inserted += n;
        }
    }
    Ok(inserted)
}

/// Narrows a listing.
#[derive(Clone, Debug, Default)]
pub struct RequestFilter {
    pub status: Option<i32>,
    pub since: Option<DateTime<Utc>>,
    /// Only records older than this one (the cursor: ids are UUID v7).
    pub before_id: Option<Uuid>,
}

/// A workspace's records, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: &RequestFilter,
    limit: u64,
) -> DomainResult<Vec<RequestRecord>> {
    let mut query =
        request_log::Entity::find().filter(request_log::Column::WorkspaceId.eq(workspace_id));
    if let Some(status) = filter.status {
        query = query.filter(request_log::Column::Status.eq(status));
    }
    if let Some(since) = filter.since {
        query = query.filter(request_log::Column::ReceivedAt.gte(since));
    }
    if let Some(before) = filter.before_id {
        query = query.filter(request_log::Column::Id.lt(before));
    }
    query
        .order_by_desc(request_log::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DomainResult<Option<RequestRecord>> {
    request_log::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(db_error)
}

/// Deletes up to `batch` records received before `before`; returns how many went.
pub async fn prune(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> DomainResult<u64> {
    let ids: Vec<Uuid> = request_log::Entity::find()
        .select_only()
        .column(request_log::Column::Id)
        .filter(request_log::Column::ReceivedAt.lt(before))
        .limit(batch)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let done = request_log::Entity::delete_many()
        .filter(request_log::Column::Id.is_in(ids))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected)
}

//! The request log's rows: batch insert (idempotent on the id, so a gateway may resend a
//! batch), listing newest first with a cursor, one record by id, and pruning by age.
//!
//! These writes are bookkeeping outside the write step (like pruning events and a token's
//! `last_used_at`): no workspace rule reads the request log.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    TryInsertResult,
};
use uuid::Uuid;

use super::entity::{request_log, workspace};
use super::{Db, db_error};
use crate::domain::DomainResult;

pub type RequestRecord = request_log::Model;

/// Rows per INSERT (16 columns: well under SQLite's and Postgres' bind limits).
const INSERT_CHUNK: usize = 500;

/// Inserts the records whose workspace exists (a workspace deleted meanwhile drops its
/// records instead of failing the batch) and returns how many were new.
pub async fn insert_many(db: &Db, rows: Vec<RequestRecord>) -> DomainResult<u64> {
    if rows.is_empty() {
        return Ok(0);
    }
    if db.get_database_backend() == DbBackend::Postgres {
        return insert_unnest(db.get_postgres_connection_pool(), rows).await;
    }
    let _turn = super::sqlite_writer_turn(db).await?;
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

/// [`RequestRecord`]s as one vector per column, for [`insert_unnest`].
struct Columns {
    id: Vec<Uuid>,
    workspace_id: Vec<Uuid>,
    received_at: Vec<DateTime<Utc>>,
    method: Vec<String>,
    path: Vec<String>,
    query: Vec<String>,
    status: Vec<i32>,
    scim_type: Vec<String>,
    latency_micros: Vec<i64>,
    token_id: Vec<String>,
    trace_id: Vec<String>,
    request_id: Vec<String>,
    request_body: Vec<String>,
    response_body: Vec<String>,
    request_body_truncated: Vec<bool>,
    response_body_truncated: Vec<bool>,
}

impl Columns {
    fn with_capacity(n: usize) -> Self {
        Columns {
            id: Vec::with_capacity(n),
            workspace_id: Vec::with_capacity(n),
            received_at: Vec::with_capacity(n),
            method: Vec::with_capacity(n),
            path: Vec::with_capacity(n),
            query: Vec::with_capacity(n),
            status: Vec::with_capacity(n),
            scim_type: Vec::with_capacity(n),
            latency_micros: Vec::with_capacity(n),
            token_id: Vec::with_capacity(n),
            trace_id: Vec::with_capacity(n),
            request_id: Vec::with_capacity(n),
            request_body: Vec::with_capacity(n),
            response_body: Vec::with_capacity(n),
            request_body_truncated: Vec::with_capacity(n),
            response_body_truncated: Vec::with_capacity(n),
        }
    }
}

/// The Postgres form of [`insert_many`]: one statement over one array per column, whatever
/// the batch size. Every SCIM request adds a row, so this is on the hot path: a 500-row
/// multi-VALUES INSERT built with sea-query cost the directory more CPU than the GET it
/// logged (`BENCHMARKS.md`, "Request log").
async fn insert_unnest(
    pool: &sea_orm::sqlx::PgPool,
    rows: Vec<RequestRecord>,
) -> DomainResult<u64> {
    const SQL: &str = "INSERT INTO request_log (id, workspace_id, received_at, method, path, \
         query, status, scim_type, latency_micros, token_id, trace_id, request_id, \
         request_body, response_body, request_body_truncated, response_body_truncated) \
         SELECT r.* FROM UNNEST($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], \
         $5::text[], $6::text[], $7::int4[], $8::text[], $9::int8[], $10::text[], \
         $11::text[], $12::text[], $13::text[], $14::text[], $15::bool[], $16::bool[]) \
         AS r(id, workspace_id, received_at, method, path, query, status, scim_type, \
         latency_micros, token_id, trace_id, request_id, request_body, response_body, \
         request_body_truncated, response_body_truncated) \
         WHERE EXISTS (SELECT 1 FROM workspaces w WHERE w.id = r.workspace_id) \
         ON CONFLICT (id) DO NOTHING";
    // One array per column, the rows moved into them (bodies are not copied).
    let n = rows.len();
    let mut c = Columns::with_capacity(n);
    for r in rows {
        c.id.push(r.id);
        c.workspace_id.push(r.workspace_id);
        c.received_at.push(r.received_at);
        c.method.push(r.method);
        c.path.push(r.path);
        c.query.push(r.query);
        c.status.push(r.status);
        c.scim_type.push(r.scim_type);
        c.latency_micros.push(r.latency_micros);
        c.token_id.push(r.token_id);
        c.trace_id.push(r.trace_id);
        c.request_id.push(r.request_id);
        c.request_body.push(r.request_body);
        c.response_body.push(r.response_body);
        c.request_body_truncated.push(r.request_body_truncated);
        c.response_body_truncated.push(r.response_body_truncated);
    }
    let done = sea_orm::sqlx::query(SQL)
        .bind(c.id)
        .bind(c.workspace_id)
        .bind(c.received_at)
        .bind(c.method)
        .bind(c.path)
        .bind(c.query)
        .bind(c.status)
        .bind(c.scim_type)
        .bind(c.latency_micros)
        .bind(c.token_id)
        .bind(c.trace_id)
        .bind(c.request_id)
        .bind(c.request_body)
        .bind(c.response_body)
        .bind(c.request_body_truncated)
        .bind(c.response_body_truncated)
        .execute(pool)
        .await
        .map_err(|e| {
            db_error(sea_orm::DbErr::Query(sea_orm::RuntimeErr::SqlxError(
                e.into(),
            )))
        })?;
    Ok(done.rows_affected())
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
    super::prune_before::<request_log::Entity>(
        db,
        request_log::Column::Id,
        request_log::Column::ReceivedAt,
        before,
        batch,
    )
    .await
}

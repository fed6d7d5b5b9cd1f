//! Webhook endpoints, their delivery state and lease, and the attempt log.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect,
};
use uuid::Uuid;

use super::entity::{webhook_attempt, webhook_endpoint};
use super::{WriteTx, db_error};
use crate::domain::{DomainError, DomainResult};

pub type Endpoint = webhook_endpoint::Model;
pub type Attempt = webhook_attempt::Model;

pub async fn insert(tx: &WriteTx, endpoint: Endpoint) -> DomainResult<Endpoint> {
    endpoint
        .into_active_model()
        .insert(tx.conn())
        .await
        .map_err(db_error)
}

pub async fn list(db: &impl ConnectionTrait, workspace_id: Uuid) -> DomainResult<Vec<Endpoint>> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(webhook_endpoint::Column::Id)
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<Endpoint> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("webhook {id} not found in this workspace")))
}

pub async fn delete(tx: &WriteTx, id: Uuid) -> DomainResult<()> {
    webhook_endpoint::Entity::delete_many()
        .filter(webhook_endpoint::Column::Id.eq(id))
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Sets the enabled flag; `resume` also clears a failed state and retries at once. Only
/// these columns are written: the cursor and the lease belong to the delivery worker.
pub async fn set_enabled(
    tx: &WriteTx,
    id: Uuid,
    enabled: bool,
    resume: bool,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let mut update = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::Enabled, Expr::value(enabled));
    if resume {
        update = update
            .col_expr(webhook_endpoint::Column::Failed, Expr::value(false))
            .col_expr(webhook_endpoint::Column::Attempts, Expr::value(0))
            .col_expr(
                webhook_endpoint::Column::FailingSince,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .col_expr(webhook_endpoint::Column::NextAttemptAt, Expr::value(now));
    }
    update
        .filter(webhook_endpoint::Column::Id.eq(id))
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Enabled, not failed endpoints whose next attempt is due and whose lease is free.
pub async fn due(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    limit: u64,
) -> DomainResult<Vec<Endpoint>> {
    webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Enabled.eq(true))
        .filter(webhook_endpoint::Column::Failed.eq(false))
        .filter(webhook_endpoint::Column::NextAttemptAt.lte(now))
        .filter(lease_free(now))
        .order_by_asc(webhook_endpoint::Column::NextAttemptAt)
        .limit(limit)
        .all(db)
        .await
        .map_err(db_error)
}

fn lease_free(now: DateTime<Utc>) -> Condition {
    Condition::any()
        .add(webhook_endpoint::Column::LeaseUntil.is_null())
        .add(webhook_endpoint::Column::LeaseUntil.lt(now))
}

/// Takes the endpoint's lease if it is free (or already ours). A conditional UPDATE: on
/// Postgres the second of two concurrent claims re-checks the condition after the first
/// committed and finds the lease taken, so one replica delivers an endpoint at a time.
pub async fn claim(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DomainResult<bool> {
    let done = webhook_endpoint::Entity::update_many()
        .col_expr(webhook_endpoint::Column::LeaseOwner, Expr::value(owner))
        .col_expr(webhook_endpoint::Column::LeaseUntil, Expr::value(until))
        .filter(webhook_endpoint::Column::Id.eq(id))
        .filter(lease_free(now).add(webhook_endpoint::Column::LeaseOwner.eq(owner)))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected == 1)
}

/// Re-reads the endpoint (state may have been changed by an admin) if we still hold it.
pub async fn find_leased(
    db: &impl ConnectionTrait,
    id: Uuid,
    owner: &str,
) -> DomainResult<Option<Endpoint>> {
    webhook_endpoint::Entity::find_by_id(id)
        .filter(webhook_endpoint::Column::LeaseOwner.eq(owner))
        .one(db)
        .await
        .map_err(db_error)
}

pub async fn insert_attempt(db: &impl ConnectionTrait, attempt: Attempt) -> DomainResult<()> {
    attempt
        .into_active_model()
        .insert(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub async fn attempts(
    db: &impl ConnectionTrait,
    endpoint_id: Uuid,
    limit: u64,
) -> DomainResult<Vec<Attempt>> {
    webhook_attempt::Entity::find()
        .filter(webhook_attempt::Column::EndpointId.eq(endpoint_id))
        .order_by_asc(webhook_attempt::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .map_err(db_error)
}

/// Sets the endpoint's columns from the delivery worker while it holds the lease.
pub async fn update_state(
    db: &impl ConnectionTrait,
    endpoint: &Endpoint,
    owner: &str,
) -> DomainResult<bool> {
    let done = webhook_endpoint::Entity::update_many()
        .col_expr(
            webhook_endpoint::Column::Cursor,
            Expr::value(endpoint.cursor),
        )
        .col_expr(
            webhook_endpoint::Column::Attempts,
            Expr::value(endpoint.attempts),
        )
        .col_expr(
            webhook_endpoint::Column::FailingSince,
            Expr::value(endpoint.failing_since),
        )
        .col_expr(
            webhook_endpoint::Column::NextAttemptAt,
            Expr::value(endpoint.next_attempt_at),
        )
        .col_expr(
            webhook_endpoint::Column::Failed,
            Expr::value(endpoint.failed),
        )
        .col_expr(
            webhook_endpoint::Column::LastError,
            Expr::value(endpoint.last_error.clone()),
        )
        .col_expr(
            webhook_endpoint::Column::LeaseUntil,
            Expr::value(endpoint.lease_until),
        )
        .filter(webhook_endpoint::Column::Id.eq(endpoint.id))
        .filter(webhook_endpoint::Column::LeaseOwner.eq(owner))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected == 1)
}

/// Deletes up to `batch` attempts older than `before`.
pub async fn prune_attempts(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> DomainResult<u64> {
    super::prune_before::<webhook_attempt::Entity>(
        db,
        webhook_attempt::Column::Id,
        webhook_attempt::Column::AttemptedAt,
        before,
        batch,
    )
    .await
}

pub fn new_endpoint(
    workspace_id: Uuid,
    url: &str,
    event_types: &[String],
    secret: &str,
    cursor: i64,
    now: DateTime<Utc>,
) -> Endpoint {
    Endpoint {
        id: Uuid::now_v7(),
        workspace_id,
        url: url.to_owned(),
        event_types: serde_json::json!(event_types),
        enabled: true,
        secret: secret.to_owned(),
        created_at: now,
        cursor,
        attempts: 0,
        failing_since: None,
        next_attempt_at: now,
        failed: false,
        last_error: None,
        lease_owner: None,
        lease_until: None,
    }
}

/// Webhook delivery at one moment, for the metrics: events committed but not yet passed by
/// active endpoints (summed, and the largest per endpoint), endpoints by state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backlog {
    pub pending_events: i64,
    pub largest_endpoint_backlog: i64,
    pub endpoints_active: i64,
    pub endpoints_failed: i64,
    pub endpoints_disabled: i64,
}

pub async fn backlog(db: &impl ConnectionTrait) -> DomainResult<Backlog> {
    use sea_orm::Statement;
    let sql = "SELECT \
        CAST(COALESCE(SUM(CASE WHEN e.enabled AND NOT e.failed \
            THEN COALESCE(s.last_sequence, 0) - e.cursor ELSE 0 END), 0) AS BIGINT) AS pending, \
        CAST(COALESCE(MAX(CASE WHEN e.enabled AND NOT e.failed \
            THEN COALESCE(s.last_sequence, 0) - e.cursor ELSE 0 END), 0) AS BIGINT) AS largest, \
        CAST(COALESCE(SUM(CASE WHEN e.enabled AND NOT e.failed THEN 1 ELSE 0 END), 0) AS BIGINT) AS active, \
        CAST(COALESCE(SUM(CASE WHEN e.failed THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed, \
        CAST(COALESCE(SUM(CASE WHEN NOT e.enabled THEN 1 ELSE 0 END), 0) AS BIGINT) AS disabled \
        FROM webhook_endpoints e \
        LEFT JOIN event_sequences s ON s.workspace_id = e.workspace_id";
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .map_err(db_error)?;
    let Some(row) = row else {
        return Ok(Backlog::default());
    };
    let get = |column: &str| row.try_get::<i64>("", column).map_err(db_error);
    Ok(Backlog {
        pending_events: get("pending")?.max(0),
        largest_endpoint_backlog: get("largest")?.max(0),
        endpoints_active: get("active")?,
        endpoints_failed: get("failed")?,
        endpoints_disabled: get("disabled")?,
    })
}

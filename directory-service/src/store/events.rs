//! The outbox: per-workspace sequences, event rows, and the reads of the event stream and
//! the audit log.

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};
use uuid::Uuid;

use super::entity::event;
use super::{WriteTx, db_error};
use crate::domain::{DomainError, DomainResult};

pub type Event = event::Model;

/// Takes `count` sequence numbers of the workspace and returns the first. The counter row
/// stays locked until the transaction ends, so a later transaction gets the next numbers
/// only after this one committed (or rolled back, giving them back): readers see the
/// sequence without gaps and in order. Call it as the transaction's last write.
pub async fn take_sequences(tx: &WriteTx, workspace_id: Uuid, count: i64) -> DomainResult<i64> {
    let db = tx.conn();
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO event_sequences (workspace_id, last_sequence) VALUES ($1, $2) \
             ON CONFLICT (workspace_id) DO UPDATE \
             SET last_sequence = event_sequences.last_sequence + excluded.last_sequence \
             RETURNING last_sequence"
        }
        _ => {
            "INSERT INTO event_sequences (workspace_id, last_sequence) VALUES (?, ?) \
             ON CONFLICT (workspace_id) DO UPDATE \
             SET last_sequence = event_sequences.last_sequence + excluded.last_sequence \
             RETURNING last_sequence"
        }
    };
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [workspace_id.into(), count.into()],
        ))
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::Storage("the sequence upsert returned no row".into()))?;
    let last: i64 = row.try_get("", "last_sequence").map_err(db_error)?;
    Ok(last - count + 1)
}

pub async fn insert_many(tx: &WriteTx, rows: Vec<Event>) -> DomainResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let models: Vec<event::ActiveModel> = rows.into_iter().map(Into::into).collect();
    event::Entity::insert_many(models)
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Narrows a listing (the audit log's filters).
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    pub after_sequence: i64,
    pub since: Option<DateTime<Utc>>,
    pub actor_id: Option<String>,
    pub resource_id: Option<String>,
    pub event_types: Vec<String>,
}

/// Events of a workspace after a sequence, in sequence order.
pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    filter: &EventFilter,
    limit: u64,
) -> DomainResult<Vec<Event>> {
    let mut query = event::Entity::find()
        .filter(event::Column::WorkspaceId.eq(workspace_id))
        .filter(event::Column::Sequence.gt(filter.after_sequence));
    if let Some(since) = filter.since {
        query = query.filter(event::Column::OccurredAt.gte(since));
    }
    if let Some(actor) = &filter.actor_id {
        query = query.filter(event::Column::ActorId.eq(actor.as_str()));
    }
    if let Some(resource) = &filter.resource_id {
        query = query.filter(event::Column::ResourceId.eq(resource.as_str()));
    }
    if !filter.event_types.is_empty() {
        query = query.filter(event::Column::EventType.is_in(filter.event_types.clone()));
    }
    query
        .order_by_asc(event::Column::Sequence)
        .limit(limit)
        .all(db)
        .await
        .map_err(db_error)
}

/// `token.revoked` events of every workspace since `since` (the gateways' live feed).
pub async fn revocations_since(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
) -> DomainResult<Vec<Event>> {
    event::Entity::find()
        .filter(event::Column::EventType.eq("token.revoked"))
        .filter(event::Column::OccurredAt.gte(since))
        .order_by_asc(event::Column::OccurredAt)
        .limit(10_000)
        .all(db)
        .await
        .map_err(db_error)
}

/// Every workspace's last taken sequence number (from the counter rows): what a sink
/// compares its cursors with to find the workspaces that have something new.
pub async fn last_sequences(db: &impl ConnectionTrait) -> DomainResult<Vec<(Uuid, i64)>> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT workspace_id, last_sequence FROM event_sequences",
        ))
        .await
        .map_err(db_error)?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("", "workspace_id").map_err(db_error)?,
                row.try_get("", "last_sequence").map_err(db_error)?,
            ))
        })
        .collect()
}

/// The workspace's last sequence number (0 before the first event).
pub async fn last_sequence(db: &impl ConnectionTrait, workspace_id: Uuid) -> DomainResult<i64> {
    Ok(event::Entity::find()
        .filter(event::Column::WorkspaceId.eq(workspace_id))
        .order_by_desc(event::Column::Sequence)
        .one(db)
        .await
        .map_err(db_error)?
        .map_or(0, |e| e.sequence))
}

/// Deletes up to `batch` events older than `before`; returns how many went.
pub async fn prune(
    db: &impl ConnectionTrait,
    before: DateTime<Utc>,
    batch: u64,
) -> DomainResult<u64> {
    super::prune_before::<event::Entity>(
        db,
        event::Column::Id,
        event::Column::OccurredAt,
        before,
        batch,
    )
    .await
}

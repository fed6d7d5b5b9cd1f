//! Storage on SeaORM: entities, migrations and queries. The only module that imports
//! sea_orm. Database errors become `DomainError`s here, classified by constraint name and
//! SQLSTATE, never by message text shown to clients.

pub mod attribute_mappings;
pub mod credentials;
pub mod custom_attributes;
pub mod entity;
pub mod events;
mod filter_sql;
pub mod groups;
pub mod licenses;
pub mod migration;
pub mod oauth;
mod paging;
pub mod pool;
pub mod rate_limits;
pub mod request_log;
pub mod roles;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workspace_allow_lists;
pub mod workspace_counts;
pub mod workspaces;

use std::time::Duration;

use sea_orm::{
    ConnectOptions, Database, DatabaseConnection, DatabaseTransaction, DbErr, RuntimeErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

use crate::domain::DomainError;

/// A connection or a transaction: what read helpers in `ops` accept.
pub use sea_orm::ConnectionTrait as Conn;
pub use sea_orm::DatabaseConnection as Db;

/// Opens the pool. SQLite gets WAL and a busy timeout from sqlx's defaults; write
/// transactions start IMMEDIATE (see `begin_write`) so that they queue instead of failing.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        // An in-memory database exists once per connection: keep exactly one.
        let max = if url.contains(":memory:") { 1 } else { 4 };
        options.max_connections(max).min_connections(1);
    } else {
        options.max_connections(20);
    }
    Database::connect(options).await
}

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    migration::Migrator::up(db, None).await
}

/// A write transaction. Every store function that changes a workspace's users, groups,
/// memberships, roles, licenses or mappings takes one, so no such write can run on the
/// pool outside a transaction. Only `ops::write` opens and commits it (checked by a test
/// there): the commit is where the workspace rules run.
pub struct WriteTx {
    tx: DatabaseTransaction,
    /// SQLite: this writer's turn ([`SQLITE_WRITER`]), given back when the transaction ends.
    _turn: Option<tokio::sync::OwnedSemaphorePermit>,
}

/// SQLite has one writer at a time. Writers queue here, in the process, *before* they take
/// a pooled connection: queued inside SQLite (`BEGIN IMMEDIATE` waiting on the busy
/// timeout) each held one of the pool's few connections, so a burst of writes in one
/// workspace left no connection for another workspace's reads (reads waited behind every
/// queued write: p99 351 ms in the bench). Now at most one connection is a writer's and
/// reads run beside it (WAL). One permit per process: a process serves one database.
static SQLITE_WRITER: std::sync::LazyLock<std::sync::Arc<tokio::sync::Semaphore>> =
    std::sync::LazyLock::new(|| std::sync::Arc::new(tokio::sync::Semaphore::new(1)));

/// SQLite: this process's writer turn ([`SQLITE_WRITER`]), for a write transaction and
/// for the bookkeeping writes outside the write step (the request log), so that none of
/// them holds a pooled connection while SQLite's busy handler waits for the write lock.
/// `None` on Postgres.
pub(crate) async fn sqlite_writer_turn(
    db: &DatabaseConnection,
) -> Result<Option<tokio::sync::OwnedSemaphorePermit>, DomainError> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(None);
    }
    SQLITE_WRITER
        .clone()
        .acquire_owned()
        .await
        .map(Some)
        .map_err(|_| DomainError::Storage("the writer queue is closed".into()))
}

impl WriteTx {
    /// Starts a write transaction. On SQLite it takes the write lock up front (IMMEDIATE):
    /// a DEFERRED transaction that reads and then writes fails at once with SQLITE_BUSY
    /// when another writer got there first; and it first waits for its turn among this
    /// process's writers ([`SQLITE_WRITER`]) without holding a connection.
    /// The wait (writer turn + pool acquire + BEGIN) is the `directory_db_acquire_seconds`
    /// histogram.
    pub(crate) async fn begin(db: &DatabaseConnection) -> Result<Self, DomainError> {
        let started = std::time::Instant::now();
        let turn = sqlite_writer_turn(db).await?;
        let tx = db
            .begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
            .map(|tx| WriteTx { tx, _turn: turn })
            .map_err(db_error);
        metrics::histogram!("directory_db_acquire_seconds").record(started.elapsed().as_secs_f64());
        tx
    }

    pub(crate) async fn commit(self) -> Result<(), DomainError> {
        self.tx.commit().await.map_err(commit_error)
    }

    pub(crate) async fn rollback(self) -> Result<(), DomainError> {
        self.tx.rollback().await.map_err(db_error)
    }

    /// The transaction as a connection, for reads.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.tx
    }
}

/// Deletes up to `batch` rows of `E` whose `at` is before `before`, chosen by `id` first so
/// that one prune round stays a bounded statement; returns how many went. The retention
/// of events, webhook attempts and the request log.
pub async fn prune_before<E: sea_orm::EntityTrait>(
    db: &impl sea_orm::ConnectionTrait,
    id: E::Column,
    at: E::Column,
    before: chrono::DateTime<chrono::Utc>,
    batch: u64,
) -> Result<u64, DomainError> {
    use sea_orm::{ColumnTrait, QueryFilter, QuerySelect};
    let ids: Vec<uuid::Uuid> = E::find()
        .select_only()
        .column(id)
        .filter(at.lt(before))
        .limit(batch)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let done = E::delete_many()
        .filter(id.is_in(ids))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(done.rows_affected)
}

/// Classifies a database error for the client. Unique violations are told apart by the
/// index name (Postgres reports it; SQLite reports the columns, which the names contain).
pub fn db_error(err: DbErr) -> DomainError {
    if let Some(sea_orm::SqlErr::UniqueConstraintViolation(detail)) = err.sql_err() {
        if detail.contains("user_name_key") {
            return DomainError::Uniqueness("userName is already taken in this workspace".into());
        }
        if detail.contains("service_credentials") {
            return DomainError::Uniqueness("a credential with this name already exists".into());
        }
        if detail.contains("slug") {
            return DomainError::Uniqueness("a workspace with this slug already exists".into());
        }
        return DomainError::Uniqueness("the value violates a uniqueness constraint".into());
    }
    if is_retryable(&err) {
        return DomainError::RetryLater;
    }
    DomainError::Storage(err.to_string())
}

/// Serialization failures and deadlocks (Postgres 40001/40P01), SQLITE_BUSY/LOCKED, and a
/// connection that could not be had or was lost (nothing committed): `ops::retry` runs the
/// operation again.
fn is_retryable(err: &DbErr) -> bool {
    if let Some(e) = sqlx_error(err) {
        return match e {
            sea_orm::sqlx::Error::Database(db) => {
                matches!(
                    db.code().as_deref(),
                    // serialization failure, deadlock, SQLite busy/locked; server shutting
                    // down or not accepting connections yet; connection exceptions
                    Some("40001" | "40P01" | "5" | "6" | "517" | "57P01" | "57P02" | "57P03")
                ) || db.code().is_some_and(|code| code.starts_with("08"))
            }
            other => is_connection_loss(other),
        };
    }
    matches!(err, DbErr::ConnectionAcquire(_))
}

fn sqlx_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e),
        _ => None,
    }
}

fn is_connection_loss(e: &sea_orm::sqlx::Error) -> bool {
    matches!(
        e,
        sea_orm::sqlx::Error::Io(_)
            | sea_orm::sqlx::Error::PoolTimedOut
            | sea_orm::sqlx::Error::PoolClosed
            | sea_orm::sqlx::Error::WorkerCrashed
    )
}

/// A commit whose connection broke may or may not have happened: never retried (a retry
/// could apply the write twice), reported as a storage error instead.
fn commit_error(err: DbErr) -> DomainError {
    let lost = sqlx_error(&err).is_some_and(|e| {
        is_connection_loss(e)
            || matches!(e, sea_orm::sqlx::Error::Database(db)
                if db.code().is_some_and(|code| code.starts_with("08") || code.starts_with("57P")))
    });
    if lost {
        return DomainError::Storage(format!("connection lost during commit: {err}"));
    }
    db_error(err)
}

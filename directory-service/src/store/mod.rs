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
pub mod roles;
pub mod tokens;
pub mod users;
pub mod webhooks;
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
pub struct WriteTx(DatabaseTransaction);

impl WriteTx {
    /// Starts a write transaction. On SQLite it takes the write lock up front (IMMEDIATE):
    /// a DEFERRED transaction that reads and then writes fails at once with SQLITE_BUSY
    /// when another writer got there first.
    pub(crate) async fn begin(db: &DatabaseConnection) -> Result<Self, DomainError> {
        db.begin_with_options(TransactionOptions {
            sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
            ..Default::default()
        })
        .await
        .map(WriteTx)
        .map_err(db_error)
    }

    pub(crate) async fn commit(self) -> Result<(), DomainError> {
        self.0.commit().await.map_err(db_error)
    }

    pub(crate) async fn rollback(self) -> Result<(), DomainError> {
        self.0.rollback().await.map_err(db_error)
    }

    /// The transaction as a connection, for reads.
    pub fn conn(&self) -> &DatabaseTransaction {
        &self.0
    }
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

/// Serialization failures and deadlocks (Postgres 40001/40P01), SQLITE_BUSY/LOCKED.
fn is_retryable(err: &DbErr) -> bool {
    if let DbErr::Query(RuntimeErr::SqlxError(e)) | DbErr::Exec(RuntimeErr::SqlxError(e)) = err
        && let sea_orm::sqlx::Error::Database(db) = &**e
    {
        return matches!(
            db.code().as_deref(),
            Some("40001" | "40P01" | "5" | "6" | "517")
        );
    }
    matches!(err, DbErr::ConnectionAcquire(_))
}

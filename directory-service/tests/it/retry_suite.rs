//! Transient conflicts are retried in the directory (issue #17): a write that loses a
//! serialization race on Postgres (SQLSTATE 40001) runs again and succeeds instead of
//! reaching the caller as a 503.

use std::time::Duration;

use crate::harness::profile;
use directory_service::domain::DomainError;
use directory_service::ops;
use directory_service::store::{self, Db};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use uuid::Uuid;

/// A second pool on the same database whose transactions are all SERIALIZABLE (the
/// directory runs READ COMMITTED; this makes the race a certain 40001).
async fn serializable_pool(db: &Db) -> Db {
    db.execute_unprepared(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_isolation \
         = serializable', current_database()); END $$",
    )
    .await
    .unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT current_database() AS name",
        ))
        .await
        .unwrap()
        .unwrap();
    let name: String = row.try_get("", "name").unwrap();
    let server = std::env::var("TEST_DATABASE_URL").unwrap();
    store::connect(&crate::harness::database_url(&server, &name))
        .await
        .unwrap()
}

/// Holds the workspace's event counter row in a concurrent serializable transaction that
/// commits while `operation` waits for the row: the operation's first attempt fails with
/// 40001. Returns what the operation answered.
async fn race<T: Send + 'static>(
    db: &Db,
    ws: Uuid,
    operation: impl Future<Output = Result<T, DomainError>> + Send + 'static,
) -> Result<T, DomainError> {
    let rival = db
        .begin_with_config(Some(sea_orm::IsolationLevel::Serializable), None)
        .await
        .unwrap();
    rival
        .execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "UPDATE event_sequences SET last_sequence = last_sequence WHERE workspace_id = $1",
            [ws.into()],
        ))
        .await
        .unwrap();
    let running = tokio::spawn(operation);
    // the operation reaches the counter row (its last write) and waits for the rival
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !running.is_finished(),
        "the operation did not wait for the row"
    );
    rival.commit().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the operation ends")
        .unwrap()
}

pub async fn serialization_failures_are_retried_not_surfaced(db: &Db) {
    let serializable = serializable_pool(db).await;
    let ws = ops::workspaces::create_workspace(db, "acme", "")
        .await
        .unwrap()
        .id;
    // creates the workspace's counter row
    ops::users::create_user(db, ws, profile("first@example.com"))
        .await
        .unwrap();

    // Without a retry the race reaches the caller (a 503 at the gateway).
    let pool = serializable.clone();
    let bare = race(db, ws, async move {
        ops::users::create_user(&pool, ws, profile("bare@example.com")).await
    })
    .await;
    assert!(
        matches!(bare, Err(DomainError::RetryLater)),
        "the race was not provoked: {bare:?}"
    );

    // Retried as a whole operation (what every write RPC does), it succeeds.
    let pool = serializable.clone();
    let retried = race(db, ws, async move {
        ops::retry::retrying(|| ops::users::create_user(&pool, ws, profile("ada@example.com")))
            .await
    })
    .await
    .expect("the retried write succeeds");
    let read = ops::users::get_user(db, ws, retried.id).await.unwrap();
    assert_eq!(read.profile.user_name, "ada@example.com");
    // the failed attempts left nothing behind: two users, two events, in sequence
    let row = db
        .query_one_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            "SELECT (SELECT count(*) FROM users WHERE workspace_id = $1) AS users, \
             (SELECT last_sequence FROM event_sequences WHERE workspace_id = $1) AS last",
            [ws.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<i64>("", "users").unwrap(), 2);
    assert_eq!(row.try_get::<i64>("", "last").unwrap(), 2);
}

/// The backlog behind the `directory_webhook_*` gauges, on both backends.
pub async fn webhook_backlog_counts_events_not_yet_passed(db: &Db) {
    use directory_service::store::webhooks::{Backlog, backlog};
    assert_eq!(backlog(db).await.unwrap(), Backlog::default());
    let ws = ops::workspaces::create_workspace(db, "acme", "")
        .await
        .unwrap()
        .id;
    let endpoint = ops::webhooks::create_webhook(db, ws, "https://hooks.example.com/a", &[])
        .await
        .unwrap();
    // the endpoint's cursor starts at its creation (its own event may follow it)
    let start = backlog(db).await.unwrap().pending_events;
    assert!(start <= 1, "{start}");
    for name in ["ada", "bob", "cy"] {
        ops::users::create_user(db, ws, profile(&format!("{name}@example.com")))
            .await
            .unwrap();
    }
    let seen = backlog(db).await.unwrap();
    assert_eq!(seen.pending_events, start + 3, "{seen:?}");
    assert_eq!(seen.largest_endpoint_backlog, start + 3);
    assert_eq!(seen.endpoints_active, 1);
    ops::webhooks::set_webhook_enabled(db, ws, endpoint.id, false)
        .await
        .unwrap();
    let seen = backlog(db).await.unwrap();
    assert_eq!(seen.pending_events, 0, "{seen:?}");
    assert_eq!(seen.endpoints_disabled, 1);
    assert_eq!(seen.endpoints_active, 0);
}

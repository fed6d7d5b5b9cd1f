//! Databases for the storage suite: SQLite in memory, and a fresh PostgreSQL database per
//! test on the server named by TEST_DATABASE_URL (`./scripts/test.sh` starts a throwaway
//! one). With CI=true a missing Postgres fails the test instead of skipping it.

use directory_service::domain::patch::{PatchValue, Scalar};
use directory_service::store::{self, Db};
use sea_orm::{ConnectionTrait, Database};

/// A test's database: derefs to the connection; a Postgres one is dropped with it, so a
/// shared server does not keep one database per test run.
pub struct TestDb {
    db: Db,
    postgres: Option<(String, String)>,
}

impl std::ops::Deref for TestDb {
    type Target = Db;

    fn deref(&self) -> &Db {
        &self.db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime: a thread with its own runtime may block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(database_url(&server, "postgres"))
                    .await
                    .ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

pub async fn sqlite() -> Option<TestDb> {
    let db = store::connect("sqlite::memory:")
        .await
        .expect("open sqlite");
    store::migrate(&db).await.expect("migrate sqlite");
    Some(TestDb { db, postgres: None })
}

pub async fn postgres() -> Option<TestDb> {
    let Ok(server) = std::env::var("TEST_DATABASE_URL") else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("CI=true but TEST_DATABASE_URL is not set: Postgres tests must run in CI");
        }
        eprintln!("skipping Postgres: TEST_DATABASE_URL is not set (./scripts/test.sh sets it)");
        return None;
    };
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(database_url(&server, "postgres"))
        .await
        .expect("connect to the Postgres maintenance database");
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create the test database");
    let db = store::connect(&database_url(&server, &name))
        .await
        .expect("connect to the test database");
    store::migrate(&db).await.expect("migrate postgres");
    Some(TestDb {
        db,
        postgres: Some((server, name)),
    })
}

/// `postgres://user@host:port[/anything][?params]` with the database replaced by `name`.
pub fn database_url(server: &str, name: &str) -> String {
    let (without_query, query) = server.split_once('?').map_or((server, ""), |(a, b)| (a, b));
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let authority_end = without_query[scheme_end..]
        .find('/')
        .map_or(without_query.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &without_query[..authority_end]);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[test]
fn database_url_replaces_only_the_database() {
    assert_eq!(database_url("postgres://p@h:1", "x"), "postgres://p@h:1/x");
    assert_eq!(
        database_url("postgres://p@h:1/db?sslmode=disable", "x"),
        "postgres://p@h:1/x?sslmode=disable"
    );
}

/// A PATCH value typed the way the gateway types a JSON value of the same shape.
pub fn typed(value: serde_json::Value) -> PatchValue {
    use serde_json::Value;
    fn scalar(value: Value) -> Scalar {
        match value {
            Value::Null => Scalar::Null,
            Value::Bool(b) => Scalar::Bool(b),
            Value::Number(n) => Scalar::Number(n),
            Value::String(s) => Scalar::String(s),
            other => panic!("not a simple value: {other}"),
        }
    }
    match value {
        Value::Array(items) if items.iter().all(Value::is_object) => PatchValue::ComplexList(
            items
                .into_iter()
                .map(|item| item.as_object().cloned().unwrap())
                .collect(),
        ),
        Value::Array(items) => PatchValue::ScalarList(items.into_iter().map(scalar).collect()),
        Value::Object(object) => PatchValue::Complex(object),
        other => PatchValue::Scalar(scalar(other)),
    }
}

/// Group members by id.
pub fn member_ids<T: ToString>(ids: &[T]) -> PatchValue {
    PatchValue::Members(ids.iter().map(ToString::to_string).collect())
}

/// A new workspace's id.
pub async fn workspace(db: &Db, slug: &str) -> uuid::Uuid {
    directory_service::ops::workspaces::create_workspace(db, slug, "")
        .await
        .unwrap()
        .id
}

/// An active user's profile with just a userName.
pub fn profile(user_name: &str) -> directory_service::domain::users::UserProfile {
    directory_service::domain::users::UserProfile {
        user_name: user_name.into(),
        active: Some(true),
        ..Default::default()
    }
}

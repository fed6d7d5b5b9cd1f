//! Faults (issue #17, item 5), on the real binaries: the directory killed with SIGKILL during
//! a write load, and PostgreSQL stopped in immediate mode and started again on a private
//! cluster. Every write a client saw acknowledged is readable afterwards; while the
//! directory is gone the gateway answers 503 with an integer `Retry-After`; writes resume
//! soon after the database is back. Loads are bounded in count and time.

use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e_tests::{Process, Stack, bin};
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::production::{HttpClient, PrivatePostgres, http_client};

/// What the writer saw: each answer with the time it came.
#[derive(Default)]
struct Seen {
    /// (userName, id) of every 201.
    acknowledged: Vec<(String, String)>,
    /// (when, status, Retry-After) of every other answer.
    refused: Vec<(Instant, u16, Option<String>, String)>,
    /// When each 201 came.
    acknowledged_at: Vec<Instant>,
}

async fn post_user(
    client: &HttpClient,
    base: &str,
    token: &str,
    user_name: &str,
) -> (u16, Option<String>, Value) {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": true,
    })
    .to_string();
    let request = http::Request::builder()
        .method("POST")
        .uri(format!("{base}/Users"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/scim+json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(40), client.request(request))
        .await
        .expect("the gateway answers within 40 s")
        .expect("HTTP request");
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, retry_after, body)
}

/// Writes users one after another until `stop` is set, `max` writes are made or 90 s pass.
fn start_writer(
    stack: &Stack,
    prefix: &'static str,
    max: usize,
    stop: watch::Receiver<bool>,
) -> (Arc<Mutex<Seen>>, tokio::task::JoinHandle<()>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let base = stack.base_url();
    let token = stack.token.clone();
    let record = seen.clone();
    let handle = tokio::spawn(async move {
        let client = http_client();
        let started = Instant::now();
        for i in 0..max {
            if *stop.borrow() || started.elapsed() > Duration::from_secs(90) {
                break;
            }
            let user_name = format!("{prefix}-{i}@example.com");
            let (status, retry_after, body) = post_user(&client, &base, &token, &user_name).await;
            let refused = {
                let mut seen = record.lock().unwrap();
                if status == 201 {
                    seen.acknowledged
                        .push((user_name, body["id"].as_str().unwrap().to_owned()));
                    seen.acknowledged_at.push(Instant::now());
                    false
                } else {
                    seen.refused
                        .push((Instant::now(), status, retry_after, body.to_string()));
                    true
                }
            };
            if refused {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    (seen, handle)
}

async fn wait_for(limit: Duration, what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if check() {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("{what}: not within {limit:?}");
}

fn acknowledged(seen: &Mutex<Seen>) -> usize {
    seen.lock().unwrap().acknowledged.len()
}

/// Every acknowledged write reads back with its userName.
async fn assert_all_readable(stack: &Stack, seen: &Seen) {
    for (user_name, id) in &seen.acknowledged {
        let read = stack.scim("GET", &format!("/Users/{id}"), None).await;
        assert_eq!(
            read.status, 200,
            "acknowledged {user_name} is lost: {}",
            read.raw
        );
        assert_eq!(read.body["userName"], user_name.as_str());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_a_kill_9_of_the_directory() {
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let mut stack = Stack::start_on(database_url.clone()).await.unwrap();
    let directory_addr = stack.directory.addr.clone();
    let (stop_tx, stop) = watch::channel(false);
    let (seen, writer) = start_writer(&stack, "kill", 2000, stop);

    wait_for(Duration::from_secs(30), "20 writes before the kill", || {
        acknowledged(&seen) >= 20
    })
    .await;
    stack.directory.kill(); // SIGKILL
    let killed_at = Instant::now();
    let acknowledged_at_kill = acknowledged(&seen);
    let first_503 = wait_for(Duration::from_secs(10), "a 503 after the kill", || {
        seen.lock()
            .unwrap()
            .refused
            .iter()
            .any(|(at, status, _, _)| *at > killed_at && *status == 503)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // Restart on the same address (the gateway's --directory-url).
    let mut cmd = Command::new(bin("directory-service"));
    cmd.args([
        "serve",
        "--listen",
        &directory_addr,
        "--database-url",
        &database_url,
    ])
    .env("DIRECTORY_CREDENTIAL", &stack.credential)
    .env("RUST_LOG", "warn");
    stack.directory = Process::spawn(cmd).unwrap();
    let restarted_at = Instant::now();
    let resumed = wait_for(Duration::from_secs(20), "writes after the restart", || {
        seen.lock()
            .unwrap()
            .acknowledged_at
            .iter()
            .any(|at| *at > restarted_at)
    })
    .await;
    wait_for(Duration::from_secs(20), "20 more writes", || {
        acknowledged(&seen) >= acknowledged_at_kill + 20
    })
    .await;
    let _ = stop_tx.send(true);
    writer.await.unwrap();

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    // While the directory was gone: 503 with an integer Retry-After, nothing else.
    for (_, status, retry_after, body) in &seen.refused {
        assert_eq!(
            *status,
            503,
            "only 503 while the directory is down: {body}\ngateway log:\n{}",
            stack.gateway.stderr()
        );
        let retry_after = retry_after.as_deref().expect("Retry-After on the 503");
        retry_after
            .parse::<u64>()
            .unwrap_or_else(|_| panic!("integer Retry-After: {retry_after}"));
    }
    eprintln!(
        "kill -9: {} writes acknowledged, {} answered 503; first 503 {first_503:?} after the \
         kill, first write {resumed:?} after the restart",
        seen.acknowledged.len(),
        seen.refused.len()
    );
    assert_all_readable(&stack, &seen).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_resume_within_10_s_of_postgres_restarting_after_an_immediate_stop() {
    let postgres = PrivatePostgres::start();
    let admin = sea_orm::Database::connect(format!("{}/postgres", postgres.url()))
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&admin, "CREATE DATABASE faults")
        .await
        .unwrap();
    drop(admin);
    let stack = Stack::start_on(format!("{}/faults", postgres.url()))
        .await
        .unwrap();
    let (stop_tx, stop) = watch::channel(false);
    let (seen, writer) = start_writer(&stack, "pg", 2000, stop);
    wait_for(Duration::from_secs(30), "20 writes before the stop", || {
        acknowledged(&seen) >= 20
    })
    .await;

    postgres.stop("immediate");
    let stopped_at = Instant::now();
    tokio::time::sleep(Duration::from_secs(2)).await;
    postgres.pg_ctl_start(); // returns once Postgres accepts connections (-w)
    let ready_at = Instant::now();
    let resumed = wait_for(
        Duration::from_secs(10),
        "a write within 10 s of Postgres ready",
        || {
            seen.lock()
                .unwrap()
                .acknowledged_at
                .iter()
                .any(|at| *at > ready_at)
        },
    )
    .await;
    let acknowledged_after = acknowledged(&seen);
    wait_for(Duration::from_secs(20), "10 more writes", || {
        acknowledged(&seen) >= acknowledged_after + 10
    })
    .await;
    let _ = stop_tx.send(true);
    writer.await.unwrap();

    let seen = std::mem::take(&mut *seen.lock().unwrap());
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for (_, status, retry_after, _) in &seen.refused {
        *statuses.entry(*status).or_default() += 1;
        if *status == 503 {
            let retry_after = retry_after.as_deref().expect("Retry-After on the 503");
            retry_after.parse::<u64>().expect("integer Retry-After");
        }
    }
    eprintln!(
        "postgres immediate stop: down {:?}, first write {resumed:?} after Postgres was ready; \
         {} acknowledged, refused by status {statuses:?}",
        ready_at - stopped_at,
        seen.acknowledged.len()
    );
    assert!(resumed < Duration::from_secs(10));
    assert_all_readable(&stack, &seen).await;
}

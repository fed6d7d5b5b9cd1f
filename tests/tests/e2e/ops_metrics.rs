//! Issue #18: the directory's `/metrics` carries the webhook backlog and the database pool
//! wait, and they move with the traffic.

use std::time::Duration;

use e2e_tests::Stack;
use serde_json::Value;

use crate::production::{http_client, scrape, sum, time_until};

fn scimctl_json(stack: &Stack, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = stack.scimctl(&all);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn webhook_backlog_and_pool_wait_are_scraped() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database,
        &[
            ("DIRECTORY_METRICS_ADDR", "127.0.0.1:0"),
            ("DIRECTORY_HEALTH_INTERVAL_MS", "200"),
            ("DIRECTORY_WEBHOOK_ALLOW_PRIVATE", "true"),
            // long waits between retries: the backlog stays put while we look
            ("DIRECTORY_WEBHOOK_RETRY_BASE_MS", "60000"),
        ],
    )
    .await
    .unwrap();
    let client = http_client();
    let admin = stack.directory.metrics_addr.clone().unwrap();

    // A receiver that refuses connections: nothing is delivered.
    let port = crate::production::free_port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let created = scimctl_json(
        &stack,
        &["webhook", "create", "--workspace", "acme", "--url", &url],
    );
    let id = created["id"].as_str().unwrap().to_owned();
    for name in ["ada", "bob", "cy"] {
        stack.create_user(&format!("{name}@example.com")).await;
    }
    let took = time_until(Duration::from_secs(10), "backlog of 3", || async {
        let metrics = scrape(&client, &admin).await;
        sum(&metrics, "directory_webhook_backlog_events", &[]) >= 3.0
    })
    .await;
    let metrics = scrape(&client, &admin).await;
    assert_eq!(
        sum(
            &metrics,
            "directory_webhook_endpoints",
            &["state=\"active\""]
        ),
        1.0
    );
    assert!(sum(&metrics, "directory_webhook_backlog_largest_events", &[]) >= 3.0);
    // every write waited for a pooled connection and its BEGIN: a histogram
    let writes = sum(&metrics, "directory_db_acquire_seconds_count", &[]);
    assert!(writes >= 4.0, "acquire histogram count {writes}");
    assert!(
        sum(
            &metrics,
            "directory_db_acquire_seconds_bucket",
            &["le=\"+Inf\""]
        ) >= writes
    );
    eprintln!("backlog visible {took:?} after the writes");

    // A disabled endpoint leaves the backlog and is counted as disabled.
    let out = stack.scimctl(&["webhook", "disable", "--workspace", "acme", "--id", &id]);
    assert!(out.status.success(), "{out:?}");
    time_until(Duration::from_secs(10), "endpoint disabled", || async {
        let metrics = scrape(&client, &admin).await;
        sum(
            &metrics,
            "directory_webhook_endpoints",
            &["state=\"disabled\""],
        ) == 1.0
            && sum(&metrics, "directory_webhook_backlog_events", &[]) == 0.0
    })
    .await;
}

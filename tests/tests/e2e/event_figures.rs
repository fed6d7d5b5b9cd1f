//! Every `scimUser.provisioned` of sequential and concurrent SCIM writers reaches a webhook
//! receiver on loopback (asserted), and the figures are printed. CI runs a small load;
//! the documented measurement runs the full one:
//! `EVENT_FIGURES_SEQUENTIAL=100 EVENT_FIGURES_WRITERS=8 EVENT_FIGURES_PER_WRITER=50 \
//!  cargo test -p e2e-tests --test e2e -- event_figures --nocapture`
//!
//! - delivery latency: a SCIM POST answered (its event committed) → the webhook request
//!   arriving at a receiver on loopback, p50/p95/max over sequential writes;
//! - event throughput: concurrent SCIM writers, events written per second, and how long
//!   until every one of them reached the webhook receiver (and NATS, when it runs).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e_tests::Stack;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// The user id of each `scimUser.provisioned` that arrived, and when.
type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

async fn receiver() -> (String, Arrivals, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    let arrivals: Arrivals = Arc::default();
    let sink = arrivals.clone();
    let task = tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let sink = sink.clone();
                    async move {
                        let body = request.into_body().collect().await.unwrap().to_bytes();
                        let at = Instant::now();
                        let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        if event["type"] == "scimUser.provisioned"
                            && let Some(id) = event["data"]["user"]["id"].as_str()
                        {
                            sink.lock().unwrap().insert(id.to_owned(), at);
                        }
                        Ok::<_, Infallible>(
                            hyper::Response::builder()
                                .status(204)
                                .body(Full::new(Bytes::new()))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, arrivals, task)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn wait_all(arrivals: &Arrivals, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while arrivals.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "not every event was delivered");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A count from the environment (the documented measurement), else CI's small default.
fn count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn event_figures() {
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Arc::new(
        Stack::start_with_env(database_url, &[("DIRECTORY_WEBHOOK_ALLOW_PRIVATE", "true")])
            .await
            .unwrap(),
    );
    let (url, arrivals, _task) = receiver().await;
    let out = stack.scimctl(&[
        "--output",
        "json",
        "webhook",
        "create",
        "--workspace",
        "acme",
        "--url",
        &url,
        "--event",
        "scimUser.provisioned",
    ]);
    assert!(out.status.success());

    // Latency: one write at a time.
    let sequential = count("EVENT_FIGURES_SEQUENTIAL", 20);
    let mut latencies = Vec::new();
    for i in 0..sequential {
        let id = stack.create_user(&format!("seq{i}@example.com")).await;
        let committed = Instant::now();
        let deadline = committed + Duration::from_secs(30);
        loop {
            if let Some(at) = arrivals.lock().unwrap().get(&id) {
                latencies.push(at.saturating_duration_since(committed));
                break;
            }
            assert!(Instant::now() < deadline, "event of {id} not delivered");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
    }
    latencies.sort();
    println!(
        "delivery latency (SCIM 201 -> webhook receiver), {sequential} sequential writes: p50 {:?}, p95 {:?}, max {:?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.95),
        latencies.last().unwrap()
    );

    // Throughput: concurrent writers.
    let (writers, per_writer) = (
        count("EVENT_FIGURES_WRITERS", 4),
        count("EVENT_FIGURES_PER_WRITER", 10),
    );
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..writers {
        let stack = stack.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                stack.create_user(&format!("w{w}-{i}@example.com")).await;
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let written = started.elapsed();
    let total = writers * per_writer;
    wait_all(&arrivals, sequential + total).await;
    let delivered = started.elapsed();
    println!(
        "event throughput: {total} users by {writers} concurrent SCIM writers in {written:?} ({:.0} events/s written); all delivered to the webhook after {delivered:?} ({:.0} events/s end to end)",
        total as f64 / written.as_secs_f64(),
        total as f64 / delivered.as_secs_f64()
    );
}

//! Events end to end: signed webhooks to a real receiver on loopback (verified with the
//! Standard Webhooks algorithm), retries, a directory killed mid-delivery, the live event
//! stream under concurrent writers and across a restart, the CLI, and the SSRF guard.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use directory_proto::v1 as pb;
use directory_proto::v1::events_client::EventsClient;
use e2e_tests::{CredentialInterceptor, Process, Stack, bin};
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use sha2::Sha256;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Events = EventsClient<InterceptedService<Channel, CredentialInterceptor>>;

/// What the receiver got, in arrival order.
#[derive(Clone, Debug)]
struct Delivery {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    answered: u16,
    /// When the request arrived.
    at: Instant,
}

impl Delivery {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).expect("webhook body is JSON")
    }
}

/// A webhook receiver on 127.0.0.1: answers 500 to the first `fail_first` requests, holds
/// the first request `hold_first` long, and records everything.
struct Receiver {
    url: String,
    log: Arc<Mutex<Vec<Delivery>>>,
    /// Requests that arrived (counted before answering).
    arrived: Arc<AtomicUsize>,
    /// The most requests that were in flight at once.
    max_in_flight: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Receiver {
    async fn start(fail_first: usize, hold_first: Duration) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::new(AtomicUsize::new(0));
        let sink = log.clone();
        let arrived = seen.clone();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max_in_flight = Arc::new(AtomicUsize::new(0));
        let (current, most) = (in_flight.clone(), max_in_flight.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (sink, seen) = (sink.clone(), seen.clone());
                let (current, most) = (current.clone(), most.clone());
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let (sink, seen) = (sink.clone(), seen.clone());
                            let (current, most) = (current.clone(), most.clone());
                            async move {
                                let now_in_flight = current.fetch_add(1, Ordering::SeqCst) + 1;
                                most.fetch_max(now_in_flight, Ordering::SeqCst);
                                let header = |name: &str| {
                                    request
                                        .headers()
                                        .get(name)
                                        .and_then(|v| v.to_str().ok())
                                        .unwrap_or_default()
                                        .to_owned()
                                };
                                let (id, timestamp, signature) = (
                                    header("webhook-id"),
                                    header("webhook-timestamp"),
                                    header("webhook-signature"),
                                );
                                let body = request.into_body().collect().await.unwrap().to_bytes();
                                let at = Instant::now();
                                let n = seen.fetch_add(1, Ordering::SeqCst);
                                if n == 0 && !hold_first.is_zero() {
                                    tokio::time::sleep(hold_first).await;
                                }
                                let answered = if n < fail_first { 500 } else { 204 };
                                current.fetch_sub(1, Ordering::SeqCst);
                                sink.lock().unwrap().push(Delivery {
                                    id,
                                    timestamp,
                                    signature,
                                    body: String::from_utf8_lossy(&body).into_owned(),
                                    answered,
                                    at,
                                });
                                Ok::<_, Infallible>(
                                    hyper::Response::builder()
                                        .status(answered)
                                        .body(Full::new(Bytes::from_static(b"")))
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
        Receiver {
            url,
            log,
            arrived,
            max_in_flight,
            task,
        }
    }

    fn deliveries(&self) -> Vec<Delivery> {
        self.log.lock().unwrap().clone()
    }

    /// Waits (bounded) until `done` holds for what arrived.
    async fn wait_for(&self, what: &str, done: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let got = self.deliveries();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; got {got:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// The Standard Webhooks verification, written from the specification: the signed content
/// is `{id}.{timestamp}.{body}`, the key is the base64 part of `whsec_...`, the header holds
/// space-separated `v1,<base64>` signatures, and the timestamp is within 5 minutes.
fn verify(secret: &str, delivery: &Delivery) -> bool {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").expect("whsec_ prefix"))
        .expect("base64 secret");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{}.{}.{}", delivery.id, delivery.timestamp, delivery.body).as_bytes());
    let expected = format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()));
    let timestamp: i64 = delivery.timestamp.parse().expect("numeric timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - timestamp).abs() < 300 && delivery.signature.split(' ').any(|s| s == expected)
}

const FAST_RETRIES: [(&str, &str); 3] = [
    ("DIRECTORY_WEBHOOK_ALLOW_PRIVATE", "true"),
    ("DIRECTORY_WEBHOOK_LEASE_SECONDS", "2"),
    ("DIRECTORY_WEBHOOK_RETRY_BASE_MS", "200"),
];

async fn events_client(addr: &str, credential: &str) -> Events {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    EventsClient::with_interceptor(channel, CredentialInterceptor(credential.to_owned()))
}

fn directory(database_url: &str, credential: &str) -> Process {
    let mut cmd = Command::new(bin("directory-service"));
    cmd.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        database_url,
    ])
    .env("DIRECTORY_CREDENTIAL", credential)
    .env("RUST_LOG", "warn")
    .envs(FAST_RETRIES);
    Process::spawn(cmd).unwrap()
}

fn scimctl_json(stack: &Stack, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = stack.scimctl(&all);
    assert!(
        out.status.success(),
        "scimctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("scimctl prints JSON")
}

fn create_webhook(stack: &Stack, url: &str, events: &[&str]) -> (String, String) {
    let mut args = vec!["webhook", "create", "--workspace", "acme", "--url", url];
    for event in events {
        args.extend(["--event", event]);
    }
    let created = scimctl_json(stack, &args);
    (
        created["id"].as_str().unwrap().to_owned(),
        created["secret"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn webhooks_are_signed_in_order_and_retried() {
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(database_url, &FAST_RETRIES)
        .await
        .unwrap();
    let receiver = Receiver::start(2, Duration::ZERO).await;
    let (id, secret) = create_webhook(
        &stack,
        &receiver.url,
        &["scimUser.provisioned", "scimUser.deprovisioned"],
    );
    assert!(secret.starts_with("whsec_"), "{secret}");
    // The secret is shown once: listings never carry it.
    let listed = scimctl_json(&stack, &["webhook", "list", "--workspace", "acme"]);
    assert!(!listed.to_string().contains(&secret));
    assert_eq!(listed[0]["id"], id.as_str());

    let ada = stack.create_user("ada@example.com").await;
    let bob = stack.create_user("bob@example.com").await;
    let deactivated = stack
        .scim(
            "PATCH",
            &format!("/Users/{ada}"),
            Some(e2e_tests::patch(
                json!([{ "op": "replace", "path": "active", "value": false }]),
            )),
        )
        .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.raw);

    let got = receiver
        .wait_for("three acknowledged events", |d| {
            d.iter().filter(|d| d.answered == 204).count() >= 3
        })
        .await;
    for delivery in &got {
        assert!(verify(&secret, delivery), "bad signature: {delivery:?}");
    }
    // Two failures, then the same event again (same webhook-id), then the rest in order.
    assert_eq!(got[0].answered, 500);
    assert_eq!(got[1].answered, 500);
    assert_eq!(got[0].id, got[2].id);
    assert_eq!(got[1].id, got[2].id);
    let acknowledged: Vec<Value> = got
        .iter()
        .filter(|d| d.answered == 204)
        .map(Delivery::json)
        .collect();
    let types: Vec<&str> = acknowledged
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "scimUser.provisioned",
            "scimUser.provisioned",
            "scimUser.deprovisioned"
        ]
    );
    let sequences: Vec<i64> = acknowledged
        .iter()
        .map(|e| e["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    let first = &acknowledged[0];
    assert_eq!(first["data"]["user"]["id"], ada.as_str());
    assert_eq!(first["data"]["user"]["userName"], "ada@example.com");
    assert_eq!(first["data"]["workspace"]["slug"], "acme");
    assert_eq!(
        first["data"]["organization_id"],
        stack.workspace_id.as_str()
    );
    assert_eq!(
        first["data"]["connection"]["token_id"],
        stack.token_id.as_str()
    );
    assert_eq!(first["actor"]["kind"], "token");
    assert_eq!(first["actor"]["name"], "e2e");
    assert_eq!(acknowledged[1]["data"]["user"]["id"], bob.as_str());
    assert_eq!(acknowledged[2]["data"]["user"]["active"], false);

    // Every attempt is recorded: two 500s, then successes.
    let attempts = scimctl_json(
        &stack,
        &["webhook", "deliveries", "--workspace", "acme", "--id", &id],
    );
    let statuses: Vec<i64> = attempts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_i64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 204, 204, 204]);
    assert_eq!(attempts[1]["attempt"], 2);
    assert!(attempts[0]["error"].as_str().unwrap().contains("500"));

    // Disabled: nothing more arrives; enabled again: what happened meanwhile arrives.
    scimctl_json(
        &stack,
        &["webhook", "disable", "--workspace", "acme", "--id", &id],
    );
    stack.create_user("carol@example.com").await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.deliveries().len(), got.len());
    let enabled = scimctl_json(
        &stack,
        &["webhook", "enable", "--workspace", "acme", "--id", &id],
    );
    assert_eq!(enabled["enabled"], true);
    let got = receiver
        .wait_for("carol after re-enabling", |d| d.len() > 5)
        .await;
    assert_eq!(
        got[5].json()["data"]["user"]["userName"],
        "carol@example.com"
    );
}

#[tokio::test]
async fn a_directory_killed_mid_delivery_loses_nothing() {
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let mut stack = Stack::start_with_env(database_url.clone(), &FAST_RETRIES)
        .await
        .unwrap();
    // The first request hangs: the directory is killed while it waits for the answer.
    let receiver = Receiver::start(0, Duration::from_secs(4)).await;
    let (_, secret) = create_webhook(&stack, &receiver.url, &["scimUser.provisioned"]);
    let mut users = Vec::new();
    for i in 0..5 {
        users.push(stack.create_user(&format!("u{i}@example.com")).await);
    }
    // Wait until the first delivery is in flight, then kill the directory (SIGKILL).
    let deadline = Instant::now() + Duration::from_secs(30);
    while receiver.arrived.load(Ordering::SeqCst) == 0 {
        assert!(Instant::now() < deadline, "no delivery started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(receiver.deliveries().is_empty(), "still in flight");
    stack.directory.kill();
    stack.directory = directory(&database_url, &stack.credential);

    let got = receiver
        .wait_for("all five users", |d| {
            let ids: std::collections::HashSet<String> = d
                .iter()
                .filter(|d| d.answered == 204)
                .map(|d| d.json()["data"]["user"]["id"].as_str().unwrap().to_owned())
                .collect();
            users.iter().all(|u| ids.contains(u))
        })
        .await;
    for delivery in &got {
        assert!(verify(&secret, delivery));
    }
    // In order of first arrival; a repeat (at least once) is the same webhook-id.
    let mut first_seen: BTreeMap<i64, String> = BTreeMap::new();
    let mut order = Vec::new();
    for delivery in &got {
        let event = delivery.json();
        let sequence = event["sequence"].as_i64().unwrap();
        if first_seen.insert(sequence, delivery.id.clone()).is_none() {
            order.push(sequence);
        } else {
            assert_eq!(first_seen[&sequence], delivery.id);
        }
    }
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[tokio::test]
async fn watch_events_is_gap_free_under_concurrent_writers_and_resumes_after_a_restart() {
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let mut stack = Stack::start_on(database_url.clone()).await.unwrap();
    let stack_ref = &stack;
    let mut events = events_client(&stack.directory.addr, &stack.credential).await;
    let mut stream = events
        .watch_events(pb::WatchEventsRequest {
            workspace_id: stack.workspace_id.clone(),
            after_sequence: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let writers = 8;
    let per_writer = 10;
    let started = Instant::now();
    let write_all = async {
        let tasks = (0..writers).map(|w| async move {
            for i in 0..per_writer {
                stack_ref
                    .create_user(&format!("w{w}-{i}@example.com"))
                    .await;
            }
        });
        futures_join_all(tasks).await;
    };
    let expected = 1 + writers * per_writer; // token.issued at start, then the users
    let read_all = async {
        let mut seen = Vec::new();
        while seen.len() < expected {
            let event = tokio::time::timeout(Duration::from_secs(30), stream.message())
                .await
                .expect("events keep coming")
                .unwrap()
                .expect("stream open");
            seen.push(event);
        }
        seen
    };
    let ((), seen) = tokio::join!(write_all, read_all);
    let elapsed = started.elapsed();
    let sequences: Vec<i64> = seen.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=expected as i64).collect::<Vec<_>>());
    eprintln!(
        "{} events through SCIM and WatchEvents in {:?} ({:.0}/s)",
        expected,
        elapsed,
        expected as f64 / elapsed.as_secs_f64()
    );

    // A restart: reconnecting with the last sequence misses nothing and repeats nothing.
    let last = *sequences.last().unwrap();
    drop(stream);
    stack.directory.kill();
    stack.directory = directory(&database_url, &stack.credential);
    let mut events = events_client(&stack.directory.addr, &stack.credential).await;
    let grpc = stack.grpc().await.unwrap();
    for name in ["after-1@example.com", "after-2@example.com"] {
        grpc.users()
            .create_user(pb::CreateUserRequest {
                workspace_id: stack.workspace_id.clone(),
                attributes: Some(pb::UserAttributes {
                    user_name: name.into(),
                    ..Default::default()
                }),
            })
            .await
            .unwrap();
    }
    let mut stream = events
        .watch_events(pb::WatchEventsRequest {
            workspace_id: stack.workspace_id.clone(),
            after_sequence: last,
        })
        .await
        .unwrap()
        .into_inner();
    let mut after = Vec::new();
    for _ in 0..2 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        after.push((event.sequence, event.actor.unwrap().kind));
    }
    assert_eq!(
        after,
        [(last + 1, "grpc".to_owned()), (last + 2, "grpc".to_owned())]
    );
    // The list agrees with the stream.
    let listed = events
        .list_events(pb::ListEventsRequest {
            workspace_id: stack.workspace_id.clone(),
            after_sequence: last - 1,
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(
        listed.iter().map(|e| e.sequence).collect::<Vec<_>>(),
        [last, last + 1, last + 2]
    );
}

async fn futures_join_all<F: std::future::Future<Output = ()>>(tasks: impl Iterator<Item = F>) {
    let mut set = Vec::new();
    for task in tasks {
        set.push(Box::pin(task));
    }
    // Poll all of them concurrently on this task.
    let mut pending = set;
    std::future::poll_fn(move |cx| {
        pending.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if pending.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await;
}

#[tokio::test]
async fn cli_lists_events_tails_and_audits() {
    let stack = Stack::start().await.unwrap();
    let ada = stack.create_user("ada@example.com").await;
    let retitled = stack
        .scim(
            "PATCH",
            &format!("/Users/{ada}"),
            Some(e2e_tests::patch(
                json!([{ "op": "replace", "path": "title", "value": "Lead" }]),
            )),
        )
        .await;
    assert_eq!(retitled.status, 200, "{}", retitled.raw);

    let listed = scimctl_json(&stack, &["events", "list", "--workspace", "acme"]);
    let listed = listed.as_array().unwrap();
    let types: Vec<&str> = listed.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["token.issued", "scimUser.provisioned", "scimUser.updated"]
    );
    for event in listed {
        for key in ["sequence", "type", "id", "occurred_at", "actor", "data"] {
            assert!(event.get(key).is_some(), "{key} missing in {event}");
        }
    }
    let after = scimctl_json(
        &stack,
        &["events", "list", "--workspace", "acme", "--after", "2"],
    );
    assert_eq!(after.as_array().unwrap().len(), 1);

    // Audit: by actor (the SCIM token) and by resource, with before/after.
    let audit = scimctl_json(
        &stack,
        &[
            "audit",
            "list",
            "--workspace",
            "acme",
            "--actor",
            &stack.token_id,
        ],
    );
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 2);
    assert_eq!(
        audit[1]["changes"]["title"],
        json!({ "before": null, "after": "Lead" })
    );
    assert_eq!(audit[1]["actor"]["name"], "e2e");
    let by_resource = scimctl_json(
        &stack,
        &["audit", "list", "--workspace", "acme", "--resource", &ada],
    );
    assert_eq!(by_resource.as_array().unwrap().len(), 2);
    // Changes made with scimctl are audited as scimctl's.
    let issued = scimctl_json(
        &stack,
        &["token", "issue", "--workspace", "acme", "--name", "second"],
    );
    let plaintext = issued["token"].as_str().unwrap();
    let by_cli = scimctl_json(
        &stack,
        &["audit", "list", "--workspace", "acme", "--actor", "scimctl"],
    );
    assert_eq!(by_cli[0]["type"], "token.issued");
    let everything = scimctl_json(&stack, &["events", "list", "--workspace", "acme"]);
    assert!(
        !everything.to_string().contains(plaintext)
            && !everything.to_string().contains(&stack.token),
        "no token secret leaks into events: {everything}"
    );

    // tail replays from --after and stops after --count, one JSON object per line.
    let out = stack.scimctl(&[
        "--output",
        "json",
        "events",
        "tail",
        "--workspace",
        "acme",
        "--after",
        "1",
        "--count",
        "2",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["sequence"], 2);
    assert_eq!(lines[1]["sequence"], 3);
}

#[tokio::test]
async fn webhooks_to_private_addresses_are_refused_by_default() {
    let stack = Stack::start().await.unwrap();
    let receiver = Receiver::start(0, Duration::ZERO).await;
    let localhost = receiver.url.replace("127.0.0.1", "localhost");
    let (by_ip, _) = create_webhook(&stack, &receiver.url, &[]);
    let (by_name, _) = create_webhook(&stack, &localhost, &[]);
    stack.create_user("ada@example.com").await;
    for id in [&by_ip, &by_name] {
        let deadline = Instant::now() + Duration::from_secs(30);
        let attempts = loop {
            let attempts = scimctl_json(
                &stack,
                &["webhook", "deliveries", "--workspace", "acme", "--id", id],
            );
            if !attempts.as_array().unwrap().is_empty() || Instant::now() > deadline {
                break attempts;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let error = attempts[0]["error"].as_str().unwrap_or_default().to_owned();
        assert!(
            error.contains("private") || error.contains("public address"),
            "{attempts}"
        );
        assert!(attempts[0]["status"].is_null(), "{attempts}");
    }
    assert!(receiver.deliveries().is_empty());
}

/// Commit → receiver: each user is created alone (the RPC has returned, so its
/// transaction committed) and the time until its webhook arrives is measured.
#[tokio::test]
async fn webhook_latency_from_commit_to_receiver() {
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(database_url, &FAST_RETRIES)
        .await
        .unwrap();
    let receiver = Receiver::start(0, Duration::ZERO).await;
    create_webhook(&stack, &receiver.url, &["scimUser.provisioned"]);
    let grpc = stack.grpc().await.unwrap();
    let mut committed = Vec::new();
    let rounds = 20;
    for i in 0..rounds {
        let user = grpc
            .users()
            .create_user(pb::CreateUserRequest {
                workspace_id: stack.workspace_id.clone(),
                attributes: Some(pb::UserAttributes {
                    user_name: format!("l{i}@example.com"),
                    ..Default::default()
                }),
            })
            .await
            .unwrap()
            .into_inner();
        let at = Instant::now();
        receiver
            .wait_for("the user's webhook", |d| d.len() > i)
            .await;
        committed.push((user.id, at));
    }
    let got = receiver.deliveries();
    let mut latencies: Vec<Duration> = committed
        .iter()
        .map(|(id, at)| {
            let delivery = got
                .iter()
                .find(|d| d.json()["data"]["user"]["id"] == id.as_str())
                .expect("delivered");
            delivery.at.saturating_duration_since(*at)
        })
        .collect();
    latencies.sort();
    eprintln!(
        "webhook latency commit -> receiver over {rounds}: p50 {:?}, p95 {:?}, max {:?}",
        latencies[rounds / 2],
        latencies[rounds * 95 / 100],
        latencies[rounds - 1]
    );
    assert!(
        latencies[rounds - 1] < Duration::from_secs(5),
        "{latencies:?}"
    );
}

/// Gateways follow the directory's revocation feed: a revoked token is refused within a
/// second although its authentication is cached for 5 s.
#[tokio::test]
async fn a_revoked_token_is_refused_within_a_second() {
    let stack = Stack::start().await.unwrap();
    // Let the gateway's feed connect, and cache the token.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stack.scim("GET", "/Users", None).await.status, 200);
    assert_eq!(stack.scim("GET", "/Users", None).await.status, 200);
    let revoked = stack.scimctl(&["token", "revoke", "--workspace", "acme", &stack.token_id]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let started = Instant::now();
    loop {
        let status = stack.scim("GET", "/Users", None).await.status;
        if status == 401 {
            break;
        }
        assert_eq!(status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "still accepted {:?} after the revocation",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!("revoked token refused after {:?}", started.elapsed());
}

/// The same outbox, stream and webhooks on the embedded SQLite default.
#[tokio::test]
async fn events_and_webhooks_work_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("events-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = format!("sqlite://{}?mode=rwc", dir.join("directory.db").display());
    let stack = Stack::start_with_env(database_url, &FAST_RETRIES)
        .await
        .unwrap();
    let receiver = Receiver::start(1, Duration::ZERO).await;
    let (_, secret) = create_webhook(&stack, &receiver.url, &["scimUser.provisioned"]);
    let mut events = events_client(&stack.directory.addr, &stack.credential).await;
    let mut stream = events
        .watch_events(pb::WatchEventsRequest {
            workspace_id: stack.workspace_id.clone(),
            after_sequence: 0,
        })
        .await
        .unwrap()
        .into_inner();
    for i in 0..3 {
        stack.create_user(&format!("s{i}@example.com")).await;
    }
    let mut sequences = Vec::new();
    while sequences.len() < 5 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.message())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        sequences.push(event.sequence);
    }
    // token.issued, webhook.created, then the three users.
    assert_eq!(sequences, [1, 2, 3, 4, 5]);
    let got = receiver
        .wait_for("three users after one failure", |d| {
            d.iter().filter(|d| d.answered == 204).count() == 3
        })
        .await;
    assert!(got.iter().all(|d| verify(&secret, d)));
    let names: Vec<String> = got
        .iter()
        .filter(|d| d.answered == 204)
        .map(|d| {
            d.json()["data"]["user"]["userName"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        ["s0@example.com", "s1@example.com", "s2@example.com"]
    );
    drop(stack);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two directory replicas on one database: each event reaches the endpoint once, in
/// order, and never two requests to it at the same time.
#[tokio::test]
async fn two_replicas_never_deliver_an_endpoint_concurrently() {
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(database_url.clone(), &FAST_RETRIES)
        .await
        .unwrap();
    let second = directory(&database_url, &stack.credential);
    let receiver = Receiver::start(0, Duration::ZERO).await;
    create_webhook(&stack, &receiver.url, &["scimUser.provisioned"]);
    let first = stack.grpc().await.unwrap();
    let other = {
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", second.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
        directory_proto::DirectoryClient::with_interceptor(
            channel,
            CredentialInterceptor(stack.credential.clone()),
        )
    };
    let count = 30;
    for i in 0..count {
        let request = pb::CreateUserRequest {
            workspace_id: stack.workspace_id.clone(),
            attributes: Some(pb::UserAttributes {
                user_name: format!("r{i}@example.com"),
                ..Default::default()
            }),
        };
        if i % 2 == 0 {
            first.users().create_user(request).await.unwrap();
        } else {
            other.users().create_user(request).await.unwrap();
        }
    }
    let got = receiver.wait_for("every user", |d| d.len() >= count).await;
    // Give a duplicate the chance to show up.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got_after = receiver.deliveries();
    assert_eq!(got_after.len(), got.len(), "a duplicate delivery");
    let sequences: Vec<i64> = got
        .iter()
        .map(|d| d.json()["sequence"].as_i64().unwrap())
        .collect();
    assert!(sequences.windows(2).all(|w| w[0] < w[1]), "{sequences:?}");
    assert_eq!(receiver.max_in_flight.load(Ordering::SeqCst), 1);
}

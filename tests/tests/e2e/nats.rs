//! The NATS JetStream sink against the real server on 127.0.0.1:4222: every event is
//! published in sequence order on `<prefix>.<workspace_id>` with `Nats-Msg-Id` = the event
//! id, and a restarted directory resumes after the last event the stream holds (nothing
//! missing, nothing twice). Each run uses its own stream and subject prefix. Without a
//! NATS server the test is skipped with a message — except in CI (`CI=true`), where it
//! fails.

use std::process::Command;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use e2e_tests::{Process, Stack, bin};
use serde_json::{Value, json};

const NATS_ADDR: &str = "127.0.0.1:4222";

/// Whether a NATS server answers; panics in CI when none does.
fn nats_available() -> bool {
    let up =
        std::net::TcpStream::connect_timeout(&NATS_ADDR.parse().unwrap(), Duration::from_secs(2))
            .is_ok();
    if !up {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but no NATS server on {NATS_ADDR} (.ci/run starts nats-server -js)"
        );
        eprintln!("SKIPPED: no NATS server on {NATS_ADDR}");
    }
    up
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

fn directory(database_url: &str, credential: &str, env: &[(&str, &str)]) -> Process {
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
    .envs(env.iter().copied());
    Process::spawn(cmd).unwrap()
}

/// Every message of the stream, in stream order, once it holds `n` (bounded wait).
async fn messages(
    stream: &mut jetstream::stream::Stream,
    n: u64,
) -> Vec<jetstream::message::StreamMessage> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let held = stream.info().await.unwrap().state.messages;
        if held >= n {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the stream holds {held} of {n} events"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A moment more: anything beyond `n` (a duplicate) would show up too.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let last = stream.info().await.unwrap().state.last_sequence;
    let mut out = Vec::new();
    for seq in 1..=last {
        out.push(stream.get_raw_message(seq).await.unwrap());
    }
    out
}

fn check(messages: &[jetstream::message::StreamMessage], events: &[Value], subject: &str) {
    assert_eq!(messages.len(), events.len(), "one message per event");
    for (message, event) in messages.iter().zip(events) {
        assert_eq!(message.subject.as_str(), subject);
        assert_eq!(
            message.headers.get("Nats-Msg-Id").map(|v| v.as_str()),
            event["id"].as_str()
        );
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(body["id"], event["id"]);
        assert_eq!(body["sequence"], event["sequence"]);
        assert_eq!(body["type"], event["type"]);
        assert_eq!(body["data"], event["data"]);
    }
}

async fn published_in_order_and_resumed(database_url: String) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    let stream_name = format!("E2E_{run}");
    let prefix = format!("e2e.{run}.scim.events");
    let env = [
        ("DIRECTORY_EVENTS_NATS_URL", "nats://127.0.0.1:4222"),
        ("DIRECTORY_EVENTS_NATS_STREAM", stream_name.as_str()),
        ("DIRECTORY_EVENTS_NATS_SUBJECT_PREFIX", prefix.as_str()),
    ];
    let mut stack = Stack::start_with_env(database_url.clone(), &env)
        .await
        .unwrap();
    let subject = format!("{prefix}.{}", stack.workspace_id);

    let ada = stack.create_user("ada@example.com").await;
    let patched = stack
        .scim(
            "PATCH",
            &format!("/Users/{ada}"),
            Some(e2e_tests::patch(json!([
                { "op": "replace", "path": "title", "value": "Lead" },
            ]))),
        )
        .await;
    assert!(patched.status < 300, "{}", patched.raw);
    stack.create_group("Engineering", &[&ada]).await;
    let deleted = stack.scim("DELETE", &format!("/Users/{ada}"), None).await;
    assert_eq!(deleted.status, 204);

    let events = scimctl_json(&stack, &["events", "list", "--workspace", "acme"]);
    let events = events.as_array().unwrap().clone();
    assert!(events.len() >= 6, "{events:?}");

    let client = async_nats::connect(NATS_ADDR).await.unwrap();
    let js = jetstream::new(client);
    let mut stream = js.get_stream(&stream_name).await.unwrap();
    let published = messages(&mut stream, events.len() as u64).await;
    check(&published, &events, &subject);

    // Restart the directory: it resumes after the last event the stream holds.
    stack.directory.kill();
    stack.directory = directory(&database_url, &stack.credential, &env);
    scimctl_json(
        &stack,
        &[
            "token",
            "issue",
            "--workspace",
            "acme",
            "--name",
            "after-restart",
        ],
    );
    let events = scimctl_json(&stack, &["events", "list", "--workspace", "acme"]);
    let events = events.as_array().unwrap().clone();
    assert_eq!(events.last().unwrap()["type"], "token.issued");
    let published = messages(&mut stream, events.len() as u64).await;
    check(&published, &events, &subject);

    js.delete_stream(&stream_name).await.unwrap();
}

#[tokio::test]
async fn events_are_published_to_jetstream_in_order_and_resume_after_a_restart() {
    if nats_available() {
        published_in_order_and_resumed(e2e_tests::fresh_postgres_database().await.unwrap()).await;
    }
}

#[tokio::test]
async fn events_are_published_to_jetstream_from_sqlite() {
    if nats_available() {
        let dir =
            std::env::temp_dir().join(format!("e2e-sqlite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        published_in_order_and_resumed(format!("sqlite://{}/directory.db?mode=rwc", dir.display()))
            .await;
    }
}

//! The request log end to end: SCIM requests through the real gateway are recorded in the
//! directory (status, scimType, token id, redacted bodies), listed and shown with
//! `scimctl requests`, and neither the log nor either process's log output ever holds a
//! password or the bearer token.

use std::time::{Duration, Instant};

use e2e_tests::Stack;
use serde_json::{Value, json};

const PASSWORD: &str = "Sup3r-S3cret-Passw0rd";
const NEW_PASSWORD: &str = "An0ther-S3cret-Passw0rd";

async fn stack(sqlite: bool) -> Stack {
    // Debug logging in both processes: nothing they log may carry a secret.
    let env = [
        ("RUST_LOG", "debug"),
        ("GATEWAY_REQUEST_LOG_FLUSH_MS", "50"),
    ];
    let url = if sqlite {
        let dir =
            std::env::temp_dir().join(format!("e2e-sqlite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        format!("sqlite://{}/directory.db?mode=rwc", dir.display())
    } else {
        e2e_tests::fresh_postgres_database().await.unwrap()
    };
    Stack::start_with_env(url, &env).await.unwrap()
}

fn scimctl_json(stack: &Stack, args: &[&str]) -> (String, Value) {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = stack.scimctl(&all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "scimctl {args:?}: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    (stdout, value)
}

/// Waits (bounded) until the workspace's log holds at least `n` records.
fn wait_for_records(stack: &Stack, n: usize) -> (String, Vec<Value>) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (raw, list) = scimctl_json(
            stack,
            &["requests", "list", "--workspace", &stack.workspace_id],
        );
        let records = list.as_array().cloned().unwrap_or_default();
        if records.len() >= n {
            return (raw, records);
        }
        assert!(
            Instant::now() < deadline,
            "only {} of {n} requests recorded: {raw}",
            records.len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn requests_are_recorded_with_secrets_redacted(stack: Stack) {
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ada@example.com",
                "password": PASSWORD,
                "name": { "givenName": "Ada" },
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let patched = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{ "op": "replace", "path": "password", "value": NEW_PASSWORD }],
            })),
        )
        .await;
    assert!(patched.status < 300, "{}", patched.raw);
    let duplicate = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "ADA@example.com",
                "password": PASSWORD,
            })),
        )
        .await;
    assert_eq!(duplicate.status, 409, "{}", duplicate.raw);
    // Not authenticated: not recorded (it belongs to no workspace).
    let anonymous = stack.request("GET", "/Users", None, &[]).await;
    assert_eq!(anonymous.status, 401);

    let (raw, records) = wait_for_records(&stack, 3);
    assert_eq!(records.len(), 3, "{raw}");
    for secret in [PASSWORD, NEW_PASSWORD, stack.token.as_str()] {
        assert!(
            !raw.contains(secret),
            "the request log holds a secret: {raw}"
        );
    }
    assert!(!raw.to_ascii_lowercase().contains("bearer"), "{raw}");
    // Newest first.
    let (conflict, patch, create) = (&records[0], &records[1], &records[2]);

    assert_eq!(create["method"], "POST");
    assert_eq!(create["path"], "/scim/v2/Users");
    assert_eq!(create["status"], 201);
    assert_eq!(create["token_id"], stack.token_id.as_str());
    assert_eq!(create["workspace_id"], stack.workspace_id.as_str());
    assert_eq!(create["request_body"]["password"], "***");
    assert_eq!(create["request_body"]["userName"], "ada@example.com");
    assert_eq!(create["response_body"]["id"], id.as_str());
    assert!(create["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(!create["request_id"].as_str().unwrap().is_empty());

    assert_eq!(patch["method"], "PATCH");
    assert_eq!(
        patch["request_body"]["Operations"][0]["value"], "***",
        "{patch}"
    );

    assert_eq!(conflict["status"], 409);
    assert_eq!(conflict["scim_type"], "uniqueness");
    assert_eq!(
        conflict["response_body"]["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );

    // Filters: by status, by time.
    let (_, only_conflicts) = scimctl_json(
        &stack,
        &[
            "requests",
            "list",
            "--workspace",
            &stack.workspace_id,
            "--status",
            "409",
        ],
    );
    assert_eq!(only_conflicts.as_array().unwrap().len(), 1);
    assert_eq!(only_conflicts[0]["id"], conflict["id"]);
    let (_, none_yet) = scimctl_json(
        &stack,
        &[
            "requests",
            "list",
            "--workspace",
            &stack.workspace_id,
            "--since",
            "2999-01-01T00:00:00Z",
        ],
    );
    assert_eq!(none_yet, json!([]));

    // One record, shown.
    let (shown_raw, shown) = scimctl_json(
        &stack,
        &["requests", "show", create["id"].as_str().unwrap()],
    );
    assert_eq!(shown, *create, "{shown_raw}");
    let missing = stack.scimctl(&["requests", "show", &uuid::Uuid::now_v7().to_string()]);
    assert!(!missing.status.success());

    // Neither process logged a password or the token.
    let logs = format!("{}\n{}", stack.gateway.stderr(), stack.directory.stderr());
    assert!(!logs.is_empty());
    for secret in [PASSWORD, NEW_PASSWORD, stack.token.as_str()] {
        assert!(
            !logs.contains(secret),
            "a secret is in the process logs ({} bytes of logs)",
            logs.len()
        );
    }
}

#[tokio::test]
async fn requests_are_recorded_with_secrets_redacted_postgres() {
    requests_are_recorded_with_secrets_redacted(stack(false).await).await
}

#[tokio::test]
async fn requests_are_recorded_with_secrets_redacted_sqlite() {
    requests_are_recorded_with_secrets_redacted(stack(true).await).await
}

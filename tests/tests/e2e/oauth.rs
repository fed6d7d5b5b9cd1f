//! OAuth 2.0 client credentials (RFC 6749 §4.4) at `POST /oauth/token`: the full flow,
//! errors per §5.2, expiry, revocation within 5 s, secret rotation.

use std::time::{Duration, Instant};

use base64::Engine as _;
use e2e_tests::{Response, Stack};
use serde_json::Value;

const FORM: &str = "application/x-www-form-urlencoded";

fn scimctl_json(stack: &Stack, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let out = stack.scimctl(&all);
    assert!(
        out.status.success(),
        "scimctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// POST to `/oauth/token` (outside the SCIM base path).
async fn token_request(stack: &Stack, body: &str, headers: &[(&str, &str)]) -> Response {
    let mut all = vec![("content-type", FORM)];
    all.extend_from_slice(headers);
    stack
        .request_root("POST", "/oauth/token", Some(body.to_owned()), &all)
        .await
}

fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

async fn get_users(stack: &Stack, access_token: &str) -> u16 {
    let auth = format!("Bearer {access_token}");
    stack
        .request("GET", "/Users", None, &[("authorization", auth.as_str())])
        .await
        .status
}

e2e_tests::on_both_backends!(client_credentials_flow_errors_and_revocation);

async fn client_credentials_flow_errors_and_revocation(stack: Stack) {
    let created = scimctl_json(
        &stack,
        &[
            "client",
            "create",
            "--workspace",
            "acme",
            "--name",
            "Entra",
            "--expires-in",
            "180d",
        ],
    );
    let id = created["id"].as_str().unwrap().to_owned();
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let listed = scimctl_json(&stack, &["client", "list", "--workspace", "acme"]);
    assert!(
        !listed.to_string().contains(&secret),
        "listing shows the secret"
    );

    // Basic authentication.
    let response = token_request(
        &stack,
        "grant_type=client_credentials",
        &[("authorization", basic(&client_id, &secret).as_str())],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.raw);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    assert_eq!(response.body["token_type"], "Bearer");
    let expires_in = response.body["expires_in"].as_i64().unwrap();
    assert!((3590..=3600).contains(&expires_in), "{expires_in}");
    let access = response.body["access_token"].as_str().unwrap().to_owned();
    // Accepted by the SCIM endpoints, in the client's workspace.
    let created_user = stack
        .request(
            "POST",
            "/Users",
            Some(r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"oauth@example.com"}"#.into()),
            &[("authorization", format!("Bearer {access}").as_str())],
        )
        .await;
    assert_eq!(created_user.status, 201, "{}", created_user.raw);
    let listed = stack
        .scim(
            "GET",
            "/Users?filter=userName%20eq%20%22oauth@example.com%22",
            None,
        )
        .await;
    assert_eq!(
        listed.body["totalResults"], 1,
        "same workspace as the stack's token"
    );

    // Body authentication.
    let body =
        format!("grant_type=client_credentials&client_id={client_id}&client_secret={secret}");
    let response = token_request(&stack, &body, &[]).await;
    assert_eq!(response.status, 200, "{}", response.raw);

    // Errors (§5.2).
    let wrong = token_request(
        &stack,
        "grant_type=client_credentials",
        &[("authorization", basic(&client_id, "ocs_wrong").as_str())],
    )
    .await;
    assert_eq!(wrong.status, 401, "{}", wrong.raw);
    assert_eq!(wrong.body["error"], "invalid_client");
    assert!(
        wrong
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Basic"))
    );
    let wrong_body = token_request(
        &stack,
        &format!("grant_type=client_credentials&client_id={client_id}&client_secret=nope"),
        &[],
    )
    .await;
    assert_eq!(
        (wrong_body.status, wrong_body.body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let unsupported =
        token_request(&stack, &format!("grant_type=password&{}", &body[30..]), &[]).await;
    assert_eq!(
        (unsupported.status, unsupported.body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let missing = token_request(
        &stack,
        &format!("client_id={client_id}&client_secret={secret}"),
        &[],
    )
    .await;
    assert_eq!(
        (missing.status, missing.body["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let both = token_request(
        &stack,
        &body,
        &[("authorization", basic(&client_id, &secret).as_str())],
    )
    .await;
    assert_eq!(
        (both.status, both.body["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Secret rotation: a second secret works; the first, once revoked, does not.
    let added = scimctl_json(
        &stack,
        &["client", "secret", "add", "--workspace", "acme", &id],
    );
    let second = added["client_secret"].as_str().unwrap().to_owned();
    let first_secret_id = added["secrets"][0]["id"].as_str().unwrap().to_owned();
    scimctl_json(
        &stack,
        &[
            "client",
            "secret",
            "revoke",
            "--workspace",
            "acme",
            &id,
            &first_secret_id,
        ],
    );
    let with_first = token_request(
        &stack,
        "grant_type=client_credentials",
        &[("authorization", basic(&client_id, &secret).as_str())],
    )
    .await;
    assert_eq!(with_first.status, 401);
    let with_second = token_request(
        &stack,
        "grant_type=client_credentials",
        &[("authorization", basic(&client_id, &second).as_str())],
    )
    .await;
    assert_eq!(with_second.status, 200, "{}", with_second.raw);

    // Revoking the client: its access tokens stop within 5 s, its secrets at once.
    assert_eq!(get_users(&stack, &access).await, 200);
    scimctl_json(&stack, &["client", "revoke", "--workspace", "acme", &id]);
    let revoked_at = Instant::now();
    while get_users(&stack, &access).await != 401 {
        assert!(
            revoked_at.elapsed() < Duration::from_millis(5500),
            "access token still accepted"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = token_request(
        &stack,
        "grant_type=client_credentials",
        &[("authorization", basic(&client_id, &second).as_str())],
    )
    .await;
    assert_eq!(after.status, 401);
}

#[tokio::test]
async fn access_tokens_expire_with_their_client_then_the_grant_is_refused() {
    let stack = Stack::start().await.unwrap();
    let created = scimctl_json(
        &stack,
        &[
            "client",
            "create",
            "--workspace",
            "acme",
            "--name",
            "short",
            "--expires-in",
            "3s",
        ],
    );
    let client_id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let response = token_request(
        &stack,
        "grant_type=client_credentials",
        &[("authorization", basic(&client_id, &secret).as_str())],
    )
    .await;
    assert_eq!(response.status, 200, "{}", response.raw);
    assert!(
        response.body["expires_in"].as_i64().unwrap() <= 3,
        "never outlives its client"
    );
    let access = response.body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(get_users(&stack, &access).await, 200);
    let issued = Instant::now();
    while get_users(&stack, &access).await != 401 {
        assert!(
            issued.elapsed() < Duration::from_secs(5),
            "expired access token accepted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let expired = token_request(
        &stack,
        "grant_type=client_credentials",
        &[("authorization", basic(&client_id, &secret).as_str())],
    )
    .await;
    assert_eq!(
        (expired.status, expired.body["error"].as_str()),
        (400, Some("invalid_grant")),
        "{}",
        expired.raw
    );
}

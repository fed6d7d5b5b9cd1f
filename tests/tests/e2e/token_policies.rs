//! SCIM token rotation with overlap and token scopes (403 outside the scope, Bulk per
//! operation).

use std::time::{Duration, Instant};

use e2e_tests::{Response, Stack, assert_scim_error};
use serde_json::{Value, json};

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

async fn with_token(
    stack: &Stack,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Response {
    let auth = format!("Bearer {token}");
    stack
        .request(
            method,
            path,
            body.map(|b| b.to_string()),
            &[("authorization", auth.as_str())],
        )
        .await
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
    })
}

fn group(display_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": display_name,
    })
}

#[tokio::test]
async fn a_rotated_token_works_until_the_overlap_ends_then_answers_401() {
    let stack = Stack::start().await.unwrap();
    let old = stack.token.clone();
    assert_eq!(
        with_token(&stack, &old, "GET", "/Users", None).await.status,
        200
    );
    let rotated = scimctl_json(
        &stack,
        &[
            "token",
            "rotate",
            "--workspace",
            "acme",
            &stack.token_id,
            "--overlap",
            "3s",
        ],
    );
    let rotated_at = Instant::now();
    let new = rotated["token"]["token"].as_str().unwrap().to_owned();
    let new_id = rotated["token"]["id"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(rotated["previous"]["replaced_by"], new_id.as_str());
    assert!(rotated["previous"]["expires"].is_string(), "{rotated}");

    // Both work during the overlap.
    assert_eq!(
        with_token(&stack, &old, "GET", "/Users", None).await.status,
        200
    );
    assert_eq!(
        with_token(&stack, &new, "GET", "/Users", None).await.status,
        200
    );

    // The listing shows the pair and when the old one stops.
    let listed = scimctl_json(&stack, &["token", "list", "--workspace", "acme"]);
    let tokens = listed.as_array().unwrap();
    let old_row = tokens
        .iter()
        .find(|t| t["id"] == stack.token_id.as_str())
        .unwrap();
    let new_row = tokens.iter().find(|t| t["id"] == new_id.as_str()).unwrap();
    assert_eq!(old_row["replaced_by"], new_id.as_str());
    assert_eq!(old_row["expires"], rotated["previous"]["expires"]);
    assert_eq!(new_row["replaces"], stack.token_id.as_str());
    assert!(!listed.to_string().contains(&new), "listing shows a secret");

    // A rotated token cannot be rotated again.
    let again = stack.scimctl(&["token", "rotate", "--workspace", "acme", &stack.token_id]);
    assert_eq!(
        again.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );

    // After the overlap (plus the ≤5 s cache bound) the old token is refused.
    loop {
        let response = with_token(&stack, &old, "GET", "/Users", None).await;
        if response.status == 401 {
            assert_scim_error(&response, 401, None);
            break;
        }
        assert_eq!(response.status, 200);
        assert!(
            rotated_at.elapsed() < Duration::from_millis(3000 + 5500),
            "old token still accepted after {:?}",
            rotated_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        rotated_at.elapsed() >= Duration::from_millis(2500),
        "old token refused before the overlap ended: {:?}",
        rotated_at.elapsed()
    );
    assert_eq!(
        with_token(&stack, &new, "GET", "/Users", None).await.status,
        200
    );
}

e2e_tests::on_both_backends!(
    requests_outside_a_tokens_scope_get_403_and_bulk_is_checked_per_operation
);

async fn requests_outside_a_tokens_scope_get_403_and_bulk_is_checked_per_operation(stack: Stack) {
    let issue = |name: &str, scope: &str| {
        let issued = scimctl_json(
            &stack,
            &[
                "token",
                "issue",
                "--workspace",
                "acme",
                "--name",
                name,
                "--scope",
                scope,
            ],
        );
        assert_eq!(issued["scope"], scope);
        issued["token"].as_str().unwrap().to_owned()
    };
    let read_only = issue("auditor", "read-only");
    let users_only = issue("hr", "users-only");
    let groups_only = issue("groups", "groups-only");
    let seeded = stack.create_user("seed@example.com").await;

    // read-only: reads pass, writes are 403 and change nothing.
    assert_eq!(
        with_token(&stack, &read_only, "GET", "/Users", None)
            .await
            .status,
        200
    );
    assert_eq!(
        with_token(&stack, &read_only, "GET", "/Groups", None)
            .await
            .status,
        200
    );
    let refused = with_token(
        &stack,
        &read_only,
        "POST",
        "/Users",
        Some(user("ro@example.com")),
    )
    .await;
    let detail = assert_scim_error(&refused, 403, None);
    assert!(detail.contains("read-only"), "{detail}");
    let refused = with_token(
        &stack,
        &read_only,
        "DELETE",
        &format!("/Users/{seeded}"),
        None,
    )
    .await;
    assert_scim_error(&refused, 403, None);
    assert_eq!(
        stack
            .scim("GET", &format!("/Users/{seeded}"), None)
            .await
            .status,
        200
    );

    // users-only: users yes, groups no.
    let created = with_token(
        &stack,
        &users_only,
        "POST",
        "/Users",
        Some(user("hr@example.com")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_scim_error(
        &with_token(&stack, &users_only, "GET", "/Groups", None).await,
        403,
        None,
    );
    assert_scim_error(
        &with_token(
            &stack,
            &users_only,
            "POST",
            "/Groups",
            Some(group("hr-group")),
        )
        .await,
        403,
        None,
    );

    // groups-only: groups yes, users no.
    let created = with_token(&stack, &groups_only, "POST", "/Groups", Some(group("g1"))).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_scim_error(
        &with_token(&stack, &groups_only, "GET", "/Users", None).await,
        403,
        None,
    );
    assert_scim_error(
        &with_token(
            &stack,
            &groups_only,
            "GET",
            &format!("/Users/{seeded}"),
            None,
        )
        .await,
        403,
        None,
    );

    // Bulk with a users-only token: the user operation succeeds, the group one is 403.
    let bulk = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "u", "data": user("bulk@example.com")},
            {"method": "POST", "path": "/Groups", "bulkId": "g", "data": group("bulk-group")},
        ],
    });
    let response = with_token(&stack, &users_only, "POST", "/Bulk", Some(bulk)).await;
    assert_eq!(response.status, 200, "{}", response.raw);
    let operations = response.body["Operations"].as_array().unwrap();
    assert_eq!(operations[0]["status"], "201", "{}", response.raw);
    assert_eq!(operations[1]["status"], "403", "{}", response.raw);
    assert_eq!(
        operations[1]["response"]["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );

    // Listings show each token's scope; the stack's own token is full.
    let listed = scimctl_json(&stack, &["token", "list", "--workspace", "acme"]);
    let scopes: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["scope"].as_str().unwrap())
        .collect();
    assert_eq!(scopes, ["full", "read-only", "users-only", "groups-only"]);
}

#[tokio::test]
async fn a_token_outside_its_ip_allow_list_gets_the_same_401_as_a_wrong_token() {
    let mut stack = Stack::start().await.unwrap();
    let issue = |name: &str, cidrs: &str| {
        let issued = scimctl_json(
            &stack,
            &[
                "token",
                "issue",
                "--workspace",
                "acme",
                "--name",
                name,
                "--allow-cidr",
                cidrs,
            ],
        );
        issued["token"].as_str().unwrap().to_owned()
    };
    let office = issue("office", "203.0.113.0/24,2001:db8::/32");
    let local = issue("local", "127.0.0.1");
    let listed = scimctl_json(&stack, &["token", "list", "--workspace", "acme"]);
    let office_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "office")
        .unwrap();
    assert_eq!(
        office_row["allowed_cidrs"],
        json!(["203.0.113.0/24", "2001:db8::/32"])
    );

    // Tests connect from 127.0.0.1.
    assert_eq!(
        with_token(&stack, &local, "GET", "/Users", None)
            .await
            .status,
        200
    );
    let outside = with_token(&stack, &office, "GET", "/Users", None).await;
    let wrong = with_token(&stack, "scim_NOTATOKEN", "GET", "/Users", None).await;
    assert_scim_error(&outside, 401, None);
    assert_eq!(
        outside.body, wrong.body,
        "the 401 reveals nothing about the token"
    );
    assert_eq!(
        outside.header("www-authenticate"),
        wrong.header("www-authenticate")
    );
    // Without trusted proxies a client cannot claim an address.
    let auth = format!("Bearer {office}");
    let claimed = stack
        .request(
            "GET",
            "/Users",
            None,
            &[
                ("authorization", auth.as_str()),
                ("x-forwarded-for", "203.0.113.9"),
            ],
        )
        .await;
    assert_scim_error(&claimed, 401, None);

    // Behind a trusted proxy (the test client plays it), X-Forwarded-For names the client.
    stack.gateway = stack
        .spawn_gateway(&[("GATEWAY_TRUSTED_PROXIES", "127.0.0.1/32")])
        .unwrap();
    for (forwarded, status) in [
        ("203.0.113.9", 200),
        ("198.51.100.1, 203.0.113.9", 200),
        ("203.0.113.9, 198.51.100.1", 401),
    ] {
        let response = stack
            .request(
                "GET",
                "/Users",
                None,
                &[
                    ("authorization", auth.as_str()),
                    ("x-forwarded-for", forwarded),
                ],
            )
            .await;
        assert_eq!(
            response.status, status,
            "X-Forwarded-For: {forwarded}: {}",
            response.raw
        );
    }
    // The peer itself (127.0.0.1) is not in the office list.
    assert_scim_error(
        &with_token(&stack, &office, "GET", "/Users", None).await,
        401,
        None,
    );
    assert_eq!(
        with_token(&stack, &local, "GET", "/Users", None)
            .await
            .status,
        200
    );
}

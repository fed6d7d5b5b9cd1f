//! Product rules visible over SCIM (`shared/reference/idp-traffic.md` §5), those that do
//! not need role groups or licenses.

use e2e_tests::{Stack, assert_scim_error, patch};
use serde_json::json;

#[tokio::test]
async fn isolation_groups_and_members() {
    let stack = Stack::start().await.unwrap();
    let user = stack.create_user("shared@x.test").await;
    let group = stack.create_group("Shared", &[&user]).await;
    let other = stack.new_workspace("globex").await.unwrap();
    let (_, token) = stack.issue_token(&other, "globex").await.unwrap();
    let auth = format!("Bearer {token}");
    let hidden = stack
        .request(
            "GET",
            &format!("/Groups/{group}"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_scim_error(&hidden, 404, None);
    let listed = stack
        .request("GET", "/Groups", None, &[("authorization", &auth)])
        .await;
    assert_eq!(listed.body["totalResults"], 0);
    // The same displayName may exist in another workspace...
    let mine = stack
        .request(
            "POST",
            "/Groups",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Shared"}).to_string()),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(mine.status, 201, "{}", mine.raw);
    // ...but it cannot take the first workspace's user as a member.
    let mine_id = mine.body["id"].as_str().unwrap();
    let add =
        patch(json!([{"op": "add", "path": "members", "value": [{"value": user}]}])).to_string();
    let refused = stack
        .request(
            "PATCH",
            &format!("/Groups/{mine_id}"),
            Some(add),
            &[("authorization", &auth)],
        )
        .await;
    assert_scim_error(&refused, 400, Some("invalidValue"));
    let delete = stack
        .request(
            "DELETE",
            &format!("/Groups/{group}"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_scim_error(&delete, 404, None);
    assert_eq!(stack.member_ids(&group).await, vec![user]);
}

#[tokio::test]
async fn group_add_unknown_member_refused() {
    let stack = Stack::start().await.unwrap();
    let user = stack.create_user("real@x.test").await;
    let group = stack.create_group("Team", &[&user]).await;
    for unknown in ["00000000-0000-7000-8000-000000000000", "not-a-user"] {
        let add = patch(json!([{"op": "add", "path": "members", "value": [{"value": unknown}]}]));
        let refused = stack
            .scim("PATCH", &format!("/Groups/{group}"), Some(add))
            .await;
        assert_scim_error(&refused, 400, Some("invalidValue"));
    }
    let create = stack.scim("POST", "/Groups", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ghosts", "members": [{"value": "00000000-0000-7000-8000-000000000000"}]}))).await;
    assert_scim_error(&create, 400, Some("invalidValue"));
    assert_eq!(
        stack.scim("GET", "/Groups", None).await.body["totalResults"],
        1,
        "nothing created"
    );
    assert_eq!(stack.member_ids(&group).await, vec![user]);
}

#[tokio::test]
async fn deleted_user_leaves_groups() {
    let stack = Stack::start().await.unwrap();
    let a = stack.create_user("a@x.test").await;
    let b = stack.create_user("b@x.test").await;
    let group = stack.create_group("Team", &[&a, &b]).await;
    assert_eq!(
        stack
            .scim("DELETE", &format!("/Users/{a}"), None)
            .await
            .status,
        204
    );
    assert_eq!(stack.member_ids(&group).await, vec![b]);
}

async fn patch_members(
    stack: &Stack,
    group: &str,
    operations: serde_json::Value,
) -> e2e_tests::Response {
    stack
        .scim(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch(operations)),
        )
        .await
}

#[tokio::test]
async fn push_admin_role_group() {
    let stack = Stack::start().await.unwrap();
    let alice = stack.create_user("alice@x.test").await;
    let group = stack
        .create_group("XD5-XD5-LA1000_AuthLocalstackAdmin", &[&alice])
        .await;
    let read = stack.scim("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(
        read.body["displayName"], "XD5-XD5-LA1000_AuthLocalstackAdmin",
        "the name sent is kept"
    );
    // Alice is now the admin: she cannot be removed.
    let removal = patch_members(
        &stack,
        &group,
        json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
    )
    .await;
    let detail = assert_scim_error(&removal, 409, None);
    assert!(
        detail.contains("Cannot remove the last workspace admin"),
        "{detail}"
    );
}

#[tokio::test]
async fn push_member_role_group() {
    let stack = Stack::start().await.unwrap();
    let alice = stack.create_user("alice@x.test").await;
    let group = stack.create_group("LocalStack-Member", &[&alice]).await;
    // A member role group has no last-member rule.
    let removal = patch_members(
        &stack,
        &group,
        json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
    )
    .await;
    assert!(
        removal.status == 204 || removal.status == 200,
        "{}",
        removal.raw
    );
    assert!(stack.member_ids(&group).await.is_empty());
}

#[tokio::test]
async fn rename_role_group_tracked() {
    let stack = Stack::start().await.unwrap();
    let alice = stack.create_user("alice@x.test").await;
    let group = stack.create_group("LocalStack-Admin", &[&alice]).await;
    let renamed = patch_members(
        &stack,
        &group,
        json!([{"op": "replace", "path": "displayName", "value": "Platform Owners"}]),
    )
    .await;
    assert!(renamed.status == 204 || renamed.status == 200);
    assert_eq!(
        stack
            .scim("GET", &format!("/Groups/{group}"), None)
            .await
            .body["displayName"],
        "Platform Owners"
    );
    // Still the admin role group: the rule still holds after the rename.
    let removal = patch_members(
        &stack,
        &group,
        json!([{"op": "Remove", "path": "members", "value": [{"value": alice}]}]),
    )
    .await;
    assert_scim_error(&removal, 409, None);
}

#[tokio::test]
async fn dual_role_membership_409() {
    let stack = Stack::start().await.unwrap();
    let alice = stack.create_user("alice@x.test").await;
    let admins = stack.create_group("LocalStack-Admin", &[]).await;
    stack.create_group("LocalStack-Member", &[&alice]).await;
    let add = patch_members(
        &stack,
        &admins,
        json!([{"op": "add", "path": "members", "value": [{"value": alice}]}]),
    )
    .await;
    let detail = assert_scim_error(&add, 409, None);
    assert!(
        detail.contains("remove") && detail.contains("LocalStack-Member"),
        "{detail}"
    );
    assert!(
        stack.member_ids(&admins).await.is_empty(),
        "nothing changed"
    );
    let put = stack
        .scim(
            "PUT",
            &format!("/Groups/{admins}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "LocalStack-Admin", "members": [{"value": alice}]})),
        )
        .await;
    assert_scim_error(&put, 409, None);
}

#[tokio::test]
async fn move_user_between_role_groups() {
    let stack = Stack::start().await.unwrap();
    let owner = stack.create_user("owner@x.test").await;
    let alice = stack.create_user("alice@x.test").await;
    let admins = stack.create_group("LocalStack-Admin", &[&owner]).await;
    let members = stack.create_group("LocalStack-Member", &[&alice]).await;
    let out = patch_members(
        &stack,
        &members,
        json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
    )
    .await;
    assert!(out.status == 204 || out.status == 200);
    let into = patch_members(
        &stack,
        &admins,
        json!([{"op": "add", "path": "members", "value": [{"value": alice}]}]),
    )
    .await;
    assert!(into.status == 204 || into.status == 200, "{}", into.raw);
    let mut expected = vec![owner, alice];
    expected.sort();
    assert_eq!(stack.member_ids(&admins).await, expected);
}

#[tokio::test]
async fn last_admin_every_request_shape() {
    let stack = Stack::start().await.unwrap();
    let alice = stack.create_user("alice@x.test").await;
    let admins = stack.create_group("LocalStack-Admin", &[&alice]).await;
    let user_path = format!("/Users/{alice}");
    let group_path = format!("/Groups/{admins}");
    let mut deactivated = stack.scim("GET", &user_path, None).await.body;
    deactivated["active"] = json!(false);
    let attempts = vec![
        (
            "okta filtered remove",
            "PATCH",
            group_path.clone(),
            Some(patch(
                json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}]),
            )),
        ),
        (
            "okta full replace",
            "PATCH",
            group_path.clone(),
            Some(patch(
                json!([{"op": "replace", "path": "members", "value": []}]),
            )),
        ),
        (
            "entra value remove",
            "PATCH",
            group_path.clone(),
            Some(patch(
                json!([{"op": "Remove", "path": "members", "value": [{"value": alice}]}]),
            )),
        ),
        (
            "aiw group put",
            "PUT",
            group_path.clone(),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "LocalStack-Admin", "members": []}),
            ),
        ),
        (
            "okta deactivate",
            "PATCH",
            user_path.clone(),
            Some(patch(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
        ),
        (
            "entra deactivate",
            "PATCH",
            user_path.clone(),
            Some(patch(
                json!([{"op": "Replace", "path": "active", "value": "False"}]),
            )),
        ),
        (
            "aiw deactivate put",
            "PUT",
            user_path.clone(),
            Some(deactivated),
        ),
        ("delete user", "DELETE", user_path.clone(), None),
        ("delete admin group", "DELETE", group_path.clone(), None),
    ];
    for (shape, method, path, body) in attempts {
        let response = stack.scim(method, &path, body).await;
        let detail = assert_scim_error(&response, 409, None);
        assert!(
            detail.contains("Cannot remove the last workspace admin"),
            "{shape}: {detail}"
        );
    }
    assert_eq!(
        stack.member_ids(&admins).await,
        vec![alice.clone()],
        "every refusal changed nothing"
    );
    assert_eq!(
        stack.scim("GET", &user_path, None).await.body["active"],
        true
    );
}

#[tokio::test]
async fn rate_limit_429_with_integer_retry_after_per_token() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database,
        &[
            ("GATEWAY_RATE_LIMIT_PER_TOKEN", "5"),
            ("GATEWAY_RATE_LIMIT_BURST", "5"),
        ],
    )
    .await
    .unwrap();
    let other_ws = stack.new_workspace("globex").await.unwrap();
    let (_, other_token) = stack.issue_token(&other_ws, "globex").await.unwrap();
    // A burst well over the limit: bounded in count.
    let mut limited = None;
    for _ in 0..20 {
        let response = stack.scim("GET", "/Users?count=1", None).await;
        if response.status == 429 {
            limited = Some(response);
            break;
        }
        assert_eq!(response.status, 200);
    }
    let limited = limited.expect("the burst was limited");
    let detail = assert_scim_error(&limited, 429, None);
    assert!(
        detail.contains("rate_limited"),
        "seed 003's error: {detail}"
    );
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("integer seconds");
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    // Per token: another workspace's token is not affected.
    let other = stack
        .request(
            "GET",
            "/Users",
            None,
            &[("authorization", &format!("Bearer {other_token}"))],
        )
        .await;
    assert_eq!(other.status, 200);
    // It recovers after Retry-After.
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    assert_eq!(stack.scim("GET", "/Users?count=1", None).await.status, 200);
}

#[tokio::test]
async fn rate_limit_lets_a_steady_25_per_second_through() {
    // The product's defaults (asserted in scim-gateway's config tests): the harness raises
    // the limit for feature tests, so set them back here.
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database,
        &[
            ("GATEWAY_RATE_LIMIT_PER_TOKEN", "100"),
            ("GATEWAY_RATE_LIMIT_BURST", "20"),
        ],
    )
    .await
    .unwrap();
    // Entra's gallery requirement: 25 requests per second per tenant, without a 429.
    let started = std::time::Instant::now();
    for i in 0..50u32 {
        let due = std::time::Duration::from_millis(40 * u64::from(i));
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let response = stack.scim("GET", "/Users?count=1", None).await;
        assert_eq!(
            response.status,
            200,
            "request {i} at {:?}",
            started.elapsed()
        );
    }
}

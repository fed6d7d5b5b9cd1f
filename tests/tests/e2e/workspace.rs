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
            Some(json!({"displayName": "Shared"}).to_string()),
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
    let create = stack.scim("POST", "/Groups", Some(json!({"displayName": "Ghosts", "members": [{"value": "00000000-0000-7000-8000-000000000000"}]}))).await;
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

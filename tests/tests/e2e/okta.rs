//! Okta's provisioning traffic, step by step, as recorded in
//! `shared/reference/idp-traffic.md` §2. Each test is named after its step and asserts the
//! follow-up read, not just the status.

#![allow(non_snake_case)] // test names are the step names of the reference

use e2e_tests::{Stack, assert_scim_error, patch, q};
use serde_json::{Value, json};

/// Okta's create body (OKTA-REF), with Okta's placeholder password and empty groups.
fn okta_user(user_name: &str, external_id: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": external_id,
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

async fn okta_create(stack: &Stack, user_name: &str) -> Value {
    // Okta's POST /Users carries Content-Type: application/json (OKTA-SPEC).
    let auth = format!("Bearer {}", stack.token);
    let created = stack
        .request(
            "POST",
            "/Users",
            Some(okta_user(user_name, "00ujl29u0le5T6Aj10h7").to_string()),
            &[
                ("authorization", &auth),
                ("content-type", "application/json"),
                ("user-agent", "Okta SCIM Client 1.0.0"),
            ],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    created.body
}

#[tokio::test]
async fn test_connector_users_and_groups_probes() {
    let stack = Stack::start().await.unwrap();
    for path in [
        "/Users?startIndex=1&count=2",
        "/Groups?startIndex=1&count=100",
    ] {
        let probe = stack.scim("GET", path, None).await;
        assert_eq!(probe.status, 200, "{path}: {}", probe.raw);
        assert_eq!(
            probe.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(probe.body["totalResults"], 0);
        assert_eq!(probe.body["Resources"], json!([]));
        assert!(probe.body["startIndex"].is_i64() && probe.body["itemsPerPage"].is_i64());
    }
    let spc = stack.scim("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc.status, 200);
    let unauthorized = stack
        .request(
            "GET",
            &format!("/Users?filter={}", q("userName eq \"a@b.c\"")),
            None,
            &[("authorization", "non-token")],
        )
        .await;
    let detail = assert_scim_error(&unauthorized, 401, None);
    assert!(!detail.is_empty());
}

#[tokio::test]
async fn import_users_paging() {
    let stack = Stack::start().await.unwrap();
    for i in 0..7 {
        stack.create_user(&format!("import{i}@okta.local")).await;
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = stack
            .scim("GET", &format!("/Users?startIndex={start}&count=3"), None)
            .await;
        assert_eq!(page.status, 200);
        let total = page.body["totalResults"].as_i64().unwrap();
        let resources = page.body["Resources"].as_array().unwrap().clone();
        seen.extend(
            resources
                .iter()
                .map(|r| r["userName"].as_str().unwrap().to_owned()),
        );
        start += resources.len() as i64;
        if start > total || resources.is_empty() {
            break;
        }
    }
    let expected: Vec<String> = (0..7).map(|i| format!("import{i}@okta.local")).collect();
    assert_eq!(
        seen, expected,
        "the same order whatever count and startIndex"
    );
}

#[tokio::test]
async fn paging_count_and_start_index() {
    let stack = Stack::start().await.unwrap();
    let created = okta_create(&stack, "first@okta.local").await;
    let page = stack.scim("GET", "/Users?count=1&startIndex=1", None).await;
    let first = &page.body["Resources"][0];
    assert_eq!(first["id"], created["id"]);
    assert_eq!(first["name"]["familyName"], "User");
    assert_eq!(first["name"]["givenName"], "Test");
    assert_eq!(first["userName"], "first@okta.local");
    assert_eq!(first["active"], true);
    assert_eq!(first["emails"][0]["value"], "first@okta.local");
}

#[tokio::test]
async fn lookup_unknown_user_empty_list() {
    let stack = Stack::start().await.unwrap();
    let path = format!(
        "/Users?filter={}&startIndex=1&count=100",
        q("userName eq \"test.user@okta.local\"")
    );
    let lookup = stack.scim("GET", &path, None).await;
    assert_eq!(lookup.status, 200);
    assert_eq!(lookup.body["totalResults"], 0);
    assert_eq!(lookup.body["Resources"], json!([]));
}

#[tokio::test]
async fn create_user() {
    let stack = Stack::start().await.unwrap();
    let created = okta_create(&stack, "test.user@okta.local").await;
    assert!(created["id"].is_string());
    assert!(created.get("password").is_none());
    let listed = stack
        .scim(
            "GET",
            &format!(
                "/Users?filter={}",
                q("userName eq \"test.user@okta.local\"")
            ),
            None,
        )
        .await;
    assert_eq!(listed.body["totalResults"], 1);
    assert_eq!(
        listed.body["Resources"][0]["externalId"],
        "00ujl29u0le5T6Aj10h7"
    );
    assert_eq!(listed.body["Resources"][0]["locale"], "en-US");
}

#[tokio::test]
async fn get_created_user() {
    let stack = Stack::start().await.unwrap();
    let created = okta_create(&stack, "test.user@okta.local").await;
    let id = created["id"].as_str().unwrap();
    let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["userName"], "test.user@okta.local");
    assert_eq!(fetched.body["displayName"], "Test User");
    // The spec test's case-sensitivity check.
    let upper = stack
        .scim(
            "GET",
            &format!(
                "/Users?filter={}",
                q("userName eq \"TEST.USER@OKTA.LOCAL\"")
            ),
            None,
        )
        .await;
    assert_eq!(upper.status, 200);
    assert_eq!(upper.body["Resources"][0]["id"], id);
}

#[tokio::test]
async fn create_duplicate_user_409() {
    let stack = Stack::start().await.unwrap();
    okta_create(&stack, "test.user@okta.local").await;
    let again = stack
        .scim(
            "POST",
            "/Users",
            Some(okta_user("test.user@okta.local", "other")),
        )
        .await;
    assert_scim_error(&again, 409, Some("uniqueness"));
    let listed = stack.scim("GET", "/Users", None).await;
    assert_eq!(listed.body["totalResults"], 1);
}

#[tokio::test]
async fn create_user_with_primary_role() {
    let stack = Stack::start().await.unwrap();
    let mut body = okta_user("role.user@okta.local", "00u1");
    body["roles"] = json!([{"primary": true, "value": "Admin"}]);
    let created = stack.scim("POST", "/Users", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(
        fetched.body["roles"],
        json!([{"primary": true, "value": "Admin"}])
    );
}

#[tokio::test]
async fn update_profile_put() {
    let stack = Stack::start().await.unwrap();
    let created = okta_create(&stack, "test.user@okta.local").await;
    let id = created["id"].as_str().unwrap();
    let mut body = stack.scim("GET", &format!("/Users/{id}"), None).await.body;
    body["name"]["givenName"] = json!("Changed");
    body["meta"] = json!({"resourceType": "User"});
    body["groups"] = json!([]);
    body["password"] = json!("1mz050nq");
    let put = stack.scim("PUT", &format!("/Users/{id}"), Some(body)).await;
    assert_eq!(put.status, 200, "{}", put.raw);
    let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(fetched.body["name"]["givenName"], "Changed");
    assert_eq!(fetched.body["name"]["familyName"], "User");
    assert_eq!(fetched.body["externalId"], "00ujl29u0le5T6Aj10h7");
}

#[tokio::test]
async fn deactivate_user_patch() {
    let stack = Stack::start().await.unwrap();
    let id = okta_create(&stack, "test.user@okta.local").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let patched = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
        )
        .await;
    assert!(
        patched.status == 200 || patched.status == 204,
        "{}",
        patched.raw
    );
    let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["active"], false);
}

#[tokio::test]
async fn deactivated_user_still_listed() {
    let stack = Stack::start().await.unwrap();
    let id = okta_create(&stack, "test.user@okta.local").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
        )
        .await;
    let listed = stack
        .scim(
            "GET",
            &format!(
                "/Users?filter={}",
                q("userName eq \"test.user@okta.local\"")
            ),
            None,
        )
        .await;
    assert_eq!(listed.body["totalResults"], 1);
    assert_eq!(listed.body["Resources"][0]["active"], false);
}

#[tokio::test]
async fn deactivate_reactivate_user_put() {
    let stack = Stack::start().await.unwrap();
    let id = okta_create(&stack, "test.user@okta.local").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for active in [false, true] {
        let mut body = stack.scim("GET", &format!("/Users/{id}"), None).await.body;
        body["active"] = json!(active);
        let put = stack.scim("PUT", &format!("/Users/{id}"), Some(body)).await;
        assert_eq!(put.status, 200, "{}", put.raw);
        let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
        assert_eq!(fetched.body["active"], active);
    }
}

#[tokio::test]
async fn reactivate_user_patch() {
    let stack = Stack::start().await.unwrap();
    let id = okta_create(&stack, "test.user@okta.local").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for active in [false, true] {
        let patched = stack
            .scim(
                "PATCH",
                &format!("/Users/{id}"),
                Some(patch(
                    json!([{"op": "replace", "value": {"active": active}}]),
                )),
            )
            .await;
        assert!(patched.status == 200 || patched.status == 204);
    }
    assert_eq!(
        stack.scim("GET", &format!("/Users/{id}"), None).await.body["active"],
        true
    );
}

#[tokio::test]
async fn push_group_create() {
    let stack = Stack::start().await.unwrap();
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2", "members": []});
    let created = stack.scim("POST", "/Groups", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(created.body["displayName"], "Test SCIMv2");
    assert_eq!(created.body["meta"]["resourceType"], "Group");
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(
        created.header("location").unwrap(),
        created.body["meta"]["location"].as_str().unwrap()
    );
    let fetched = stack.scim("GET", &format!("/Groups/{id}"), None).await;
    assert_eq!(fetched.body["displayName"], "Test SCIMv2");
}

#[tokio::test]
async fn push_group_with_members() {
    let stack = Stack::start().await.unwrap();
    let a = stack.create_user("a@okta.local").await;
    let b = stack.create_user("b@okta.local").await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Engineering",
        "members": [{"value": a, "display": "a@okta.local"}, {"value": b, "display": "b@okta.local"}]});
    let created = stack.scim("POST", "/Groups", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let mut expected = vec![a.clone(), b.clone()];
    expected.sort();
    assert_eq!(stack.member_ids(id).await, expected);
    let user = stack.scim("GET", &format!("/Users/{a}"), None).await;
    assert_eq!(
        user.body["groups"][0]["value"], id,
        "the user lists its group"
    );
}

#[tokio::test]
async fn lookup_group_by_displayName() {
    let stack = Stack::start().await.unwrap();
    let id = stack.create_group("Test SCIMv2", &[]).await;
    let path = format!(
        "/Groups?filter={}&startIndex=1&count=100",
        q("displayName eq \"Test SCIMv2\"")
    );
    let found = stack.scim("GET", &path, None).await;
    assert_eq!(found.status, 200);
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
    let missing = stack
        .scim(
            "GET",
            &format!("/Groups?filter={}", q("displayName eq \"Nope\"")),
            None,
        )
        .await;
    assert_eq!(missing.body["Resources"], json!([]));
}

#[tokio::test]
async fn group_add_member() {
    let stack = Stack::start().await.unwrap();
    let a = stack.create_user("a@okta.local").await;
    let group = stack.create_group("Test SCIMv2", &[]).await;
    let patched = stack
        .scim(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch(json!([{"op": "add", "path": "members", "value": [{"value": a, "display": "a@okta.local"}]}]))),
        )
        .await;
    assert!(
        patched.status == 200 || patched.status == 204,
        "{}",
        patched.raw
    );
    assert_eq!(stack.member_ids(&group).await, vec![a]);
}

#[tokio::test]
async fn group_remove_and_add_member_one_patch() {
    let stack = Stack::start().await.unwrap();
    let a = stack.create_user("a@okta.local").await;
    let b = stack.create_user("b@okta.local").await;
    let group = stack.create_group("Test SCIMv2", &[&a]).await;
    let body = patch(json!([
        {"op": "remove", "path": format!("members[value eq \"{a}\"]")},
        {"op": "add", "path": "members", "value": [{"value": b, "display": "b@okta.local"}]},
        // Okta re-sends the name with every membership change.
        {"op": "replace", "value": {"id": group, "displayName": "Test SCIMv2"}}
    ]));
    let patched = stack
        .scim("PATCH", &format!("/Groups/{group}"), Some(body))
        .await;
    assert!(
        patched.status == 200 || patched.status == 204,
        "{}",
        patched.raw
    );
    assert_eq!(stack.member_ids(&group).await, vec![b]);
}

#[tokio::test]
async fn group_replace_members_patch() {
    let stack = Stack::start().await.unwrap();
    let a = stack.create_user("a@okta.local").await;
    let b = stack.create_user("b@okta.local").await;
    let c = stack.create_user("c@okta.local").await;
    let group = stack.create_group("Test SCIMv2", &[&a, &b]).await;
    let body =
        patch(json!([{"op": "replace", "path": "members", "value": [{"value": b}, {"value": c}]}]));
    let patched = stack
        .scim("PATCH", &format!("/Groups/{group}"), Some(body))
        .await;
    assert!(
        patched.status == 200 || patched.status == 204,
        "{}",
        patched.raw
    );
    let mut expected = vec![b, c];
    expected.sort();
    assert_eq!(stack.member_ids(&group).await, expected);
}

#[tokio::test]
async fn group_put_membership() {
    let stack = Stack::start().await.unwrap();
    let a = stack.create_user("a@okta.local").await;
    let b = stack.create_user("b@okta.local").await;
    let group = stack.create_group("Test SCIMv2", &[&a]).await;
    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Test SCIMv2",
        "members": [{"value": b, "display": "b@okta.local"}]});
    let put = stack
        .scim("PUT", &format!("/Groups/{group}"), Some(body))
        .await;
    assert!(put.status == 200 || put.status == 204, "{}", put.raw);
    assert_eq!(stack.member_ids(&group).await, vec![b]);
}

#[tokio::test]
async fn group_rename_patch() {
    let stack = Stack::start().await.unwrap();
    let group = stack.create_group("Test SCIMv2", &[]).await;
    let body =
        patch(json!([{"op": "replace", "value": {"id": group, "displayName": "Renamed SCIMv2"}}]));
    let patched = stack
        .scim("PATCH", &format!("/Groups/{group}"), Some(body.clone()))
        .await;
    assert!(
        patched.status == 200 || patched.status == 204,
        "{}",
        patched.raw
    );
    let fetched = stack.scim("GET", &format!("/Groups/{group}"), None).await;
    assert_eq!(fetched.body["displayName"], "Renamed SCIMv2");
    // The same rename again is harmless and changes nothing.
    let version = fetched.body["meta"]["version"].clone();
    let again = stack
        .scim("PATCH", &format!("/Groups/{group}"), Some(body))
        .await;
    assert!(again.status == 200 || again.status == 204);
    assert_eq!(
        stack
            .scim("GET", &format!("/Groups/{group}"), None)
            .await
            .body["meta"]["version"],
        version
    );
}

#[tokio::test]
async fn delete_group() {
    let stack = Stack::start().await.unwrap();
    let a = stack.create_user("a@okta.local").await;
    let group = stack.create_group("Test SCIMv2", &[&a]).await;
    let deleted = stack
        .scim("DELETE", &format!("/Groups/{group}"), None)
        .await;
    assert_eq!(deleted.status, 204);
    assert_scim_error(
        &stack.scim("GET", &format!("/Groups/{group}"), None).await,
        404,
        None,
    );
    let user = stack.scim("GET", &format!("/Users/{a}"), None).await;
    assert_eq!(user.status, 200, "users stay");
    assert!(
        user.body
            .get("groups")
            .is_none_or(|g| g.as_array().is_none_or(Vec::is_empty))
    );
}

/// Okta's password sync (`replace password`): the gateway drops the password, so the PATCH
/// changes nothing, yet If-Match is still checked — by the directory, on an empty typed
/// operation list.
#[tokio::test]
async fn password_sync_patch_changes_nothing_and_honours_if_match() {
    let stack = Stack::start().await.unwrap();
    let id = stack.create_user("pw@okta.local").await;
    let before = stack.scim("GET", &format!("/Users/{id}"), None).await;
    let etag = before.header("etag").unwrap().to_owned();
    let auth = format!("Bearer {}", stack.token);
    let body = patch(json!([{"op": "replace", "value": {"password": "n3w-Passw0rd"}}]));
    let ok = stack
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(body.to_string()),
            &[("authorization", &auth), ("if-match", &etag)],
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.raw);
    assert_eq!(ok.header("etag"), Some(etag.as_str()), "nothing changed");
    assert!(ok.body.get("password").is_none());
    assert_eq!(ok.body["meta"], before.body["meta"]);

    // Another write moves the version on: the same password PATCH is now stale.
    let renamed = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "T"}]),
            )),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.raw);
    let stale = stack
        .request(
            "PATCH",
            &format!("/Users/{id}"),
            Some(body.to_string()),
            &[("authorization", &auth), ("if-match", &etag)],
        )
        .await;
    assert_scim_error(&stale, 412, None);
}

/// Seed 004: the admin sets Okta's *Unique identifier field for users* to `email`; Okta
/// then looks each user up with `email eq`, creates the missing ones and links the rest.
async fn email_identifier_lookup_then_create_then_link(stack: Stack) {
    let lookup = |address: &str| {
        format!(
            "/Users?filter={}&startIndex=1&count=100",
            q(&format!("email eq \"{address}\""))
        )
    };
    let before = stack
        .scim("GET", &lookup("jane.doe@webrix.test"), None)
        .await;
    assert_eq!(before.status, 200, "{}", before.raw);
    assert_eq!(before.body["totalResults"], 0);

    let created = okta_create(&stack, "jane.doe@webrix.test").await;
    let found = stack
        .scim("GET", &lookup("Jane.Doe@WEBRIX.test"), None)
        .await;
    assert_eq!(found.status, 200, "{}", found.raw);
    assert_eq!(found.body["totalResults"], 1, "{}", found.raw);
    assert_eq!(found.body["Resources"][0]["id"], created["id"]);

    // Another user's address does not match; a user with a second address is found by it.
    let other = stack.scim("GET", &lookup("jane@webrix.test"), None).await;
    assert_eq!(other.body["totalResults"], 0, "{}", other.raw);
    let id = created["id"].as_str().unwrap();
    let patched = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(e2e_tests::patch(json!([{
                "op": "add",
                "path": "emails",
                "value": [{"value": "jd@webrix.test", "type": "home"}]
            }]))),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.raw);
    let by_second = stack.scim("GET", &lookup("jd@webrix.test"), None).await;
    assert_eq!(by_second.body["totalResults"], 1, "{}", by_second.raw);
}

e2e_tests::on_both_backends!(email_identifier_lookup_then_create_then_link);

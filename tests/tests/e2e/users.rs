//! SCIM Users over HTTP, as Okta and Entra drive them.

use e2e_tests::{Stack, assert_scim_error, q};
use serde_json::{Value, json};

fn okta_user(user_name: &str) -> Value {
    // The body Okta's documentation shows for "create user" (password and groups included).
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

#[tokio::test]
async fn create_get_filter_put_patch_delete_round_trip() {
    let stack = Stack::start().await.unwrap();

    // Okta first looks the user up: an empty ListResponse, 200.
    let lookup = stack
        .scim(
            "GET",
            "/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100",
            None,
        )
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.raw);
    assert_eq!(lookup.body["totalResults"], 0);
    assert_eq!(lookup.body["Resources"], json!([]));
    assert_eq!(
        lookup.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );

    let created = stack
        .scim("POST", "/Users", Some(okta_user("test.user@okta.local")))
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert!(
        created
            .header("content-type")
            .unwrap()
            .starts_with("application/scim+json")
    );
    let id = created.body["id"].as_str().unwrap().to_owned();
    let location = created.header("location").unwrap().to_owned();
    assert_eq!(created.body["meta"]["location"], location);
    assert!(location.ends_with(&format!("/scim/v2/Users/{id}")));
    assert_eq!(created.body["meta"]["resourceType"], "User");
    assert!(created.body["meta"]["created"].is_string());
    assert!(created.body["meta"]["version"].is_string());
    assert!(
        created.body.get("password").is_none(),
        "password is never returned"
    );
    assert!(!created.raw.contains("1mz050nq"));
    assert_eq!(created.body["name"]["givenName"], "Test");
    assert_eq!(created.body["active"], true);

    let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["userName"], "test.user@okta.local");
    assert_eq!(fetched.body["emails"][0]["value"], "test.user@okta.local");

    // userName is caseExact false: the upper-cased lookup finds the user.
    let upper = stack
        .scim(
            "GET",
            "/Users?filter=userName%20eq%20%22TEST.USER%40OKTA.LOCAL%22",
            None,
        )
        .await;
    assert_eq!(upper.body["totalResults"], 1, "{}", upper.raw);
    assert_eq!(upper.body["Resources"][0]["id"], id.as_str());
    let by_external = stack
        .scim(
            "GET",
            "/Users?filter=externalId%20eq%20%2200ujl29u0le5T6Aj10h7%22",
            None,
        )
        .await;
    assert_eq!(by_external.body["totalResults"], 1);
    let by_id = stack
        .scim("GET", &format!("/Users?filter=id%20eq%20%22{id}%22"), None)
        .await;
    assert_eq!(
        by_id.body["Resources"][0]["userName"],
        "test.user@okta.local"
    );

    // PUT: Okta sends the whole object back with changes (and id/meta/groups it must ignore).
    let mut replacement = fetched.body.clone();
    replacement["name"]["familyName"] = json!("Renamed");
    replacement["groups"] = json!([]);
    let put = stack
        .scim("PUT", &format!("/Users/{id}"), Some(replacement))
        .await;
    assert_eq!(put.status, 200, "{}", put.raw);
    assert_eq!(put.body["name"]["familyName"], "Renamed");
    assert_ne!(put.body["meta"]["version"], fetched.body["meta"]["version"]);

    // PATCH without path (Okta deactivation), then Entra's string boolean re-activation.
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let patched = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(deactivate))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.raw);
    assert_eq!(patched.body["active"], false);
    let still_listed = stack
        .scim(
            "GET",
            "/Users?filter=userName%20eq%20%22test.user%40okta.local%22",
            None,
        )
        .await;
    assert_eq!(
        still_listed.body["Resources"][0]["active"], false,
        "a deactivated user is still returned"
    );
    let entra = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "True"},
                       {"op": "Replace", "path": "name.givenName", "value": "Gtfd"}]});
    let patched = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(entra))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.raw);
    let reread = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(reread.body["active"], true);
    assert_eq!(reread.body["name"]["givenName"], "Gtfd");

    let deleted = stack.scim("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.raw.is_empty());
    let gone = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_scim_error(&gone, 404, None);
    let listed = stack.scim("GET", "/Users", None).await;
    assert_eq!(listed.body["totalResults"], 0);
}

#[tokio::test]
async fn duplicate_user_name_is_409_uniqueness_and_changes_nothing() {
    let stack = Stack::start().await.unwrap();
    let first = stack
        .scim("POST", "/Users", Some(okta_user("dup@example.com")))
        .await;
    assert_eq!(first.status, 201);
    let again = stack
        .scim("POST", "/Users", Some(okta_user("DUP@example.com")))
        .await;
    assert_scim_error(&again, 409, Some("uniqueness"));
    let listed = stack.scim("GET", "/Users", None).await;
    assert_eq!(listed.body["totalResults"], 1);
}

#[tokio::test]
async fn paging_walks_every_user_once() {
    let stack = Stack::start().await.unwrap();
    for i in 0..5 {
        let r = stack
            .scim(
                "POST",
                "/Users",
                Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("u{i}@x.test")})),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.raw);
    }
    let mut seen = Vec::new();
    let mut start = 1;
    while start <= 5 {
        let page = stack
            .scim("GET", &format!("/Users?startIndex={start}&count=2"), None)
            .await;
        assert_eq!(page.status, 200);
        assert_eq!(page.body["totalResults"], 5);
        assert_eq!(page.body["startIndex"], start);
        let resources = page.body["Resources"].as_array().unwrap();
        assert_eq!(page.body["itemsPerPage"], resources.len());
        seen.extend(
            resources
                .iter()
                .map(|r| r["userName"].as_str().unwrap().to_owned()),
        );
        start += 2;
    }
    assert_eq!(
        seen,
        [
            "u0@x.test",
            "u1@x.test",
            "u2@x.test",
            "u3@x.test",
            "u4@x.test"
        ]
    );
    let only_total = stack.scim("GET", "/Users?count=0", None).await;
    assert_eq!(only_total.body["totalResults"], 5);
    assert_eq!(only_total.body["Resources"], json!([]));
}

/// `totalResults` of a list (`query` after `?`).
async fn total(stack: &Stack, endpoint: &str, query: &str) -> u64 {
    let list = stack
        .scim("GET", &format!("/{endpoint}?{query}"), None)
        .await;
    assert_eq!(list.status, 200, "{}", list.raw);
    list.body["totalResults"].as_u64().unwrap()
}

/// Unfiltered lists answer the workspace's stored counts (kept by every write); filtered
/// ones count their matches. Both must follow creates, deletes, a Bulk request with a
/// failed operation, and writes that are refused.
#[tokio::test]
async fn unfiltered_totals_follow_creates_and_deletes() {
    let stack = Stack::start().await.unwrap();
    let totals = |expected_users: u64, expected_groups: u64, after: &'static str| {
        let stack = &stack;
        async move {
            for query in [
                "count=1",
                "startIndex=2&count=1",
                "cursor=&count=1",
                "count=0",
            ] {
                assert_eq!(
                    total(stack, "Users", query).await,
                    expected_users,
                    "GET /Users?{query} after {after}"
                );
                assert_eq!(
                    total(stack, "Groups", query).await,
                    expected_groups,
                    "GET /Groups?{query} after {after}"
                );
            }
        }
    };
    totals(0, 0, "nothing").await;

    let mut users = Vec::new();
    for i in 0..4 {
        users.push(stack.create_user(&format!("u{i}@x.test")).await);
    }
    totals(4, 0, "four creates").await;
    let duplicate = stack
        .scim("POST", "/Users", Some(okta_user("U0@x.test")))
        .await;
    assert_scim_error(&duplicate, 409, Some("uniqueness"));
    totals(4, 0, "a duplicate userName").await;

    let engineering = stack
        .create_group("Engineering", &[&users[0], &users[1]])
        .await;
    let sales = stack.create_group("Sales", &[]).await;
    totals(4, 2, "two group creates").await;

    let deleted = stack
        .scim("DELETE", &format!("/Users/{}", users[3]), None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.raw);
    let deleted = stack
        .scim("DELETE", &format!("/Groups/{sales}"), None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.raw);
    totals(3, 1, "a user and a group delete").await;
    let again = stack
        .scim("DELETE", &format!("/Users/{}", users[3]), None)
        .await;
    assert_eq!(again.status, 404, "{}", again.raw);
    totals(3, 1, "deleting a deleted user").await;

    // One Bulk request: two creates, a duplicate, a group, a delete.
    let user = |name: &str| json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": name});
    let bulk = stack
        .scim(
            "POST",
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": [
                    {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("bulk-a@x.test")},
                    {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("bulk-b@x.test")},
                    {"method": "POST", "path": "/Users", "bulkId": "c", "data": user("u1@x.test")},
                    {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "Bulk", "members": [{"value": "bulkId:a"}]}},
                    {"method": "DELETE", "path": format!("/Users/{}", users[2])},
                ],
            })),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.raw);
    let statuses: Vec<&str> = bulk.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["201", "201", "409", "201", "204"],
        "{}",
        bulk.raw
    );
    totals(4, 2, "a Bulk request").await;

    // A filter still counts its matches (not the workspace).
    assert_eq!(
        total(
            &stack,
            "Users",
            &format!("filter={}", q(r#"userName sw "bulk-""#))
        )
        .await,
        2
    );
    assert_eq!(
        total(
            &stack,
            "Groups",
            &format!("filter={}", q(r#"displayName eq "Engineering""#))
        )
        .await,
        1
    );
    assert_eq!(
        total(
            &stack,
            "Users",
            &format!("filter={}", q(r#"userName eq "u3@x.test""#))
        )
        .await,
        0
    );
    let deleted = stack
        .scim("DELETE", &format!("/Groups/{engineering}"), None)
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.raw);
    totals(4, 1, "the last group delete").await;
}

#[tokio::test]
async fn bad_requests_get_scim_errors_and_change_nothing() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "keep@x.test", "displayName": "Keep"})),
        )
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {}", stack.token);
    let auth = auth.as_str();

    let broken = stack
        .request(
            "POST",
            "/Users",
            Some("{not json".into()),
            &[("authorization", auth)],
        )
        .await;
    assert_scim_error(&broken, 400, Some("invalidSyntax"));
    let missing = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "no userName"})),
        )
        .await;
    assert_scim_error(&missing, 400, Some("invalidValue"));
    let wrong_type = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "t@x.test", "active": 5})),
        )
        .await;
    assert_scim_error(&wrong_type, 400, Some("invalidValue"));
    let bad_filter = stack.scim("GET", "/Users?filter=userName%20eq", None).await;
    assert_scim_error(&bad_filter, 400, Some("invalidFilter"));
    let unknown_attribute = stack
        .scim("GET", "/Users?filter=shoeSize%20eq%20%2242%22", None)
        .await;
    assert_scim_error(&unknown_attribute, 400, Some("invalidFilter"));
    let xml = stack
        .request(
            "POST",
            "/Users",
            Some("<user/>".into()),
            &[("authorization", auth), ("content-type", "application/xml")],
        )
        .await;
    assert_scim_error(&xml, 415, None);
    let huge = format!(
        "{{\"userName\": \"big@x.test\", \"title\": \"{}\"}}",
        "x".repeat(2 * 1024 * 1024)
    );
    let too_large = stack
        .request("POST", "/Users", Some(huge), &[("authorization", auth)])
        .await;
    assert_scim_error(&too_large, 413, None);
    let remove_without_path = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove"}]});
    let no_target = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(remove_without_path))
        .await;
    assert_scim_error(&no_target, 400, Some("noTarget"));
    // Atomic PATCH: the first operation is valid, the second is not; nothing changes.
    let half_bad = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "displayName", "value": "Changed"},
                       {"op": "replace", "path": "active", "value": "maybe"}]});
    let refused = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(half_bad))
        .await;
    assert_eq!(refused.status, 400, "{}", refused.raw);
    let unknown_id = stack
        .scim("GET", "/Users/00000000-0000-0000-0000-000000000000", None)
        .await;
    assert_scim_error(&unknown_id, 404, None);
    let not_an_id = stack
        .scim(
            "PUT",
            "/Users/not-an-id",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "x@x.test"})),
        )
        .await;
    assert_scim_error(&not_an_id, 404, None);

    let after = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(after.body["displayName"], "Keep");
    assert_eq!(
        after.body["meta"]["version"],
        created.body["meta"]["version"]
    );
    let all = stack.scim("GET", "/Users", None).await;
    assert_eq!(
        all.body["totalResults"], 1,
        "no failed request created anything"
    );
}

#[tokio::test]
async fn workspaces_are_isolated_by_token() {
    let stack = Stack::start().await.unwrap();
    let created = stack
        .scim("POST", "/Users", Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "shared@x.test"})))
        .await;
    let id = created.body["id"].as_str().unwrap().to_owned();
    let other_ws = stack.new_workspace("globex").await.unwrap();
    let (_, other_token) = stack.issue_token(&other_ws, "globex").await.unwrap();
    let auth = format!("Bearer {other_token}");
    let hidden = stack
        .request(
            "GET",
            &format!("/Users/{id}"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_scim_error(&hidden, 404, None);
    let listed = stack
        .request("GET", "/Users", None, &[("authorization", &auth)])
        .await;
    assert_eq!(listed.body["totalResults"], 0);
    let delete = stack
        .request(
            "DELETE",
            &format!("/Users/{id}"),
            None,
            &[("authorization", &auth)],
        )
        .await;
    assert_scim_error(&delete, 404, None);
    // The same userName may exist in the other workspace.
    let same_name = stack
        .request(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "shared@x.test"}).to_string()),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(same_name.status, 201, "{}", same_name.raw);
    assert_eq!(
        stack
            .scim("GET", &format!("/Users/{id}"), None)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn entra_create_with_nulls_and_enterprise_manager_string() {
    let stack = Stack::start().await.unwrap();
    let manager = stack.create_user("mgr-1@testuser.com").await;
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_00aa00aa@testuser.com",
        "active": "True",
        "emails": [{"primary": true, "type": "work", "value": "Test_User@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "title": null,
        "addresses": null,
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D", "manager": manager}
    });
    let created = stack.scim("POST", "/Users", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(fetched.body["active"], true);
    assert!(
        fetched.body.get("title").is_none(),
        "null is unassigned and not echoed"
    );
    let enterprise = &fetched.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"];
    assert_eq!(enterprise["department"], "R&D");
    assert_eq!(enterprise["manager"]["value"], manager.as_str());
    let patch = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"}},
            {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "new@test.microsoft.com"}]});
    let patched = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(patch))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.raw);
    let fetched = stack.scim("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(fetched.body["displayName"], "Bjfe");
    assert_eq!(fetched.body["name"]["givenName"], "Kkom");
    assert_eq!(
        fetched.body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
        "Aklq"
    );
    assert_eq!(fetched.body["emails"][0]["value"], "new@test.microsoft.com");
    assert_eq!(fetched.body["emails"].as_array().unwrap().len(), 1);
}

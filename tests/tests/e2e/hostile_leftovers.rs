//! Leftovers of the hostile-input issue: group extension schemas (none can be declared, so
//! any in a Group body or PATCH path is refused and nothing is stored), a PATCH add of a
//! value already present (not duplicated), and list pages bounded in bytes as well as in
//! count (a page carries at most `MAX_LISTED_MEMBERS` members inline).

use e2e_tests::{Stack, assert_scim_error, on_both_backends, patch};
use serde_json::{Value, json};

const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:Group";
/// `directory_service::ops::groups::MAX_LISTED_MEMBERS`.
const MAX_LISTED_MEMBERS: usize = 10_000;

/// Unknown (undeclared) extension URNs in Group POST/PUT bodies and PATCH paths: 400
/// invalidValue, and the group reads back exactly as before (same version, no extension).
async fn group_extensions_are_refused_never_stored(stack: Stack) {
    let member = stack.create_user("member@ext.test").await;
    let id = stack.create_group("Plain", &[&member]).await;
    let before = stack.scim("GET", &format!("/Groups/{id}"), None).await;
    assert_eq!(before.status, 200, "{}", before.raw);
    let groups_before = stack.scim("GET", "/Groups", None).await.body;

    let bodies = [
        json!({"schemas": [GROUP], "displayName": "G2", ACME: {"cost": 7}}),
        json!({"schemas": [GROUP, ACME], "displayName": "G2", ACME: {"cost": 7}}),
        json!({"schemas": [GROUP], "displayName": "G2", format!("{ACME}:cost"): 7}),
        json!({"schemas": [GROUP, ACME], "displayName": "G2"}),
        json!({"schemas": [GROUP, "urn:example:groupext"], "displayName": "G2",
               "urn:example:groupext": {"tier": "gold"}}),
    ];
    for body in &bodies {
        let created = stack.scim("POST", "/Groups", Some(body.clone())).await;
        assert_scim_error(&created, 400, Some("invalidValue"));
        let replaced = stack
            .scim("PUT", &format!("/Groups/{id}"), Some(body.clone()))
            .await;
        assert_scim_error(&replaced, 400, Some("invalidValue"));
    }
    for operations in [
        json!([{"op": "add", "path": format!("{ACME}:cost"), "value": 7}]),
        json!([{"op": "replace", "path": ACME, "value": {"cost": 7}}]),
        json!([{"op": "add", "value": {ACME: {"cost": 7}}}]),
        json!([{"op": "add", "value": {format!("{ACME}:cost"): 7}}]),
        json!([{"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "x"}]),
    ] {
        let patched = stack
            .scim("PATCH", &format!("/Groups/{id}"), Some(patch(operations)))
            .await;
        assert_scim_error(&patched, 400, Some("invalidValue"));
    }

    let after = stack.scim("GET", &format!("/Groups/{id}"), None).await;
    assert_eq!(after.body, before.body, "nothing stored");
    assert_eq!(
        stack.scim("GET", "/Groups", None).await.body,
        groups_before,
        "no group created"
    );
    assert!(!after.raw.contains("acme"), "{}", after.raw);

    // What Entra sends (its ADSCIM URN in `schemas`) is still accepted.
    let entra = stack
        .scim(
            "POST",
            "/Groups",
            Some(json!({
                "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": "Entra group",
                "meta": {"resourceType": "Group"}
            })),
        )
        .await;
    assert_eq!(entra.status, 201, "{}", entra.raw);
    assert_eq!(entra.body["schemas"], json!([GROUP]));
}

/// PATCH add of a value identical to one already present (RFC 7644 §3.5.2.1: no change):
/// the phone number and the email are not duplicated, though the stored values carry a
/// `primary: false` the server added.
async fn adding_a_value_already_present_does_not_duplicate_it(stack: Stack) {
    let id = stack.create_user("dup@x.test").await;
    let phone = json!({"value": "+1 555 0100", "type": "work"});
    let email = json!({"value": "dup.work@x.test", "type": "work"});
    let add = patch(json!([
        {"op": "add", "path": "phoneNumbers", "value": [phone]},
        {"op": "add", "path": "emails", "value": [email]},
    ]));
    let first = stack
        .scim("PATCH", &format!("/Users/{id}"), Some(add.clone()))
        .await;
    assert!(first.status == 200 || first.status == 204, "{}", first.raw);
    let once = stack.scim("GET", &format!("/Users/{id}"), None).await.body;
    assert_eq!(once["phoneNumbers"].as_array().unwrap().len(), 1, "{once}");
    let emails_once = once["emails"].as_array().unwrap().len();

    for _ in 0..2 {
        let again = stack
            .scim("PATCH", &format!("/Users/{id}"), Some(add.clone()))
            .await;
        assert!(again.status == 200 || again.status == 204, "{}", again.raw);
    }
    let after = stack.scim("GET", &format!("/Users/{id}"), None).await.body;
    assert_eq!(after["phoneNumbers"], once["phoneNumbers"], "{after}");
    assert_eq!(
        after["emails"].as_array().unwrap().len(),
        emails_once,
        "{after}"
    );
}

on_both_backends!(
    group_extensions_are_refused_never_stored,
    adding_a_value_already_present_does_not_duplicate_it,
);

/// A list of groups with 100k members each used to be one gRPC message of the whole
/// page's members (three such groups: > 64 MiB, the message limit, so 500). Now a page
/// carries at most `MAX_LISTED_MEMBERS` members inline; a group whose members do not fit
/// is listed without them (read it with `GET /Groups/{id}`, which streams).
#[tokio::test]
async fn group_lists_are_bounded_in_bytes() {
    const MEMBERS: usize = 100_000;
    let stack = Stack::start().await.unwrap();
    let template = stack.create_user("template@wide.test").await;
    let small_member = stack.create_user("small@wide.test").await;
    let big = create_groups(&stack, &["Big A", "Big B", "Big C"]).await;
    let small = stack
        .create_group("Small", &[&small_member, &template])
        .await;
    // ~230-byte userNames: three groups of 100k such members are > 64 MiB of protobuf.
    stack
        .seed_members(&template, &big, MEMBERS, "wide.test", 200)
        .await;

    let list = stack.scim("GET", "/Groups?count=10", None).await;
    assert_eq!(list.status, 200, "{}", &list.raw[..list.raw.len().min(500)]);
    assert!(list.raw.len() < 4 * 1024 * 1024, "{} bytes", list.raw.len());
    assert_eq!(list.body["totalResults"], 4);
    let resources = list.body["Resources"].as_array().unwrap();
    assert_eq!(resources.len(), 4);
    let mut inline = 0;
    for group in resources {
        let members = group.get("members").and_then(Value::as_array);
        inline += members.map_or(0, Vec::len);
        if group["id"] == small.as_str() {
            assert_eq!(members.map(Vec::len), Some(2), "{group}");
        } else {
            assert!(
                members.is_none(),
                "a 100k-member group is listed without members"
            );
        }
    }
    assert!(inline <= MAX_LISTED_MEMBERS, "{inline}");

    // The same with a filter and with POST /.search; one big group alone is still read whole.
    let searched = stack
        .scim(
            "POST",
            "/Groups/.search",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "displayName sw \"Big\"", "count": 10}),
            ),
        )
        .await;
    assert_eq!(
        searched.status,
        200,
        "{}",
        &searched.raw[..searched.raw.len().min(500)]
    );
    assert_eq!(searched.body["totalResults"], 3);
    let one = stack
        .scim("GET", &format!("/Groups/{}", big[0]), None)
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["members"].as_array().unwrap().len(), MEMBERS);
}

async fn create_groups(stack: &Stack, names: &[&str]) -> Vec<String> {
    let mut ids = Vec::new();
    for name in names {
        ids.push(stack.create_group(name, &[]).await);
    }
    ids
}

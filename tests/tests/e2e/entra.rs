//! Microsoft Entra ID's provisioning traffic, step by step, as recorded in
//! `shared/reference/idp-traffic.md` §3 — both PATCH dialects (default and
//! `aadOptscim062020`). Each test is named after its step and asserts the follow-up read.

#![allow(non_snake_case)] // test names are the step names of the reference

use e2e_tests::{Stack, assert_scim_error, patch, q};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn entra_user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": format!("work.{user_name}")}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": []
    })
}

async fn entra_create(stack: &Stack, user_name: &str) -> String {
    let created = stack
        .scim("POST", "/Users", Some(entra_user(user_name)))
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    created.body["id"].as_str().unwrap().to_owned()
}

async fn get(stack: &Stack, path: &str) -> Value {
    let response = stack.scim("GET", path, None).await;
    assert_eq!(response.status, 200, "{path}: {}", response.raw);
    response.body
}

async fn patch_ok(stack: &Stack, path: &str, operations: Value) {
    let response = stack.scim("PATCH", path, Some(patch(operations))).await;
    assert!(
        response.status == 200 || response.status == 204,
        "PATCH {path}: {}",
        response.raw
    );
}

#[tokio::test]
async fn test_connection() {
    let stack = Stack::start().await.unwrap();
    let filter = q("userName eq \"5a2d7d9c-53c9-4a7d-9a73-0c6c2f3a3a7e\"");
    let response = stack
        .scim("GET", &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(response.status, 200);
    assert!(
        response
            .header("content-type")
            .unwrap()
            .starts_with("application/scim+json")
    );
    assert_eq!(response.body["totalResults"], 0);
    assert_eq!(response.body["Resources"], json!([]));
    let by_external = stack
        .scim(
            "GET",
            &format!("/Users?filter={}", q("externalId eq \"x\"")),
            None,
        )
        .await;
    assert_eq!(by_external.status, 200);
}

#[tokio::test]
async fn test_connection_bad_token_401() {
    let stack = Stack::start().await.unwrap();
    let filter = q("userName eq \"5a2d7d9c\"");
    let response = stack
        .request(
            "GET",
            &format!("/Users?filter={filter}"),
            None,
            &[("authorization", "Bearer wrong-token")],
        )
        .await;
    assert_scim_error(&response, 401, None);
}

#[tokio::test]
async fn schema_discovery() {
    let stack = Stack::start().await.unwrap();
    let schemas = get(&stack, "/Schemas").await;
    assert_eq!(
        schemas["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
    );
    let resources = schemas["Resources"].as_array().unwrap();
    for id in [
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        ENTERPRISE,
    ] {
        assert!(resources.iter().any(|s| s["id"] == id), "{id} in /Schemas");
    }
    let raw = stack.scim("GET", "/Schemas", None).await.raw;
    assert!(!raw.contains(":null"), "no nulls in schema discovery");
}

#[tokio::test]
async fn create_user() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee").await;
    let fetched = get(&stack, &format!("/Users/{id}")).await;
    assert_eq!(
        fetched["userName"],
        "Test_User_00aa00aa-bb11-cc22-dd33-44ee44ee44ee"
    );
    assert_eq!(
        fetched["externalId"],
        "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"
    );
    assert_eq!(fetched["name"]["formatted"], "givenName familyName");
    assert_eq!(fetched["active"], true);
}

#[tokio::test]
async fn create_user_with_null_attributes() {
    let stack = Stack::start().await.unwrap();
    let mut body = entra_user("nulls@entra.test");
    body["addresses"] = Value::Null;
    body["phoneNumbers"] = Value::Null;
    body["title"] = Value::Null;
    body["nickName"] = Value::Null;
    body["active"] = json!("True");
    let created = stack.scim("POST", "/Users", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let fetched = get(
        &stack,
        &format!("/Users/{}", created.body["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        fetched["active"], true,
        "the string \"True\" is the boolean true"
    );
    for attribute in ["addresses", "phoneNumbers", "title", "nickName"] {
        assert!(
            fetched.get(attribute).is_none(),
            "{attribute} is unassigned"
        );
    }
}

#[tokio::test]
async fn create_duplicate_user_409_uniqueness() {
    let stack = Stack::start().await.unwrap();
    entra_create(&stack, "dup@entra.test").await;
    let again = stack
        .scim("POST", "/Users", Some(entra_user("DUP@entra.test")))
        .await;
    assert_scim_error(&again, 409, Some("uniqueness"));
}

#[tokio::test]
async fn get_user() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "get@entra.test").await;
    assert_eq!(
        get(&stack, &format!("/Users/{id}")).await["id"],
        id.as_str()
    );
    let missing = stack.scim("GET", "/Users/5171a35d82074e068ce2", None).await;
    assert_scim_error(&missing, 404, None);
}

#[tokio::test]
async fn query_user_by_userName() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "Query@Entra.test").await;
    let found = get(
        &stack,
        &format!("/Users?filter={}", q("userName eq \"query@entra.test\"")),
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert!(found["startIndex"].is_i64() && found["itemsPerPage"].is_i64());
}

#[tokio::test]
async fn query_user_by_externalId() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "ext@entra.test").await;
    let found = get(
        &stack,
        &format!(
            "/Users?filter={}",
            q("externalId eq \"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef\"")
        ),
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let other_case = get(
        &stack,
        &format!(
            "/Users?filter={}",
            q("externalId eq \"0A21F0F2-8D2A-4F8E-BF98-7363C4AED4EF\"")
        ),
    )
    .await;
    assert_eq!(other_case["totalResults"], 0, "externalId is caseExact");
}

#[tokio::test]
async fn query_user_by_work_email() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "mail@entra.test").await;
    let filter = q("emails[type eq \"work\"].value eq \"work.mail@entra.test\"");
    let found = stack
        .scim("GET", &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(found.status, 200, "{}", found.raw);
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());
    let rfc_form = get(
        &stack,
        &format!(
            "/Users?filter={}",
            q("emails[type eq \"work\" and value eq \"WORK.mail@entra.test\"]")
        ),
    )
    .await;
    assert_eq!(rfc_form["Resources"][0]["id"], id.as_str());
    let plain = get(
        &stack,
        &format!(
            "/Users?filter={}",
            q("emails.value eq \"work.mail@entra.test\"")
        ),
    )
    .await;
    assert_eq!(plain["totalResults"], 1);
}

#[tokio::test]
async fn patch_user_replace_capitalized_ops() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "caps@entra.test").await;
    patch_ok(&stack, &format!("/Users/{id}"), json!([
        {"op": "Replace", "path": "displayName", "value": "Pvlo"},
        {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "TestBcwqnm@test.microsoft.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Gtfd"},
        {"op": "Replace", "path": "name.familyName", "value": "Pkqf"},
        {"op": "Replace", "path": "externalId", "value": "Eqpj"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:employeeNumber"), "value": "Eqpj"}
    ])).await;
    let fetched = get(&stack, &format!("/Users/{id}")).await;
    assert_eq!(fetched["displayName"], "Pvlo");
    assert_eq!(
        fetched["emails"][0]["value"],
        "TestBcwqnm@test.microsoft.com"
    );
    assert_eq!(fetched["emails"].as_array().unwrap().len(), 1);
    assert_eq!(fetched["name"]["givenName"], "Gtfd");
    assert_eq!(fetched["name"]["familyName"], "Pkqf");
    assert_eq!(fetched["externalId"], "Eqpj");
    assert_eq!(fetched[ENTERPRISE]["employeeNumber"], "Eqpj");
}

#[tokio::test]
async fn patch_user_replace_no_path_dotted_keys() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "dotted@entra.test").await;
    patch_ok(&stack, &format!("/Users/{id}"), json!([
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
        {"op": "replace", "value": {"displayName": "Bjfe", "name.givenName": "Kkom", "name.familyName": "Unua",
            format!("{ENTERPRISE}:employeeNumber"): "Aklq"}}
    ])).await;
    let fetched = get(&stack, &format!("/Users/{id}")).await;
    assert_eq!(fetched["displayName"], "Bjfe");
    assert_eq!(fetched["name"]["givenName"], "Kkom");
    assert_eq!(fetched["name"]["familyName"], "Unua");
    assert_eq!(
        fetched["name"]["formatted"], "givenName familyName",
        "other sub-attributes stay"
    );
    assert_eq!(fetched[ENTERPRISE]["employeeNumber"], "Aklq");
    assert_eq!(
        fetched["emails"][0]["value"],
        "TestMhvaes@test.microsoft.com"
    );
}

#[tokio::test]
async fn patch_user_add_single_value() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "nick@entra.test").await;
    patch_ok(
        &stack,
        &format!("/Users/{id}"),
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}]),
    )
    .await;
    assert_eq!(
        get(&stack, &format!("/Users/{id}")).await["nickName"],
        "Babs"
    );
    patch_ok(
        &stack,
        &format!("/Users/{id}"),
        json!([{"op": "add", "path": "nickName", "value": "Barbara"}]),
    )
    .await;
    assert_eq!(
        get(&stack, &format!("/Users/{id}")).await["nickName"],
        "Barbara"
    );
}

#[tokio::test]
async fn patch_user_rename_userName() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "old@entra.test").await;
    patch_ok(
        &stack,
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "userName", "value": "new@entra.test"}]),
    )
    .await;
    let found = get(
        &stack,
        &format!("/Users?filter={}", q("userName eq \"NEW@entra.test\"")),
    )
    .await;
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    let old = get(
        &stack,
        &format!("/Users?filter={}", q("userName eq \"old@entra.test\"")),
    )
    .await;
    assert_eq!(old["totalResults"], 0);
}

#[tokio::test]
async fn patch_user_manager_string_value() {
    let stack = Stack::start().await.unwrap();
    let manager = entra_create(&stack, "boss@entra.test").await;
    let id = entra_create(&stack, "report@entra.test").await;
    patch_ok(
        &stack,
        &format!("/Users/{id}"),
        json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": manager}]),
    )
    .await;
    assert_eq!(
        get(&stack, &format!("/Users/{id}")).await[ENTERPRISE]["manager"]["value"],
        manager.as_str()
    );
    // The older form: a list of references on `manager`.
    patch_ok(
        &stack,
        &format!("/Users/{id}"),
        json!([{"op": "Replace", "path": "manager", "value": [{"$ref": null, "value": id}]}]),
    )
    .await;
    let fetched = get(&stack, &format!("/Users/{id}")).await;
    assert_eq!(fetched[ENTERPRISE]["manager"]["value"], id.as_str());
}

#[tokio::test]
async fn disable_enable_user_string_booleans() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "flag@entra.test").await;
    for (value, expected) in [("False", false), ("True", true)] {
        patch_ok(
            &stack,
            &format!("/Users/{id}"),
            json!([{"op": "Replace", "path": "active", "value": value}]),
        )
        .await;
        let fetched = get(&stack, &format!("/Users/{id}")).await;
        assert_eq!(fetched["active"], expected);
        let listed = get(
            &stack,
            &format!("/Users?filter={}", q("userName eq \"flag@entra.test\"")),
        )
        .await;
        assert_eq!(
            listed["Resources"][0]["active"], expected,
            "still returned by queries"
        );
    }
}

#[tokio::test]
async fn disable_enable_user_boolean() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "bool@entra.test").await;
    for (op, value) in [("replace", false), ("Replace", true)] {
        patch_ok(
            &stack,
            &format!("/Users/{id}"),
            json!([{"op": op, "path": "active", "value": value}]),
        )
        .await;
        assert_eq!(get(&stack, &format!("/Users/{id}")).await["active"], value);
    }
}

#[tokio::test]
async fn delete_user() {
    let stack = Stack::start().await.unwrap();
    let id = entra_create(&stack, "gone@entra.test").await;
    let group = stack.create_group("Team", &[&id]).await;
    let deleted = stack.scim("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    assert_scim_error(
        &stack.scim("GET", &format!("/Users/{id}"), None).await,
        404,
        None,
    );
    assert!(
        stack.member_ids(&group).await.is_empty(),
        "a deleted user leaves its groups"
    );
}

#[tokio::test]
async fn create_group() {
    let stack = Stack::start().await.unwrap();
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "displayName",
        "meta": {"resourceType": "Group"}
    });
    let created = stack.scim("POST", "/Groups", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap();
    let fetched = get(&stack, &format!("/Groups/{id}")).await;
    assert_eq!(fetched["displayName"], "displayName");
    assert_eq!(
        fetched["externalId"],
        "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"
    );
}

#[tokio::test]
async fn create_duplicate_group_409() {
    let stack = Stack::start().await.unwrap();
    stack.create_group("Security Group", &[]).await;
    let again = stack
        .scim(
            "POST",
            "/Groups",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "security group"})),
        )
        .await;
    assert_scim_error(&again, 409, Some("uniqueness"));
    let listed = get(&stack, "/Groups").await;
    assert_eq!(listed["totalResults"], 1);
}

#[tokio::test]
async fn get_group_excluded_members() {
    let stack = Stack::start().await.unwrap();
    let a = entra_create(&stack, "m@entra.test").await;
    let id = stack.create_group("displayName", &[&a]).await;
    let one = get(&stack, &format!("/Groups/{id}?excludedAttributes=members")).await;
    assert_eq!(one["displayName"], "displayName");
    assert!(one.get("members").is_none(), "{one}");
    let listed = get(
        &stack,
        &format!(
            "/Groups?excludedAttributes=members&filter={}",
            q("displayName eq \"displayName\"")
        ),
    )
    .await;
    assert_eq!(listed["totalResults"], 1);
    assert!(listed["Resources"][0].get("members").is_none());
    assert_eq!(listed["Resources"][0]["id"], id.as_str());
}

#[tokio::test]
async fn group_add_member() {
    let stack = Stack::start().await.unwrap();
    let a = entra_create(&stack, "a@entra.test").await;
    let group = stack.create_group("Team", &[]).await;
    let response = stack
        .scim(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch(
                json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": a}]}]),
            )),
        )
        .await;
    assert!(
        response.status == 204 || response.status == 200,
        "{}",
        response.raw
    );
    assert_eq!(stack.member_ids(&group).await, vec![a]);
}

#[tokio::test]
async fn group_add_multiple_members_one_patch() {
    let stack = Stack::start().await.unwrap();
    let a = entra_create(&stack, "a@entra.test").await;
    let b = entra_create(&stack, "b@entra.test").await;
    let c = entra_create(&stack, "c@entra.test").await;
    let group = stack.create_group("Team", &[]).await;
    patch_ok(
        &stack,
        &format!("/Groups/{group}"),
        json!([
            {"op": "Add", "path": "members", "value": [{"value": a}, {"value": b}]},
            {"op": "Add", "path": "members", "value": [{"value": c}]}
        ]),
    )
    .await;
    let mut expected = vec![a, b, c];
    expected.sort();
    assert_eq!(stack.member_ids(&group).await, expected);
}

#[tokio::test]
async fn group_membership_check_filter() {
    let stack = Stack::start().await.unwrap();
    let a = entra_create(&stack, "a@entra.test").await;
    let b = entra_create(&stack, "b@entra.test").await;
    let group = stack.create_group("Team", &[&a]).await;
    for (filter, expected) in [
        (format!("id eq \"{group}\" and members eq \"{a}\""), 1),
        (format!("id eq \"{group}\" and members eq \"{b}\""), 0),
        (
            format!("id eq \"{group}\" and members[value eq \"{a}\"]"),
            1,
        ),
        (
            format!("id eq \"{group}\" and members[value eq \"{b}\"]"),
            0,
        ),
    ] {
        let found = get(
            &stack,
            &format!("/Groups?excludedAttributes=members&filter={}", q(&filter)),
        )
        .await;
        assert_eq!(found["totalResults"], expected, "{filter}");
    }
}

#[tokio::test]
async fn group_remove_member_value_in_body() {
    let stack = Stack::start().await.unwrap();
    let a = entra_create(&stack, "a@entra.test").await;
    let b = entra_create(&stack, "b@entra.test").await;
    let group = stack.create_group("Team", &[&a, &b]).await;
    patch_ok(
        &stack,
        &format!("/Groups/{group}"),
        json!([{"op": "Remove", "path": "members", "value": [{"value": a}]}]),
    )
    .await;
    assert_eq!(
        stack.member_ids(&group).await,
        vec![b.clone()],
        "only the member in the value is removed"
    );
    // An empty member list removes nobody; a remove without a value removes everyone.
    patch_ok(
        &stack,
        &format!("/Groups/{group}"),
        json!([{"op": "Remove", "path": "members", "value": []}]),
    )
    .await;
    assert_eq!(stack.member_ids(&group).await, vec![b]);
    patch_ok(
        &stack,
        &format!("/Groups/{group}"),
        json!([{"op": "remove", "path": "members"}]),
    )
    .await;
    assert!(stack.member_ids(&group).await.is_empty());
}

#[tokio::test]
async fn group_remove_member_filter_path() {
    let stack = Stack::start().await.unwrap();
    let a = entra_create(&stack, "a@entra.test").await;
    let b = entra_create(&stack, "b@entra.test").await;
    let group = stack.create_group("Team", &[&a, &b]).await;
    patch_ok(
        &stack,
        &format!("/Groups/{group}"),
        json!([{"op": "remove", "path": format!("members[value eq \"{b}\"]")}]),
    )
    .await;
    assert_eq!(stack.member_ids(&group).await, vec![a]);
}

#[tokio::test]
async fn group_rename() {
    let stack = Stack::start().await.unwrap();
    let group = stack.create_group("Team", &[]).await;
    let name = "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName";
    let response = stack
        .scim(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch(
                json!([{"op": "Replace", "path": "displayName", "value": name}]),
            )),
        )
        .await;
    assert!(response.status == 204 || response.status == 200);
    assert_eq!(
        get(&stack, &format!("/Groups/{group}")).await["displayName"],
        name
    );
}

#[tokio::test]
async fn delete_group() {
    let stack = Stack::start().await.unwrap();
    let group = stack.create_group("Team", &[]).await;
    assert_eq!(
        stack
            .scim("DELETE", &format!("/Groups/{group}"), None)
            .await
            .status,
        204
    );
    assert_scim_error(
        &stack.scim("GET", &format!("/Groups/{group}"), None).await,
        404,
        None,
    );
    let listed = get(&stack, "/Groups").await;
    assert_eq!(listed["totalResults"], 0);
}

//! `POST /Bulk` (RFC 7644 §3.7; `shared/reference/idp-traffic.md` §4, `rfc.bulk_with_bulkId`).

#![allow(non_snake_case)] // test names are the step names of the reference

use e2e_tests::{Response, Stack, assert_scim_error, fresh_postgres_database, patch, q};
use serde_json::{Value, json};

const BULK_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const BULK_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

async fn bulk(stack: &Stack, operations: Value, fail_on_errors: Option<u64>) -> Response {
    let mut body = json!({"schemas": [BULK_REQUEST], "Operations": operations});
    if let Some(n) = fail_on_errors {
        body["failOnErrors"] = json!(n);
    }
    stack.scim("POST", "/Bulk", Some(body)).await
}

/// The `Operations` of a 200 BulkResponse.
#[track_caller]
fn operations(response: &Response) -> &Vec<Value> {
    assert_eq!(response.status, 200, "{}", response.raw);
    assert_eq!(response.body["schemas"], json!([BULK_RESPONSE]));
    response.body["Operations"]
        .as_array()
        .expect("Operations array")
}

fn user(user_name: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": true,
    })
}

/// The id at the end of a resource `location`.
fn id_of(location: &Value) -> String {
    location
        .as_str()
        .and_then(|l| l.rsplit('/').next())
        .expect("location")
        .to_owned()
}

/// `totalResults` of a filtered list.
async fn count(stack: &Stack, endpoint: &str, filter: &str) -> u64 {
    let list = stack
        .scim("GET", &format!("/{endpoint}?filter={}", q(filter)), None)
        .await;
    assert_eq!(list.status, 200, "{}", list.raw);
    list.body["totalResults"].as_u64().unwrap()
}

/// Asserts a failed operation: its status and the SCIM error in `response`.
#[track_caller]
fn assert_failed(operation: &Value, status: u16, scim_type: Option<&str>) {
    let status = status.to_string();
    assert_eq!(operation["status"], status.as_str(), "{operation}");
    let error = &operation["response"];
    assert_eq!(error["schemas"], json!([ERROR]), "{operation}");
    assert_eq!(error["status"], status.as_str(), "{operation}");
    assert_eq!(
        error.get("scimType").and_then(Value::as_str),
        scim_type,
        "{operation}"
    );
    assert!(error["detail"].is_string(), "{operation}");
}

#[tokio::test]
async fn bulk_with_bulkId() {
    let stack = Stack::start().await.unwrap();
    let base = stack.base_url();
    let response = bulk(
        &stack,
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("bjensen@x.test")},
            {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user("jsmith@x.test")},
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g1",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "Tour Guides",
                    "members": [
                        {"type": "User", "value": "bulkId:u1"},
                        {"type": "User", "value": "bulkId:u2"}
                    ]
                }
            },
            {
                "method": "PATCH",
                "path": "/Users/bulkId:u1",
                "data": patch(json!([
                    {"op": "replace", "path": "displayName", "value": "Babs Jensen"}
                ]))
            }
        ]),
        None,
    )
    .await;
    let ops = operations(&response);
    assert_eq!(ops.len(), 4, "{}", response.raw);
    let statuses: Vec<&str> = ops.iter().map(|o| o["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["201", "201", "201", "200"], "{}", response.raw);
    let methods: Vec<&str> = ops.iter().map(|o| o["method"].as_str().unwrap()).collect();
    assert_eq!(methods, ["POST", "POST", "POST", "PATCH"]);
    assert_eq!(ops[0]["bulkId"], "u1");
    assert_eq!(ops[1]["bulkId"], "u2");
    assert_eq!(ops[2]["bulkId"], "g1");
    for op in ops {
        assert!(op.get("response").is_none(), "{op}");
        assert!(op["version"].as_str().unwrap().starts_with("W/\""), "{op}");
    }
    let u1 = id_of(&ops[0]["location"]);
    let u2 = id_of(&ops[1]["location"]);
    let g1 = id_of(&ops[2]["location"]);
    assert_eq!(ops[0]["location"], format!("{base}/Users/{u1}"));
    assert_eq!(ops[1]["location"], format!("{base}/Users/{u2}"));
    assert_eq!(ops[2]["location"], format!("{base}/Groups/{g1}"));
    // The PATCH reached the user u1 created, and says where it is.
    assert_eq!(ops[3]["location"], ops[0]["location"]);

    let mut want = vec![u1.clone(), u2.clone()];
    want.sort();
    assert_eq!(stack.member_ids(&g1).await, want);
    let read = stack.scim("GET", &format!("/Users/{u1}"), None).await;
    assert_eq!(read.status, 200, "{}", read.raw);
    assert_eq!(read.body["userName"], "bjensen@x.test");
    assert_eq!(read.body["displayName"], "Babs Jensen");
    assert_eq!(read.body["meta"]["version"], ops[3]["version"]);
    let read = stack.scim("GET", &format!("/Users/{u2}"), None).await;
    assert_eq!(read.body["userName"], "jsmith@x.test");
    assert!(read.body.get("displayName").is_none(), "{}", read.raw);
}

#[tokio::test]
async fn failed_operation_keeps_earlier_ones_and_is_reported() {
    let stack = Stack::start().await.unwrap();
    let existing = stack.create_user("existing@x.test").await;
    let response = bulk(
        &stack,
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "a", "data": user("a@x.test")},
            // userName taken: 409 uniqueness from the directory.
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("A@x.test")},
            // Stale version: If-Match semantics, 412.
            {
                "method": "PUT",
                "path": format!("/Users/{existing}"),
                "version": "W/\"999\"",
                "data": user("existing@x.test")
            },
            {"method": "DELETE", "path": "/Devices/1"},
            {"method": "POST", "path": "/Users", "bulkId": "b", "data": user("b@x.test")},
            {
                "method": "PATCH",
                "path": format!("/Users/{existing}"),
                "data": patch(json!([{"op": "replace", "path": "active", "value": false}]))
            },
            {"method": "DELETE", "path": "/Users/bulkId:b"}
        ]),
        None,
    )
    .await;
    let ops = operations(&response);
    assert_eq!(ops.len(), 7, "{}", response.raw);
    assert_eq!(ops[0]["status"], "201");
    assert_failed(&ops[1], 409, Some("uniqueness"));
    assert_eq!(ops[1]["bulkId"], "dup");
    assert!(
        ops[1].get("location").is_none(),
        "a failed POST has no location"
    );
    assert_failed(&ops[2], 412, None);
    assert_eq!(
        ops[2]["location"],
        format!("{}/Users/{existing}", stack.base_url())
    );
    assert_failed(&ops[3], 400, Some("invalidPath"));
    assert_eq!(ops[4]["status"], "201");
    assert_eq!(ops[5]["status"], "200");
    assert_eq!(ops[6]["status"], "204");
    assert_eq!(ops[6]["location"], ops[4]["location"]);

    // The operations around the failures took effect, the failures changed nothing.
    let a = stack
        .scim(
            "GET",
            &format!("/Users/{}", id_of(&ops[0]["location"])),
            None,
        )
        .await;
    assert_eq!(a.status, 200);
    let existing = stack.scim("GET", &format!("/Users/{existing}"), None).await;
    assert_eq!(existing.body["active"], false);
    assert_eq!(existing.body["meta"]["version"], ops[5]["version"]);
    let b = stack
        .scim(
            "GET",
            &format!("/Users/{}", id_of(&ops[4]["location"])),
            None,
        )
        .await;
    assert_scim_error(&b, 404, None);
    assert_eq!(count(&stack, "Users", "userName pr").await, 2);
}

#[tokio::test]
async fn fail_on_errors_stops_after_that_many_errors() {
    let stack = Stack::start().await.unwrap();
    let response = bulk(
        &stack,
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "first", "data": user("first@x.test")},
            {"method": "POST", "path": "/Users", "bulkId": "nameless", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "active": true}},
            {"method": "POST", "path": "/Users", "bulkId": "second", "data": user("second@x.test")},
            {"method": "DELETE", "path": "/Users/00000000-0000-0000-0000-000000000000"},
            {"method": "POST", "path": "/Users", "bulkId": "never", "data": user("never@x.test")}
        ]),
        Some(2),
    )
    .await;
    let ops = operations(&response);
    assert_eq!(ops.len(), 4, "stops after the 2nd error: {}", response.raw);
    assert_eq!(ops[0]["status"], "201");
    assert_failed(&ops[1], 400, Some("invalidValue"));
    assert_eq!(ops[2]["status"], "201");
    assert_failed(&ops[3], 404, None);
    assert_eq!(
        count(&stack, "Users", "userName eq \"first@x.test\"").await,
        1
    );
    assert_eq!(
        count(&stack, "Users", "userName eq \"second@x.test\"").await,
        1
    );
    assert_eq!(
        count(&stack, "Users", "userName eq \"never@x.test\"").await,
        0
    );

    // failOnErrors 1: the first error ends the job.
    let response = bulk(
        &stack,
        json!([
            {"method": "DELETE", "path": "/Groups/00000000-0000-0000-0000-000000000000"},
            {"method": "POST", "path": "/Users", "bulkId": "x", "data": user("never@x.test")}
        ]),
        Some(1),
    )
    .await;
    let ops = operations(&response);
    assert_eq!(ops.len(), 1, "{}", response.raw);
    assert_failed(&ops[0], 404, None);
    assert_eq!(
        count(&stack, "Users", "userName eq \"never@x.test\"").await,
        0
    );
}

#[tokio::test]
async fn unresolvable_bulkId_is_409_for_that_operation() {
    let stack = Stack::start().await.unwrap();
    let response = bulk(
        &stack,
        json!([
            // A forward reference: "later" is created only further down.
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g-forward",
                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Forward", "members": [{"value": "bulkId:later"}]}
            },
            {"method": "POST", "path": "/Users", "bulkId": "later", "data": user("later@x.test")},
            // Never defined.
            {
                "method": "PATCH",
                "path": "/Users/bulkId:ghost",
                "data": patch(json!([{"op": "replace", "path": "active", "value": false}]))
            },
            // Its POST failed.
            {"method": "POST", "path": "/Users", "bulkId": "broken", "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": ""}},
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g-broken",
                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Broken", "members": [{"value": "bulkId:broken"}]}
            },
            // Resolvable now.
            {
                "method": "POST",
                "path": "/Groups",
                "bulkId": "g-ok",
                "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Resolved", "members": [{"value": "bulkId:later"}]}
            }
        ]),
        None,
    )
    .await;
    let ops = operations(&response);
    assert_eq!(ops.len(), 6, "{}", response.raw);
    assert_failed(&ops[0], 409, Some("invalidValue"));
    assert!(
        ops[0]["response"]["detail"]
            .as_str()
            .unwrap()
            .contains("bulkId:later")
    );
    assert_eq!(ops[1]["status"], "201");
    assert_failed(&ops[2], 409, Some("invalidValue"));
    assert!(ops[2].get("location").is_none());
    assert_failed(&ops[3], 400, Some("invalidValue"));
    assert_failed(&ops[4], 409, Some("invalidValue"));
    assert_eq!(ops[5]["status"], "201");

    assert_eq!(
        count(&stack, "Groups", "displayName eq \"Forward\"").await,
        0
    );
    assert_eq!(
        count(&stack, "Groups", "displayName eq \"Broken\"").await,
        0
    );
    let later = id_of(&ops[1]["location"]);
    assert_eq!(
        stack.member_ids(&id_of(&ops[5]["location"])).await,
        vec![later.clone()]
    );
    let user = stack.scim("GET", &format!("/Users/{later}"), None).await;
    assert_eq!(user.body["active"], true);
}

#[tokio::test]
async fn limits_are_advertised_and_enforced_with_413() {
    let stack = Stack::start_with_env(
        fresh_postgres_database().await.unwrap(),
        &[
            ("GATEWAY_BULK_MAX_OPERATIONS", "2"),
            ("GATEWAY_BULK_MAX_PAYLOAD_BYTES", "1024"),
        ],
    )
    .await
    .unwrap();
    let spc = stack.scim("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(
        spc.body["bulk"],
        json!({"supported": true, "maxOperations": 2, "maxPayloadSize": 1024})
    );

    // maxOperations: 413 and nothing created.
    let too_many = bulk(
        &stack,
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "1", "data": user("one@x.test")},
            {"method": "POST", "path": "/Users", "bulkId": "2", "data": user("two@x.test")},
            {"method": "POST", "path": "/Users", "bulkId": "3", "data": user("three@x.test")}
        ]),
        None,
    )
    .await;
    let detail = assert_scim_error(&too_many, 413, None);
    assert!(detail.contains("maxOperations (2)"), "{detail}");
    assert_eq!(count(&stack, "Users", "userName pr").await, 0);

    // maxPayloadSize: 413 and nothing created, though one operation is allowed...
    let padded = json!([{
        "method": "POST",
        "path": "/Users",
        "bulkId": "big",
        "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "big@x.test", "displayName": "x".repeat(1000)}
    }]);
    let too_big = bulk(&stack, padded, None).await;
    let detail = assert_scim_error(&too_big, 413, None);
    assert!(detail.contains("maxPayloadSize (1024 bytes)"), "{detail}");
    assert_eq!(count(&stack, "Users", "userName pr").await, 0);
    // ...and the bulk limit is the Bulk route's only.
    let single = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "big@x.test", "displayName": "x".repeat(1000)})),
        )
        .await;
    assert_eq!(single.status, 201, "{}", single.raw);

    // At the limit: runs.
    let ok = bulk(
        &stack,
        json!([
            {"method": "POST", "path": "/Users", "bulkId": "1", "data": user("one@x.test")},
            {"method": "POST", "path": "/Users", "bulkId": "2", "data": user("two@x.test")}
        ]),
        None,
    )
    .await;
    assert_eq!(operations(&ok).len(), 2);
    assert_eq!(count(&stack, "Users", "userName pr").await, 3);
}

#[tokio::test]
async fn discovery_advertises_bulk_with_default_limits() {
    let stack = Stack::start().await.unwrap();
    let spc = stack.scim("GET", "/ServiceProviderConfig", None).await;
    assert_eq!(spc.status, 200, "{}", spc.raw);
    assert_eq!(
        spc.body["bulk"],
        json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576})
    );
}

#[tokio::test]
async fn bulk_request_is_authenticated_and_validated() {
    let stack = Stack::start().await.unwrap();
    let body = json!({"schemas": [BULK_REQUEST], "Operations": []}).to_string();
    let anonymous = stack.request("POST", "/Bulk", Some(body), &[]).await;
    assert_scim_error(&anonymous, 401, None);
    let get = stack.scim("GET", "/Bulk", None).await;
    assert_scim_error(&get, 405, None);
    assert_eq!(get.header("allow"), Some("POST"));

    let missing = stack
        .scim("POST", "/Bulk", Some(json!({"schemas": [BULK_REQUEST]})))
        .await;
    assert_scim_error(&missing, 400, Some("invalidSyntax"));
    let schemas = stack
        .scim(
            "POST",
            "/Bulk",
            Some(json!({"schemas": BULK_REQUEST, "Operations": []})),
        )
        .await;
    assert_scim_error(&schemas, 400, Some("invalidSyntax"));
    let fail_on_errors = stack
        .scim(
            "POST",
            "/Bulk",
            Some(json!({"Operations": [], "failOnErrors": 0})),
        )
        .await;
    assert_scim_error(&fail_on_errors, 400, Some("invalidValue"));

    // Invalid operations fail alone; method names are case-insensitive.
    let response = bulk(
        &stack,
        json!([
            {"method": "GET", "path": "/Users"},
            {"method": "post", "path": "/Users", "data": user("nobulkid@x.test")},
            "not an operation",
            {"method": "post", "path": "/Users", "bulkId": "ok", "data": user("ok@x.test")}
        ]),
        None,
    )
    .await;
    let ops = operations(&response);
    assert_eq!(ops.len(), 4, "{}", response.raw);
    assert_failed(&ops[0], 400, Some("invalidValue"));
    assert_failed(&ops[1], 400, Some("invalidValue"));
    assert_eq!(ops[1]["method"], "POST");
    assert_failed(&ops[2], 400, Some("invalidSyntax"));
    assert_eq!(ops[3]["method"], "POST");
    assert_eq!(ops[3]["status"], "201");
    assert_eq!(count(&stack, "Users", "userName pr").await, 1);
}

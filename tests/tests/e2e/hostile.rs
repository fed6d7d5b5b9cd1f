//! Hostile and oversized input (issue #17): each class of the measured list answers a SCIM
//! error (never a 500), and nothing the schema forbids is stored. The systematic corpus is
//! `malformed_corpus` (`tests/corpus/malformed.jsonl`).

use e2e_tests::{Response, Stack, assert_scim_error, on_both_backends, patch};
use serde_json::{Value, json};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Everything the workspace holds, as the SCIM API shows it (versions and timestamps
/// included, so any write shows).
async fn dump(stack: &Stack) -> Value {
    let users = stack.scim("GET", "/Users?count=1000", None).await;
    let groups = stack.scim("GET", "/Groups?count=1000", None).await;
    assert_eq!(users.status, 200, "{}", users.raw);
    assert_eq!(groups.status, 200, "{}", groups.raw);
    json!({"users": users.body["Resources"], "groups": groups.body["Resources"]})
}

fn assert_invalid_value_naming(response: &Response, attribute: &str) {
    let detail = assert_scim_error(response, 400, Some("invalidValue"));
    assert!(
        detail.contains(attribute),
        "the error names {attribute}: {detail}"
    );
}

/// Ids we never issue are 404 at the gateway: a 10 KB id (was a 500, the id broke the
/// gRPC hop), the id with a trailing space (was trimmed: the user was returned, and could
/// be deleted), the id in upper case.
async fn ids_we_never_issue_are_not_found(stack: Stack) {
    let id = stack.create_user("ids@x.test").await;
    let group = stack.create_group("ids", &[&id]).await;
    let before = dump(&stack).await;
    let huge = "a".repeat(10 * 1024);
    for endpoint in ["Users", "Groups"] {
        let real = if endpoint == "Users" { &id } else { &group };
        for bad in [
            huge.clone(),
            format!("{real}%20"),
            format!("%20{real}"),
            real.to_uppercase(),
            format!("{{{real}}}"),
        ] {
            let path = format!("/{endpoint}/{bad}");
            let body = if endpoint == "Users" {
                json!({"schemas": [USER], "userName": "x@x.test"})
            } else {
                json!({"schemas": [GROUP], "displayName": "x"})
            };
            for (method, body) in [
                ("GET", None),
                ("PUT", Some(body)),
                ("PATCH", Some(patch(json!([])))),
                ("DELETE", None),
            ] {
                let answer = stack.scim(method, &path, body).await;
                assert_scim_error(&answer, 404, None);
                assert!(answer.raw.len() < 1024, "the id is not echoed");
            }
        }
    }
    assert_eq!(dump(&stack).await, before, "nothing changed");
    assert_eq!(
        stack
            .scim("GET", &format!("/Users/{id}"), None)
            .await
            .status,
        200
    );
}

/// The directory itself answers a 10 KB id over gRPC with a status (its message no longer
/// echoes the whole id into an HTTP/2 header, which broke the connection).
async fn the_directory_answers_a_huge_id_with_a_status(stack: Stack) {
    let huge = "a".repeat(10 * 1024);
    let directory = stack.grpc().await.unwrap();
    let status = directory
        .users()
        .get_user(directory_proto::v1::GetUserRequest {
            workspace_id: stack.workspace_id.clone(),
            id: huge.clone(),
        })
        .await
        .expect_err("no such user");
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    assert!(status.message().len() < 200, "{}", status.message());
    let status = directory
        .users()
        .get_user(directory_proto::v1::GetUserRequest {
            workspace_id: huge,
            id: String::new(),
        })
        .await
        .expect_err("no such workspace");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}

/// Sizes: a 900 KiB displayName (was a 500 on Postgres: over the B-tree limit), 11,000
/// emails (was a 500: over the bind-parameter limit), 1,001 phone numbers by PATCH: 400
/// invalidValue naming the attribute. At the limit (1,000 values) it is stored.
async fn oversized_values_are_invalid_values(stack: Stack) {
    let answer = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER], "userName": "big@x.test",
                        "displayName": "x".repeat(900 * 1024)})),
        )
        .await;
    assert_invalid_value_naming(&answer, "displayName");
    let emails: Vec<Value> = (0..11_000)
        .map(|i| json!({"value": format!("e{i}@x.test")}))
        .collect();
    let answer = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER], "userName": "many@x.test", "emails": emails})),
        )
        .await;
    assert_invalid_value_naming(&answer, "emails");
    let id = stack.create_user("phones@x.test").await;
    let phones = |n: usize| -> Vec<Value> {
        (0..n)
            .map(|i| json!({"value": format!("+1 555 {i:06}"), "type": "work"}))
            .collect()
    };
    let answer = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "add", "path": "phoneNumbers", "value": phones(1001)}]),
            )),
        )
        .await;
    assert_invalid_value_naming(&answer, "phoneNumbers");
    let answer = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "add", "path": "phoneNumbers", "value": phones(1000)}]),
            )),
        )
        .await;
    assert_eq!(
        answer.status,
        200,
        "{}",
        &answer.raw[..answer.raw.len().min(500)]
    );
    assert_eq!(answer.body["phoneNumbers"].as_array().unwrap().len(), 1000);
    assert_eq!(
        stack
            .scim("GET", "/Users?filter=userName%20pr", None)
            .await
            .body["totalResults"],
        1,
        "only the user at the limit exists"
    );
}

/// NUL (was a 201 on SQLite) and other control characters are refused, in values and in
/// attribute names; tab, CR and LF are allowed in free text.
async fn control_characters_are_refused(stack: Stack) {
    for body in [
        json!({"schemas": [USER], "userName": "nul\u{0}@x.test"}),
        json!({"schemas": [USER], "userName": "esc@x.test", "name": {"givenName": "\u{1b}[31m"}}),
        json!({"schemas": [USER], "userName": "del@x.test", "title": "a\u{7f}"}),
        json!({"schemas": [USER], "userName": "c1@x.test", "addresses": [{"locality": "\u{85}"}]}),
    ] {
        let answer = stack.scim("POST", "/Users", Some(body.clone())).await;
        let detail = assert_scim_error(&answer, 400, Some("invalidValue"));
        assert!(detail.contains("control character"), "{body}: {detail}");
    }
    let answer = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER], "userName": "ok@x.test",
                        "addresses": [{"formatted": "1 Main St\r\nSpringfield\tUS"}]})),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.raw);
    assert_eq!(
        stack
            .scim("GET", "/Users?filter=userName%20pr", None)
            .await
            .body["totalResults"],
        1
    );
}

/// Wrong types on core attributes (all were stored as sent): 400 invalidValue naming the
/// attribute, on POST, PUT and PATCH; nothing stored.
async fn wrong_types_on_core_attributes_are_refused(stack: Stack) {
    let id = stack.create_user("types@x.test").await;
    let before = dump(&stack).await;
    let cases = [
        ("addresses", json!("1 Main St"), "addresses"),
        ("addresses", json!({"locality": "x"}), "addresses"),
        (
            "addresses",
            json!([{"postalCode": ["12345"]}]),
            "addresses.postalCode",
        ),
        ("ims", json!(5), "ims"),
        ("photos", json!({"value": "https://x.test/p.png"}), "photos"),
        ("photos", json!([{"value": 5}]), "photos.value"),
        ("entitlements", json!("admin"), "entitlements"),
        ("roles", json!("admin"), "roles"),
        ("roles", json!([{"value": ["a", "b"]}]), "roles.value"),
        (
            "roles",
            json!([{"value": "a", "primary": "yes"}]),
            "roles.primary",
        ),
        (
            "emails",
            json!([{"value": "a@x.test", "primary": "yes"}]),
            "emails.primary",
        ),
        ("x509Certificates", json!("MIIC"), "x509Certificates"),
        ("password", json!(5), "password"),
    ];
    for (attribute, value, named) in cases {
        let mut body = json!({"schemas": [USER], "userName": "types2@x.test"});
        body[attribute] = value.clone();
        let answer = stack.scim("POST", "/Users", Some(body.clone())).await;
        assert_invalid_value_naming(&answer, named);
        body["userName"] = json!("types@x.test");
        let answer = stack.scim("PUT", &format!("/Users/{id}"), Some(body)).await;
        assert_invalid_value_naming(&answer, named);
        // PATCH takes one object for a multi-valued attribute as a list of one (IdPs send
        // both); that stores a well-formed list, so only the other shapes are refused.
        if attribute != "password" && !value.is_object() {
            let answer = stack
                .scim(
                    "PATCH",
                    &format!("/Users/{id}"),
                    Some(patch(
                        json!([{"op": "replace", "path": attribute, "value": value}]),
                    )),
                )
                .await;
            assert_invalid_value_naming(&answer, named);
        }
    }
    assert_eq!(dump(&stack).await, before, "nothing stored");
}

/// `schemas` missing, empty, only an unknown URN, or the other resource's core URN: 400
/// on POST and PUT of both resources.
async fn schemas_must_name_the_resource(stack: Stack) {
    let id = stack.create_user("schemas@x.test").await;
    let group = stack.create_group("schemas", &[]).await;
    let before = dump(&stack).await;
    for schemas in [
        None,
        Some(json!([])),
        Some(json!(["urn:example:unknown:2.0:Thing"])),
        Some(json!([GROUP])),
        Some(json!([USER, GROUP])),
    ] {
        let mut body = json!({"userName": "schemas@x.test"});
        if let Some(schemas) = &schemas {
            body["schemas"] = schemas.clone();
        }
        for (method, path) in [
            ("POST", "/Users".to_owned()),
            ("PUT", format!("/Users/{id}")),
        ] {
            let answer = stack.scim(method, &path, Some(body.clone())).await;
            assert_invalid_value_naming(&answer, "schemas");
        }
    }
    for schemas in [None, Some(json!([])), Some(json!([USER]))] {
        let mut body = json!({"displayName": "schemas"});
        if let Some(schemas) = &schemas {
            body["schemas"] = schemas.clone();
        }
        for (method, path) in [
            ("POST", "/Groups".to_owned()),
            ("PUT", format!("/Groups/{group}")),
        ] {
            let answer = stack.scim(method, &path, Some(body.clone())).await;
            assert_invalid_value_naming(&answer, "schemas");
        }
    }
    assert_eq!(dump(&stack).await, before, "nothing stored");
}

/// An extension schema the workspace did not declare, in a body or a PATCH path: refused
/// and never stored (PATCH used to store it).
async fn undeclared_extensions_are_refused(stack: Stack) {
    let id = stack.create_user("ext@x.test").await;
    let before = dump(&stack).await;
    let unknown = "urn:example:params:scim:schemas:extension:unknown:2.0:User";
    let answer = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "add", "path": format!("{unknown}:badge"), "value": "7"}]),
            )),
        )
        .await;
    assert_invalid_value_naming(&answer, unknown);
    let answer = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER, unknown], "userName": "ext2@x.test", unknown: {"badge": "7"}})),
        )
        .await;
    assert_invalid_value_naming(&answer, unknown);
    assert_eq!(dump(&stack).await, before, "nothing stored");
}

/// A body without Content-Type: 415, as the README promises (it was accepted).
async fn a_body_without_content_type_is_415(stack: Stack) {
    let id = stack.create_user("ct@x.test").await;
    let before = dump(&stack).await;
    let auth = format!("Bearer {}", stack.token);
    let user = json!({"schemas": [USER], "userName": "ct2@x.test"}).to_string();
    for (method, path, body) in [
        ("POST", "/Users".to_owned(), user.clone()),
        ("PUT", format!("/Users/{id}"), user),
        (
            "PATCH",
            format!("/Users/{id}"),
            patch(json!([{"op": "replace", "path": "title", "value": "T"}])).to_string(),
        ),
        (
            "POST",
            "/Groups".to_owned(),
            json!({"schemas": [GROUP], "displayName": "g"}).to_string(),
        ),
    ] {
        let answer = stack
            .request_as_given(method, &path, Some(body), &[("authorization", &auth)])
            .await;
        assert_scim_error(&answer, 415, None);
    }
    assert_eq!(dump(&stack).await, before, "nothing stored");
}

/// `manager.value` must name a user of the same workspace: an unknown id, a user of
/// another workspace, or no id at all → 400 invalidValue; a colleague is accepted.
async fn manager_must_be_a_user_of_the_workspace(stack: Stack) {
    let id = stack.create_user("report@x.test").await;
    let boss = stack.create_user("boss@x.test").await;
    let other_workspace = stack.new_workspace("elsewhere").await.unwrap();
    let (_, other_token) = stack.issue_token(&other_workspace, "t").await.unwrap();
    let stranger = stack
        .request(
            "POST",
            "/Users",
            Some(json!({"schemas": [USER], "userName": "stranger@x.test"}).to_string()),
            &[("authorization", &format!("Bearer {other_token}"))],
        )
        .await;
    assert_eq!(stranger.status, 201, "{}", stranger.raw);
    let stranger = stranger.body["id"].as_str().unwrap().to_owned();
    let before = dump(&stack).await;
    for manager in [
        json!("00000000-0000-7000-8000-000000000000"),
        json!(stranger),
        json!({"value": "not-an-id"}),
    ] {
        let answer = stack
            .scim(
                "PATCH",
                &format!("/Users/{id}"),
                Some(patch(json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": manager}]))),
            )
            .await;
        assert_invalid_value_naming(&answer, "manager");
        let answer = stack
            .scim(
                "POST",
                "/Users",
                Some(
                    json!({"schemas": [USER, ENTERPRISE], "userName": "new@x.test",
                            ENTERPRISE: {"manager": manager}}),
                ),
            )
            .await;
        assert_invalid_value_naming(&answer, "manager");
    }
    assert_eq!(dump(&stack).await, before, "nothing stored");
    let answer = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": format!("{ENTERPRISE}:manager"), "value": boss}]),
            )),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.raw);
    assert_eq!(answer.body[ENTERPRISE]["manager"]["value"], boss.as_str());
}

on_both_backends!(
    ids_we_never_issue_are_not_found,
    the_directory_answers_a_huge_id_with_a_status,
    oversized_values_are_invalid_values,
    control_characters_are_refused,
    wrong_types_on_core_attributes_are_refused,
    schemas_must_name_the_resource,
    undeclared_extensions_are_refused,
    a_body_without_content_type_is_415,
    manager_must_be_a_user_of_the_workspace,
);

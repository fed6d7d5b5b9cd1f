//! Attribute mappings (seed 003), managed with scimctl, applied to SCIM writes, read over
//! gRPC.

use directory_proto::v1 as pb;
use e2e_tests::{Stack, assert_scim_error, patch};
use serde_json::{Value, json};

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "scimctl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

#[tokio::test]
async fn seed_attribute_mappings_drive_metadata_and_role() {
    let stack = Stack::start().await.unwrap();
    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let role_template =
        r#"{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}"#;
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute-mapping",
        "set",
        "--workspace",
        "acme",
        "--source",
        "groups[0].value",
        "--destination",
        "organization_role",
        "--template",
        role_template,
    ]));
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute-mapping",
        "set",
        "--workspace",
        "acme",
        "--source",
        &format!("{enterprise}.department"),
        "--destination",
        "public_metadata.department",
    ]));
    let listed = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute-mapping",
        "set",
        "--workspace",
        "acme",
        "--source",
        &format!("{enterprise}.employeeNumber"),
        "--destination",
        "public_metadata.employee_number",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 3);
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "role-mapping",
        "set",
        "--workspace",
        "acme",
        "--idp-role",
        "org:admin",
        "--role",
        "admin",
    ]));
    let bad = stack.scimctl(&[
        "attribute-mapping",
        "set",
        "--workspace",
        "acme",
        "--source",
        "title",
        "--destination",
        "title",
        "--template",
        "{% if %}",
    ]);
    assert!(
        !bad.status.success(),
        "a template that does not parse is refused"
    );

    let body = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "kim@x.test", enterprise: {"department": "R&D", "employeeNumber": "E-7"}});
    let created = stack.scim("POST", "/Users", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let user = stack
        .grpc()
        .await
        .unwrap()
        .users()
        .get_user(pb::GetUserRequest {
            workspace_id: stack.workspace_id.clone(),
            id: id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    let metadata = directory_proto::json::struct_to_json(user.public_metadata.unwrap_or_default());
    assert_eq!(metadata["department"], "R&D");
    assert_eq!(metadata["employee_number"], "E-7");
    assert_eq!(user.organization_role, "org:member");

    // Pushed into "Admins", the next profile update makes kim an admin through the mapping.
    stack.create_group("Admins", &[&id]).await;
    let updated = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "Lead"}]),
            )),
        )
        .await;
    assert_eq!(updated.status, 200, "{}", updated.raw);
    let access = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "member",
        "show",
        "--workspace",
        "acme",
        "--user",
        "kim@x.test",
    ]));
    assert_eq!(access["role"], "admin");

    // A mapping that fails to evaluate answers a clear 400 and changes nothing.
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute-mapping",
        "set",
        "--workspace",
        "acme",
        "--source",
        "title",
        "--destination",
        "nickName",
        "--template",
        "{{ no_such_variable }}",
    ]));
    let refused = stack
        .scim(
            "PATCH",
            &format!("/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "title", "value": "Boss"}]),
            )),
        )
        .await;
    assert_scim_error(&refused, 400, Some("invalidValue"));
    assert_eq!(
        stack.scim("GET", &format!("/Users/{id}"), None).await.body["title"],
        "Lead"
    );
    let remaining = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute-mapping",
        "delete",
        "--workspace",
        "acme",
        "--destination",
        "nickName",
    ]));
    assert_eq!(remaining.as_array().unwrap().len(), 3);
}

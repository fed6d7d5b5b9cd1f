//! Workspace rules that follow the IdP (issue #19 items 3 and 4): a group push re-evaluates
//! the mappings and roles of its members, and reactivation into a full subscription waits
//! for a seat instead of failing.

use directory_proto::v1 as pb;
use e2e_tests::{Stack, assert_scim_error, patch};
use serde_json::{Value, json};

const SUBSCRIPTION: &str = "sub_1RqpMYGCs0LNOzY9UszOGJkL";
const GROUP_NAME: &str = "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL";

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "scimctl failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

fn member_show(stack: &Stack, user: &str) -> Value {
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "member",
        "show",
        "--workspace",
        "acme",
        "--user",
        user,
    ]))
}

async fn patch_group(stack: &Stack, group: &str, operations: Value) -> e2e_tests::Response {
    stack
        .scim(
            "PATCH",
            &format!("/Groups/{group}"),
            Some(patch(operations)),
        )
        .await
}

async fn set_active(stack: &Stack, user: &str, active: bool) -> e2e_tests::Response {
    let operations = json!([{"op": "replace", "value": {"active": active}}]);
    stack
        .scim("PATCH", &format!("/Users/{user}"), Some(patch(operations)))
        .await
}

async fn organization_role(stack: &Stack, id: &str) -> String {
    stack
        .grpc()
        .await
        .unwrap()
        .users()
        .get_user(pb::GetUserRequest {
            workspace_id: stack.workspace_id.clone(),
            id: id.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .organization_role
}

/// Seed 003's troubleshooting line, "Okta's group push doesn't change roles", no longer
/// holds: Okta's Push Groups sequence alone (create, look up, membership PATCH with the
/// re-sent name) maps the members to their role.
async fn okta_push_groups_changes_the_organization_role_without_a_user_update(stack: Stack) {
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
        "{% assign group = value | downcase %}{% if group == 'okta-leads' %}org:admin{% else %}org:member{% endif %}",
    ]));
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
    let kim = stack.create_user("kim@okta.local").await;
    let ana = stack.create_user("ana@okta.local").await;
    assert_eq!(organization_role(&stack, &kim).await, "org:member");
    let kim_version =
        stack.scim("GET", &format!("/Users/{kim}"), None).await.body["meta"]["version"].clone();

    // Push Groups: create the group empty, look it up, then push its members.
    let created = stack
        .scim(
            "POST",
            "/Groups",
            Some(
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Okta-Leads", "members": []}),
            ),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let group = created.body["id"].as_str().unwrap().to_owned();
    let pushed = patch_group(&stack, &group, json!([
        {"op": "add", "path": "members", "value": [{"value": kim, "display": "kim@okta.local"}]},
        {"op": "replace", "value": {"id": group, "displayName": "Okta-Leads"}}
    ]))
    .await;
    assert!(
        pushed.status == 200 || pushed.status == 204,
        "{}",
        pushed.raw
    );

    assert_eq!(organization_role(&stack, &kim).await, "org:admin");
    assert_eq!(member_show(&stack, "kim@okta.local")["role"], "admin");
    let kim_now = stack.scim("GET", &format!("/Users/{kim}"), None).await;
    assert_ne!(
        kim_now.body["meta"]["version"], kim_version,
        "the re-evaluation is a new version of kim, so IdPs and caches see it"
    );

    // Moving the role: Okta's one PATCH removes kim and adds ana.
    let moved = patch_group(&stack, &group, json!([
        {"op": "remove", "path": format!("members[value eq \"{kim}\"]")},
        {"op": "add", "path": "members", "value": [{"value": ana, "display": "ana@okta.local"}]},
        {"op": "replace", "value": {"id": group, "displayName": "Okta-Leads"}}
    ]))
    .await;
    assert!(moved.status == 200 || moved.status == 204, "{}", moved.raw);
    assert_eq!(organization_role(&stack, &kim).await, "org:member");
    assert_eq!(organization_role(&stack, &ana).await, "org:admin");
    assert_eq!(member_show(&stack, "kim@okta.local")["role"], "none");
    assert_eq!(member_show(&stack, "ana@okta.local")["role"], "admin");

    // Unlinking the group with "delete in the target app" would leave nobody admin: 409.
    let deleted = stack
        .scim("DELETE", &format!("/Groups/{group}"), None)
        .await;
    let detail = assert_scim_error(&deleted, 409, None);
    assert!(detail.contains("last workspace admin"), "{detail}");
    assert_eq!(organization_role(&stack, &ana).await, "org:admin");
}

/// Issue #19 item 4 over SCIM: reactivation always succeeds; into a full subscription the
/// member waits (seen with `member show` and `subscription holders --waiting`) and gets
/// the seat that frees next. A new member of a full license group is still a 409.
async fn reactivation_into_a_full_subscription_waits_for_a_seat(stack: Stack) {
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "create",
        "--workspace",
        "acme",
        "--subscription-id",
        SUBSCRIPTION,
        "--plan",
        "Enterprise Plan",
        "--product",
        "AWS",
        "--seats",
        "1",
    ]));
    let alice = stack.create_user("alice@x.test").await;
    let bob = stack.create_user("bob@x.test").await;
    let carol = stack.create_user("carol@x.test").await;
    let group = stack.create_group(GROUP_NAME, &[&alice]).await;
    assert_eq!(set_active(&stack, &alice, false).await.status, 200);
    let added = patch_group(
        &stack,
        &group,
        json!([{"op": "add", "path": "members", "value": [{"value": bob}]}]),
    )
    .await;
    assert!(added.status == 200 || added.status == 204, "{}", added.raw);

    let reactivated = set_active(&stack, &alice, true).await;
    assert_eq!(reactivated.status, 200, "{}", reactivated.raw);
    assert_eq!(reactivated.body["active"], true);
    let shown = member_show(&stack, "alice@x.test");
    assert_eq!(shown["active"], true);
    assert_eq!(shown["licenses"], json!([]));
    assert_eq!(shown["waiting_licenses"], json!([SUBSCRIPTION]));
    let listed = json_of(&stack.scimctl(&[
        "subscription",
        "list",
        "--workspace",
        "acme",
        "--output",
        "json",
    ]));
    assert_eq!(listed[0]["seats_used"], 1);
    assert_eq!(listed[0]["seats_waiting"], 1);
    assert_eq!(listed[0]["holders"], json!(["bob@x.test"]));
    let waiting = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "holders",
        "--workspace",
        "acme",
        "--subscription-id",
        SUBSCRIPTION,
        "--waiting",
    ]));
    assert_eq!(waiting["total_results"], 1, "{waiting}");
    assert_eq!(waiting["users"][0]["user_name"], "alice@x.test");

    // A new member of the full license group is refused, naming the subscription.
    let refused = patch_group(
        &stack,
        &group,
        json!([{"op": "add", "path": "members", "value": [{"value": carol}]}]),
    )
    .await;
    let detail = assert_scim_error(&refused, 409, None);
    assert!(detail.contains(SUBSCRIPTION), "{detail}");

    // Bob is deactivated: alice gets the seat in that same request.
    assert_eq!(set_active(&stack, &bob, false).await.status, 200);
    let shown = member_show(&stack, "alice@x.test");
    assert_eq!(shown["licenses"], json!([SUBSCRIPTION]));
    assert_eq!(shown["waiting_licenses"], json!([]));
    let holders = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "holders",
        "--workspace",
        "acme",
        "--subscription-id",
        SUBSCRIPTION,
    ]));
    assert_eq!(holders["total_results"], 1);
    assert_eq!(holders["users"][0]["user_name"], "alice@x.test");
}

/// Seed 003's two mapping examples, pasted verbatim into files and imported with
/// `scimctl attribute-mapping import`, then observed on a user after Okta's Push Groups
/// sequence alone.
async fn seed_003_mappings_imported_verbatim_follow_a_group_push(stack: Stack) {
    let dir = std::env::temp_dir().join(format!("seed003-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let role_file = dir.join("role.json");
    std::fs::write(
        &role_file,
        r#"{
"mapping": {
"groups[0].value": "{{ value | downcase | replace: \"admins\", \"org:admin\" | default: \"org:member\" }}.organization_role"
}
}"#,
    )
    .unwrap();
    let metadata_file = dir.join("metadata.json");
    std::fs::write(
        &metadata_file,
        r#"{
"mapping": {
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department":
"public_metadata.department",
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber":
"public_metadata.employee_number"
}
}"#,
    )
    .unwrap();
    let bad_file = dir.join("bad.json");
    std::fs::write(
        &bad_file,
        r#"{"mapping": {"title": "{{ value | no_such_filter }}.nickName"}}"#,
    )
    .unwrap();
    let import = |file: &std::path::Path| {
        stack.scimctl(&[
            "--output",
            "json",
            "attribute-mapping",
            "import",
            "--workspace",
            "acme",
            "--file",
            file.to_str().unwrap(),
        ])
    };
    json_of(&import(&role_file));
    let listed = json_of(&import(&metadata_file));
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
    let role = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["destination"] == "organization_role")
        .unwrap();
    assert_eq!(role["source"], "groups[0].value");
    assert_eq!(
        role["template"],
        r#"{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}"#
    );
    let refused = import(&bad_file);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("the template does not parse") && stderr.contains("no_such_filter"),
        "{stderr}"
    );
    std::fs::remove_dir_all(&dir).unwrap();

    let enterprise = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", enterprise],
                "userName": "kim@okta.local",
                "active": true,
                enterprise: {"department": "R&D", "employeeNumber": "E-7"}
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let kim = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(organization_role(&stack, &kim).await, "org:member");

    // Push Groups: "Admins" created empty, then kim pushed into it.
    let group = stack.create_group("Admins", &[]).await;
    let pushed = patch_group(
        &stack,
        &group,
        json!([
            {"op": "add", "path": "members", "value": [{"value": kim, "display": "kim@okta.local"}]},
            {"op": "replace", "value": {"id": group, "displayName": "Admins"}}
        ]),
    )
    .await;
    assert!(
        pushed.status == 200 || pushed.status == 204,
        "{}",
        pushed.raw
    );
    let user = stack
        .grpc()
        .await
        .unwrap()
        .users()
        .get_user(pb::GetUserRequest {
            workspace_id: stack.workspace_id.clone(),
            id: kim.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.organization_role, "org:admin");
    let metadata = directory_proto::json::struct_to_json(user.public_metadata.unwrap_or_default());
    assert_eq!(metadata["department"], "R&D");
    assert_eq!(metadata["employee_number"], "E-7");
}

e2e_tests::on_both_backends!(
    okta_push_groups_changes_the_organization_role_without_a_user_update,
    reactivation_into_a_full_subscription_waits_for_a_seat,
    seed_003_mappings_imported_verbatim_follow_a_group_push
);

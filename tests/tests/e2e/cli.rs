//! scimctl against the real directory.

use e2e_tests::Stack;
use serde_json::Value;

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

#[tokio::test]
async fn workspaces_tokens_and_users_as_json() {
    let stack = Stack::start().await.unwrap();
    let created = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "workspace",
        "create",
        "initech",
        "--display-name",
        "Initech",
    ]));
    assert_eq!(created["slug"], "initech");
    assert_eq!(created["display_name"], "Initech");
    let listed = json_of(&stack.scimctl(&["--output", "json", "workspace", "list"]));
    let slugs: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["slug"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(slugs, ["acme", "initech"]);

    let issued = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "token",
        "issue",
        "--workspace",
        "initech",
        "--name",
        "Okta — Production",
        "--expires-in",
        "30d",
    ]));
    let plaintext = issued["token"]
        .as_str()
        .expect("plaintext shown once")
        .to_owned();
    let prefix = issued["prefix"].as_str().unwrap().to_owned();
    assert!(plaintext.starts_with(&prefix));
    assert!(issued["expires"].is_string());

    let tokens = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "token",
        "list",
        "--workspace",
        "initech",
    ]));
    let tokens = tokens.as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0]["name"], "Okta — Production");
    assert_eq!(tokens[0]["prefix"], prefix.as_str());
    let listing = serde_json::to_string(tokens).unwrap();
    assert!(
        !listing.contains(&plaintext[prefix.len()..]),
        "token list shows no secret"
    );

    // The new token works at the gateway, and the user shows up in `scimctl user list`.
    let auth = format!("Bearer {plaintext}");
    let body =
        serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "peter@initech.test", "displayName": "Peter"}).to_string();
    let created = stack
        .request("POST", "/Users", Some(body), &[("authorization", &auth)])
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let users =
        json_of(&stack.scimctl(&["--output", "json", "user", "list", "--workspace", "initech"]));
    let text = users.to_string();
    assert!(text.contains("peter@initech.test"), "{text}");
    let acme_users =
        json_of(&stack.scimctl(&["--output", "json", "user", "list", "--workspace", "acme"]));
    assert!(!acme_users.to_string().contains("peter@initech.test"));

    let table = stack.scimctl(&["token", "list", "--workspace", "initech"]);
    assert!(table.status.success());
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains(&prefix) && table.contains("Okta — Production"),
        "{table}"
    );

    let bad = stack.scimctl(&[
        "token",
        "revoke",
        "--workspace",
        "initech",
        "00000000-0000-0000-0000-000000000000",
    ]);
    assert!(!bad.status.success(), "revoking an unknown token fails");
    assert!(String::from_utf8_lossy(&bad.stderr).contains("error"));
}

#[tokio::test]
async fn scimctl_without_the_credential_is_refused() {
    let stack = Stack::start().await.unwrap();
    let out = std::process::Command::new(e2e_tests::bin("scimctl"))
        .args(["workspace", "list"])
        .env("DIRECTORY_URL", format!("http://{}", stack.directory.addr))
        .env("DIRECTORY_CREDENTIAL", "wrong")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("credential")
    );
}

#[tokio::test]
async fn custom_attributes_declared_with_scimctl_work_over_scim() {
    let stack = Stack::start().await.unwrap();
    let urn = "urn:acme:params:scim:schemas:extension:acme:2.0:User";
    let declared = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute",
        "declare",
        "--workspace",
        "acme",
        "--schema",
        urn,
        "--name",
        "costCode",
    ]));
    assert_eq!(declared["name"], "costCode");
    assert_eq!(declared["type"], "string");
    json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute",
        "declare",
        "--workspace",
        "acme",
        "--schema",
        urn,
        "--name",
        "level",
        "--type",
        "integer",
    ]));
    let listed = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute",
        "list",
        "--workspace",
        "acme",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 2);

    // Discovery describes the declared schema to this workspace's IdP.
    let schemas = stack.scim("GET", "/Schemas", None).await;
    let custom = schemas.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == urn)
        .cloned()
        .expect("custom schema listed");
    let types: Vec<(String, String)> = custom["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap().to_owned(),
                a["type"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            ("costCode".to_owned(), "string".to_owned()),
            ("level".to_owned(), "integer".to_owned())
        ]
    );
    assert_eq!(
        stack
            .scim("GET", &format!("/Schemas/{urn}"), None)
            .await
            .status,
        200
    );
    let user_type = stack.scim("GET", "/ResourceTypes/User", None).await;
    assert!(
        user_type.body["schemaExtensions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["schema"] == urn)
    );
    let other_ws = stack.new_workspace("globex").await.unwrap();
    let (_, other_token) = stack.issue_token(&other_ws, "globex").await.unwrap();
    let elsewhere = stack
        .request(
            "GET",
            "/Schemas",
            None,
            &[("authorization", &format!("Bearer {other_token}"))],
        )
        .await;
    assert!(
        !elsewhere.raw.contains(urn),
        "another workspace does not see it"
    );

    let body = serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", urn],
        "userName": "custom@x.test",
        urn: {"costCode": "CC-7", "level": 4}
    });
    let created = stack.scim("POST", "/Users", Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.raw);
    assert_eq!(created.body[urn]["costCode"], "CC-7", "returned");
    let wrong = stack
        .scim(
            "POST",
            "/Users",
            Some(serde_json::json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bad@x.test", urn: {"level": "high"}})),
        )
        .await;
    e2e_tests::assert_scim_error(&wrong, 400, Some("invalidValue"));
    let filter = e2e_tests::q(&format!("{urn}:costCode eq \"cc-7\""));
    let found = stack
        .scim("GET", &format!("/Users?filter={filter}"), None)
        .await;
    assert_eq!(found.status, 200, "{}", found.raw);
    assert_eq!(found.body["totalResults"], 1);
    let by_level = stack
        .scim(
            "GET",
            &format!(
                "/Users?filter={}",
                e2e_tests::q(&format!("{urn}:level ge 5"))
            ),
            None,
        )
        .await;
    assert_eq!(by_level.body["totalResults"], 0);

    let deleted = stack.scimctl(&[
        "attribute",
        "delete",
        "--workspace",
        "acme",
        "--schema",
        urn,
        "--name",
        "level",
    ]);
    assert!(deleted.status.success());
    let listed = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "attribute",
        "list",
        "--workspace",
        "acme",
    ]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

async fn user_show_exit_codes_and_completions(stack: Stack) {
    let alice = stack.create_user("alice@acme.test").await;
    let group = stack
        .scim(
            "POST",
            "/Groups",
            Some(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Acme Admins",
                "members": [{"value": alice}]
            })),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.raw);

    let shown = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "user",
        "show",
        "--workspace",
        "acme",
        "--user",
        "ALICE@acme.test",
    ]));
    assert_eq!(shown["id"], alice.as_str());
    assert_eq!(shown["user_name"], "alice@acme.test");
    assert_eq!(shown["active"], true);
    assert_eq!(shown["role"], "admin");
    assert_eq!(shown["role_sources"], serde_json::json!(["role_group"]));
    assert_eq!(shown["licenses"], serde_json::json!([]));
    assert_eq!(shown["groups"][0]["display_name"], "Acme Admins");
    assert!(shown["public_metadata"].is_object());

    let granted = stack.scimctl(&[
        "member",
        "set-role",
        "--workspace",
        "acme",
        "--user",
        &alice,
        "--role",
        "admin",
    ]);
    assert!(granted.status.success(), "{granted:?}");
    let shown = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "user",
        "show",
        "--workspace",
        "acme",
        "--user",
        &alice,
    ]));
    assert_eq!(
        shown["role_sources"],
        serde_json::json!(["role_group", "direct_grant"])
    );

    // Exit codes scripts can branch on: 3 not found (user, workspace), 5 unavailable.
    let missing_user = stack.scimctl(&["user", "show", "--workspace", "acme", "--user", "nobody"]);
    assert_eq!(missing_user.status.code(), Some(3), "{missing_user:?}");
    let missing_workspace = stack.scimctl(&["user", "list", "--workspace", "no-such-workspace"]);
    assert_eq!(
        missing_workspace.status.code(),
        Some(3),
        "{missing_workspace:?}"
    );
    let usage = stack.scimctl(&["user", "show", "--workspace", "acme"]);
    assert_eq!(usage.status.code(), Some(2), "{usage:?}");
    let unreachable = std::process::Command::new(e2e_tests::bin("scimctl"))
        .args(["--directory-url", "http://127.0.0.1:1", "workspace", "list"])
        .env("DIRECTORY_CREDENTIAL", "x")
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(5), "{unreachable:?}");

    for shell in ["bash", "zsh", "fish"] {
        let out = stack.scimctl(&["completions", shell]);
        assert!(out.status.success(), "{out:?}");
        let script = String::from_utf8(out.stdout).unwrap();
        assert!(
            script.contains("scimctl") && script.contains("subscription"),
            "{shell}"
        );
    }
}

async fn workspace_delete_removes_that_workspace_only(stack: Stack) {
    // "acme" (the stack's) keeps its user, group and token.
    let alice = stack.create_user("alice@acme.test").await;
    stack.create_group("Acme Engineering", &[&alice]).await;
    // "doomed" gets the same kinds of rows, through its own token.
    let doomed = stack.new_workspace("doomed").await.unwrap();
    let (_, doomed_token) = stack.issue_token(&doomed, "okta").await.unwrap();
    let auth = format!("Bearer {doomed_token}");
    let created = stack
        .request(
            "POST",
            "/Users",
            Some(
                serde_json::json!({
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "alice@acme.test"
                })
                .to_string(),
            ),
            &[("authorization", &auth)],
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);

    // Without --yes and without a terminal: refused as a usage error, nothing deleted.
    let refused = stack.scimctl(&["workspace", "delete", "doomed"]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let still = stack.scimctl(&["workspace", "list"]);
    assert!(String::from_utf8_lossy(&still.stdout).contains("doomed"));

    // The RPC itself refuses a wrong confirmation.
    let wrong = stack
        .grpc()
        .await
        .unwrap()
        .workspaces()
        .delete_workspace(directory_proto::v1::DeleteWorkspaceRequest {
            id: doomed.clone(),
            confirm_slug: "acme".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code(), tonic::Code::InvalidArgument);

    let deleted =
        json_of(&stack.scimctl(&["--output", "json", "workspace", "delete", "doomed", "--yes"]));
    assert_eq!(deleted["slug"], "doomed");
    assert_eq!(deleted["users_deleted"], 1);
    assert_eq!(deleted["groups_deleted"], 0);
    assert_eq!(deleted["tokens_deleted"], 1);

    let listed = json_of(&stack.scimctl(&["--output", "json", "workspace", "list"]));
    let slugs: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["acme"]);
    let denied = stack
        .grpc()
        .await
        .unwrap()
        .tokens()
        .authenticate_token(directory_proto::v1::AuthenticateTokenRequest {
            token: doomed_token.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::Unauthenticated);

    // acme is untouched.
    let users = stack.scim("GET", "/Users", None).await;
    assert_eq!(users.status, 200);
    assert_eq!(users.body["totalResults"], 1);
    let groups = stack
        .scim("GET", "/Groups?excludedAttributes=members", None)
        .await;
    assert_eq!(groups.body["totalResults"], 1);
    let again = stack.scimctl(&["workspace", "delete", "doomed", "--yes"]);
    assert_eq!(again.status.code(), Some(3), "{again:?}");
}

async fn group_list_and_show_give_counts_and_kinds(stack: Stack) {
    let alice = stack.create_user("alice@acme.test").await;
    let bob = stack.create_user("bob@acme.test").await;
    let created = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "subscription",
        "create",
        "--workspace",
        "acme",
        "--subscription-id",
        "sub_9",
        "--plan",
        "Pro",
        "--product",
        "AWS",
        "--seats",
        "5",
    ]));
    let license_group_name = created["group_name"].as_str().unwrap().to_owned();
    let admins = stack.create_group("Acme Admins", &[&alice, &bob]).await;
    stack.create_group(&license_group_name, &[&bob]).await;
    stack.create_group("Engineering", &[]).await;

    let listed =
        json_of(&stack.scimctl(&["--output", "json", "group", "list", "--workspace", "acme"]));
    assert_eq!(listed["total_results"], 3);
    let by_name = |name: &str| {
        listed["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["display_name"] == name)
            .unwrap_or_else(|| panic!("{name} listed"))
            .clone()
    };
    let admin_group = by_name("Acme Admins");
    assert_eq!(admin_group["member_count"], 2);
    assert_eq!(admin_group["kind"], "admin");
    let license = by_name(&license_group_name);
    assert_eq!(license["member_count"], 1);
    assert_eq!(license["kind"], "license");
    assert_eq!(license["license_subscription_id"], "sub_9");
    let plain = by_name("Engineering");
    assert_eq!(plain["member_count"], 0);
    assert_eq!(plain["kind"], "plain");

    let filtered = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "group",
        "list",
        "--workspace",
        "acme",
        "--filter",
        "admin",
    ]));
    assert_eq!(filtered["total_results"], 1);
    assert_eq!(filtered["groups"][0]["id"], admins.as_str());

    for reference in [admins.as_str(), "Acme Admins"] {
        let shown = json_of(&stack.scimctl(&[
            "--output",
            "json",
            "group",
            "show",
            "--workspace",
            "acme",
            "--group",
            reference,
        ]));
        assert_eq!(shown["id"], admins.as_str());
        assert_eq!(shown["member_count"], 2);
        assert_eq!(shown["kind"], "admin");
    }
    let missing = stack.scimctl(&["group", "show", "--workspace", "acme", "--group", "Nope"]);
    assert_eq!(missing.status.code(), Some(3), "{missing:?}");
}

#[tokio::test]
async fn endpoint_prints_the_configured_scim_base_url() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database,
        &[("DIRECTORY_PUBLIC_BASE_URL", "https://scim.example.com/")],
    )
    .await
    .unwrap();
    let shown = json_of(&stack.scimctl(&["--output", "json", "endpoint"]));
    assert_eq!(shown["base_url"], "https://scim.example.com/scim/v2");
    let table = stack.scimctl(&["endpoint"]);
    assert_eq!(
        String::from_utf8_lossy(&table.stdout),
        "https://scim.example.com/scim/v2\n"
    );
    let over_grpc = stack
        .grpc()
        .await
        .unwrap()
        .workspaces()
        .get_scim_endpoint(directory_proto::v1::GetScimEndpointRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(over_grpc.base_url, "https://scim.example.com/scim/v2");

    // Not configured: a clear refusal, exit code 4.
    let bare = Stack::start().await.unwrap();
    let out = bare.scimctl(&["endpoint"]);
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--public-base-url"));
}

e2e_tests::on_both_backends!(
    group_list_and_show_give_counts_and_kinds,
    user_show_exit_codes_and_completions,
    workspace_delete_removes_that_workspace_only
);

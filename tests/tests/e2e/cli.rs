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
        serde_json::json!({"userName": "peter@initech.test", "displayName": "Peter"}).to_string();
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

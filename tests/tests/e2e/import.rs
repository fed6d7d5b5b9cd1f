//! `scimctl user import` (members who existed before SCIM) and `scimctl role-mapping`,
//! against the real directory, followed by the IdP's SCIM traffic.

use std::path::PathBuf;

use e2e_tests::{Stack, assert_scim_error, q};
use serde_json::{Value, json};

/// An input file in the temp dir, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(extension: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!(
            "scimctl-import-{}.{extension}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::write(&path, contents).expect("write the import file");
        Self(path)
    }

    fn path(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn stdout_json(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn json_of(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "scimctl failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    stdout_json(out)
}

fn import(stack: &Stack, file: &TempFile) -> std::process::Output {
    stack.scimctl(&[
        "--output",
        "json",
        "user",
        "import",
        "--workspace",
        "acme",
        "--file",
        file.path(),
    ])
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results: {report}"))
        .iter()
        .map(|r| {
            (
                r["user_name"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn existing_members_import_then_okta_links() {
    let stack = Stack::start().await.unwrap();
    let file = TempFile::new(
        "csv",
        "userName,GivenName,familyName,displayName,Email,externalId,active\n\
         alice@acme.test,Alice,Smith,Alice Smith,alice@acme.test,legacy-1,true\n\
         ,Nobody,,,nobody@acme.test,,\n\
         bob@acme.test,Bob,Jones,,,,\n",
    );

    let first = import(&stack, &file);
    assert!(
        !first.status.success(),
        "a failed row makes the exit code non-zero"
    );
    let stderr = String::from_utf8_lossy(&first.stderr);
    assert!(
        stderr.contains("1 of 3 members could not be imported"),
        "{stderr}"
    );
    let report = stdout_json(&first);
    assert_eq!(
        (&report["created"], &report["existing"], &report["failed"]),
        (&json!(2), &json!(0), &json!(1)),
        "{report}"
    );
    assert_eq!(
        outcomes(&report),
        [
            ("alice@acme.test".to_owned(), "created".to_owned()),
            (String::new(), "failed".to_owned()),
            ("bob@acme.test".to_owned(), "created".to_owned()),
        ]
    );
    assert!(report["results"][1]["error"].is_string(), "{report}");
    assert!(report["results"][1]["id"].is_null(), "{report}");
    let alice_id = report["results"][0]["id"].as_str().unwrap().to_owned();

    // Okta's lookup before creating: userName eq, in whatever case the IdP has it.
    let lookup = stack
        .scim(
            "GET",
            &format!("/Users?filter={}", q("userName eq \"ALICE@ACME.TEST\"")),
            None,
        )
        .await;
    assert_eq!(lookup.status, 200, "{}", lookup.raw);
    assert_eq!(lookup.body["totalResults"], 1, "{}", lookup.raw);
    let found = &lookup.body["Resources"][0];
    assert_eq!(found["id"], alice_id.as_str());
    assert_eq!(found["userName"], "alice@acme.test");
    assert_eq!(found["name"]["givenName"], "Alice");
    assert_eq!(found["externalId"], "legacy-1");
    assert_eq!(found["active"], true);

    // Had Okta tried to create instead of linking, it would get 409 uniqueness, not a
    // duplicate.
    let duplicate = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "alice@acme.test",
                "emails": [{"primary": true, "value": "alice@acme.test", "type": "work"}],
                "active": true
            })),
        )
        .await;
    assert_scim_error(&duplicate, 409, Some("uniqueness"));

    // Importing the same file again changes nothing.
    let again = import(&stack, &file);
    assert!(!again.status.success(), "the blank row still fails");
    let report = stdout_json(&again);
    assert_eq!(
        (&report["created"], &report["existing"], &report["failed"]),
        (&json!(0), &json!(2), &json!(1)),
        "{report}"
    );
    assert_eq!(report["results"][0]["id"], alice_id.as_str());
    let all = stack.scim("GET", "/Users", None).await;
    assert_eq!(all.body["totalResults"], 2, "{}", all.raw);

    // The table shows every row and ends with the summary line.
    let table = stack.scimctl(&[
        "user",
        "import",
        "--workspace",
        "acme",
        "--file",
        file.path(),
    ]);
    assert!(!table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(text.contains("bob@acme.test"), "{text}");
    assert_eq!(
        text.lines().last(),
        Some("created 0, existing 2, failed 1"),
        "{text}"
    );
}

#[tokio::test]
async fn bad_input_is_refused_before_any_change_and_stdin_works() {
    let stack = Stack::start().await.unwrap();
    let file = TempFile::new("csv", "email,givenName\ncarol@acme.test,Carol\n");
    let out = import(&stack, &file);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no userName column"), "{stderr}");
    assert!(out.stdout.is_empty());
    let users = stack.scim("GET", "/Users", None).await;
    assert_eq!(users.body["totalResults"], 0, "{}", users.raw);

    // `--file -` reads stdin (JSON unless --format says otherwise).
    let mut child = std::process::Command::new(e2e_tests::bin("scimctl"))
        .args([
            "--output",
            "json",
            "user",
            "import",
            "--workspace",
            "acme",
            "--file",
            "-",
            "--format",
            "csv",
        ])
        .env("DIRECTORY_URL", format!("http://{}", stack.directory.addr))
        .env("DIRECTORY_CREDENTIAL", &stack.credential)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run scimctl");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(b"USERNAME,active\nfrank@acme.test,false\n")
            .unwrap();
    }
    let report = json_of(&child.wait_with_output().unwrap());
    assert_eq!(
        outcomes(&report),
        [("frank@acme.test".to_owned(), "created".to_owned())]
    );
    let frank = stack
        .scim(
            "GET",
            &format!("/Users?filter={}", q("userName eq \"frank@acme.test\"")),
            None,
        )
        .await;
    assert_eq!(frank.body["Resources"][0]["active"], false, "{}", frank.raw);
}

async fn email_identifier_lookup_finds_imported_member(stack: Stack) {
    let file = TempFile::new(
        "json",
        &json!([{
            "userName": "dana.lee",
            "givenName": "Dana",
            "familyName": "Lee",
            "email": "dana.lee@acme.test",
            "externalId": "legacy-42"
        }])
        .to_string(),
    );
    let report = json_of(&import(&stack, &file));
    assert_eq!(report["created"], 1, "{report}");
    let id = report["results"][0]["id"].as_str().unwrap().to_owned();

    // Workspaces that use the email as the unique identifier look members up by it.
    for filter in [
        "emails.value eq \"dana.lee@acme.test\"",
        // Okta with `email` as the unique identifier (seed 004), any case.
        "email eq \"Dana.Lee@ACME.test\"",
        "emails[type eq \"work\"].value eq \"dana.lee@acme.test\"",
    ] {
        let lookup = stack
            .scim("GET", &format!("/Users?filter={}", q(filter)), None)
            .await;
        assert_eq!(lookup.status, 200, "{filter}: {}", lookup.raw);
        assert_eq!(lookup.body["totalResults"], 1, "{filter}: {}", lookup.raw);
        assert_eq!(lookup.body["Resources"][0]["id"], id.as_str(), "{filter}");
    }
    let user = stack.scim("GET", &format!("/Users/{id}"), None).await;
    let email = &user.body["emails"][0];
    assert_eq!(
        (&email["value"], &email["type"], &email["primary"]),
        (&json!("dana.lee@acme.test"), &json!("work"), &json!(true)),
        "{}",
        user.raw
    );
}

#[tokio::test]
async fn role_mappings_over_cli() {
    let stack = Stack::start().await.unwrap();
    let set = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "role-mapping",
        "set",
        "--workspace",
        "acme",
        "--idp-role",
        "Admin",
        "--role",
        "admin",
    ]));
    assert_eq!(
        set,
        json!([{"source": "idp_role", "value": "Admin", "role": "admin"}])
    );

    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "erin@acme.test",
                "roles": [{"primary": true, "value": "Admin"}],
                "active": true
            })),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.raw);
    let access = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "member",
        "show",
        "--workspace",
        "acme",
        "--user",
        "erin@acme.test",
    ]));
    assert_eq!(access["role"], "admin", "{access}");

    let listed = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "role-mapping",
        "list",
        "--workspace",
        "acme",
    ]));
    assert_eq!(
        listed,
        json!([{"source": "idp_role", "value": "Admin", "role": "admin"}])
    );

    // A group name maps to admin or member only.
    let refused = stack.scimctl(&[
        "role-mapping",
        "set",
        "--workspace",
        "acme",
        "--group",
        "Platform Owners",
        "--role",
        "billing",
    ]);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("admin or member"), "{stderr}");
    assert!(stderr.contains("INVALID_ARGUMENT"), "{stderr}");

    let table = stack.scimctl(&[
        "role-mapping",
        "set",
        "--workspace",
        "acme",
        "--group",
        "Platform Owners",
        "--role",
        "member",
    ]);
    assert!(table.status.success());
    let text = String::from_utf8_lossy(&table.stdout);
    assert_eq!(
        text.lines()
            .next()
            .map(|l| l.split_whitespace().collect::<Vec<_>>()),
        Some(vec!["SOURCE", "VALUE", "ROLE"]),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.starts_with("group")
            && l.contains("Platform Owners")
            && l.ends_with("member")),
        "{text}"
    );

    let remaining = json_of(&stack.scimctl(&[
        "--output",
        "json",
        "role-mapping",
        "delete",
        "--workspace",
        "acme",
        "--group",
        "Platform Owners",
    ]));
    assert_eq!(
        remaining,
        json!([{"source": "idp_role", "value": "Admin", "role": "admin"}])
    );
}

e2e_tests::on_both_backends!(email_identifier_lookup_finds_imported_member);

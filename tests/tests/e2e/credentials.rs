//! Service credentials with roles: the gateway's own credential serves SCIM but mints no
//! token, a reader is refused every write, a revoked credential is refused.

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use directory_proto::v1 as pb;
use e2e_tests::{Stack, spawn_gateway};
use prost::Message as _;
use serde_json::Value;

/// `scimctl credential create` → (id, secret).
fn create_credential(stack: &Stack, name: &str, role: &str) -> (String, String) {
    let out = stack.scimctl(&[
        "credential",
        "create",
        "--name",
        name,
        "--role",
        role,
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "scimctl credential create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["role"], role);
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("dsc_"), "{secret}");
    (created["id"].as_str().unwrap().to_owned(), secret)
}

/// Calls `path` with an empty request message and `credential`; the code it answers.
/// The access check runs before the request is decoded, so the message does not matter
/// for a refusal.
async fn call_code(stack: &Stack, path: &str, credential: &str) -> tonic::Code {
    let channel =
        tonic::transport::Endpoint::from_shared(format!("http://{}", stack.directory.addr))
            .unwrap()
            .connect()
            .await
            .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(());
    request.metadata_mut().insert(
        directory_proto::CREDENTIAL_METADATA_KEY,
        credential.parse().unwrap(),
    );
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = http::uri::PathAndQuery::from_str(path).unwrap();
    match grpc.unary(request, path, codec).await {
        Ok(_) => tonic::Code::Ok,
        Err(status) => status.code(),
    }
}

/// Every RPC of every `directory.v1` service: (path, server-streaming).
fn directory_methods() -> Vec<(String, bool)> {
    let set = prost_types::FileDescriptorSet::decode(directory_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut methods = Vec::new();
    for file in set.file.iter().filter(|f| f.package() == "directory.v1") {
        for service in &file.service {
            for method in &service.method {
                methods.push((
                    format!("/directory.v1.{}/{}", service.name(), method.name()),
                    method.server_streaming(),
                ));
            }
        }
    }
    methods
}

fn is_read(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap();
    ["Get", "List", "Lookup", "Describe", "Watch", "Stream"]
        .iter()
        .any(|prefix| name.starts_with(prefix))
}

#[tokio::test]
async fn the_gateway_credential_serves_scim_but_is_refused_token_minting() {
    let mut stack = Stack::start().await.unwrap();
    let (_, secret) = create_credential(&stack, "gateway-e2e", "gateway");
    // The gateway runs on its own credential: SCIM reads and writes work.
    stack.gateway = spawn_gateway(&stack.directory.addr, &secret, &[]).unwrap();
    let user_id = stack.create_user("gw.user@example.com").await;
    let read = stack.scim("GET", &format!("/Users/{user_id}"), None).await;
    assert_eq!(read.status, 200, "{}", read.raw);
    let group = stack
        .scim(
            "POST",
            "/Groups",
            Some(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "gw-group",
                "members": [{"value": user_id}],
            })),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.raw);

    let as_gateway = stack.grpc_as(&secret).await.unwrap();
    let refused = as_gateway
        .tokens()
        .issue_token(pb::IssueTokenRequest {
            workspace_id: stack.workspace_id.clone(),
            name: "stolen".into(),
            expires: None,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied, "{refused:?}");
    let refused = as_gateway
        .workspaces()
        .list_workspaces(pb::ListWorkspacesRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    let refused = as_gateway
        .tokens()
        .list_tokens(pb::ListTokensRequest {
            workspace_id: stack.workspace_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);
    // Nothing was minted: the workspace still has its one token.
    let tokens = stack
        .grpc()
        .await
        .unwrap()
        .tokens()
        .list_tokens(pb::ListTokensRequest {
            workspace_id: stack.workspace_id.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .tokens;
    assert_eq!(tokens.len(), 1);
    // scimctl run with the gateway credential is refused too (exit code 6: denied).
    let out = std::process::Command::new(e2e_tests::bin("scimctl"))
        .args(["token", "issue", "--workspace", "acme", "--name", "x"])
        .env("DIRECTORY_URL", format!("http://{}", stack.directory.addr))
        .env("DIRECTORY_CREDENTIAL", &secret)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("PERMISSION_DENIED"));
}

#[tokio::test]
async fn a_reader_is_refused_every_write_and_may_read() {
    let stack = Stack::start().await.unwrap();
    let (_, secret) = create_credential(&stack, "reporting", "reader");
    let methods = directory_methods();
    assert!(methods.len() >= 60, "{}", methods.len());
    let mut writes = 0;
    for (path, streaming) in &methods {
        if *streaming && is_read(path) {
            continue; // an allowed stream would not end
        }
        let code = call_code(&stack, path, &secret).await;
        if !is_read(path) {
            writes += 1;
            assert_eq!(code, tonic::Code::PermissionDenied, "reader calling {path}");
        } else if !path.ends_with("/ListCredentials") {
            // Past the access check: the empty request fails validation, or succeeds.
            assert!(
                !matches!(
                    code,
                    tonic::Code::PermissionDenied | tonic::Code::Unauthenticated
                ),
                "reader refused the read {path}: {code:?}"
            );
        }
    }
    assert!(writes > 30, "writes checked: {writes}");
    // The same writes with the bootstrap (admin) credential pass the check.
    let code = call_code(&stack, "/directory.v1.Tokens/IssueToken", &stack.credential).await;
    assert_eq!(code, tonic::Code::InvalidArgument);
    // Nothing changed: still one workspace, one token.
    let admin = stack.grpc().await.unwrap();
    let workspaces = admin
        .workspaces()
        .list_workspaces(pb::ListWorkspacesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(workspaces.workspaces.len(), 1);
}

e2e_tests::on_both_backends!(a_revoked_credential_is_refused_and_listings_never_show_secrets);

async fn a_revoked_credential_is_refused_and_listings_never_show_secrets(stack: Stack) {
    let (id, secret) = create_credential(&stack, "internal-reports", "reader");
    let list = stack.scimctl(&["credential", "list", "--output", "json"]);
    assert!(list.status.success());
    let listed = String::from_utf8_lossy(&list.stdout).into_owned();
    assert!(listed.contains("internal-reports") && listed.contains(&secret[..16]));
    assert!(!listed.contains(&secret), "listing shows the secret");
    let duplicate = stack.scimctl(&[
        "credential",
        "create",
        "--name",
        "internal-reports",
        "--role",
        "admin",
    ]);
    assert_eq!(
        duplicate.status.code(),
        Some(4),
        "duplicate name is a conflict"
    );

    let as_reader = stack.grpc_as(&secret).await.unwrap();
    as_reader
        .workspaces()
        .list_workspaces(pb::ListWorkspacesRequest::default())
        .await
        .expect("reader lists workspaces");
    let out = stack.scimctl(&["credential", "revoke", &id, "--output", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let revoked: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(revoked["revoked"].is_string(), "{revoked}");
    let since = Instant::now();
    loop {
        match as_reader
            .workspaces()
            .list_workspaces(pb::ListWorkspacesRequest::default())
            .await
        {
            Err(status) if status.code() == tonic::Code::Unauthenticated => break,
            other => {
                assert!(other.is_ok(), "{other:?}");
                assert!(
                    since.elapsed() < Duration::from_millis(5500),
                    "revoked credential still accepted"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // A wrong secret with a real prefix is refused the same way.
    let mut forged = secret.clone();
    forged.pop();
    forged.push(if secret.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(
        call_code(&stack, "/directory.v1.Workspaces/ListWorkspaces", &forged).await,
        tonic::Code::Unauthenticated
    );
    // Health stays open without a credential.
    assert_ne!(
        call_code(&stack, "/grpc.health.v1.Health/Check", "").await,
        tonic::Code::Unauthenticated
    );
}

#[tokio::test]
async fn a_configured_gateway_credential_is_a_gateway_not_an_admin() {
    // As the chart deploys it: the directory accepts DIRECTORY_GATEWAY_CREDENTIAL, the
    // gateway sends it and never holds the admin credential.
    let gateway_secret = format!("configured-gateway-{}", uuid::Uuid::new_v4().simple());
    let database_url = e2e_tests::fresh_postgres_database().await.unwrap();
    let mut stack = Stack::start_with_env(
        database_url,
        &[("DIRECTORY_GATEWAY_CREDENTIAL", gateway_secret.as_str())],
    )
    .await
    .unwrap();
    stack.gateway = spawn_gateway(&stack.directory.addr, &gateway_secret, &[]).unwrap();
    let user_id = stack.create_user("configured.gw@example.com").await;
    assert_eq!(
        stack
            .scim("GET", &format!("/Users/{user_id}"), None)
            .await
            .status,
        200
    );
    assert_eq!(
        call_code(&stack, "/directory.v1.Tokens/IssueToken", &gateway_secret).await,
        tonic::Code::PermissionDenied
    );
    assert_eq!(
        call_code(
            &stack,
            "/directory.v1.Credentials/CreateCredential",
            &gateway_secret
        )
        .await,
        tonic::Code::PermissionDenied
    );
}

//! Bearer tokens at the gateway: 401s, revocation within 5 s, no secrets in listings.

use std::time::{Duration, Instant};

use e2e_tests::{Stack, assert_scim_error};

#[tokio::test]
async fn missing_wrong_and_malformed_tokens_get_401_with_www_authenticate() {
    let stack = Stack::start().await.unwrap();
    let last = if stack.token.ends_with('X') { 'Y' } else { 'X' };
    let wrong = format!("Bearer {}{last}", &stack.token[..stack.token.len() - 1]);
    for headers in [
        vec![],
        vec![("authorization", "non-token")],
        vec![("authorization", "Bearer ")],
        vec![("authorization", wrong.as_str())],
        vec![("authorization", "Basic dXNlcjpwYXNz")],
    ] {
        for path in [
            "/Users",
            "/ServiceProviderConfig",
            "/Users?filter=userName%20eq%20%22x%22",
        ] {
            let response = stack.request("GET", path, None, &headers).await;
            let detail = assert_scim_error(&response, 401, None);
            assert!(!detail.is_empty(), "401 has a detail");
            assert!(
                response
                    .header("www-authenticate")
                    .is_some_and(|v| v.starts_with("Bearer")),
                "WWW-Authenticate: Bearer on {path} with {headers:?}"
            );
        }
    }
    let ok = stack.scim("GET", "/Users", None).await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn revoked_token_fails_within_five_seconds() {
    let stack = Stack::start().await.unwrap();
    // Warm the gateway's cache so revocation has to beat it.
    assert_eq!(stack.scim("GET", "/Users", None).await.status, 200);
    let out = stack.scimctl(&["token", "revoke", "--workspace", "acme", &stack.token_id]);
    assert!(
        out.status.success(),
        "scimctl token revoke: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let revoked_at = Instant::now();
    loop {
        let response = stack.scim("GET", "/Users", None).await;
        if response.status == 401 {
            assert_scim_error(&response, 401, None);
            break;
        }
        assert_eq!(response.status, 200);
        assert!(
            revoked_at.elapsed() < Duration::from_millis(5500),
            "revoked token still accepted after {:?}",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // And it stays refused.
    assert_eq!(stack.scim("GET", "/Users", None).await.status, 401);
}

#[tokio::test]
async fn tokens_never_reach_the_logs() {
    let stack = Stack::start().await.unwrap();
    assert_eq!(stack.scim("GET", "/Users", None).await.status, 200);
    let wrong = "Bearer scim_AAAAAAAAAAAA_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
    assert_eq!(
        stack
            .request("GET", "/Users", None, &[("authorization", wrong)])
            .await
            .status,
        401
    );
    let secret = &stack.token[18..];
    for (name, log) in [
        ("gateway", stack.gateway.stderr()),
        ("directory", stack.directory.stderr()),
    ] {
        assert!(!log.contains(secret), "{name} logged a token secret");
        assert!(
            !log.contains("BBBBBBBBBBBBBBBB"),
            "{name} logged a presented token"
        );
    }
}

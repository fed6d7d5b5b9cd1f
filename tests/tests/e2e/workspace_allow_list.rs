//! Per-workspace IP allow-lists (issue #20) and the gateway's one client address (socket
//! peer, or `X-Forwarded-For` only behind `--trusted-proxies`) used for allow-lists and the
//! failed-authentication limit alike.

use e2e_tests::{Response, Stack, assert_scim_error};
use serde_json::{Value, json};

fn scimctl_json(stack: &Stack, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--output", "json"]);
    let out = stack.scimctl(&all);
    assert!(
        out.status.success(),
        "scimctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn issue(stack: &Stack, name: &str, cidrs: Option<&str>) -> String {
    let mut args = vec!["token", "issue", "--workspace", "acme", "--name", name];
    if let Some(cidrs) = cidrs {
        args.extend(["--allow-cidr", cidrs]);
    }
    scimctl_json(stack, &args)["token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// `GET /Users` with `token`, claiming to come from `from` (believed only behind a trusted
/// proxy; the test client plays the proxy).
async fn from(stack: &Stack, token: &str, from: &str) -> Response {
    let auth = format!("Bearer {token}");
    stack
        .request(
            "GET",
            "/Users",
            None,
            &[("authorization", auth.as_str()), ("x-forwarded-for", from)],
        )
        .await
}

async fn a_workspace_allow_list_applies_to_every_token_besides_the_tokens_own(mut stack: Stack) {
    stack.gateway = stack
        .spawn_gateway(&[("GATEWAY_TRUSTED_PROXIES", "127.0.0.1/32")])
        .unwrap();
    let plain = issue(&stack, "plain", None);
    let office = issue(&stack, "office", Some("203.0.113.0/24"));

    let set = scimctl_json(
        &stack,
        &[
            "workspace",
            "set-allow-list",
            "--workspace",
            "acme",
            "--cidr",
            "203.0.113.0/25,198.51.100.7",
            "--cidr",
            "2001:db8::/32",
        ],
    );
    assert_eq!(
        set["allowed_cidrs"],
        json!(["203.0.113.0/25", "198.51.100.7/32", "2001:db8::/32"])
    );
    assert_eq!(set["slug"], "acme");
    let shown = scimctl_json(
        &stack,
        &["workspace", "get-allow-list", "--workspace", "acme"],
    );
    assert_eq!(shown["allowed_cidrs"], set["allowed_cidrs"]);

    let wrong = from(&stack, "scim_NOTATOKEN", "198.51.100.7").await;
    assert_scim_error(&wrong, 401, None);
    // A token without a list of its own: the workspace's decides.
    let outside = from(&stack, &plain, "192.0.2.1").await;
    assert_scim_error(&outside, 401, None);
    assert_eq!(outside.body, wrong.body, "the 401 reveals nothing");
    assert_eq!(from(&stack, &plain, "198.51.100.7").await.status, 200);
    // A token with its own list: both must allow the address. Refused from one address
    // first, then accepted from another (refusals are remembered per token and address).
    for (address, status) in [
        ("203.0.113.200", 401), // the token's list yes, the workspace's no
        ("198.51.100.7", 401),  // the workspace's yes, the token's no
        ("203.0.113.9", 200),   // both
    ] {
        let response = from(&stack, &office, address).await;
        assert_eq!(response.status, status, "{address}: {}", response.raw);
        if status == 401 {
            assert_eq!(response.body, wrong.body, "{address}");
        }
    }
    // The stack's own token, from the test client's address (127.0.0.1 is not listed).
    let own = format!("Bearer {}", stack.token);
    assert_scim_error(
        &stack
            .request("GET", "/Users", None, &[("authorization", own.as_str())])
            .await,
        401,
        None,
    );

    // A malformed CIDR: refused, the list unchanged.
    let bad = stack.scimctl(&[
        "workspace",
        "set-allow-list",
        "--workspace",
        "acme",
        "--cidr",
        "10.0.0.0/33",
    ]);
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("not a CIDR"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let shown = scimctl_json(
        &stack,
        &["workspace", "get-allow-list", "--workspace", "acme"],
    );
    assert_eq!(shown["allowed_cidrs"], set["allowed_cidrs"]);

    // Cleared: any address again (an address not refused before, so no cached answer).
    let cleared = scimctl_json(
        &stack,
        &["workspace", "clear-allow-list", "--workspace", "acme"],
    );
    assert_eq!(cleared["allowed_cidrs"], json!([]));
    assert_eq!(from(&stack, &plain, "192.0.2.2").await.status, 200);
    // The token's own list still holds.
    assert_scim_error(&from(&stack, &office, "192.0.2.2").await, 401, None);
}

e2e_tests::on_both_backends!(a_workspace_allow_list_applies_to_every_token_besides_the_tokens_own);

/// Failed authentications are counted against the same client address the allow-lists
/// see: `X-Forwarded-For` only when the socket peer is a trusted proxy.
#[tokio::test]
async fn failed_authentications_are_counted_per_client_address_behind_trusted_proxies() {
    let mut stack = Stack::start_sqlite().await.unwrap();
    let limits = [
        ("GATEWAY_AUTH_FAILURES_PER_MINUTE", "1"),
        ("GATEWAY_AUTH_FAILURE_BURST", "2"),
    ];
    let bad = |n: usize| format!("scim_bad{n:0>40}");

    // Behind a trusted proxy: each forwarded client has its own budget.
    let mut env = limits.to_vec();
    env.push(("GATEWAY_TRUSTED_PROXIES", "127.0.0.1/32"));
    stack.gateway = stack.spawn_gateway(&env).unwrap();
    let mut statuses = Vec::new();
    for n in 0..3 {
        statuses.push(from(&stack, &bad(n), "192.0.2.1").await.status);
    }
    assert_eq!(statuses, [401, 401, 429]);
    assert_eq!(from(&stack, &bad(3), "192.0.2.2").await.status, 401);

    // Not a trusted proxy: X-Forwarded-For is the client's to choose and is ignored, so
    // every claimed address shares the peer's budget.
    stack.gateway = stack.spawn_gateway(&limits).unwrap();
    let mut statuses = Vec::new();
    for n in 0..3 {
        let claimed = format!("192.0.2.{}", 10 + n);
        statuses.push(from(&stack, &bad(10 + n), &claimed).await.status);
    }
    assert_eq!(statuses, [401, 401, 429]);
}

//! Rate limits per workspace and per token, set with `scimctl rate-limit` over the
//! `RateLimits` service and applied by the gateway (issue #18). Bounded: 10 req/s for 3 s.

use std::time::{Duration, Instant};

use e2e_tests::Stack;
use serde_json::Value;

fn scimctl_json(stack: &Stack, args: &[&str]) -> Value {
    let mut all = vec!["--output", "json"];
    all.extend_from_slice(args);
    let out = stack.scimctl(&all);
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// GET /Users with `token`: the status and Retry-After.
async fn get(stack: &Stack, token: &str) -> (u16, Option<String>) {
    let response = stack
        .request(
            "GET",
            "/Users?count=1",
            None,
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    (
        response.status,
        response.header("retry-after").map(str::to_owned),
    )
}

#[tokio::test]
async fn a_workspace_limited_to_5_per_second_gets_429s_at_10_while_others_do_not() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    // the product's defaults: 100/s per token, a burst of 20
    let stack = Stack::start_with_env(
        database,
        &[
            ("GATEWAY_RATE_LIMIT_PER_TOKEN", "100"),
            ("GATEWAY_RATE_LIMIT_BURST", "20"),
        ],
    )
    .await
    .unwrap();
    let slow = stack.new_workspace("slow").await.unwrap();
    let (_, slow_token) = stack.issue_token(&slow, "idp").await.unwrap();

    let set = scimctl_json(
        &stack,
        &[
            "rate-limit",
            "set",
            "--workspace",
            "slow",
            "--per-second",
            "5",
            "--burst",
            "5",
        ],
    );
    assert_eq!(set["per_second"], 5);
    assert_eq!(set["token_id"], Value::Null);
    let shown = scimctl_json(&stack, &["rate-limit", "show", "--workspace", "slow"]);
    assert_eq!(shown.as_array().unwrap().len(), 1, "{shown}");
    assert_eq!(
        scimctl_json(&stack, &["rate-limit", "show", "--workspace", "acme"]),
        serde_json::json!([])
    );
    // a bad setting is refused
    let bad = stack.scimctl(&[
        "rate-limit",
        "set",
        "--workspace",
        "slow",
        "--per-second",
        "5",
        "--burst",
        "9",
    ]);
    assert!(!bad.status.success(), "{bad:?}");

    // 10 requests per second on each workspace's token, for 3 s.
    let started = Instant::now();
    let (mut slow_ok, mut slow_429, mut default_ok) = (0, 0, 0);
    for i in 0..30u32 {
        let due = started + Duration::from_millis(100) * i;
        tokio::time::sleep_until(due.into()).await;
        match get(&stack, &slow_token).await {
            (200, _) => slow_ok += 1,
            (429, retry_after) => {
                slow_429 += 1;
                let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
                assert!(seconds >= 1);
            }
            (other, _) => panic!("slow workspace: {other}"),
        }
        let (status, _) = get(&stack, &stack.token).await;
        assert_eq!(
            status, 200,
            "the default workspace is never limited at 10/s"
        );
        default_ok += 1;
    }
    let elapsed = started.elapsed().as_secs_f64();
    eprintln!(
        "rate limit 5/s: {slow_ok} accepted, {slow_429} × 429 of 30 in {elapsed:.1} s; default \
         workspace {default_ok} accepted"
    );
    // 5 at once plus 5 per second: about 20 of 30 in 3 s
    assert!(slow_429 >= 5, "{slow_429} × 429");
    assert!(
        f64::from(slow_ok) <= 5.0 + 5.0 * elapsed + 2.0,
        "{slow_ok} accepted in {elapsed} s"
    );

    // A token's own limit wins over its workspace's; removing it brings the workspace's back.
    let token_limit = scimctl_json(
        &stack,
        &[
            "rate-limit",
            "set",
            "--workspace",
            "acme",
            "--token",
            &stack.token_id,
            "--per-second",
            "1",
            "--burst",
            "1",
        ],
    );
    assert_eq!(token_limit["token_id"], stack.token_id.as_str());
    // the gateway learns it with the next authentication (its cache holds ≤ 5 s)
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let statuses: Vec<u16> = {
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(get(&stack, &stack.token).await.0);
        }
        statuses
    };
    assert!(statuses.contains(&429), "{statuses:?}");
    let deleted = scimctl_json(
        &stack,
        &[
            "rate-limit",
            "delete",
            "--workspace",
            "acme",
            "--token",
            &stack.token_id,
        ],
    );
    assert_eq!(deleted["deleted"], true);
}

//! Issue #17, items 4 and 7: a flood of bad tokens costs a bounded number of directory calls
//! and never stops a good token; the service credential must be long enough; secrets never
//! appear in `--help` or in logs.

use std::process::Command;
use std::time::{Duration, Instant};

use e2e_tests::{Stack, bin};

use crate::production::{http_client, scrape, sum};

/// A well-formed token (`scim_<12>_<52>`) that the directory never issued.
fn random_token() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    let c = uuid::Uuid::new_v4().simple().to_string();
    format!("scim_{}_{}{}", &a[..12], b, &c[..20])
}

const AUTHENTICATE: &str = "method=\"/directory.v1.Tokens/AuthenticateToken\"";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_bad_tokens_costs_a_bounded_number_of_directory_calls() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database,
        &[
            ("DIRECTORY_METRICS_ADDR", "127.0.0.1:0"),
            ("GATEWAY_METRICS_ADDR", "127.0.0.1:0"),
            ("GATEWAY_AUTH_FAILURES_PER_MINUTE", "60"),
            ("GATEWAY_AUTH_FAILURE_BURST", "10"),
            // the good token's cache entry expires often: it needs directory calls too
            ("GATEWAY_TOKEN_CACHE_TTL_MS", "200"),
        ],
    )
    .await
    .unwrap();
    let stack = std::sync::Arc::new(stack);
    let client = http_client();
    let directory_metrics = stack.directory.metrics_addr.clone().unwrap();
    assert_eq!(stack.scim("GET", "/Users?count=1", None).await.status, 200);
    let before = sum(
        &scrape(&client, &directory_metrics).await,
        "grpc_server_requests_total",
        &[AUTHENTICATE],
    );

    // 400 distinct bad tokens, 8 at a time, bounded to 30 s; the good token every 20th.
    let started = Instant::now();
    let (mut unauthorized, mut limited, mut good_ok) = (0, 0, 0);
    let mut first_401_body = None;
    for round in 0..50 {
        if started.elapsed() > Duration::from_secs(30) {
            break;
        }
        let mut requests = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let token = random_token();
            let stack = stack.clone();
            requests.spawn(async move {
                stack
                    .request(
                        "GET",
                        "/Users?count=1",
                        None,
                        &[("authorization", &format!("Bearer {token}"))],
                    )
                    .await
            });
        }
        for response in requests.join_all().await {
            match response.status {
                401 => {
                    unauthorized += 1;
                    first_401_body.get_or_insert(response.raw.clone());
                    assert_eq!(
                        Some(&response.raw),
                        first_401_body.as_ref(),
                        "same 401 body"
                    );
                }
                429 => {
                    limited += 1;
                    let retry_after: u64 = response
                        .header("retry-after")
                        .expect("Retry-After on the 429")
                        .parse()
                        .expect("an integer Retry-After");
                    assert!((1..=60).contains(&retry_after), "{retry_after}");
                    e2e_tests::assert_scim_error(&response, 429, None);
                }
                other => panic!("unexpected {other}: {}", response.raw),
            }
        }
        if round % 3 == 0 {
            tokio::time::sleep(Duration::from_millis(210)).await;
            let good = stack.scim("GET", "/Users?count=1", None).await;
            assert_eq!(
                good.status, 200,
                "the good token while flooded: {}",
                good.raw
            );
            good_ok += 1;
        }
    }
    let elapsed = started.elapsed();
    let after = sum(
        &scrape(&client, &directory_metrics).await,
        "grpc_server_requests_total",
        &[AUTHENTICATE],
    );
    let calls = after - before;
    // The bad tokens cost at most the burst plus one per second; the good token's own
    // calls (one per expired cache entry) come on top.
    let bound = 10.0 + elapsed.as_secs_f64().ceil() + f64::from(good_ok) + 3.0;
    eprintln!(
        "auth flood: {unauthorized} × 401, {limited} × 429 in {elapsed:?}; directory \
         AuthenticateToken calls {calls} (bound {bound}); good token 200 {good_ok} times"
    );
    assert!(limited > 300, "most of the flood is limited: {limited}");
    assert!(calls <= bound, "{calls} directory calls, bound {bound}");
    // A repeated bad token is answered from the negative cache, with the same body.
    let token = random_token();
    for _ in 0..3 {
        let response = stack
            .request(
                "GET",
                "/Users",
                None,
                &[("authorization", &format!("Bearer {token}"))],
            )
            .await;
        assert!(matches!(response.status, 401 | 429), "{}", response.raw);
    }
    let gateway_metrics = scrape(&client, stack.gateway.metrics_addr.as_ref().unwrap()).await;
    assert!(sum(&gateway_metrics, "scim_auth_limited_total", &[]) >= f64::from(limited));
}

fn output_text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn an_empty_or_short_credential_is_refused_at_start() {
    for credential in ["", "short"] {
        let directory = Command::new(bin("directory-service"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                "sqlite::memory:",
            ])
            .env("DIRECTORY_CREDENTIAL", credential)
            .output()
            .unwrap();
        assert!(!directory.status.success(), "{directory:?}");
        let text = output_text(&directory);
        assert!(text.contains("DIRECTORY_CREDENTIAL"), "{text}");
        assert!(!text.contains("LISTENING"), "{text}");

        let gateway = Command::new(bin("scim-gateway"))
            .args(["--listen", "127.0.0.1:0"])
            .env("DIRECTORY_CREDENTIAL", credential)
            .output()
            .unwrap();
        assert!(!gateway.status.success(), "{gateway:?}");
        let text = output_text(&gateway);
        assert!(text.contains("DIRECTORY_CREDENTIAL"), "{text}");
        assert!(!text.contains("LISTENING"), "{text}");
    }
}

#[test]
fn help_never_prints_secret_values() {
    let secrets = [
        ("DATABASE_URL", "postgres://app:hunter2-db-password@db/x"),
        ("DIRECTORY_CREDENTIAL", "credential-value-0123456789"),
        ("GATEWAY_REDIS_URL", "redis://:redis-password-42@redis:6379"),
    ];
    for (program, args) in [
        ("directory-service", vec!["serve", "--help"]),
        ("directory-service", vec!["migrate", "--help"]),
        ("scim-gateway", vec!["--help"]),
        ("scimctl", vec!["--help"]),
    ] {
        let output = Command::new(bin(program))
            .args(&args)
            .envs(secrets)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let text = output_text(&output);
        for (_, value) in secrets {
            for part in ["hunter2", "credential-value", "redis-password"] {
                assert!(
                    !text.contains(part),
                    "{program} {args:?} --help shows a secret ({value}):\n{text}"
                );
            }
        }
    }
}

/// Debug logging of both processes shows neither the credential, the database password nor
/// a SCIM token.
#[tokio::test]
async fn debug_logs_carry_no_secret() {
    let server = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL");
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    // trust authentication ignores the password, so it can be any secret-looking text
    let with_password = database.replacen("://postgres@", "://postgres:hunter2-db-password@", 1);
    assert_ne!(
        with_password, database,
        "{server}: expected a postgres@ URL"
    );
    let stack = Stack::start_with_env(with_password, &[("RUST_LOG", "debug")])
        .await
        .unwrap();
    assert_eq!(stack.scim("GET", "/Users", None).await.status, 200);
    let bad = stack
        .request(
            "GET",
            "/Users",
            None,
            &[(
                "authorization",
                "Bearer scim_badbadbadbad_not-a-real-secret-xyz",
            )],
        )
        .await;
    assert_eq!(bad.status, 401);
    tokio::time::sleep(Duration::from_millis(300)).await;
    for (name, stderr) in [
        ("directory", stack.directory.stderr()),
        ("gateway", stack.gateway.stderr()),
    ] {
        assert!(!stderr.is_empty(), "{name} logged nothing at debug");
        for secret in [
            stack.credential.as_str(),
            "hunter2-db-password",
            stack.token.as_str(),
            "not-a-real-secret",
        ] {
            assert!(!stderr.contains(secret), "{name} logged a secret");
        }
    }
}

//! Running it in production (issue 18): health that follows the database, `/livez` and
//! `/readyz`, Prometheus metrics, request ids, JSON logs without secrets, SIGTERM draining,
//! deadlines, and the per-token rate limit shared by two gateways through Redis (and its
//! local fallback). Every load loop here is bounded in count and time.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use e2e_tests::{Process, Stack, assert_scim_error};
use http_body_util::{BodyExt as _, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::json;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

/// GET `url` with optional bearer token: (status, headers, body).
pub(crate) async fn get(
    client: &HttpClient,
    url: &str,
    token: Option<&str>,
) -> (u16, http::HeaderMap, String) {
    let mut builder = http::Request::builder().method("GET").uri(url);
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let request = builder.body(Full::new(Bytes::new())).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
        .await
        .expect("answered within 10 s")
        .expect("HTTP request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8_lossy(&body).into_owned())
}

/// `/metrics` parsed as Prometheus text: every sample line is `name{labels} value` and
/// every value a float; comments are `# HELP` / `# TYPE`. Samples keyed by the full
/// `name{labels}` text.
pub(crate) fn parse_prometheus(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(comment) = line.strip_prefix('#') {
            let comment = comment.trim_start();
            assert!(
                comment.starts_with("HELP ") || comment.starts_with("TYPE "),
                "unexpected comment line: {line}"
            );
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("sample line: series value");
        let name_end = series.find('{').unwrap_or(series.len());
        let name = &series[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "metric name: {line}"
        );
        if name_end < series.len() {
            assert!(series.ends_with('}'), "labels: {line}");
        }
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            other => other.parse().unwrap_or_else(|_| panic!("value of {line}")),
        };
        samples.insert(series.to_owned(), value);
    }
    samples
}

/// Sum of the samples of `name` whose labels contain every `label="value"` in `labels`.
pub(crate) fn sum(samples: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    samples
        .iter()
        .filter(|(series, _)| {
            let series_name = &series[..series.find('{').unwrap_or(series.len())];
            series_name == name && labels.iter().all(|label| series.contains(label))
        })
        .map(|(_, value)| value)
        .sum()
}

pub(crate) async fn scrape(client: &HttpClient, addr: &str) -> BTreeMap<String, f64> {
    let (status, headers, body) = get(client, &format!("http://{addr}/metrics"), None).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "Prometheus text format"
    );
    parse_prometheus(&body)
}

async fn readiness_health(addr: &str) -> ServingStatus {
    let Ok(endpoint) = tonic::transport::Endpoint::from_shared(format!("http://{addr}")) else {
        panic!("endpoint");
    };
    let Ok(channel) = endpoint
        .connect_timeout(Duration::from_secs(2))
        .timeout(Duration::from_secs(3))
        .connect()
        .await
    else {
        return ServingStatus::Unknown;
    };
    let answer = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "directory.v1.Directory".into(),
        })
        .await;
    match answer {
        Ok(answer) => {
            ServingStatus::try_from(answer.into_inner().status).unwrap_or(ServingStatus::Unknown)
        }
        Err(_) => ServingStatus::Unknown,
    }
}

async fn liveness_health(addr: &str) -> ServingStatus {
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let status = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .status;
    ServingStatus::try_from(status).unwrap()
}

/// Polls `check` every 100 ms until it returns true; the time it took, or a panic after
/// `limit`.
pub(crate) async fn time_until<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while started.elapsed() < limit {
        if check().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {limit:?}");
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(command: &mut Command) -> std::process::Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A PostgreSQL cluster of this test's own (initdb + pg_ctl on a free port), so that it can
/// be stopped and started without touching anyone else's database. As root, the cluster
/// belongs to the `postgres` user (initdb refuses root).
pub(crate) struct PrivatePostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    owner: Option<String>,
}

impl PrivatePostgres {
    pub(crate) fn start() -> PrivatePostgres {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .map(|entry| entry.path().join("bin"))
            .filter(|bin| bin.join("initdb").exists())
            .max()
            .expect("PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)");
        let is_root = String::from_utf8(run(Command::new("id").arg("-u")).stdout)
            .unwrap()
            .trim()
            == "0";
        let owner = is_root.then(|| "postgres".to_owned());
        let dir = std::env::temp_dir().join(format!("e2e-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        if let Some(owner) = &owner {
            run(Command::new("chown").arg(owner).arg(&dir));
        }
        let cluster = PrivatePostgres {
            bin,
            dir,
            port: free_port(),
            owner,
        };
        let data = cluster.dir.join("data");
        run(&mut cluster.as_owner(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        ));
        cluster.pg_ctl_start();
        cluster
    }

    fn as_owner(&self, program: &str, args: &[&str]) -> Command {
        let program = self.bin.join(program);
        match &self.owner {
            Some(owner) => {
                let mut command = Command::new("runuser");
                command.args(["-u", owner, "--"]).arg(program).args(args);
                command
            }
            None => {
                let mut command = Command::new(program);
                command.args(args);
                command
            }
        }
    }

    pub(crate) fn pg_ctl_start(&self) {
        let data = self.dir.join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        run(&mut self.as_owner(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "30",
                "start",
            ],
        ));
    }

    pub(crate) fn stop(&self, mode: &str) {
        let data = self.dir.join("data");
        run(&mut self.as_owner(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-m",
                mode,
                "-w",
                "-t",
                "30",
                "stop",
            ],
        ));
    }

    pub(crate) fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        if data.join("postmaster.pid").exists() {
            let _ = self
                .as_owner(
                    "pg_ctl",
                    &[
                        "-D",
                        data.to_str().unwrap(),
                        "-m",
                        "immediate",
                        "-w",
                        "stop",
                    ],
                )
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test]
async fn directory_health_follows_its_database_and_gateway_readiness_follows_the_directory() {
    let postgres = PrivatePostgres::start();
    let admin = sea_orm::Database::connect(format!("{}/postgres", postgres.url()))
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&admin, "CREATE DATABASE health")
        .await
        .unwrap();
    drop(admin);
    let database_url = format!("{}/health", postgres.url());
    let stack = Stack::start_with_env(
        database_url,
        &[
            ("DIRECTORY_METRICS_ADDR", "127.0.0.1:0"),
            ("DIRECTORY_HEALTH_INTERVAL_MS", "200"),
        ],
    )
    .await
    .unwrap();
    let client = http_client();
    let directory = stack.directory.addr.clone();
    let directory_admin = stack.directory.metrics_addr.clone().expect("METRICS line");
    let gateway = format!("http://{}", stack.gateway.addr);
    assert_eq!(readiness_health(&directory).await, ServingStatus::Serving);
    assert_eq!(
        get(&client, &format!("{gateway}/readyz"), None).await.0,
        200
    );
    assert_eq!(
        get(&client, &format!("http://{directory_admin}/readyz"), None)
            .await
            .0,
        200
    );

    postgres.stop("fast");
    let down = time_until(Duration::from_secs(15), "NOT_SERVING", || async {
        readiness_health(&directory).await == ServingStatus::NotServing
    })
    .await;
    let (status, _, body) = get(&client, &format!("{gateway}/readyz"), None).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("NOT_SERVING"), "{body}");
    assert_eq!(
        get(&client, &format!("http://{directory_admin}/readyz"), None)
            .await
            .0,
        503
    );
    // Liveness stays up: a database outage must not restart the directory or the gateway.
    assert_eq!(liveness_health(&directory).await, ServingStatus::Serving);
    assert_eq!(get(&client, &format!("{gateway}/livez"), None).await.0, 200);
    assert_eq!(
        get(&client, &format!("{gateway}/healthz"), None).await.0,
        200
    );
    let metrics = scrape(&client, &directory_admin).await;
    assert_eq!(sum(&metrics, "directory_database_up", &[]), 0.0);

    postgres.pg_ctl_start();
    let up = time_until(Duration::from_secs(15), "SERVING again", || async {
        readiness_health(&directory).await == ServingStatus::Serving
    })
    .await;
    assert_eq!(
        get(&client, &format!("{gateway}/readyz"), None).await.0,
        200
    );
    let users = stack.scim("GET", "/Users?count=1", None).await;
    assert_eq!(users.status, 200, "{}", users.raw);
    eprintln!(
        "health: NOT_SERVING {down:?} after the database stopped, SERVING {up:?} after it started"
    );
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_move_with_traffic() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database,
        &[
            ("GATEWAY_METRICS_ADDR", "127.0.0.1:0"),
            ("DIRECTORY_METRICS_ADDR", "127.0.0.1:0"),
        ],
    )
    .await
    .unwrap();
    let client = http_client();
    let gateway_metrics = stack.gateway.metrics_addr.clone().expect("gateway METRICS");
    let directory_metrics = stack
        .directory
        .metrics_addr
        .clone()
        .expect("directory METRICS");
    // The SCIM port does not serve metrics.
    assert_eq!(
        get(
            &client,
            &format!("http://{}/metrics", stack.gateway.addr),
            None
        )
        .await
        .0,
        404
    );

    let before = scrape(&client, &gateway_metrics).await;
    let directory_before = scrape(&client, &directory_metrics).await;
    for _ in 0..3 {
        assert_eq!(stack.scim("GET", "/Users?count=1", None).await.status, 200);
    }
    let unauthorized = stack
        .request("GET", "/Users", None, &[("authorization", "Bearer nope")])
        .await;
    assert_eq!(unauthorized.status, 401);
    let invalid = stack
        .scim("GET", "/Users?filter=userName%20zz%20%22x%22", None)
        .await;
    assert_eq!(invalid.status, 400, "{}", invalid.raw);
    let after = scrape(&client, &gateway_metrics).await;
    let directory_after = scrape(&client, &directory_metrics).await;

    let delta =
        |name: &str, labels: &[&str]| sum(&after, name, labels) - sum(&before, name, labels);
    assert_eq!(
        delta(
            "scim_http_requests_total",
            &[
                "route=\"/scim/v2/Users\"",
                "method=\"GET\"",
                "status=\"200\""
            ]
        ),
        3.0
    );
    assert_eq!(
        delta(
            "scim_http_request_duration_seconds_count",
            &[
                "route=\"/scim/v2/Users\"",
                "method=\"GET\"",
                "status=\"200\""
            ]
        ),
        3.0
    );
    assert_eq!(
        delta(
            "scim_http_requests_total",
            &["status=\"400\"", "scim_type=\"invalidFilter\""]
        ),
        1.0
    );
    assert_eq!(delta("scim_auth_failures_total", &[]), 1.0);
    assert_eq!(sum(&after, "scim_http_requests_in_flight", &[]), 0.0);
    // No label carries a token, an id or a workspace.
    for series in after.keys() {
        assert!(!series.contains(&stack.token), "{series}");
        assert!(!series.contains(&stack.workspace_id), "{series}");
        assert!(!series.contains("nope"), "{series}");
    }
    let grpc_delta = sum(
        &directory_after,
        "grpc_server_requests_total",
        &["method=\"/directory.v1.Users/ListUsers\"", "code=\"Ok\""],
    ) - sum(
        &directory_before,
        "grpc_server_requests_total",
        &["method=\"/directory.v1.Users/ListUsers\"", "code=\"Ok\""],
    );
    assert!(grpc_delta >= 3.0, "ListUsers calls counted: {grpc_delta}");
    assert_eq!(sum(&directory_after, "directory_database_up", &[]), 1.0);
    assert!(
        sum(
            &directory_after,
            "directory_db_pool_connections",
            &["state=\"max\""]
        ) >= 1.0
    );
    assert!(
        directory_after
            .keys()
            .any(|series| series.starts_with("grpc_server_request_duration_seconds_bucket"))
    );
}

#[tokio::test]
async fn request_ids_are_echoed_or_generated_on_every_response() {
    let stack = Stack::start().await.unwrap();
    let given = stack
        .request(
            "GET",
            "/Users",
            None,
            &[
                ("authorization", &format!("Bearer {}", stack.token)),
                ("x-request-id", "okta-req-42.a_b:c"),
            ],
        )
        .await;
    assert_eq!(given.status, 200);
    assert_eq!(given.header("x-request-id"), Some("okta-req-42.a_b:c"));
    // Errors too, and without a token.
    let missing = stack.request("GET", "/Users", None, &[]).await;
    assert_eq!(missing.status, 401);
    let generated = missing.header("x-request-id").expect("generated id");
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
    let not_found = stack.request("GET", "/Nope", None, &[]).await;
    assert_eq!(not_found.status, 404);
    assert!(not_found.header("x-request-id").is_some());
    // A value that is not a plain token is replaced, never echoed.
    let odd = stack
        .request("GET", "/Users", None, &[("x-request-id", "a b<script>")])
        .await;
    let replaced = odd.header("x-request-id").unwrap();
    assert!(uuid::Uuid::parse_str(replaced).is_ok(), "{replaced}");
}

#[tokio::test]
async fn json_logs_at_trace_level_never_contain_tokens_or_passwords() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(database, &[("LOG_FORMAT", "json"), ("RUST_LOG", "trace")])
        .await
        .unwrap();
    let password = "Pa55word-NEVER-logged-7f3a";
    let created = stack
        .scim(
            "POST",
            "/Users",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "secret.keeper@example.com",
                "password": password,
                "active": true
            })),
        )
        .await;
    assert!(
        created.status == 201 || created.status == 400,
        "{}",
        created.raw
    );
    let bad_token = "scim_NOT_A_REAL_TOKEN_but_secret_too";
    let refused = stack
        .request(
            "GET",
            "/Users",
            None,
            &[("authorization", &format!("Bearer {bad_token}"))],
        )
        .await;
    assert_eq!(refused.status, 401);
    let request_id = "trace-me-123";
    let listed = stack
        .request(
            "GET",
            "/Users",
            None,
            &[
                ("authorization", &format!("Bearer {}", stack.token)),
                ("x-request-id", request_id),
            ],
        )
        .await;
    assert_eq!(listed.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let gateway_log = stack.gateway.stderr();
    let directory_log = stack.directory.stderr();
    for (name, log) in [("gateway", &gateway_log), ("directory", &directory_log)] {
        assert!(!log.is_empty(), "{name} logged nothing at trace level");
        for secret in [stack.token.as_str(), bad_token, password, "Bearer "] {
            assert!(!log.contains(secret), "{name} logged {secret:?}");
        }
        for line in log.lines().filter(|line| !line.trim().is_empty()) {
            assert!(
                serde_json::from_str::<serde_json::Value>(line).is_ok(),
                "{name}: not a JSON line: {line}"
            );
        }
    }
    // The request line carries the request id and the trace id.
    let request_line = gateway_log
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| {
            line["fields"]["message"] == "request" && line["span"]["request_id"] == request_id
        })
        .expect("a request log line with the request id");
    assert!(
        request_line["span"]["trace_id"].is_string(),
        "{request_line}"
    );
}

/// Waits for `process` to exit, keeping this test's runtime running meanwhile (its gRPC
/// connections must be able to close for the server to finish draining).
async fn exit_status(process: &mut Process, limit: Duration) -> Option<std::process::ExitStatus> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = process.wait_exit(Duration::from_millis(10)) {
            return Some(status);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// Sends SIGTERM to a process we started.
fn sigterm(process: &Process) {
    run(Command::new("kill").args(["-TERM", &process.pid().to_string()]));
}

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_0() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let mut stack = Stack::start_on(database).await.unwrap();
    // A request in flight: headers and half of the body sent.
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "in.flight@example.com"
    })
    .to_string();
    let (first, rest) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&stack.gateway.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: scim.test\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{first}",
        stack.token,
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    sigterm(&stack.gateway);
    // New connections are refused once the listener is closed.
    let refused = time_until(Duration::from_secs(5), "listener closed", || async {
        TcpStream::connect(&stack.gateway.addr).is_err()
    })
    .await;
    // The request in flight still completes.
    stream.write_all(rest.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    let exit = exit_status(&mut stack.gateway, Duration::from_secs(10))
        .await
        .expect("gateway exited after draining");
    assert_eq!(exit.code(), Some(0), "{}", stack.gateway.stderr());
    // The user was written.
    let user = stack
        .grpc()
        .await
        .unwrap()
        .users()
        .list_users(directory_proto::v1::ListUsersRequest {
            workspace_id: stack.workspace_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(user.total_results, 1);

    sigterm(&stack.directory);
    let exit = exit_status(&mut stack.directory, Duration::from_secs(10))
        .await
        .expect("directory exited");
    assert_eq!(exit.code(), Some(0), "{}", stack.directory.stderr());
    eprintln!("gateway listener closed {refused:?} after SIGTERM");
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_408_within_the_body_deadline() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(database, &[("GATEWAY_BODY_READ_TIMEOUT_SECS", "1")])
        .await
        .unwrap();
    let mut stream = TcpStream::connect(&stack.gateway.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "POST /scim/v2/Users HTTP/1.1\r\nHost: scim.test\r\nAuthorization: Bearer {}\r\nContent-Type: application/scim+json\r\nContent-Length: 100\r\n\r\n{{\"userName\":",
        stack.token
    )
    .unwrap();
    let started = Instant::now();
    let mut answer = vec![0u8; 4096];
    let n = stream.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("x-request-id"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Nothing was written.
    let users = stack.scim("GET", "/Users", None).await;
    assert_eq!(users.body["totalResults"], 0, "{}", users.raw);
}

/// What one token got when offered a steady rate for a while.
#[derive(Debug, Default)]
struct Offered {
    /// 2xx per second, by when the answer came back (the limiter's clock, not the
    /// sender's: a loaded machine delays requests, and what counts is when the gateway
    /// decided).
    accepted_per_second: Vec<u32>,
    accepted: u32,
    /// From the first request sent to the last answer: every decision of the limiter fell
    /// in this window.
    span: Duration,
    /// 90th percentile of the request latencies: above ~150 ms the machine (or the load
    /// generator) is too loaded to offer the load evenly.
    p90_latency: Duration,
    limited: u32,
    /// Anything but 2xx and 429 (must stay 0).
    failed: u32,
    /// `Retry-After` values of the 429s that were not integers ≥ 1.
    bad_retry_after: u32,
    rate_limited_detail: bool,
}

/// Offers `per_second` requests per second for `seconds` on `token`, spread round-robin over
/// `gateways`, open loop (a request is sent on schedule whatever the earlier ones do).
async fn offer(gateways: Vec<String>, token: String, per_second: u32, seconds: u32) -> Offered {
    let client = http_client();
    let started = Instant::now();
    let total = per_second * seconds;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..total {
        let due = Duration::from_secs(u64::from(seconds)) * i / total;
        if let Some(wait) = due.checked_sub(started.elapsed()) {
            tokio::time::sleep(wait).await;
        }
        let url = format!(
            "http://{}/scim/v2/ServiceProviderConfig",
            gateways[i as usize % gateways.len()]
        );
        let client = client.clone();
        let token = token.clone();
        tasks.spawn(async move {
            let sent = Instant::now();
            let (status, headers, body) = get(&client, &url, Some(&token)).await;
            (sent, Instant::now(), status, headers, body)
        });
    }
    let mut answers = Vec::new();
    while let Some(result) = tasks.join_next().await {
        answers.push(result.unwrap());
    }
    let first = answers.iter().map(|a| a.0).min().unwrap();
    let last = answers.iter().map(|a| a.1).max().unwrap();
    let mut latencies: Vec<Duration> = answers.iter().map(|a| a.1 - a.0).collect();
    latencies.sort();
    let mut offered = Offered {
        accepted_per_second: vec![0; seconds as usize + 2],
        span: last - first,
        p90_latency: latencies[latencies.len() * 9 / 10],
        ..Offered::default()
    };
    for (_sent, answered, status, headers, body) in answers {
        let second =
            ((answered - first).as_secs() as usize).min(offered.accepted_per_second.len() - 1);
        match status {
            200..=299 => {
                offered.accepted += 1;
                offered.accepted_per_second[second] += 1;
            }
            429 => {
                offered.limited += 1;
                let retry_after = headers
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                if retry_after.is_none_or(|s| s < 1) {
                    offered.bad_retry_after += 1;
                }
                offered.rate_limited_detail |= body.contains("rate_limited");
            }
            _ => offered.failed += 1,
        }
    }
    offered
}

/// The three load tests run one at a time: each measures a rate, and running them side
/// by side on a small machine would measure the machine.
static LOAD_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Token A offered 150/s and token B 20/s for 5 s over both gateways; A gets 100 ± 10 % per
/// second, B never sees a 429. `during` runs 2.5 s into the run (e.g. stops Redis).
async fn assert_limit_holds(
    label: &str,
    stack: &Stack,
    gateways: &[&Process],
    during: impl std::future::Future<Output = ()>,
) {
    let _one_at_a_time = LOAD_TESTS.lock().await;
    let globex = stack.new_workspace("globex").await.unwrap();
    let (_, token_b) = stack.issue_token(&globex, "second").await.unwrap();
    let addrs: Vec<String> = gateways.iter().map(|g| g.addr.clone()).collect();
    let a = tokio::spawn(offer(addrs.clone(), stack.token.clone(), 150, 5));
    let b = tokio::spawn(offer(addrs, token_b, 20, 5));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    during.await;
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let per_second = f64::from(a.accepted) / a.span.as_secs_f64();
    // A request here takes a few ms; when the 90th percentile is over 150 ms the machine
    // is so loaded that requests reach the gateways in clumps, not at the offered rate.
    let on_time = a.p90_latency.max(b.p90_latency) < Duration::from_millis(150);
    eprintln!(
        "rate limit [{label}]: token A accepted {} over {:.2} s ({per_second:.1}/s; per second answered {:?}; p90 latency {:?}), {} × 429; token B {} accepted ({:?}), {} × 429",
        a.accepted,
        a.span.as_secs_f64(),
        a.accepted_per_second,
        a.p90_latency,
        a.limited,
        b.accepted,
        b.accepted_per_second,
        b.limited
    );
    assert_eq!(a.failed, 0, "[{label}] no request failed");
    assert_eq!(b.failed, 0, "[{label}] no request failed");
    // Never more than promised, whatever the arrival pattern.
    assert!(
        per_second <= 110.0,
        "[{label}] at most 100 + 10 % per second: {per_second}"
    );
    assert!(
        a.limited > 0 && a.rate_limited_detail,
        "[{label}] 429 rate_limited"
    );
    assert_eq!(a.bad_retry_after, 0, "[{label}] integer Retry-After ≥ 1");
    if on_time {
        assert!(
            per_second >= 90.0,
            "[{label}] at least 100 - 10 % per second: {per_second}"
        );
        assert_eq!(b.limited, 0, "[{label}] the other token is not slowed");
        assert_eq!(b.accepted, 100);
    } else {
        // Clumped arrivals leave gaps the limiter cannot refill and make token B look
        // bursty: only the upper bound above is meaningful then.
        eprintln!(
            "rate limit [{label}]: machine overloaded (p90 latency A {:?}, B {:?}): lower bound and token B not checked",
            a.p90_latency, b.p90_latency
        );
    }
}

fn limit_env(redis_url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("GATEWAY_RATE_LIMIT_PER_TOKEN", "100".to_owned()),
        ("GATEWAY_RATE_LIMIT_BURST", "20".to_owned()),
        ("GATEWAY_REPLICAS", "2".to_owned()),
        ("GATEWAY_REDIS_URL", redis_url.to_owned()),
    ]
}

async fn two_gateways(stack: &Stack, redis_url: &str) -> (Process, Process) {
    let env = limit_env(redis_url);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    (
        stack.spawn_gateway(&env).unwrap(),
        stack.spawn_gateway(&env).unwrap(),
    )
}

// Two worker threads: the load generator must keep its schedule while responses come in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_shared_by_two_gateways_through_redis() {
    let stack = Stack::start().await.unwrap();
    // The machine's Redis (tests only ever read and write their own keys there).
    let (one, two) = two_gateways(&stack, "redis://127.0.0.1:6379").await;
    assert_limit_holds("two gateways + Redis", &stack, &[&one, &two], async {}).await;
}

// Two worker threads: the load generator must keep its schedule while responses come in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_without_redis_each_gateway_enforces_its_share() {
    let stack = Stack::start().await.unwrap();
    // Nothing listens there: both gateways fall back to their local share (100 / 2).
    let closed = format!("redis://127.0.0.1:{}", free_port());
    let (one, two) = two_gateways(&stack, &closed).await;
    assert_limit_holds("Redis unreachable", &stack, &[&one, &two], async {}).await;
}

// Two worker threads: the load generator must keep its schedule while responses come in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_survives_redis_stopping_mid_run() {
    let stack = Stack::start().await.unwrap();
    // A redis-server of this test's own, stopped half-way (never the machine's).
    let port = free_port();
    let mut redis = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("redis-server on PATH (apt-get install redis-server)");
    time_until(Duration::from_secs(10), "redis-server up", || async {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let (one, two) = two_gateways(&stack, &format!("redis://127.0.0.1:{port}")).await;
    assert_limit_holds("Redis stopped mid-run", &stack, &[&one, &two], async {
        let _ = redis.kill();
        let _ = redis.wait();
    })
    .await;
    let _ = redis.kill();
    let _ = redis.wait();
}

#[tokio::test]
async fn a_bulk_counts_each_operation_against_the_rate_limit() {
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_with_env(
        database,
        &[
            ("GATEWAY_RATE_LIMIT_PER_TOKEN", "2"),
            ("GATEWAY_RATE_LIMIT_BURST", "2"),
        ],
    )
    .await
    .unwrap();
    let operations: Vec<serde_json::Value> = (0..30)
        .map(|i| {
            json!({
                "method": "POST",
                "path": "/Users",
                "bulkId": format!("u{i}"),
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("bulk{i}@example.com")
                }
            })
        })
        .collect();
    let bulk = stack
        .scim(
            "POST",
            "/Bulk",
            Some(json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                "Operations": operations
            })),
        )
        .await;
    assert_eq!(bulk.status, 200, "{}", bulk.raw);
    // 30 operations at 2/s with a burst of 2: the token's next request waits ~14 s minus
    // the time the Bulk took (counted as one request, it would be let through).
    let next = stack.scim("GET", "/Users?count=1", None).await;
    let detail = assert_scim_error(&next, 429, None);
    assert!(detail.contains("rate_limited"), "{detail}");
    let retry_after: u64 = next.header("retry-after").unwrap().parse().unwrap();
    assert!((5..=15).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn the_gateway_terminates_tls_with_a_certificate_from_files() {
    // A self-signed certificate for 127.0.0.1, as a Kubernetes TLS Secret would mount it.
    let dir = std::env::temp_dir().join(format!("e2e-tls-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    run(Command::new("openssl").args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        key.to_str().unwrap(),
        "-out",
        cert.to_str().unwrap(),
    ]));
    let database = e2e_tests::fresh_postgres_database().await.unwrap();
    let stack = Stack::start_on(database).await.unwrap();
    let gateway = stack
        .spawn_gateway(&[
            ("GATEWAY_TLS_CERT_FILE", cert.to_str().unwrap()),
            ("GATEWAY_TLS_KEY_FILE", key.to_str().unwrap()),
        ])
        .unwrap();
    let url = format!("https://{}/scim/v2/ServiceProviderConfig", gateway.addr);
    let curl = |extra: &[&str]| {
        Command::new("curl")
            .args(["-sS", "--max-time", "10", "-H"])
            .arg(format!("Authorization: Bearer {}", stack.token))
            .args(extra)
            .arg(&url)
            .output()
            .expect("curl")
    };
    let answer = curl(&["--cacert", cert.to_str().unwrap()]);
    let body = String::from_utf8_lossy(&answer.stdout);
    assert!(
        answer.status.success(),
        "{}",
        String::from_utf8_lossy(&answer.stderr)
    );
    let body: serde_json::Value = serde_json::from_str(&body).expect("JSON over TLS");
    // URLs built from the Host header say https.
    let location = body["meta"]["location"].as_str().unwrap_or_default();
    assert!(location.starts_with("https://127.0.0.1:"), "{body}");
    // An unknown certificate is refused by the client; plain HTTP gets no SCIM answer.
    assert!(!curl(&[]).status.success());
    let plain = http_client();
    let request = http::Request::builder()
        .uri(format!("http://{}/livez", gateway.addr))
        .body(Full::new(Bytes::new()))
        .unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(10), plain.request(request)).await;
    assert!(
        !matches!(answered, Ok(Ok(ref r)) if r.status() == 200),
        "plain HTTP is not served on the TLS port"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

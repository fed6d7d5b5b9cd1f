//! The admin listener: Prometheus `/metrics` on its own port (`--metrics-addr`), so the
//! SCIM port, which is exposed to the internet, never shows them.
//!
//! Metric names, labels and what they mean are listed in README "Operating it". Labels are
//! bounded: route templates, methods, status codes, `scimType` — never a token, a user, an
//! id or a workspace.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Latency buckets in seconds: from a cache hit to the whole-request deadline.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0,
];

/// Installs the process-wide Prometheus recorder (once, from `main`) and keeps its
/// histograms drained.
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "scim_http_requests_total",
        "SCIM HTTP requests by route template, method, status and scimType"
    );
    describe_histogram!(
        "scim_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "SCIM HTTP request latency by route template, method and status"
    );
    describe_gauge!(
        "scim_http_requests_in_flight",
        "SCIM HTTP requests being handled"
    );
    describe_gauge!(
        "scim_http_connections_open",
        "client connections open (capped by --max-connections)"
    );
    describe_counter!(
        "scim_rate_limited_total",
        "requests refused with 429 by the per-token rate limit"
    );
    describe_counter!(
        "scim_rate_limit_decisions_total",
        "rate limit decisions by backend (redis, local) and outcome"
    );
    describe_gauge!(
        "scim_rate_limit_redis_up",
        "1 while the shared rate limit in Redis answers, 0 while the local share is used"
    );
    describe_counter!(
        "scim_auth_failures_total",
        "requests refused with 401 (missing, unknown, expired or revoked token)"
    );
    describe_counter!(
        "scim_request_timeouts_total",
        "requests cut by a deadline (kind: body_read, request)"
    );
    describe_gauge!(
        "scim_directory_ready",
        "1 when the last readiness check found the directory SERVING"
    );
}

/// Serves `GET /metrics` on `listener` until `shutdown` resolves.
pub async fn serve_metrics(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "metrics listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let handle = handle.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let handle = handle.clone();
                async move { Ok::<_, Infallible>(metrics_response(&handle, &request)) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn metrics_response(
    handle: &PrometheusHandle,
    request: &Request<Incoming>,
) -> Response<Full<Bytes>> {
    let (status, content_type, body) = match (request.method(), request.uri().path()) {
        (&Method::GET, "/metrics") => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            handle.render(),
        ),
        _ => (
            StatusCode::NOT_FOUND,
            "text/plain",
            "not found\n".to_owned(),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    response
}

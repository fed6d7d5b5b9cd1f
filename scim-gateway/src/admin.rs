//! The admin listener: Prometheus `/metrics` on its own port (`--metrics-addr`), so the
//! SCIM port, which is exposed to the internet, never shows them.
//!
//! Metric names, labels and what they mean are listed in README "Operating it". Labels are
//! bounded: route templates, methods, status codes, `scimType` — never a token, a user, an
//! id or a workspace.

use std::future::Future;

use metrics_exporter_prometheus::{BuildError, PrometheusHandle};
use tokio::net::TcpListener;

/// Installs the process-wide Prometheus recorder (once, from `main`) and keeps its
/// histograms drained.
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    observability::metrics::install_recorder(describe)
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

/// Serves `GET /metrics` on `listener` until `shutdown` resolves (the gateway's probes,
/// `/livez` and `/readyz`, are on the SCIM port).
pub async fn serve_metrics(
    listener: TcpListener,
    handle: PrometheusHandle,
    shutdown: impl Future<Output = ()>,
) {
    observability::metrics::serve_admin(listener, handle, None, shutdown).await;
}

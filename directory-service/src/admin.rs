//! Operations side of the directory: the database health probe behind gRPC health, the
//! Prometheus recorder, gRPC server metrics, and the admin HTTP listener
//! (`--metrics-addr`: `/metrics`, `/livez`, `/readyz`).
//!
//! Health has two names: `""` (the process; liveness) stays SERVING while the process
//! runs, `directory.v1.Directory` (readiness) is SERVING only while the database answers,
//! so a database outage takes replicas out of rotation without restarting them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::{BuildError, PrometheusHandle};
use observability::metrics::{InFlight, Probes};
use tokio::net::TcpListener;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use crate::store::{self, Db};

/// The gRPC health name that follows the database.
pub const READINESS_SERVICE: &str = "directory.v1.Directory";
/// How long one database ping may take before the database counts as unreachable.
const PING_TIMEOUT: Duration = Duration::from_secs(2);

/// Installs the process-wide Prometheus recorder (once, from `main`) and keeps its
/// histograms drained.
pub fn install_recorder() -> Result<PrometheusHandle, BuildError> {
    observability::metrics::install_recorder(describe)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "grpc_server_requests_total",
        "gRPC requests by method and status code"
    );
    describe_histogram!(
        "grpc_server_request_duration_seconds",
        metrics::Unit::Seconds,
        "gRPC request latency by method"
    );
    describe_gauge!(
        "grpc_server_requests_in_flight",
        "gRPC requests being handled"
    );
    describe_gauge!(
        "directory_database_up",
        "1 while the database answers the health probe"
    );
    describe_histogram!(
        "directory_database_ping_seconds",
        metrics::Unit::Seconds,
        "round trip of the health probe's database ping"
    );
    describe_gauge!(
        "directory_db_pool_connections",
        "database pool connections by state (in_use, idle) and the pool's max"
    );
    describe_gauge!(
        "directory_webhook_backlog_events",
        "events committed and not yet passed by active webhook endpoints (summed over endpoints)"
    );
    describe_gauge!(
        "directory_webhook_backlog_largest_events",
        "the largest backlog of one active webhook endpoint, in events"
    );
    describe_gauge!(
        "directory_webhook_endpoints",
        "webhook endpoints by state (active, failed, disabled)"
    );
    describe_histogram!(
        "directory_db_acquire_seconds",
        metrics::Unit::Seconds,
        "time a write waited for a pooled connection and its BEGIN"
    );
    describe_counter!(
        "directory_write_retries_total",
        "writes run again after a serialization failure, deadlock or lost connection"
    );
}

/// Shared between the probe and the admin listener.
#[derive(Default)]
pub struct Readiness {
    database_up: AtomicBool,
    shutting_down: AtomicBool,
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        self.database_up.load(Ordering::Relaxed) && !self.shutting_down.load(Ordering::Relaxed)
    }
}

/// Pings the database every `interval` and reports `directory.v1.Directory` SERVING or
/// NOT_SERVING on every change (also the pool gauges). `was_up` is the last status
/// reported. Runs until the task is dropped.
pub async fn watch_database(
    db: Db,
    reporter: HealthReporter,
    readiness: Arc<Readiness>,
    interval: Duration,
    mut was_up: bool,
) {
    loop {
        tokio::time::sleep(interval).await;
        was_up = check_database(&db, &reporter, &readiness, Some(was_up)).await;
    }
}

/// One probe: ping, gauges, and the health status when it changed from `was_up`.
pub async fn check_database(
    db: &Db,
    reporter: &HealthReporter,
    readiness: &Readiness,
    was_up: Option<bool>,
) -> bool {
    let started = Instant::now();
    let up = matches!(
        tokio::time::timeout(PING_TIMEOUT, store::pool::ping(db)).await,
        Ok(Ok(()))
    );
    metrics::histogram!("directory_database_ping_seconds").record(started.elapsed().as_secs_f64());
    metrics::gauge!("directory_database_up").set(if up { 1.0 } else { 0.0 });
    if let Some(stats) = store::pool::stats(db) {
        metrics::gauge!("directory_db_pool_connections", "state" => "in_use")
            .set(f64::from(stats.in_use()));
        metrics::gauge!("directory_db_pool_connections", "state" => "idle")
            .set(f64::from(stats.idle));
        metrics::gauge!("directory_db_pool_connections", "state" => "max")
            .set(f64::from(stats.max));
    }
    if up {
        record_backlog(db).await;
    }
    readiness.database_up.store(up, Ordering::Relaxed);
    if was_up != Some(up) && !readiness.shutting_down.load(Ordering::Relaxed) {
        let status = if up {
            if was_up.is_some() {
                tracing::info!("database reachable again: SERVING");
            }
            ServingStatus::Serving
        } else {
            tracing::warn!("database unreachable: NOT_SERVING");
            ServingStatus::NotServing
        };
        reporter.set_service_status(READINESS_SERVICE, status).await;
    }
    up
}

/// The webhook backlog gauges (skipped when the query fails or is slow: the gauges keep
/// their last value).
async fn record_backlog(db: &Db) {
    let Ok(Ok(backlog)) = tokio::time::timeout(PING_TIMEOUT, store::webhooks::backlog(db)).await
    else {
        return;
    };
    metrics::gauge!("directory_webhook_backlog_events").set(backlog.pending_events as f64);
    metrics::gauge!("directory_webhook_backlog_largest_events")
        .set(backlog.largest_endpoint_backlog as f64);
    for (state, count) in [
        ("active", backlog.endpoints_active),
        ("failed", backlog.endpoints_failed),
        ("disabled", backlog.endpoints_disabled),
    ] {
        metrics::gauge!("directory_webhook_endpoints", "state" => state).set(count as f64);
    }
}

/// Marks the service NOT_SERVING for good (shutdown has begun).
pub async fn begin_shutdown(reporter: &HealthReporter, readiness: &Readiness) {
    readiness.shutting_down.store(true, Ordering::Relaxed);
    reporter
        .set_service_status(READINESS_SERVICE, ServingStatus::NotServing)
        .await;
}

/// Serves `/metrics`, `/livez` and `/readyz` (ready while the database answers and
/// shutdown has not begun) on `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: TcpListener,
    handle: PrometheusHandle,
    readiness: Arc<Readiness>,
    shutdown: impl Future<Output = ()>,
) {
    let probes = Probes {
        ready: Arc::new(move || readiness.is_ready()),
        not_ready: "not ready: database unreachable or shutting down\n",
    };
    observability::metrics::serve_admin(listener, handle, Some(probes), shutdown).await;
}

/// Tower layer recording `grpc_server_*` metrics per RPC. The method label is the RPC path
/// (`/directory.v1.Users/CreateUser`), or `unknown` for paths the server does not
/// serve, so that labels stay bounded.
#[derive(Clone, Copy, Default)]
pub struct GrpcMetricsLayer;

impl<S> tower::Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcMetrics { inner }
    }
}

#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
}

impl<S, B, ResBody> tower::Service<http::Request<B>> for GrpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path().to_owned();
        let started = Instant::now();
        let in_flight = InFlight::enter(metrics::gauge!("grpc_server_requests_in_flight"));
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            drop(in_flight);
            // Errors are trailers-only responses: the code is in the headers. A response
            // without it is a stream whose code comes in the trailers: OK for unary RPCs.
            let code = match &result {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<i32>().ok())
                    .map_or(tonic::Code::Ok, tonic::Code::from_i32),
                Err(_) => tonic::Code::Internal,
            };
            let method = if code == tonic::Code::Unimplemented {
                "unknown".to_owned()
            } else {
                path
            };
            metrics::counter!(
                "grpc_server_requests_total",
                "method" => method.clone(),
                "code" => format!("{code:?}"),
            )
            .increment(1);
            metrics::histogram!("grpc_server_request_duration_seconds", "method" => method)
                .record(started.elapsed().as_secs_f64());
            result
        })
    }
}

#[cfg(test)]
mod tests {
    use metrics_exporter_prometheus::PrometheusBuilder;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use super::*;

    #[tokio::test]
    async fn admin_port_answers_probes_and_scrapes() {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let readiness = Arc::new(Readiness::default());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_admin(
            listener,
            handle,
            readiness.clone(),
            std::future::pending(),
        ));
        let get = |path: &'static str| async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .await
                .unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            answer
        };
        assert!(get("/livez").await.starts_with("HTTP/1.1 200"));
        assert!(get("/readyz").await.starts_with("HTTP/1.1 503"));
        readiness.database_up.store(true, Ordering::Relaxed);
        assert!(get("/readyz").await.starts_with("HTTP/1.1 200"));
        readiness.shutting_down.store(true, Ordering::Relaxed);
        let draining = get("/readyz").await;
        assert!(draining.starts_with("HTTP/1.1 503"), "{draining}");
        assert!(draining.ends_with("database unreachable or shutting down\n"));
        let metrics = get("/metrics?x=1").await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(metrics.contains("text/plain; version=0.0.4"));
        assert!(get("/nope").await.starts_with("HTTP/1.1 404"));
    }
}

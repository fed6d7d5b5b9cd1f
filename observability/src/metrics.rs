//! The Prometheus recorder and the admin HTTP listener that serves it (`--metrics-addr`),
//! on a port of its own so that the public ports never show metrics.
//!
//! The listener answers `GET`/`HEAD` only, one request per connection: `/metrics` always;
//! `/livez` and `/readyz` when the binary hands it [`Probes`].

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

/// Latency buckets in seconds (every histogram whose name ends in `_seconds`): from a
/// cache hit to the whole-request deadline.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0,
];

/// Longest an admin connection may take to send its request head.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Installs the process-wide Prometheus recorder (once, from `main`, inside the tokio
/// runtime), keeps its histograms drained, then runs `describe` (the binary's
/// `describe_counter!`… calls).
pub fn install_recorder(describe: fn()) -> Result<PrometheusHandle, BuildError> {
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

/// Counts one in a gauge while alive: also when the future holding it is dropped (a
/// cancelled RPC, a client that disconnects, a connection aborted at shutdown).
pub struct InFlight(metrics::Gauge);

impl InFlight {
    pub fn enter(gauge: metrics::Gauge) -> InFlight {
        gauge.increment(1.0);
        InFlight(gauge)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// `/livez` (200 while the process serves) and `/readyz` (200 while `ready()`, else 503
/// with `not_ready` as the body) on the admin listener.
#[derive(Clone)]
pub struct Probes {
    pub ready: Arc<dyn Fn() -> bool + Send + Sync>,
    pub not_ready: &'static str,
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve_admin(
    listener: TcpListener,
    handle: PrometheusHandle,
    probes: Option<Probes>,
    shutdown: impl Future<Output = ()>,
) {
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin listener: accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let handle = handle.clone();
        let probes = probes.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request: Request<Incoming>| {
                let answer = admin_response(&request, &handle, probes.as_ref());
                async move { Ok::<_, Infallible>(answer) }
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn admin_response(
    request: &Request<Incoming>,
    handle: &PrometheusHandle,
    probes: Option<&Probes>,
) -> Response<Full<Bytes>> {
    const TEXT: &str = "text/plain; charset=utf-8";
    let (status, content_type, body) = if !matches!(*request.method(), Method::GET | Method::HEAD) {
        (
            StatusCode::METHOD_NOT_ALLOWED,
            TEXT,
            "GET only\n".to_owned(),
        )
    } else {
        match (request.uri().path(), probes) {
            ("/metrics", _) => (
                StatusCode::OK,
                "text/plain; version=0.0.4; charset=utf-8",
                handle.render(),
            ),
            ("/livez", Some(_)) => (StatusCode::OK, TEXT, "ok\n".to_owned()),
            ("/readyz", Some(probes)) if (probes.ready)() => {
                (StatusCode::OK, TEXT, "ready\n".to_owned())
            }
            ("/readyz", Some(probes)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                TEXT,
                probes.not_ready.to_owned(),
            ),
            _ => (StatusCode::NOT_FOUND, TEXT, "not found\n".to_owned()),
        }
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    response
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio::net::TcpStream;

    use super::*;

    async fn request(addr: std::net::SocketAddr, head: &str) -> String {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut answer = String::new();
        // One request per connection: the listener closes it after the answer.
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut answer))
            .await
            .expect("the admin listener closes the connection after one answer")
            .unwrap();
        answer
    }

    async fn start(probes: Option<Probes>) -> std::net::SocketAddr {
        let handle = PrometheusBuilder::new().build_recorder().handle();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(serve_admin(
            listener,
            handle,
            probes,
            std::future::pending(),
        ));
        addr
    }

    fn get(path: &str) -> String {
        format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")
    }

    #[tokio::test]
    async fn admin_port_answers_probes_and_scrapes() {
        let ready = Arc::new(AtomicBool::new(false));
        let flag = ready.clone();
        let addr = start(Some(Probes {
            ready: Arc::new(move || flag.load(Ordering::Relaxed)),
            not_ready: "not ready\n",
        }))
        .await;
        assert!(
            request(addr, &get("/livez"))
                .await
                .starts_with("HTTP/1.1 200")
        );
        let not_ready = request(addr, &get("/readyz")).await;
        assert!(not_ready.starts_with("HTTP/1.1 503"), "{not_ready}");
        assert!(not_ready.ends_with("not ready\n"), "{not_ready}");
        ready.store(true, Ordering::Relaxed);
        assert!(
            request(addr, &get("/readyz"))
                .await
                .starts_with("HTTP/1.1 200")
        );
        let metrics = request(addr, &get("/metrics?x=1")).await;
        assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
        assert!(metrics.contains("text/plain; version=0.0.4"), "{metrics}");
        assert!(
            request(addr, &get("/nope"))
                .await
                .starts_with("HTTP/1.1 404")
        );
        let head = request(addr, "HEAD /livez HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            head.starts_with("HTTP/1.1 200") && head.ends_with("\r\n\r\n"),
            "{head}"
        );
        let post = request(
            addr,
            "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(post.await.starts_with("HTTP/1.1 405"));
    }

    #[tokio::test]
    async fn without_probes_only_metrics_are_served() {
        let addr = start(None).await;
        assert!(
            request(addr, &get("/metrics"))
                .await
                .starts_with("HTTP/1.1 200")
        );
        assert!(
            request(addr, &get("/livez"))
                .await
                .starts_with("HTTP/1.1 404")
        );
        assert!(
            request(addr, &get("/readyz"))
                .await
                .starts_with("HTTP/1.1 404")
        );
    }

    #[test]
    fn in_flight_counts_until_dropped() {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            let guard = InFlight::enter(metrics::gauge!("things_in_flight"));
            assert!(handle.render().contains("things_in_flight 1"));
            drop(guard);
            assert!(handle.render().contains("things_in_flight 0"));
        });
    }
}

//! Tracing and OpenTelemetry, set up by the shared `observability` crate. Spans are
//! exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set, and only then is the
//! `tracing-opentelemetry` layer installed ([`OtelLayer::WhenExporting`]): with nothing to
//! export it built an OpenTelemetry span for every RPC and every query for nobody (8 % of
//! the directory's CPU per GET by id, see BENCHMARKS.md). The directory logs no trace
//! ids, so nothing is lost without it.

use observability::OtelLayer;
pub use observability::{LogFormat, TelemetryError};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Installs tracing for the directory (see the module docs).
pub fn init(
    service_name: &'static str,
    format: LogFormat,
) -> Result<SdkTracerProvider, TelemetryError> {
    observability::telemetry::init(service_name, format, OtelLayer::WhenExporting)
}

/// One span per RPC, named after the method (never after ids), child of the caller's
/// W3C trace context (read only when spans are exported: without the OpenTelemetry layer
/// the parent would go nowhere).
pub fn grpc_request_span(req: &http::Request<()>) -> tracing::Span {
    let span = tracing::info_span!(
        "grpc.request",
        otel.name = %req.uri().path(),
        otel.kind = "server",
        rpc.system = "grpc",
    );
    if observability::telemetry::spans_exported() {
        let _ = span.set_parent(observability::telemetry::remote_context(req.headers()));
    }
    span
}

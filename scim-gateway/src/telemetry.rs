//! Tracing and OpenTelemetry, set up by the shared `observability` crate. The gateway
//! always installs the OpenTelemetry layer ([`OtelLayer::Always`]), so that trace ids exist,
//! are logged (`trace_id` in JSON logs) and propagate to the directory; spans are exported
//! over OTLP/gRPC only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Logs go to stderr,
//! filtered by `RUST_LOG` (default `info`). (`OtelLayer::WhenExporting`, the directory's
//! choice, would leave the request log line without `trace_id`: the e2e test
//! `production::json_logs_at_trace_level_never_contain_tokens_or_passwords` fails with it.)

use observability::OtelLayer;
pub use observability::{LogFormat, TelemetryError};
use opentelemetry_sdk::trace::SdkTracerProvider;

/// Installs the global propagator, tracer provider and subscriber. Must run inside the
/// tokio runtime (the OTLP exporter's tonic client needs it). Keep the returned provider
/// and call `shutdown()` on exit to flush spans.
pub fn init(
    service_name: &'static str,
    format: LogFormat,
) -> Result<SdkTracerProvider, TelemetryError> {
    observability::telemetry::init(service_name, format, OtelLayer::Always)
}

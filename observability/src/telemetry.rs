//! Tracing and OpenTelemetry. The W3C trace-context propagator and a tracer provider are
//! installed globally; spans are exported over OTLP/gRPC only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Logs go to stderr, filtered by `RUST_LOG`
//! (default `info`), as text or JSON.

use std::io::IsTerminal as _;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// `--log-format`: `text` for people, `json` (one object per line) for log pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// When the `tracing-opentelemetry` layer is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtelLayer {
    /// Always: spans get OpenTelemetry trace ids (logged, propagated downstream) even
    /// when nothing exports them. The gateway's JSON logs carry `trace_id`.
    Always,
    /// Only when spans are exported: with nothing to export the layer would build an
    /// OpenTelemetry span for every request and query for nobody (8 % of the directory's
    /// CPU per GET by id, see BENCHMARKS.md).
    WhenExporting,
}

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("building the OTLP span exporter")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("installing the tracing subscriber")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// Whether spans are exported (set once by [`init`]).
static EXPORTING: AtomicBool = AtomicBool::new(false);

/// Whether [`init`] found an OTLP endpoint, so that spans are exported.
pub fn spans_exported() -> bool {
    EXPORTING.load(Ordering::Relaxed)
}

/// Installs the global propagator, tracer provider and subscriber. Must run inside the
/// tokio runtime (the OTLP exporter's tonic client needs it). Keep the returned provider
/// and call `shutdown()` on exit to flush spans.
pub fn init(
    service_name: &'static str,
    format: LogFormat,
    otel_layer: OtelLayer,
) -> Result<SdkTracerProvider, TelemetryError> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let mut builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name).build());
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    EXPORTING.store(exporting, Ordering::Relaxed);
    if exporting {
        builder = builder.with_batch_exporter(
            opentelemetry_otlp::SpanExporter::builder()
                .with_tonic()
                .build()?,
        );
    }
    let provider = builder.build();
    global::set_tracer_provider(provider.clone());
    // RUST_LOG filters the log lines only; exported spans have their own level
    // (OTEL_TRACES_FILTER, default info), so quiet logs do not break traces.
    let log_filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let span_filter =
        EnvFilter::try_from_env("OTEL_TRACES_FILTER").unwrap_or_else(|_| EnvFilter::new("info"));
    // JSON: one object per line with the current span's fields (route, trace_id,
    // request_id), for log pipelines; text: for people.
    let log_layer = match format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_filter(log_filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::stderr().is_terminal())
            .with_filter(log_filter)
            .boxed(),
    };
    let otel_layer = (exporting || otel_layer == OtelLayer::Always).then(|| {
        tracing_opentelemetry::layer()
            .with_tracer(provider.tracer(service_name))
            .with_filter(span_filter)
    });
    tracing_subscriber::registry()
        .with(log_layer)
        .with(otel_layer)
        .try_init()?;
    Ok(provider)
}

/// The caller's W3C trace context (`traceparent`, `tracestate`) read from request headers,
/// to parent a server span with (`OpenTelemetrySpanExt::set_parent`).
pub fn remote_context(headers: &http::HeaderMap) -> opentelemetry::Context {
    global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(headers))
    })
}

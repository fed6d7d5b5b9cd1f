//! Tracing and OpenTelemetry. Spans are exported over OTLP when
//! OTEL_EXPORTER_OTLP_ENDPOINT is set, and only then is the `tracing-opentelemetry` layer
//! installed: with nothing to export it built an OpenTelemetry span for every RPC and
//! every query for nobody (8 % of the directory's CPU per GET by id, see BENCHMARKS.md).
//! The directory logs no trace ids, so nothing is lost without it.

use std::io::IsTerminal as _;

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::EnvFilter;

/// `--log-format`: `text` for people, `json` (one object per line) for log pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

pub fn init(service_name: &'static str, format: LogFormat) -> anyhow::Result<SdkTracerProvider> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let mut builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name).build());
    let exporting = std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some();
    EXPORTING.store(exporting, std::sync::atomic::Ordering::Relaxed);
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
    let otel_layer = exporting.then(|| {
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

/// Whether spans are exported (and the OpenTelemetry layer installed).
static EXPORTING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

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
    if EXPORTING.load(std::sync::atomic::Ordering::Relaxed) {
        let parent = global::get_text_map_propagator(|p| {
            p.extract(&opentelemetry_http::HeaderExtractor(req.headers()))
        });
        let _ = span.set_parent(parent);
    }
    span
}

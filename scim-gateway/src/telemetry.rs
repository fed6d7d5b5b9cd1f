//! Tracing and OpenTelemetry. A tracer provider is always installed (so trace ids exist
//! and propagate to the directory); spans are exported over OTLP/gRPC only when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set. Logs go to stderr, filtered by `RUST_LOG`
//! (default `info`).

use std::io::IsTerminal as _;

use opentelemetry::global;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
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

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("building the OTLP span exporter")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    #[error("installing the tracing subscriber")]
    Subscriber(#[from] tracing_subscriber::util::TryInitError),
}

/// Installs the global propagator, tracer provider and subscriber. Must run inside the
/// tokio runtime (the OTLP exporter's tonic client needs it). Keep the returned provider
/// and call `shutdown()` on exit to flush spans.
pub fn init(
    service_name: &'static str,
    format: LogFormat,
) -> Result<SdkTracerProvider, TelemetryError> {
    global::set_text_map_propagator(TraceContextPropagator::new());
    let mut builder = SdkTracerProvider::builder()
        .with_resource(Resource::builder().with_service_name(service_name).build());
    if std::env::var_os("OTEL_EXPORTER_OTLP_ENDPOINT").is_some() {
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
    tracing_subscriber::registry()
        .with(log_layer)
        .with(
            tracing_opentelemetry::layer()
                .with_tracer(provider.tracer(service_name))
                .with_filter(span_filter),
        )
        .try_init()?;
    Ok(provider)
}

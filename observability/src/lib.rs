//! What the directory and the gateway share to be observed: tracing and OpenTelemetry set
//! up the same way with the same log formats ([`telemetry`]), and the Prometheus recorder
//! with its admin HTTP listener ([`metrics`]).
//!
//! Only the mechanics live here. Each binary keeps its own span names, metric names and
//! descriptions, route templates and readiness rule.

pub mod metrics;
pub mod telemetry;

pub use telemetry::{LogFormat, OtelLayer, TelemetryError};

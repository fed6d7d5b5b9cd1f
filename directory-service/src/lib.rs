//! The directory: owns workspaces, users and tokens, enforces every rule, serves gRPC.
//!
//! Layers: `domain` (pure rules) ← `ops` (one transaction per operation) ← `grpc`
//! (transport). `store` is the only module that knows SeaORM.

pub mod admin;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod grpc;
pub mod nats_sink;
pub mod ops;
pub mod store;
pub mod telemetry;

pub use grpc::{ServeOptions, serve};

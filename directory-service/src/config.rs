//! Command line and environment. Every flag has an environment variable, so a Kubernetes
//! Secret or ConfigMap can set it.

use std::net::SocketAddr;

pub use crate::telemetry::LogFormat;

#[derive(Debug, clap::Parser)]
#[command(
    name = "directory-service",
    version,
    about = "The SCIM directory: gRPC API over SeaORM"
)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, env = "LOG_FORMAT", value_enum, global = true, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the gRPC API (runs pending migrations first unless told not to).
    Serve(ServeArgs),
    /// Run pending migrations and exit (for a Kubernetes Job before a rollout).
    Migrate(DatabaseArgs),
}

#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// postgres://user@host/db, or sqlite://path/to/file.db?mode=rwc for a local run.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/directory.db?mode=rwc"
    )]
    pub database_url: String,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on; port 0 picks a free port (printed as `LISTENING <addr>`).
    #[arg(long, env = "DIRECTORY_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Shared secret every caller sends in the `x-directory-credential` metadata.
    #[arg(long, env = "DIRECTORY_CREDENTIAL", hide_env_values = true)]
    pub credential: String,
    /// Do not run migrations at start (when a `migrate` Job owns them).
    #[arg(long, env = "DIRECTORY_SKIP_MIGRATIONS")]
    pub skip_migrations: bool,
    /// The gateway's public URL as IdPs reach it, e.g. https://scim.example.com; served
    /// with /scim/v2 by GetScimEndpoint for the product to show its customers.
    #[arg(long, env = "DIRECTORY_PUBLIC_BASE_URL")]
    pub public_base_url: Option<String>,
    /// Address of the admin HTTP listener: Prometheus `/metrics`, `/livez`, `/readyz`.
    /// Unset: none (gRPC health still answers).
    #[arg(long, env = "DIRECTORY_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Milliseconds between two database pings of the health probe.
    #[arg(long, env = "DIRECTORY_HEALTH_INTERVAL_MS", default_value_t = 1000)]
    pub health_interval_ms: u64,
    /// Seconds in-flight RPCs get to finish after SIGTERM.
    #[arg(long, env = "DIRECTORY_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,
}

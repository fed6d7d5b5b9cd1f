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
    /// A configured credential with the `gateway` role (Kubernetes: the gateway pods get
    /// this one, never the admin credential above). Credentials created with `scimctl
    /// credential create` work besides it.
    #[arg(long, env = "DIRECTORY_GATEWAY_CREDENTIAL", hide_env_values = true)]
    pub gateway_credential: Option<String>,
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
    #[command(flatten)]
    pub events: EventArgs,
}

/// The outbox and webhook delivery.
#[derive(Debug, clap::Args)]
pub struct EventArgs {
    /// Deliver webhooks to loopback, private and link-local addresses too (local stacks
    /// and tests; refused by default against SSRF).
    #[arg(long, env = "DIRECTORY_WEBHOOK_ALLOW_PRIVATE", default_value_t = false, action = clap::ArgAction::Set)]
    pub webhook_allow_private: bool,
    /// Seconds a replica holds an endpoint it delivers to; after a crash another replica
    /// (or the restarted one) resumes it once this has passed.
    #[arg(long, env = "DIRECTORY_WEBHOOK_LEASE_SECONDS", default_value_t = 30)]
    pub webhook_lease_seconds: u64,
    /// Total timeout of one webhook request, in seconds (connecting: at most 5 s).
    #[arg(long, env = "DIRECTORY_WEBHOOK_TIMEOUT_SECONDS", default_value_t = 15)]
    pub webhook_timeout_seconds: u64,
    /// Milliseconds before the first webhook retry; each further retry waits twice as long
    /// (at most 1 h), for over 24 h before the endpoint is marked failed.
    #[arg(long, env = "DIRECTORY_WEBHOOK_RETRY_BASE_MS", default_value_t = 5000)]
    pub webhook_retry_base_ms: u64,
    /// Days events and delivery attempts are kept (deleted tombstones included).
    #[arg(long, env = "DIRECTORY_EVENT_RETENTION_DAYS", default_value_t = 30)]
    pub event_retention_days: i64,
}

impl EventArgs {
    pub fn delivery_config(&self) -> crate::delivery::DeliveryConfig {
        let defaults = crate::delivery::DeliveryConfig::default();
        let lease = std::time::Duration::from_secs(self.webhook_lease_seconds.max(1));
        let mut total = std::time::Duration::from_secs(self.webhook_timeout_seconds.max(1));
        // A request must end while its lease holds, or another replica could take the
        // endpoint and deliver the next event before this one is answered.
        if total >= lease {
            total = lease / 2;
            tracing::warn!(
                timeout_ms = total.as_millis() as u64,
                "webhook timeout shortened to half the lease"
            );
        }
        crate::delivery::DeliveryConfig {
            allow_private: self.webhook_allow_private,
            lease,
            connect_timeout: defaults.connect_timeout.min(total),
            request_timeout: total,
            retention: chrono::Duration::days(self.event_retention_days.max(1)),
            retry_base: std::time::Duration::from_millis(self.webhook_retry_base_ms.max(1)),
            ..defaults
        }
    }
}

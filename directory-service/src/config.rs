//! Command line and environment. Every flag has an environment variable, so a Kubernetes
//! Secret or ConfigMap can set it.

use std::fmt;
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

// Parsed once at start-up: the size of the `serve` variant costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the gRPC API (runs pending migrations first unless told not to).
    Serve(Box<ServeArgs>),
    /// Run pending migrations and exit (for a Kubernetes Job before a rollout).
    Migrate(DatabaseArgs),
}

#[derive(Debug, clap::Args)]
pub struct DatabaseArgs {
    /// postgres://user@host/db, or sqlite://path/to/file.db?mode=rwc for a local run.
    /// The value of `DATABASE_URL` is never shown in `--help` nor in `Debug` output (it
    /// may hold a password).
    #[arg(
        long,
        env = "DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://data/directory.db?mode=rwc"
    )]
    pub database_url: Secret,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to listen on; port 0 picks a free port (printed as `LISTENING <addr>`).
    #[arg(long, env = "DIRECTORY_LISTEN", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Shared secret every caller sends in the `x-directory-credential` metadata.
    /// At least 16 characters (refused at start otherwise).
    #[arg(long, env = "DIRECTORY_CREDENTIAL", hide_env_values = true)]
    pub credential: Secret,
    /// A configured credential with the `gateway` role (Kubernetes: the gateway pods get
    /// this one, never the admin credential above). Credentials created with `scimctl
    /// credential create` work besides it.
    #[arg(long, env = "DIRECTORY_GATEWAY_CREDENTIAL", hide_env_values = true)]
    pub gateway_credential: Option<Secret>,
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
    /// PEM certificate chain: serve gRPC over TLS (with `--tls-key-file`), e.g. `tls.crt`
    /// of a Kubernetes TLS Secret. Unset: plaintext h2c.
    #[arg(long, env = "DIRECTORY_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<std::path::PathBuf>,
    /// PEM private key of `--tls-cert-file`.
    #[arg(long, env = "DIRECTORY_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<std::path::PathBuf>,
    /// PEM CA certificates: require every caller to present a client certificate signed by
    /// one of them (mutual TLS). Needs `--tls-cert-file`.
    #[arg(long, env = "DIRECTORY_TLS_CLIENT_CA_FILE", requires = "tls_cert_file")]
    pub tls_client_ca_file: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub events: EventArgs,
}

impl ServeArgs {
    /// The server's TLS settings read from the files, when TLS is configured.
    pub fn tls(&self) -> anyhow::Result<Option<tonic::transport::ServerTlsConfig>> {
        use anyhow::Context as _;
        use tonic::transport::{Certificate, Identity, ServerTlsConfig};
        let (Some(cert), Some(key)) = (&self.tls_cert_file, &self.tls_key_file) else {
            return Ok(None);
        };
        let read = |path: &std::path::PathBuf| {
            std::fs::read(path).with_context(|| format!("reading {}", path.display()))
        };
        let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
        if let Some(ca) = &self.tls_client_ca_file {
            tls = tls.client_ca_root(Certificate::from_pem(read(ca)?));
        }
        Ok(Some(tls))
    }
}

/// A secret setting (the service credential, a database URL with its password): `Debug`
/// prints `<redacted>`, so neither a `{:?}` of the configuration nor a log line shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
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
    /// Days the request log (every SCIM request the gateways served) is kept.
    #[arg(
        long,
        env = "DIRECTORY_REQUEST_LOG_RETENTION_DAYS",
        default_value_t = 30
    )]
    pub request_log_retention_days: i64,
    /// Also publish every event to NATS JetStream at this URL (e.g. nats://127.0.0.1:4222).
    #[arg(long, env = "DIRECTORY_EVENTS_NATS_URL")]
    pub events_nats_url: Option<String>,
    /// The JetStream stream events go to (created if absent).
    #[arg(
        long,
        env = "DIRECTORY_EVENTS_NATS_STREAM",
        default_value = "SCIM_EVENTS"
    )]
    pub events_nats_stream: String,
    /// Events are published on `<prefix>.<workspace_id>`.
    #[arg(
        long,
        env = "DIRECTORY_EVENTS_NATS_SUBJECT_PREFIX",
        default_value = "scim.events"
    )]
    pub events_nats_subject_prefix: String,
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
            request_log_retention: chrono::Duration::days(self.request_log_retention_days.max(1)),
            nats: self
                .events_nats_url
                .as_deref()
                .map(str::trim)
                .filter(|url| !url.is_empty())
                .map(|url| crate::nats_sink::NatsSinkConfig {
                    url: url.to_owned(),
                    stream: self.events_nats_stream.clone(),
                    subject_prefix: self
                        .events_nats_subject_prefix
                        .trim_end_matches('.')
                        .to_owned(),
                }),
            retry_base: std::time::Duration::from_millis(self.webhook_retry_base_ms.max(1)),
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[test]
    fn debug_output_redacts_the_credential_and_the_database_url() {
        let cli = Cli::try_parse_from([
            "directory-service",
            "serve",
            "--credential",
            "s3cret-credential-value",
            "--database-url",
            "postgres://app:hunter2@db.internal/directory",
        ])
        .unwrap();
        let printed = format!("{cli:?}");
        assert!(!printed.contains("s3cret"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        assert_eq!(args.credential.expose(), "s3cret-credential-value");
        assert_eq!(
            args.database.database_url.expose(),
            "postgres://app:hunter2@db.internal/directory"
        );
    }
}

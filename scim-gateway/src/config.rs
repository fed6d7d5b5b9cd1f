//! Command line / environment configuration. Every flag has an environment variable.

use std::fmt;
use std::net::SocketAddr;

use crate::scim::BulkLimits;
pub use crate::telemetry::LogFormat;

#[derive(Clone, clap::Parser)]
#[command(
    name = "scim-gateway",
    version,
    about = "SCIM 2.0 gateway in front of the directory"
)]
pub struct Config {
    /// Address to listen on for SCIM HTTP traffic.
    #[arg(long, env = "GATEWAY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// gRPC URL of the directory service.
    #[arg(long, env = "DIRECTORY_URL", default_value = "http://127.0.0.1:50051")]
    pub directory_url: String,

    /// Internal service credential sent to the directory as `x-directory-credential`.
    #[arg(long, env = "DIRECTORY_CREDENTIAL", hide_env_values = true)]
    pub directory_credential: String,

    /// Externally visible origin (e.g. `https://scim.example.com`) used in `meta.location`
    /// and `Location`. Absent: `http://<Host header>`.
    #[arg(long, env = "PUBLIC_BASE_URL")]
    pub public_url: Option<String>,

    /// Largest accepted request body, in bytes (`POST /Bulk` has its own limit).
    #[arg(long, env = "GATEWAY_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,

    /// Most operations one `POST /Bulk` may carry (advertised as `bulk.maxOperations`;
    /// more is answered with 413).
    #[arg(long, env = "GATEWAY_BULK_MAX_OPERATIONS", default_value_t = 1000)]
    pub bulk_max_operations: usize,

    /// Largest accepted `POST /Bulk` body, in bytes (advertised as `bulk.maxPayloadSize`;
    /// more is answered with 413).
    #[arg(
        long,
        env = "GATEWAY_BULK_MAX_PAYLOAD_BYTES",
        default_value_t = 1_048_576
    )]
    pub bulk_max_payload_bytes: usize,

    /// Requests per second each token may make; beyond it, `429 rate_limited` with an
    /// integer `Retry-After`. Each operation of a Bulk counts. 0 turns the limit off.
    #[arg(long, env = "GATEWAY_RATE_LIMIT_PER_TOKEN", default_value_t = 100)]
    pub rate_limit_per_token: u32,

    /// Requests a token may make at once before the per-second rate applies (at most one
    /// second's worth: larger values are capped at the rate).
    #[arg(long, env = "GATEWAY_RATE_LIMIT_BURST", default_value_t = 20)]
    pub rate_limit_burst: u32,

    /// Redis shared by all gateway replicas for the rate limit (`redis://host:6379`).
    /// Unset, or while Redis is unreachable, each replica enforces its share locally.
    #[arg(long, env = "GATEWAY_REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,

    /// Failed authentications (tokens the directory refuses) allowed per client address
    /// and minute, after a burst of `--auth-failure-burst`; beyond it, requests from that
    /// address with a token the gateway has not cached get `429` with `Retry-After` and no
    /// directory call. 0 turns the limit off.
    #[arg(long, env = "GATEWAY_AUTH_FAILURES_PER_MINUTE", default_value_t = 60)]
    pub auth_failures_per_minute: u32,

    /// Failed authentications a client address may make at once.
    #[arg(long, env = "GATEWAY_AUTH_FAILURE_BURST", default_value_t = 20)]
    pub auth_failure_burst: u32,

    /// Gateway replicas behind the load balancer: without Redis each one enforces
    /// `rate / replicas` per token.
    #[arg(long, env = "GATEWAY_REPLICAS", default_value_t = 1)]
    pub replicas: u32,

    /// Address of the admin HTTP listener serving Prometheus `/metrics` (never exposed
    /// with the SCIM port). Unset: no metrics listener.
    #[arg(long, env = "GATEWAY_METRICS_ADDR")]
    pub metrics_addr: Option<SocketAddr>,

    /// Log format on stderr.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Most client connections open at once; further ones wait in the listen backlog.
    #[arg(long, env = "GATEWAY_MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Seconds a client has to send a whole request body (else 408).
    #[arg(long, env = "GATEWAY_BODY_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub body_read_timeout_secs: u64,

    /// Seconds a request may take as a whole, Bulk included (else 503 with Retry-After);
    /// under the 60 s Okta waits.
    #[arg(long, env = "GATEWAY_REQUEST_TIMEOUT_SECS", default_value_t = 25)]
    pub request_timeout_secs: u64,

    /// Seconds writing to a client may stall before the connection is closed; also how long
    /// an idle keep-alive connection is kept.
    #[arg(long, env = "GATEWAY_IO_TIMEOUT_SECS", default_value_t = 30)]
    pub io_timeout_secs: u64,

    /// Seconds in-flight requests get to finish after SIGTERM.
    #[arg(long, env = "GATEWAY_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// PEM certificate chain: serve SCIM over HTTPS (with `--tls-key-file`), e.g. `tls.crt`
    /// of a Kubernetes TLS Secret. Unset: plain HTTP (TLS ends at the ingress).
    #[arg(long, env = "GATEWAY_TLS_CERT_FILE", requires = "tls_key_file")]
    pub tls_cert_file: Option<std::path::PathBuf>,

    /// PEM private key of `--tls-cert-file`.
    #[arg(long, env = "GATEWAY_TLS_KEY_FILE", requires = "tls_cert_file")]
    pub tls_key_file: Option<std::path::PathBuf>,

    /// PEM CA certificates that sign the directory's certificate: connect to the
    /// directory over TLS (`--directory-url https://…`).
    #[arg(long, env = "DIRECTORY_TLS_CA_FILE")]
    pub directory_ca_file: Option<std::path::PathBuf>,

    /// PEM client certificate (and `--directory-client-key-file`) presented to the
    /// directory when it requires mutual TLS.
    #[arg(
        long,
        env = "DIRECTORY_TLS_CLIENT_CERT_FILE",
        requires = "directory_client_key_file"
    )]
    pub directory_client_cert_file: Option<std::path::PathBuf>,

    /// PEM private key of `--directory-client-cert-file`.
    #[arg(
        long,
        env = "DIRECTORY_TLS_CLIENT_KEY_FILE",
        requires = "directory_client_cert_file"
    )]
    pub directory_client_key_file: Option<std::path::PathBuf>,

    /// Caps how long a token → workspace answer is cached, in milliseconds. The directory
    /// sets the bound on each answer (`cache_for_millis`, at most 5 s); by default the
    /// gateway uses it as is.
    #[arg(long, env = "GATEWAY_TOKEN_CACHE_TTL_MS")]
    pub token_cache_ttl_ms: Option<u64>,

    /// Record every authenticated SCIM request in the directory's request log (bodies
    /// redacted and capped; `scimctl requests list`).
    #[arg(long, env = "GATEWAY_REQUEST_LOG", default_value_t = true, action = clap::ArgAction::Set)]
    pub request_log: bool,

    /// Requests waiting to be sent to the request log; beyond it they are dropped and
    /// counted (`scim_request_log_dropped_total`).
    #[arg(long, env = "GATEWAY_REQUEST_LOG_CAPACITY", default_value_t = 4096)]
    pub request_log_capacity: usize,

    /// The most bytes of each request and response body the request log keeps.
    #[arg(
        long,
        env = "GATEWAY_REQUEST_LOG_MAX_BODY_BYTES",
        default_value_t = 16_384
    )]
    pub request_log_max_body_bytes: usize,

    /// The longest a request waits before its batch is sent to the request log, in ms.
    #[arg(long, env = "GATEWAY_REQUEST_LOG_FLUSH_MS", default_value_t = 1000)]
    pub request_log_flush_ms: u64,

    /// Reverse proxies / load balancers in front of the gateway (comma-separated CIDRs).
    /// Only when the socket peer is one of them is the client address taken from
    /// `X-Forwarded-For` (the rightmost entry that is not a trusted proxy); otherwise the
    /// socket peer is the client. IP allow-lists (token and workspace) and the failed
    /// authentication limit use it.
    #[arg(long, env = "GATEWAY_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Lifetime of the access tokens `POST /oauth/token` issues, in seconds (3600-21600).
    #[arg(long, env = "GATEWAY_OAUTH_TOKEN_LIFETIME_SECS", default_value_t = 3600,
          value_parser = clap::value_parser!(i64).range(3600..=21600))]
    pub oauth_token_lifetime_secs: i64,
}

impl Config {
    /// TLS towards the directory, read from the files, when a CA or a client certificate
    /// is configured.
    pub fn directory_tls(&self) -> Result<Option<tonic::transport::ClientTlsConfig>, String> {
        use tonic::transport::{Certificate, ClientTlsConfig, Identity};
        if self.directory_ca_file.is_none() && self.directory_client_cert_file.is_none() {
            return Ok(None);
        }
        let read = |path: &std::path::PathBuf| {
            std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
        };
        let mut tls = ClientTlsConfig::new();
        if let Some(ca) = &self.directory_ca_file {
            tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
        }
        if let (Some(cert), Some(key)) = (
            &self.directory_client_cert_file,
            &self.directory_client_key_file,
        ) {
            tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
        }
        Ok(Some(tls))
    }

    /// The local cap on the token cache (unbounded here: the directory's answer bounds it).
    pub fn token_cache_ttl(&self) -> std::time::Duration {
        self.token_cache_ttl_ms
            .map_or(std::time::Duration::MAX, std::time::Duration::from_millis)
    }

    /// How the request log queues and ships records.
    pub fn request_log_settings(&self) -> crate::request_log::RequestLogSettings {
        crate::request_log::RequestLogSettings {
            capacity: self.request_log_capacity.max(1),
            max_body_bytes: self.request_log_max_body_bytes,
            flush_interval: std::time::Duration::from_millis(self.request_log_flush_ms.max(1)),
            ..Default::default()
        }
    }

    /// The limits of `POST /Bulk`.
    pub fn bulk_limits(&self) -> BulkLimits {
        BulkLimits {
            max_operations: self.bulk_max_operations,
            max_payload_bytes: self.bulk_max_payload_bytes,
        }
    }

    /// The public origin without a trailing slash, when configured.
    pub fn public_origin(&self) -> Option<String> {
        self.public_url
            .as_deref()
            .map(|url| url.trim().trim_end_matches('/').to_owned())
            .filter(|url| !url.is_empty())
    }
}

/// Never prints the credential.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("directory_url", &self.directory_url)
            .field("directory_credential", &"<redacted>")
            .field("public_url", &self.public_url)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("bulk_max_operations", &self.bulk_max_operations)
            .field("bulk_max_payload_bytes", &self.bulk_max_payload_bytes)
            .field("token_cache_ttl_ms", &self.token_cache_ttl_ms)
            .field("rate_limit_per_token", &self.rate_limit_per_token)
            .field("rate_limit_burst", &self.rate_limit_burst)
            .field("redis_url", &self.redis_url.as_ref().map(|_| "<redacted>"))
            .field("auth_failures_per_minute", &self.auth_failures_per_minute)
            .field("auth_failure_burst", &self.auth_failure_burst)
            .field("replicas", &self.replicas)
            .field("metrics_addr", &self.metrics_addr)
            .field("log_format", &self.log_format)
            .field("max_connections", &self.max_connections)
            .field("body_read_timeout_secs", &self.body_read_timeout_secs)
            .field("request_timeout_secs", &self.request_timeout_secs)
            .field("io_timeout_secs", &self.io_timeout_secs)
            .field("shutdown_grace_secs", &self.shutdown_grace_secs)
            .field("tls_cert_file", &self.tls_cert_file)
            .field("tls_key_file", &self.tls_key_file)
            .field("request_log", &self.request_log)
            .field("directory_ca_file", &self.directory_ca_file)
            .field(
                "directory_client_cert_file",
                &self.directory_client_cert_file,
            )
            .field("directory_client_key_file", &self.directory_client_key_file)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn defaults_clamping_and_redaction() {
        let config = Config::try_parse_from([
            "scim-gateway",
            "--directory-credential",
            "s3cret",
            "--token-cache-ttl-ms",
            "60000",
            "--public-url",
            "https://scim.example.com/",
        ])
        .unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.directory_url, "http://127.0.0.1:50051");
        assert_eq!(config.max_body_bytes, 1_048_576);
        assert_eq!(
            config.bulk_limits(),
            BulkLimits {
                max_operations: 1000,
                max_payload_bytes: 1_048_576
            }
        );
        // a local cap only; the directory's `cache_for_millis` bounds every entry
        assert_eq!(config.token_cache_ttl().as_millis(), 60000);
        // Seed 003: 100 per second per token, a burst well under one second's worth.
        assert_eq!(config.rate_limit_per_token, 100);
        assert!(config.rate_limit_burst <= config.rate_limit_per_token);
        assert!(config.request_timeout_secs < 30);
        assert_eq!(
            config.public_origin().as_deref(),
            Some("https://scim.example.com")
        );
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    #[tokio::test]
    async fn tls_needs_both_files() {
        let base = ["scim-gateway", "--directory-credential", "c"];
        let only_cert = Config::try_parse_from(base.iter().chain(&["--tls-cert-file", "tls.crt"]));
        assert!(only_cert.is_err());
        let both = Config::try_parse_from(base.iter().chain(&[
            "--tls-cert-file",
            "tls.crt",
            "--tls-key-file",
            "tls.key",
        ]))
        .unwrap();
        assert_eq!(
            both.tls_key_file.as_deref().and_then(|p| p.to_str()),
            Some("tls.key")
        );
        let missing = crate::Gateway::new(&both);
        assert!(matches!(missing, Err(crate::ServeError::Config(_))));
    }

    #[test]
    fn bulk_limits_are_configurable() {
        let config = Config::try_parse_from([
            "scim-gateway",
            "--directory-credential",
            "c",
            "--bulk-max-operations",
            "5",
            "--bulk-max-payload-bytes",
            "2048",
        ])
        .unwrap();
        assert_eq!(
            config.bulk_limits(),
            BulkLimits {
                max_operations: 5,
                max_payload_bytes: 2048
            }
        );
    }
}

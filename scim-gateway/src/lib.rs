//! The SCIM 2.0 gateway: a thin HTTP/1.1 server that authenticates bearer tokens,
//! translates SCIM JSON, filters and PATCH into typed `directory.v1` RPCs, and shapes SCIM
//! responses and errors.
//!
//! **Architecture invariant:** this is the only crate that knows SCIM JSON (module
//! [`scim`]); it holds no business rules — uniqueness, references and the like are the
//! directory's. The workspace always comes from the token, never from the URL.

pub mod admin;
pub mod config;
mod directory;
mod http;
pub mod request_log;
pub mod scim;
pub mod telemetry;
mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub use config::Config;
pub use directory::DirectoryClientError;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Directory(#[from] DirectoryClientError),
    #[error("serving HTTP")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Config(String),
}

/// A configured gateway, not yet serving. Building it validates the configuration without
/// contacting the directory (the connection is made lazily, on the first call).
pub struct Gateway {
    state: Arc<http::AppState>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    events: directory::EventsClient,
}

impl Gateway {
    /// Must be called inside a tokio runtime.
    pub fn new(config: &Config) -> Result<Gateway, ServeError> {
        if let Some(tls) = config.directory_tls().map_err(ServeError::Config)? {
            directory::use_tls(tls);
        }
        let directory =
            directory::connect_lazy(&config.directory_url, &config.directory_credential)?;
        let directory_health = directory::connect_health_lazy(&config.directory_url)?;
        let rate_limiter = http::TokenRateLimiter::new(
            http::RateLimitSettings {
                per_second: config.rate_limit_per_token,
                burst: config.rate_limit_burst,
                replicas: config.replicas,
            },
            config
                .redis_url
                .as_deref()
                .filter(|url| !url.trim().is_empty()),
        )
        .map_err(ServeError::Config)?;
        let request_timeout = Duration::from_secs(config.request_timeout_secs.max(1));
        let limits = http::ServerLimits {
            max_connections: config.max_connections.max(1),
            body_read_timeout: Duration::from_secs(config.body_read_timeout_secs.max(1)),
            request_timeout,
            // A connection may wait on a request as long as the request may take.
            io_timeout: Duration::from_secs(config.io_timeout_secs.max(1))
                .max(request_timeout + Duration::from_secs(1)),
            shutdown_grace: Duration::from_secs(config.shutdown_grace_secs),
        };
        let tls = match (&config.tls_cert_file, &config.tls_key_file) {
            (Some(cert), Some(key)) => Some(tls::acceptor(cert, key).map_err(ServeError::Config)?),
            _ => None,
        };
        let events =
            directory::connect_events_lazy(&config.directory_url, &config.directory_credential)?;
        let mut state = http::AppState::new(
            directory,
            directory::connect_group_members_lazy(
                &config.directory_url,
                &config.directory_credential,
            )?,
            directory_health,
            config.token_cache_ttl(),
            config.public_origin(),
            config.max_body_bytes,
            config.bulk_limits(),
            rate_limiter,
            limits,
            if tls.is_some() { "https" } else { "http" },
        )
        .with_auth_limit(http::auth_limit::AuthLimitSettings {
            failures_per_minute: config.auth_failures_per_minute,
            burst: config.auth_failure_burst,
        });
        if config.request_log {
            let client = directory::connect_request_log_lazy(
                &config.directory_url,
                &config.directory_credential,
            )?;
            state.request_log =
                request_log::RequestLogger::start(client, config.request_log_settings());
        }
        let _ = http::auth::TRUSTED_PROXIES.set(config.trusted_proxies.clone());
        let _ = http::oauth::TOKEN_ENDPOINT.set((
            directory::connect_oauth_lazy(&config.directory_url, &config.directory_credential)?,
            config.oauth_token_lifetime_secs,
        ));
        Ok(Gateway {
            events,
            tls: tls.clone(),
            state: Arc::new(state),
        })
    }

    /// Serves `listener` until `shutdown` resolves, then drains in-flight requests.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> Result<(), ServeError> {
        // Revoked tokens leave every replica's cache at once (the TTL stays the fallback).
        let follower = tokio::spawn(http::auth::follow_revocations(
            self.state.clone(),
            self.events,
        ));
        let served = http::serve_connections(listener, self.state, self.tls, shutdown).await;
        follower.abort();
        served?;
        Ok(())
    }
}

/// [`Gateway::new`] then [`Gateway::serve`].
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    Gateway::new(&config)?.serve(listener, shutdown).await
}

//! The SCIM 2.0 gateway: a thin HTTP/1.1 server that authenticates bearer tokens,
//! translates SCIM JSON, filters and PATCH into typed `directory.v1` RPCs, and shapes SCIM
//! responses and errors.
//!
//! **Architecture invariant:** this is the only crate that knows SCIM JSON (module
//! [`scim`]); it holds no business rules — uniqueness, references and the like are the
//! directory's. The workspace always comes from the token, never from the URL.

pub mod config;
mod directory;
mod http;
pub mod scim;
pub mod telemetry;

use std::future::Future;
use std::sync::Arc;

pub use config::Config;
pub use directory::DirectoryClientError;
use tokio::net::TcpListener;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Directory(#[from] DirectoryClientError),
    #[error("serving HTTP")]
    Io(#[from] std::io::Error),
}

/// A configured gateway, not yet serving. Building it validates the configuration without
/// contacting the directory (the connection is made lazily, on the first call).
pub struct Gateway {
    state: Arc<http::AppState>,
    events: directory::EventsClient,
}

impl Gateway {
    /// Must be called inside a tokio runtime.
    pub fn new(config: &Config) -> Result<Gateway, ServeError> {
        let directory =
            directory::connect_lazy(&config.directory_url, &config.directory_credential)?;
        let events =
            directory::connect_events_lazy(&config.directory_url, &config.directory_credential)?;
        Ok(Gateway {
            events,
            state: Arc::new(http::AppState::new(
                directory,
                config.token_cache_ttl(),
                config.public_origin(),
                config.max_body_bytes,
                config.bulk_limits(),
                (config.rate_limit_per_token, config.rate_limit_burst),
            )),
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
        let served = http::serve_connections(listener, self.state, shutdown).await;
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

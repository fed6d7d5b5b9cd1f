//! The gRPC client to the directory: lazily connected, with an interceptor that adds the
//! service credential and the current W3C trace context to every call.

use std::time::Duration;

use directory_proto::v1::{events_client, group_members_client, request_log_client};
use directory_proto::{ACTOR_TOKEN_METADATA_KEY, CREDENTIAL_METADATA_KEY};
use opentelemetry::global;
use opentelemetry::propagation::Injector;
use tonic::metadata::{AsciiMetadataValue, MetadataKey, MetadataMap};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The clients of every directory service, over one channel.
pub type DirectoryClient = directory_proto::DirectoryClient<DirectoryInterceptor>;

/// How long establishing the HTTP/2 connection may take before a call fails (UNAVAILABLE).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Upper bound for one RPC (Okta gives up on the whole request after 60 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// TLS towards the directory (its CA, and the client certificate for mutual TLS), set once
/// at start by [`use_tls`]; unset: plaintext h2c.
static TLS: std::sync::OnceLock<tonic::transport::ClientTlsConfig> = std::sync::OnceLock::new();

/// Makes every directory connection use TLS with these settings (call before connecting).
pub fn use_tls(config: tonic::transport::ClientTlsConfig) {
    let _ = TLS.set(config);
}

fn endpoint(url: &str) -> Result<Endpoint, DirectoryClientError> {
    let endpoint =
        Endpoint::from_shared(url.to_owned()).map_err(|source| DirectoryClientError::Url {
            url: url.to_owned(),
            source,
        })?;
    match TLS.get() {
        Some(tls) => endpoint
            .tls_config(tls.clone())
            .map_err(|source| DirectoryClientError::Url {
                url: url.to_owned(),
                source,
            }),
        None => Ok(endpoint),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryClientError {
    #[error("invalid directory URL '{url}'")]
    Url {
        url: String,
        #[source]
        source: tonic::transport::Error,
    },
    #[error("the directory credential is not a valid gRPC metadata value (visible ASCII only)")]
    Credential,
}

/// A lazily connected channel (TLS when configured) and the interceptor carrying
/// `credential`. `per_call_timeout`: false for long-lived streams.
fn lazy_channel(
    url: &str,
    credential: &str,
    per_call_timeout: bool,
) -> Result<(Channel, DirectoryInterceptor), DirectoryClientError> {
    let credential =
        AsciiMetadataValue::try_from(credential).map_err(|_| DirectoryClientError::Credential)?;
    let mut endpoint = endpoint(url)?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    if per_call_timeout {
        endpoint = endpoint.timeout(REQUEST_TIMEOUT);
    }
    Ok((endpoint.connect_lazy(), DirectoryInterceptor { credential }))
}

/// Builds the client without connecting: the gateway starts even when the directory is
/// down, and calls fail with UNAVAILABLE (→ 503) until it is back.
pub fn connect_lazy(url: &str, credential: &str) -> Result<DirectoryClient, DirectoryClientError> {
    let (channel, interceptor) = lazy_channel(url, credential, true)?;
    Ok(directory_proto::DirectoryClient::with_interceptor(
        channel,
        interceptor,
    ))
}

/// A separate lazily connected channel for `/readyz`'s health checks (no credential:
/// health is open to probes).
pub fn connect_health_lazy(
    url: &str,
) -> Result<tonic_health::pb::health_client::HealthClient<Channel>, DirectoryClientError> {
    let endpoint = endpoint(url)?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    Ok(tonic_health::pb::health_client::HealthClient::new(
        endpoint.connect_lazy(),
    ))
}

tokio::task_local! {
    /// The id of the SCIM token that authenticated the request being served: set by
    /// authentication, sent with every directory call so that events name their actor.
    static ACTOR_TOKEN: std::cell::RefCell<Option<AsciiMetadataValue>>;
}

/// Runs one request with an empty actor slot that [`set_actor_token`] fills.
pub async fn with_actor<F: std::future::Future>(request: F) -> F::Output {
    ACTOR_TOKEN
        .scope(std::cell::RefCell::new(None), request)
        .await
}

/// Records the authenticated token's id (an id, never the token) for this request.
pub fn set_actor_token(token_id: &str) {
    crate::request_log::note_token_id(token_id);
    if let Ok(value) = AsciiMetadataValue::try_from(token_id) {
        let _ = ACTOR_TOKEN.try_with(|slot| *slot.borrow_mut() = Some(value));
    }
}

pub type EventsClient =
    events_client::EventsClient<InterceptedService<Channel, DirectoryInterceptor>>;

/// The Events client for the token revocation feed: a long-lived stream, so without the
/// per-call timeout.
pub fn connect_events_lazy(
    url: &str,
    credential: &str,
) -> Result<EventsClient, DirectoryClientError> {
    let (channel, interceptor) = lazy_channel(url, credential, false)?;
    Ok(events_client::EventsClient::with_interceptor(
        channel,
        interceptor,
    ))
}

pub type RequestLogClient =
    request_log_client::RequestLogClient<InterceptedService<Channel, DirectoryInterceptor>>;

/// The RequestLog client the request log's sender task uses (its own lazy channel).
pub fn connect_request_log_lazy(
    url: &str,
    credential: &str,
) -> Result<RequestLogClient, DirectoryClientError> {
    let (channel, interceptor) = lazy_channel(url, credential, true)?;
    Ok(
        request_log_client::RequestLogClient::with_interceptor(channel, interceptor)
            .max_encoding_message_size(directory_proto::MAX_MESSAGE_BYTES),
    )
}

pub type GroupMembersClient =
    group_members_client::GroupMembersClient<InterceptedService<Channel, DirectoryInterceptor>>;

/// The client of the streamed group read, on a connection of its own: a large group's
/// stream never shares HTTP/2 flow control with the request path's calls. Its messages are
/// pages of members, so tonic's default message limit is plenty.
pub fn connect_group_members_lazy(
    url: &str,
    credential: &str,
) -> Result<GroupMembersClient, DirectoryClientError> {
    let (channel, interceptor) = lazy_channel(url, credential, false)?;
    Ok(group_members_client::GroupMembersClient::with_interceptor(
        channel,
        interceptor,
    ))
}

/// The OAuthClients service (the token endpoint's client credentials exchange).
pub type OAuthClient = directory_proto::v1::o_auth_clients_client::OAuthClientsClient<
    InterceptedService<Channel, DirectoryInterceptor>,
>;

pub fn connect_oauth_lazy(
    url: &str,
    credential: &str,
) -> Result<OAuthClient, DirectoryClientError> {
    let (channel, interceptor) = lazy_channel(url, credential, true)?;
    Ok(
        directory_proto::v1::o_auth_clients_client::OAuthClientsClient::with_interceptor(
            channel,
            interceptor,
        ),
    )
}

#[derive(Clone)]
pub struct DirectoryInterceptor {
    credential: AsciiMetadataValue,
}

impl Interceptor for DirectoryInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        request
            .metadata_mut()
            .insert(CREDENTIAL_METADATA_KEY, self.credential.clone());
        if let Ok(Some(token_id)) = ACTOR_TOKEN.try_with(|slot| slot.borrow().clone()) {
            request
                .metadata_mut()
                .insert(ACTOR_TOKEN_METADATA_KEY, token_id);
        }
        let context = tracing::Span::current().context();
        global::get_text_map_propagator(|propagator| {
            propagator.inject_context(&context, &mut MetadataInjector(request.metadata_mut()))
        });
        Ok(request)
    }
}

/// `MetadataMap` exposes no `&mut HeaderMap`, so the propagator writes through this.
struct MetadataInjector<'a>(&'a mut MetadataMap);

impl Injector for MetadataInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(key), Ok(value)) = (
            MetadataKey::from_bytes(key.as_bytes()),
            AsciiMetadataValue::try_from(value),
        ) {
            self.0.insert(key, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn rejects_bad_configuration_and_adds_the_credential() {
        assert!(matches!(
            connect_lazy("not a url", "c"),
            Err(DirectoryClientError::Url { .. })
        ));
        assert!(matches!(
            connect_lazy("http://127.0.0.1:1", "bad\ncredential"),
            Err(DirectoryClientError::Credential)
        ));
        assert!(connect_lazy("http://127.0.0.1:1", "good").is_ok());

        let mut interceptor = DirectoryInterceptor {
            credential: AsciiMetadataValue::from_static("s3cret"),
        };
        let request = interceptor.call(tonic::Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get(CREDENTIAL_METADATA_KEY).unwrap(),
            "s3cret"
        );
    }
}

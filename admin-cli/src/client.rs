//! The connection to the directory: one channel, the credential on every RPC, and RPC
//! errors that keep the gRPC code and the `ErrorInfo` reason for the user.

use std::fmt;
use std::time::Duration;

use anyhow::Context as _;
use directory_proto::v1::events_client::EventsClient;
use directory_proto::v1::request_log_client::RequestLogClient;
use directory_proto::{ACTOR_METADATA_KEY, CREDENTIAL_METADATA_KEY};
use tonic::metadata::AsciiMetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt as _;

/// A directory client that sends the service credential with every call.
pub type Client = directory_proto::DirectoryClient<CredentialInterceptor>;

/// The Events service (event stream, audit log, webhooks) over the same connection.
pub type Events = EventsClient<InterceptedService<Channel, CredentialInterceptor>>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Adds `x-directory-credential` to every request (nothing when no credential is given:
/// the directory then answers UNAUTHENTICATED, which the error message explains).
#[derive(Clone)]
pub struct CredentialInterceptor {
    credential: Option<AsciiMetadataValue>,
}

impl CredentialInterceptor {
    pub fn new(credential: Option<&str>) -> anyhow::Result<Self> {
        let credential = credential
            .map(|raw| {
                let mut value = AsciiMetadataValue::try_from(raw).map_err(|_| {
                    anyhow::anyhow!(
                        "the credential contains characters that cannot be sent in gRPC metadata (printable ASCII only)"
                    )
                })?;
                value.set_sensitive(true);
                Ok::<_, anyhow::Error>(value)
            })
            .transpose()?;
        Ok(Self { credential })
    }
}

impl tonic::service::Interceptor for CredentialInterceptor {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(credential) = &self.credential {
            request
                .metadata_mut()
                .insert(CREDENTIAL_METADATA_KEY, credential.clone());
        }
        // Changes made with scimctl are audited as such.
        request.metadata_mut().insert(
            ACTOR_METADATA_KEY,
            AsciiMetadataValue::from_static("scimctl"),
        );
        Ok(request)
    }
}

static TLS: std::sync::OnceLock<tonic::transport::ClientTlsConfig> = std::sync::OnceLock::new();

/// TLS towards the directory from the CA and client certificate files, when given.
pub fn use_tls(
    ca: Option<&std::path::Path>,
    cert: Option<&std::path::Path>,
    key: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity};
    if ca.is_none() && cert.is_none() {
        return Ok(());
    }
    let read = |path: &std::path::Path| {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))
    };
    let mut tls = ClientTlsConfig::new();
    if let Some(ca) = ca {
        tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
    }
    match (cert, key) {
        (Some(cert), Some(key)) => tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?)),
        (None, None) => {}
        _ => anyhow::bail!("--client-cert-file and --client-key-file go together"),
    }
    let _ = TLS.set(tls);
    Ok(())
}

/// The directory's endpoint, with TLS when configured.
pub fn endpoint(url: &str) -> anyhow::Result<Endpoint> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("invalid directory url {url:?}"))?;
    Ok(match TLS.get() {
        Some(tls) => endpoint
            .tls_config(tls.clone())
            .with_context(|| format!("TLS settings for {url:?}"))?,
        None => endpoint,
    })
}

/// Connects eagerly, so an unreachable directory is reported before any RPC.
pub async fn connect(url: &str, credential: Option<&str>) -> anyhow::Result<Client> {
    Ok(connect_with_events(url, credential).await?.0)
}

/// The Directory and the Events clients over one connection.
pub async fn connect_with_events(
    url: &str,
    credential: Option<&str>,
) -> anyhow::Result<(Client, Events)> {
    let interceptor = CredentialInterceptor::new(credential)?;
    let endpoint = endpoint(url)?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT);
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("cannot connect to the directory at {url}"))?;
    Ok((
        directory_proto::DirectoryClient::with_interceptor(channel.clone(), interceptor.clone()),
        EventsClient::with_interceptor(channel, interceptor),
    ))
}

/// The RequestLog service (what the gateways recorded).
pub type RequestLog = RequestLogClient<InterceptedService<Channel, CredentialInterceptor>>;

/// A RequestLog client on its own connection.
pub async fn connect_request_log(
    url: &str,
    credential: Option<&str>,
) -> anyhow::Result<RequestLog> {
    let (channel, interceptor) = connect_channel(url, credential).await?;
    Ok(RequestLogClient::with_interceptor(channel, interceptor)
        .max_decoding_message_size(directory_proto::MAX_MESSAGE_BYTES))
}

/// The Credentials service (service credentials of the directory's callers).
pub type Credentials = directory_proto::v1::credentials_client::CredentialsClient<
    InterceptedService<Channel, CredentialInterceptor>,
>;

/// An eagerly connected channel to the directory (TLS when configured) and the
/// interceptor for it.
pub async fn connect_channel(
    url: &str,
    credential: Option<&str>,
) -> anyhow::Result<(Channel, CredentialInterceptor)> {
    let interceptor = CredentialInterceptor::new(credential)?;
    let channel = endpoint(url)?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .connect()
        .await
        .with_context(|| format!("cannot connect to the directory at {url}"))?;
    Ok((channel, interceptor))
}

/// The OAuthClients service.
pub type OAuthClients = directory_proto::v1::o_auth_clients_client::OAuthClientsClient<
    InterceptedService<Channel, CredentialInterceptor>,
>;

/// The TokenRotation service.
pub type TokenRotation = directory_proto::v1::token_rotation_client::TokenRotationClient<
    InterceptedService<Channel, CredentialInterceptor>,
>;

pub async fn connect_credentials(
    url: &str,
    credential: Option<&str>,
) -> anyhow::Result<Credentials> {
    let (channel, interceptor) = connect_channel(url, credential).await?;
    Ok(
        directory_proto::v1::credentials_client::CredentialsClient::with_interceptor(
            channel,
            interceptor,
        ),
    )
}

/// A failed RPC. Displays as `<message> (grpc status NOT_FOUND, reason NOT_FOUND)`.
#[derive(Debug)]
pub struct RpcError {
    status: tonic::Status,
}

impl RpcError {
    pub fn code(&self) -> tonic::Code {
        self.status.code()
    }

    /// `google.rpc.ErrorInfo.reason`, when the directory attached one.
    pub fn reason(&self) -> Option<String> {
        self.status
            .get_details_error_info()
            .map(|info| info.reason)
            .filter(|reason| !reason.is_empty())
    }
}

impl From<tonic::Status> for RpcError {
    fn from(status: tonic::Status) -> Self {
        Self { status }
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = match self.status.message() {
            "" => self.status.code().description(),
            message => message,
        };
        write!(f, "{message} (grpc status {}", code_name(self.code()))?;
        if let Some(reason) = self.reason() {
            write!(f, ", reason {reason}")?;
        }
        write!(f, ")")
    }
}

impl std::error::Error for RpcError {}

/// The canonical gRPC code names (as in `google.rpc.Code`).
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// Shorthand for turning a tonic result into an anyhow result with context.
pub trait RpcResultExt<T> {
    /// `what` names the operation, e.g. `create workspace "acme"`.
    fn rpc_context(self, what: impl FnOnce() -> String) -> anyhow::Result<T>;
}

impl<T> RpcResultExt<T> for Result<tonic::Response<T>, tonic::Status> {
    fn rpc_context(self, what: impl FnOnce() -> String) -> anyhow::Result<T> {
        self.map(tonic::Response::into_inner)
            .map_err(RpcError::from)
            .with_context(what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::service::Interceptor as _;
    use tonic_types::ErrorDetails;

    #[test]
    fn interceptor_sends_the_credential_as_metadata() {
        let mut interceptor = CredentialInterceptor::new(Some("s3cret")).unwrap();
        let request = interceptor.call(tonic::Request::new(())).unwrap();
        assert_eq!(
            request.metadata().get("x-directory-credential").unwrap(),
            "s3cret"
        );
        assert_eq!(
            request.metadata().get("x-directory-actor").unwrap(),
            "scimctl"
        );
    }

    #[test]
    fn interceptor_without_credential_sends_nothing() {
        let mut interceptor = CredentialInterceptor::new(None).unwrap();
        let request = interceptor.call(tonic::Request::new(())).unwrap();
        assert!(request.metadata().get(CREDENTIAL_METADATA_KEY).is_none());
    }

    #[test]
    fn credential_with_newline_is_rejected() {
        assert!(CredentialInterceptor::new(Some("a\nb")).is_err());
    }

    #[test]
    fn rpc_error_shows_message_code_and_reason() {
        let status = tonic::Status::with_error_details(
            tonic::Code::AlreadyExists,
            "user name already taken",
            ErrorDetails::with_error_info("UNIQUENESS", "directory.v1", []),
        );
        let error = RpcError::from(status);
        assert_eq!(error.code(), tonic::Code::AlreadyExists);
        assert_eq!(error.reason().as_deref(), Some("UNIQUENESS"));
        assert_eq!(
            error.to_string(),
            "user name already taken (grpc status ALREADY_EXISTS, reason UNIQUENESS)"
        );
    }

    #[test]
    fn rpc_error_without_details_or_message_uses_code_description() {
        let error = RpcError::from(tonic::Status::new(tonic::Code::NotFound, ""));
        assert_eq!(error.reason(), None);
        assert_eq!(
            error.to_string(),
            "Some requested entity was not found (grpc status NOT_FOUND)"
        );
    }

    #[test]
    fn rpc_context_prefixes_the_operation() {
        let result: Result<tonic::Response<()>, _> =
            Err(tonic::Status::permission_denied("wrong workspace"));
        let error = result.rpc_context(|| "list tokens".to_owned()).unwrap_err();
        assert_eq!(
            format!("{error:#}"),
            "list tokens: wrong workspace (grpc status PERMISSION_DENIED)"
        );
        assert_eq!(
            error.downcast_ref::<RpcError>().unwrap().code(),
            tonic::Code::PermissionDenied
        );
    }
}

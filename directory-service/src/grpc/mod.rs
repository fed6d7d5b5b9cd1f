//! The tonic server: credential check, tracing, health, reflection, and one service per
//! aggregate (a module each), whose handlers only convert and delegate to `ops`.

pub mod access;
mod attributes;
pub mod convert;
pub mod credentials;
pub mod events;
pub mod group_members;
mod groups;
mod licenses;
pub mod oauth;
pub mod rate_limits;
pub mod request_log;
mod roles;
pub mod status;
pub mod token_rotation;
mod tokens;
mod typed;
mod users;
mod workspaces;

use std::future::Future;

use directory_proto::v1::credentials_server::CredentialsServer;
use directory_proto::v1::group_members_server::GroupMembersServer;
use directory_proto::v1::rate_limits_server::RateLimitsServer;
use directory_proto::v1::request_log_server::RequestLogServer;
use directory_proto::v1::{
    attributes_server::AttributesServer, events_server::EventsServer, groups_server::GroupsServer,
    licenses_server::LicensesServer, roles_server::RolesServer, tokens_server::TokensServer,
    users_server::UsersServer, workspaces_server::WorkspacesServer,
};
use directory_proto::{FILE_DESCRIPTOR_SET, v1 as pb};
use tokio::net::TcpListener;
use tonic::{Response, Status};

use crate::domain::paging::PageRequest;
use crate::domain::workspaces::ScimEndpoint;
use crate::ops;
use crate::store::Db;
use convert::parse_resource_id;
use status::to_status;

/// The state every directory service shares; each service is one `impl` of its generated
/// trait on this struct, in the service's module.
#[derive(Clone)]
pub struct DirectoryService {
    db: Db,
    /// The deployment's public SCIM base URL, if the operator configured one.
    endpoint: Option<ScimEndpoint>,
}

/// How the server runs beside its RPCs.
pub struct ServeOptions {
    /// Between two database pings of the health probe.
    pub health_interval: std::time::Duration,
    /// Time in-flight RPCs get after shutdown begins.
    pub shutdown_grace: std::time::Duration,
    /// The admin HTTP listener (`/metrics`, `/livez`, `/readyz`) and the recorder's handle.
    pub admin: Option<(TcpListener, metrics_exporter_prometheus::PrometheusHandle)>,
    /// The deployment's public SCIM base URL, served by GetScimEndpoint.
    pub endpoint: Option<ScimEndpoint>,
    /// Webhook delivery (the outbox worker).
    pub delivery: crate::delivery::DeliveryConfig,
    /// TLS (and mutual TLS when it names client CAs) on the gRPC port; `None`: h2c.
    pub tls: Option<tonic::transport::ServerTlsConfig>,
    /// A configured credential with the `gateway` role, beside the stored ones.
    pub gateway_credential: Option<String>,
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            health_interval: std::time::Duration::from_secs(1),
            shutdown_grace: std::time::Duration::from_secs(20),
            admin: None,
            endpoint: None,
            delivery: crate::delivery::DeliveryConfig::default(),
            tls: None,
            gateway_credential: None,
        }
    }
}

/// Serves the directory on `listener` until `shutdown` resolves, then reports
/// NOT_SERVING, stops accepting and lets in-flight RPCs finish (up to the grace period).
pub async fn serve(
    listener: TcpListener,
    db: Db,
    credential: String,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    // Live event streams and the delivery worker stop with the server: a stream that
    // never ends would hold the graceful shutdown forever.
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = stopping.send(true);
    });
    let nats_sink =
        crate::nats_sink::spawn(db.clone(), options.delivery.nats.clone(), stopped.clone());
    let worker = crate::delivery::spawn(db.clone(), options.delivery, stopped.clone())?;
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    // `directory.v1.Directory` follows the database: probed once before serving, then
    // every `health_interval`.
    let readiness = std::sync::Arc::new(crate::admin::Readiness::default());
    let up = crate::admin::check_database(&db, &health_reporter, &readiness, None).await;
    let probe = tokio::spawn(crate::admin::watch_database(
        db.clone(),
        health_reporter.clone(),
        readiness.clone(),
        options.health_interval,
        up,
    ));
    let (admin_stop, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    if let Some((admin_listener, handle)) = options.admin {
        tokio::spawn(crate::admin::serve_admin(
            admin_listener,
            handle,
            readiness.clone(),
            async {
                let _ = admin_stopped.await;
            },
        ));
    }
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;
    // Every call but health (which Kubernetes probes call) needs a credential whose role
    // may call the method: `access.rs` checks it before any service sees the request.
    let checker = std::sync::Arc::new(crate::ops::credentials::CredentialChecker::new(
        db.clone(),
        credential,
        options.gateway_credential.clone(),
    ));
    let access = access::AccessLayer::new(checker.clone(), db.clone());
    let oauth_clients = directory_proto::v1::o_auth_clients_server::OAuthClientsServer::new(
        oauth::OAuthClientsService { db: db.clone() },
    );
    let token_rotation = directory_proto::v1::token_rotation_server::TokenRotationServer::new(
        token_rotation::TokenRotationService { db: db.clone() },
    );
    let credentials = CredentialsServer::new(credentials::CredentialsService {
        db: db.clone(),
        checker,
    });
    let events = EventsServer::new(events::EventsService {
        db: db.clone(),
        shutdown: stopped.clone(),
    });
    let group_members =
        GroupMembersServer::new(group_members::GroupMembersService { db: db.clone() });
    let request_log = RequestLogServer::new(request_log::RequestLogService { db: db.clone() })
        .max_decoding_message_size(directory_proto::MAX_MESSAGE_BYTES);
    let rate_limits_service =
        RateLimitsServer::new(rate_limits::RateLimitsService { db: db.clone() });
    let service = DirectoryService {
        db,
        endpoint: options.endpoint.clone(),
    };
    // Every aggregate's service: the contract's message limit, the caller as actor (the
    // credential and its role are checked by the access layer for every service).
    macro_rules! served {
        ($server:ident) => {
            events::WithActor(
                $server::new(service.clone())
                    .max_encoding_message_size(directory_proto::MAX_MESSAGE_BYTES)
                    .max_decoding_message_size(directory_proto::MAX_MESSAGE_BYTES),
            )
        };
    }
    // Shutdown: NOT_SERVING first (probes and clients move away), then tonic stops
    // accepting and drains; `drain_deadline` cuts the drain after the grace period.
    let (begun_tx, begun_rx) = tokio::sync::oneshot::channel::<()>();
    let reporter = health_reporter.clone();
    let shutdown_readiness = readiness.clone();
    let mut stopped_server = stopped.clone();
    let shutdown = async move {
        let _ = stopped_server.wait_for(|s| *s).await;
        crate::admin::begin_shutdown(&reporter, &shutdown_readiness).await;
        tracing::info!("shutting down: draining in-flight RPCs");
        let _ = begun_tx.send(());
    };
    let grace = options.shutdown_grace;
    let drain_deadline = async move {
        if begun_rx.await.is_ok() {
            tokio::time::sleep(grace).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    let mut builder = tonic::transport::Server::builder();
    if let Some(tls) = options.tls.clone() {
        builder = builder.tls_config(tls)?;
    }
    let server = builder
        .trace_fn(crate::telemetry::grpc_request_span)
        .layer(crate::admin::GrpcMetricsLayer)
        .layer(access)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(served!(WorkspacesServer))
        .add_service(served!(UsersServer))
        .add_service(served!(GroupsServer))
        .add_service(served!(AttributesServer))
        .add_service(served!(LicensesServer))
        .add_service(served!(RolesServer))
        .add_service(served!(TokensServer))
        .add_service(events::WithActor(events))
        .add_service(events::WithActor(request_log))
        .add_service(events::WithActor(rate_limits_service))
        .add_service(events::WithActor(group_members))
        .add_service(events::WithActor(credentials))
        .add_service(events::WithActor(token_rotation))
        .add_service(events::WithActor(oauth_clients))
        .serve_with_incoming_shutdown(incoming(listener), shutdown);
    let result = tokio::select! {
        result = server => result.map_err(anyhow::Error::from),
        () = drain_deadline => {
            tracing::warn!("RPCs still running after the grace period: stopping anyway");
            Ok(())
        }
    };
    probe.abort();
    let _ = admin_stop.send(());
    let _ = worker.await;
    if let Some(sink) = nats_sink {
        let _ = sink.await;
    }
    result
}

/// Accepted gRPC connections with `TCP_NODELAY`: without it every response waits on
/// Nagle's algorithm meeting the peer's delayed ACK (~40 ms per request).
fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

type RpcResult<T> = Result<Response<T>, Status>;

impl DirectoryService {
    /// Fills `member_count` of each group (one grouped count for all of them).
    async fn count_members(&self, groups: &mut [pb::Group]) -> Result<(), Status> {
        let ids = groups
            .iter()
            .map(|group| parse_resource_id("group", &group.id))
            .collect::<Result<Vec<_>, _>>()?;
        let counts = ops::groups::member_counts(&self.db, &ids)
            .await
            .map_err(to_status)?;
        for (group, id) in groups.iter_mut().zip(ids) {
            group.member_count = Some(counts.get(&id).copied().unwrap_or(0) as i64);
        }
        Ok(())
    }
}

/// Cursor paging when the request carries a cursor (even empty), index paging otherwise.
fn page_request(
    cursor: Option<&str>,
    start_index: i64,
    count: Option<i64>,
) -> Result<PageRequest, Status> {
    match cursor {
        Some(cursor) => PageRequest::cursor(cursor, count).map_err(to_status),
        None => Ok(PageRequest::index(start_index, count)),
    }
}

fn reply<T, U>(
    result: Result<T, crate::domain::DomainError>,
    into: impl FnOnce(T) -> U,
) -> RpcResult<U> {
    result.map(|v| Response::new(into(v))).map_err(to_status)
}

#[cfg(test)]
mod tests {
    use tokio_stream::StreamExt as _;

    /// Regression: the directory once served without TCP_NODELAY and every request
    /// through the gateway stalled ~40 ms.
    #[tokio::test]
    async fn accepted_grpc_connections_have_nodelay() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut incoming = super::incoming(listener);
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let accepted = incoming.next().await.unwrap().unwrap();
        assert!(
            accepted.nodelay().unwrap(),
            "accepted socket lacks TCP_NODELAY"
        );
    }
}

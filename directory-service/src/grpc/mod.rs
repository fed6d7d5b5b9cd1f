//! The tonic server: credential check, tracing, health, reflection, and the Directory
//! service whose handlers only convert and delegate to `ops`.

pub mod access;
pub mod convert;
pub mod credentials;
pub mod events;
pub mod oauth;
pub mod status;
pub mod token_rotation;
mod typed;

use std::future::Future;

use directory_proto::v1::credentials_server::CredentialsServer;
use directory_proto::v1::directory_server::{Directory, DirectoryServer};
use directory_proto::v1::events_server::EventsServer;
use directory_proto::{FILE_DESCRIPTOR_SET, v1 as pb};
use tokio::net::TcpListener;
use tonic::{Request, Response, Status};
use tracing::Instrument as _;

use crate::domain::paging::PageRequest;
use crate::domain::patch::PatchOp;
use crate::domain::workspaces::ScimEndpoint;
use crate::ops;
use crate::store::Db;
use convert::{parse_id, parse_resource_id};
use status::{invalid, to_status};

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
    let directory = DirectoryServer::new(DirectoryService {
        db,
        endpoint: options.endpoint.clone(),
    })
    .max_encoding_message_size(directory_proto::MAX_MESSAGE_BYTES)
    .max_decoding_message_size(directory_proto::MAX_MESSAGE_BYTES);
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
    let server = tonic::transport::Server::builder()
        .trace_fn(crate::telemetry::grpc_request_span)
        .layer(crate::admin::GrpcMetricsLayer)
        .layer(access)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(events::WithActor(directory))
        .add_service(events::WithActor(events))
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

#[tonic::async_trait]
impl Directory for DirectoryService {
    async fn create_workspace(
        &self,
        req: Request<pb::CreateWorkspaceRequest>,
    ) -> RpcResult<pb::Workspace> {
        let req = req.into_inner();
        reply(
            ops::workspaces::create_workspace(&self.db, &req.slug, &req.display_name).await,
            convert::workspace,
        )
    }

    async fn get_workspace(
        &self,
        req: Request<pb::GetWorkspaceRequest>,
    ) -> RpcResult<pb::Workspace> {
        let req = req.into_inner();
        let result = match (req.id.is_empty(), req.slug.is_empty()) {
            (false, true) => {
                let id = parse_resource_id("workspace", &req.id)?;
                ops::workspaces::get_workspace_by_id(&self.db, id).await
            }
            (true, false) => ops::workspaces::get_workspace_by_slug(&self.db, &req.slug).await,
            _ => return Err(invalid("give exactly one of id or slug")),
        };
        reply(result, convert::workspace)
    }

    async fn delete_workspace(
        &self,
        req: Request<pb::DeleteWorkspaceRequest>,
    ) -> RpcResult<pb::DeleteWorkspaceResponse> {
        let req = req.into_inner();
        let id = parse_resource_id("workspace", &req.id)?;
        reply(
            ops::workspaces::delete_workspace(&self.db, id, &req.confirm_slug).await,
            |(workspace, counts)| pb::DeleteWorkspaceResponse {
                workspace: Some(convert::workspace(workspace)),
                users_deleted: counts.users as i64,
                groups_deleted: counts.groups as i64,
                tokens_deleted: counts.tokens as i64,
            },
        )
    }

    async fn get_scim_endpoint(
        &self,
        _req: Request<pb::GetScimEndpointRequest>,
    ) -> RpcResult<pb::ScimEndpoint> {
        match &self.endpoint {
            Some(endpoint) => Ok(Response::new(pb::ScimEndpoint {
                base_url: endpoint.as_str().to_owned(),
            })),
            None => Err(Status::failed_precondition(
                "no public base URL is configured: start the directory with --public-base-url \
                 (DIRECTORY_PUBLIC_BASE_URL), e.g. https://scim.example.com",
            )),
        }
    }

    async fn list_workspaces(
        &self,
        _req: Request<pb::ListWorkspacesRequest>,
    ) -> RpcResult<pb::ListWorkspacesResponse> {
        reply(ops::workspaces::list_workspaces(&self.db).await, |list| {
            pb::ListWorkspacesResponse {
                workspaces: list.into_iter().map(convert::workspace).collect(),
            }
        })
    }

    async fn create_user(&self, req: Request<pb::CreateUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let profile = convert::profile_from_pb(req.attributes)?;
        reply(
            ops::users::create_user(&self.db, workspace_id, profile).await,
            convert::user,
        )
    }

    async fn get_user(&self, req: Request<pb::GetUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        reply(
            ops::users::get_user(&self.db, workspace_id, id).await,
            convert::user,
        )
    }

    async fn list_users(
        &self,
        req: Request<pb::ListUsersRequest>,
    ) -> RpcResult<pb::ListUsersResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let filter = req.filter.map(convert::filter_from_pb).transpose()?;
        let sort = convert::sort_from_pb(req.sort);
        let result = ops::users::list_users(
            &self.db,
            workspace_id,
            filter.as_ref(),
            sort.as_ref(),
            page_request(req.cursor.as_deref(), req.start_index, req.count)?,
        )
        .instrument(tracing::info_span!("list_users"))
        .await;
        reply(result, |page| pb::ListUsersResponse {
            users: page.users.into_iter().map(convert::user).collect(),
            total_results: page.total_results as i64,
            start_index: page.start_index as i64,
            next_cursor: page.next_cursor.unwrap_or_default(),
        })
    }

    async fn replace_user(&self, req: Request<pb::ReplaceUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        let profile = convert::profile_from_pb(req.attributes)?;
        reply(
            ops::users::replace_user(&self.db, workspace_id, id, profile, req.expected_version)
                .await,
            convert::user,
        )
    }

    async fn patch_user(&self, req: Request<pb::PatchUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        let operations = req
            .operations
            .into_iter()
            .map(convert::patch_from_pb)
            .collect::<Result<Vec<_>, _>>()?;
        reply(
            ops::users::patch_user(
                &self.db,
                workspace_id,
                id,
                &operations,
                req.expected_version,
            )
            .await,
            convert::user,
        )
    }

    async fn delete_user(
        &self,
        req: Request<pb::DeleteUserRequest>,
    ) -> RpcResult<pb::DeleteUserResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        reply(
            ops::users::delete_user(&self.db, workspace_id, id, req.expected_version).await,
            |()| pb::DeleteUserResponse {},
        )
    }

    async fn import_users(
        &self,
        req: Request<pb::ImportUsersRequest>,
    ) -> RpcResult<pb::ImportUsersResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let profiles = req
            .users
            .into_iter()
            .map(|attributes| convert::profile_from_pb(Some(attributes)))
            .collect::<Result<Vec<_>, _>>()?;
        reply(
            ops::users::import_users(&self.db, workspace_id, profiles).await,
            |rows| {
                let mut response = pb::ImportUsersResponse::default();
                for (user_name, outcome) in rows {
                    let (id, outcome, error) = match outcome {
                        ops::users::ImportOutcome::Created(id) => {
                            response.created += 1;
                            (id.to_string(), pb::ImportOutcome::Created, String::new())
                        }
                        ops::users::ImportOutcome::Existing(id) => {
                            response.existing += 1;
                            (id.to_string(), pb::ImportOutcome::Existing, String::new())
                        }
                        ops::users::ImportOutcome::Failed(error) => {
                            response.failed += 1;
                            (String::new(), pb::ImportOutcome::Failed, error.to_string())
                        }
                    };
                    response.results.push(pb::ImportResult {
                        user_name,
                        id,
                        outcome: outcome as i32,
                        error,
                    });
                }
                response
            },
        )
    }

    async fn create_group(&self, req: Request<pb::CreateGroupRequest>) -> RpcResult<pb::Group> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let (profile, members) = convert::group_from_pb(req.attributes)?;
        reply(
            ops::groups::create_group(&self.db, workspace_id, profile, &members).await,
            convert::group,
        )
    }

    async fn get_group(&self, req: Request<pb::GetGroupRequest>) -> RpcResult<pb::Group> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("group", &req.id)?;
        let mut group = ops::groups::get_group(&self.db, workspace_id, id, !req.exclude_members)
            .await
            .map(convert::group)
            .map_err(to_status)?;
        if req.include_member_count {
            self.count_members(std::slice::from_mut(&mut group)).await?;
        }
        Ok(Response::new(group))
    }

    async fn list_groups(
        &self,
        req: Request<pb::ListGroupsRequest>,
    ) -> RpcResult<pb::ListGroupsResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let filter = req.filter.map(convert::filter_from_pb).transpose()?;
        let sort = convert::sort_from_pb(req.sort);
        let result = ops::groups::list_groups(
            &self.db,
            workspace_id,
            filter.as_ref(),
            sort.as_ref(),
            page_request(req.cursor.as_deref(), req.start_index, req.count)?,
            !req.exclude_members,
        )
        .await;
        let mut response = result
            .map(|page| pb::ListGroupsResponse {
                groups: page.groups.into_iter().map(convert::group).collect(),
                total_results: page.total_results as i64,
                start_index: page.start_index as i64,
                next_cursor: page.next_cursor.unwrap_or_default(),
            })
            .map_err(to_status)?;
        if req.include_member_count {
            self.count_members(&mut response.groups).await?;
        }
        Ok(Response::new(response))
    }

    async fn replace_group(&self, req: Request<pb::ReplaceGroupRequest>) -> RpcResult<pb::Group> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("group", &req.id)?;
        let (profile, members) = convert::group_from_pb(req.attributes)?;
        let result = ops::groups::replace_group(
            &self.db,
            workspace_id,
            id,
            profile,
            &members,
            req.expected_version,
            !req.exclude_members,
        )
        .await;
        reply(result, convert::group)
    }

    async fn patch_group(&self, req: Request<pb::PatchGroupRequest>) -> RpcResult<pb::Group> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("group", &req.id)?;
        let operations = req
            .operations
            .into_iter()
            .map(convert::patch_from_pb)
            .collect::<Result<Vec<_>, _>>()?;
        let result = ops::groups::patch_group(
            &self.db,
            workspace_id,
            id,
            &operations,
            req.expected_version,
            !req.exclude_members,
        )
        .await;
        reply(result, convert::group)
    }

    async fn delete_group(
        &self,
        req: Request<pb::DeleteGroupRequest>,
    ) -> RpcResult<pb::DeleteGroupResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("group", &req.id)?;
        reply(
            ops::groups::delete_group(&self.db, workspace_id, id, req.expected_version).await,
            |()| pb::DeleteGroupResponse {},
        )
    }

    async fn declare_custom_attribute(
        &self,
        req: Request<pb::DeclareCustomAttributeRequest>,
    ) -> RpcResult<pb::CustomAttribute> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let attribute = convert::custom_attribute_from_pb(req)?;
        reply(
            ops::custom_attributes::declare_custom_attribute(&self.db, workspace_id, attribute)
                .await,
            |declared| convert::custom_attribute(workspace_id, declared),
        )
    }

    async fn list_custom_attributes(
        &self,
        req: Request<pb::ListCustomAttributesRequest>,
    ) -> RpcResult<pb::ListCustomAttributesResponse> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        reply(
            ops::custom_attributes::list_custom_attributes(&self.db, workspace_id).await,
            |list| pb::ListCustomAttributesResponse {
                attributes: list
                    .into_iter()
                    .map(|a| convert::custom_attribute(workspace_id, a))
                    .collect(),
            },
        )
    }

    async fn delete_custom_attribute(
        &self,
        req: Request<pb::DeleteCustomAttributeRequest>,
    ) -> RpcResult<pb::DeleteCustomAttributeResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        reply(
            ops::custom_attributes::delete_custom_attribute(
                &self.db,
                workspace_id,
                &req.schema,
                &req.name,
            )
            .await,
            |()| pb::DeleteCustomAttributeResponse {},
        )
    }

    async fn create_subscription(
        &self,
        req: Request<pb::CreateSubscriptionRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let subscription = crate::domain::licenses::Subscription {
            subscription_id: req.subscription_id,
            plan: req.plan,
            product: req.product,
            seats: req.seats,
        };
        reply(
            ops::licenses::create_subscription(&self.db, workspace_id, subscription).await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn update_subscription(
        &self,
        req: Request<pb::UpdateSubscriptionRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        reply(
            ops::licenses::update_seats(&self.db, workspace_id, &req.subscription_id, req.seats)
                .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn delete_subscription(
        &self,
        req: Request<pb::DeleteSubscriptionRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        reply(
            ops::licenses::delete_subscription(&self.db, workspace_id, &req.subscription_id).await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn list_subscriptions(
        &self,
        req: Request<pb::ListSubscriptionsRequest>,
    ) -> RpcResult<pb::ListSubscriptionsResponse> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        reply(
            ops::licenses::list_subscriptions(&self.db, workspace_id).await,
            |views| pb::ListSubscriptionsResponse {
                subscriptions: views
                    .into_iter()
                    .map(|v| convert::subscription(workspace_id, v))
                    .collect(),
            },
        )
    }

    async fn assign_license(
        &self,
        req: Request<pb::LicenseRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let user_id = parse_resource_id("user", &req.user_id)?;
        reply(
            ops::licenses::assign_license(&self.db, workspace_id, &req.subscription_id, user_id)
                .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn revoke_license(
        &self,
        req: Request<pb::LicenseRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let user_id = parse_resource_id("user", &req.user_id)?;
        reply(
            ops::licenses::revoke_license(&self.db, workspace_id, &req.subscription_id, user_id)
                .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn list_subscription_holders(
        &self,
        req: Request<pb::ListSubscriptionHoldersRequest>,
    ) -> RpcResult<pb::ListUsersResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let page = PageRequest::index(req.start_index, req.count);
        reply(
            if req.waiting {
                ops::licenses::list_waiting(&self.db, workspace_id, &req.subscription_id, page)
                    .await
            } else {
                ops::licenses::list_holders(&self.db, workspace_id, &req.subscription_id, page)
                    .await
            },
            |(users, total)| pb::ListUsersResponse {
                users: users.into_iter().map(convert::user).collect(),
                total_results: total as i64,
                start_index: page.start_index() as i64,
                next_cursor: String::new(),
            },
        )
    }

    async fn set_member_role(
        &self,
        req: Request<pb::SetMemberRoleRequest>,
    ) -> RpcResult<pb::UserAccess> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let user_id = parse_resource_id("user", &req.user_id)?;
        let role = convert::role_from_pb(req.role)?;
        reply(
            ops::roles::set_member_role(&self.db, workspace_id, user_id, role).await,
            convert::user_access,
        )
    }

    async fn get_user_access(
        &self,
        req: Request<pb::GetUserAccessRequest>,
    ) -> RpcResult<pb::UserAccess> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let user_id = parse_resource_id("user", &req.user_id)?;
        reply(
            ops::roles::get_user_access(&self.db, workspace_id, user_id).await,
            convert::user_access,
        )
    }

    async fn list_workspace_admins(
        &self,
        req: Request<pb::ListWorkspaceAdminsRequest>,
    ) -> RpcResult<pb::ListUsersResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let page = PageRequest::index(req.start_index, req.count);
        reply(
            ops::roles::list_workspace_admins(&self.db, workspace_id, page).await,
            |(users, total)| pb::ListUsersResponse {
                users: users.into_iter().map(convert::user).collect(),
                total_results: total as i64,
                start_index: page.start_index() as i64,
                next_cursor: String::new(),
            },
        )
    }

    async fn set_role_mapping(
        &self,
        req: Request<pb::SetRoleMappingRequest>,
    ) -> RpcResult<pb::ListRoleMappingsResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let mapping = convert::role_mapping_from_pb(req.mapping)?;
        reply(
            ops::roles::set_role_mapping(&self.db, workspace_id, mapping).await,
            convert::role_mappings,
        )
    }

    async fn delete_role_mapping(
        &self,
        req: Request<pb::DeleteRoleMappingRequest>,
    ) -> RpcResult<pb::ListRoleMappingsResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let source = convert::mapping_source_from_pb(req.source)?;
        reply(
            ops::roles::delete_role_mapping(&self.db, workspace_id, source, &req.value).await,
            convert::role_mappings,
        )
    }

    async fn list_role_mappings(
        &self,
        req: Request<pb::ListRoleMappingsRequest>,
    ) -> RpcResult<pb::ListRoleMappingsResponse> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        reply(
            ops::roles::list_role_mappings(&self.db, workspace_id).await,
            convert::role_mappings,
        )
    }

    async fn set_attribute_mapping(
        &self,
        req: Request<pb::SetAttributeMappingRequest>,
    ) -> RpcResult<pb::ListAttributeMappingsResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let mapping = convert::attribute_mapping_from_pb(req.mapping)?;
        reply(
            ops::attribute_mappings::set_attribute_mapping(&self.db, workspace_id, mapping).await,
            convert::attribute_mappings,
        )
    }

    async fn delete_attribute_mapping(
        &self,
        req: Request<pb::DeleteAttributeMappingRequest>,
    ) -> RpcResult<pb::ListAttributeMappingsResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        reply(
            ops::attribute_mappings::delete_attribute_mapping(
                &self.db,
                workspace_id,
                &req.destination,
            )
            .await,
            convert::attribute_mappings,
        )
    }

    async fn list_attribute_mappings(
        &self,
        req: Request<pb::ListAttributeMappingsRequest>,
    ) -> RpcResult<pb::ListAttributeMappingsResponse> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        reply(
            ops::attribute_mappings::list_attribute_mappings(&self.db, workspace_id).await,
            convert::attribute_mappings,
        )
    }

    async fn issue_token(
        &self,
        req: Request<pb::IssueTokenRequest>,
    ) -> RpcResult<pb::IssueTokenResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let expires = req
            .expires
            .as_ref()
            .map(convert::from_timestamp)
            .transpose()?;
        let scope = convert::token_scope_from_pb(req.scope)?;
        reply(
            ops::tokens::issue_token(
                &self.db,
                workspace_id,
                &req.name,
                expires,
                scope,
                &req.allowed_cidrs,
            )
            .await,
            |(token, plaintext)| pb::IssueTokenResponse {
                token: Some(convert::token(token)),
                plaintext,
            },
        )
    }

    async fn list_tokens(
        &self,
        req: Request<pb::ListTokensRequest>,
    ) -> RpcResult<pb::ListTokensResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        reply(
            ops::tokens::list_tokens(&self.db, workspace_id).await,
            |tokens| pb::ListTokensResponse {
                tokens: tokens.into_iter().map(convert::token).collect(),
            },
        )
    }

    async fn revoke_token(&self, req: Request<pb::RevokeTokenRequest>) -> RpcResult<pb::Token> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("token", &req.id)?;
        reply(
            ops::tokens::revoke_token(&self.db, workspace_id, id).await,
            convert::token,
        )
    }

    async fn authenticate_token(
        &self,
        req: Request<pb::AuthenticateTokenRequest>,
    ) -> RpcResult<pb::AuthenticateTokenResponse> {
        let req = req.into_inner();
        reply(
            ops::tokens::authenticate(&self.db, &req.token, req.client_address.parse().ok()).await,
            |auth| pb::AuthenticateTokenResponse {
                workspace_id: auth.workspace_id.to_string(),
                token_id: auth.token_id.to_string(),
                cache_for_millis: auth.cache_for.num_milliseconds(),
            },
        )
    }

    // ---- typed calls for internal services (grpc/typed.rs)

    async fn deactivate_user(&self, req: Request<pb::UserRef>) -> RpcResult<pb::User> {
        typed::set_active(&self.db, req.into_inner(), false).await
    }

    async fn reactivate_user(&self, req: Request<pb::UserRef>) -> RpcResult<pb::User> {
        typed::set_active(&self.db, req.into_inner(), true).await
    }

    async fn update_user_profile(
        &self,
        req: Request<pb::UpdateUserProfileRequest>,
    ) -> RpcResult<pb::User> {
        typed::update_user_profile(&self.db, req.into_inner()).await
    }

    async fn lookup_user(&self, req: Request<pb::LookupUserRequest>) -> RpcResult<pb::User> {
        typed::lookup_user(&self.db, req.into_inner()).await
    }

    async fn describe_user(&self, req: Request<pb::UserRef>) -> RpcResult<pb::UserDescription> {
        typed::describe_user(&self.db, req.into_inner()).await
    }

    async fn add_group_members(
        &self,
        req: Request<pb::GroupMembersRequest>,
    ) -> RpcResult<pb::Group> {
        typed::change_members(&self.db, req.into_inner(), PatchOp::Add).await
    }

    async fn remove_group_members(
        &self,
        req: Request<pb::GroupMembersRequest>,
    ) -> RpcResult<pb::Group> {
        typed::change_members(&self.db, req.into_inner(), PatchOp::Remove).await
    }

    async fn replace_group_members(
        &self,
        req: Request<pb::GroupMembersRequest>,
    ) -> RpcResult<pb::Group> {
        typed::change_members(&self.db, req.into_inner(), PatchOp::Replace).await
    }
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

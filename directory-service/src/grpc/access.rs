//! Who may call what: the one table from every gRPC method (full path) to the roles that
//! may call it, and the tower layer that checks each call's `x-directory-credential`
//! against it before any service sees the request.
//!
//! A method missing from the table is admin-only; a test enumerates every method of every
//! served service from the descriptors and fails when one has no entry.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use directory_proto::CREDENTIAL_METADATA_KEY;
use tonic::Status;

use crate::domain::DomainError;
use crate::domain::credentials::Role::{self, Admin, Gateway, Reader};
use crate::domain::tokens::ScopedResource::{self, Groups, Users};
use crate::ops::credentials::{Caller, CredentialChecker};
use crate::ops::tokens::TokenScopes;
use crate::store::Db;

/// Who may call a method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No credential (health: Kubernetes probes call it).
    Open,
    /// A credential with one of these roles.
    Roles(&'static [Role]),
}

/// SCIM reads the gateway serves, also open to readers.
const SCIM_READ: Access = Access::Roles(&[Gateway, Reader, Admin]);
/// What only the gateway (and admins) do: SCIM writes, token authentication.
const GATEWAY: Access = Access::Roles(&[Gateway, Admin]);
/// Read-only RPCs for internal services.
const READ: Access = Access::Roles(&[Reader, Admin]);
/// Everything else.
const ADMIN: Access = Access::Roles(&[Admin]);

/// The table. Keep it sorted by service, then in the proto's order.
pub const METHOD_ACCESS: &[(&str, Access)] = &[
    ("/grpc.health.v1.Health/Check", Access::Open),
    ("/grpc.health.v1.Health/Watch", Access::Open),
    (
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        SCIM_READ,
    ),
    // workspaces
    ("/directory.v1.Workspaces/CreateWorkspace", ADMIN),
    ("/directory.v1.Workspaces/GetWorkspace", READ),
    ("/directory.v1.Workspaces/ListWorkspaces", READ),
    ("/directory.v1.Workspaces/DeleteWorkspace", ADMIN),
    ("/directory.v1.Workspaces/GetScimEndpoint", READ),
    ("/directory.v1.Workspaces/SetWorkspaceAllowList", ADMIN),
    ("/directory.v1.Workspaces/GetWorkspaceAllowList", READ),
    // users
    ("/directory.v1.Users/CreateUser", GATEWAY),
    ("/directory.v1.Users/GetUser", SCIM_READ),
    ("/directory.v1.Users/ListUsers", SCIM_READ),
    ("/directory.v1.Users/ReplaceUser", GATEWAY),
    ("/directory.v1.Users/PatchUser", GATEWAY),
    ("/directory.v1.Users/DeleteUser", GATEWAY),
    ("/directory.v1.Users/ImportUsers", ADMIN),
    // groups
    ("/directory.v1.Groups/CreateGroup", GATEWAY),
    ("/directory.v1.Groups/GetGroup", SCIM_READ),
    ("/directory.v1.Groups/ListGroups", SCIM_READ),
    ("/directory.v1.Groups/ReplaceGroup", GATEWAY),
    ("/directory.v1.Groups/PatchGroup", GATEWAY),
    ("/directory.v1.Groups/DeleteGroup", GATEWAY),
    // attribute mappings, custom attributes
    ("/directory.v1.Attributes/SetAttributeMapping", ADMIN),
    ("/directory.v1.Attributes/DeleteAttributeMapping", ADMIN),
    ("/directory.v1.Attributes/ListAttributeMappings", READ),
    ("/directory.v1.Attributes/DeclareCustomAttribute", ADMIN),
    ("/directory.v1.Attributes/ListCustomAttributes", SCIM_READ),
    ("/directory.v1.Attributes/DeleteCustomAttribute", ADMIN),
    // subscriptions, licenses
    ("/directory.v1.Licenses/CreateSubscription", ADMIN),
    ("/directory.v1.Licenses/ListSubscriptions", READ),
    ("/directory.v1.Licenses/UpdateSubscription", ADMIN),
    ("/directory.v1.Licenses/DeleteSubscription", ADMIN),
    ("/directory.v1.Licenses/AssignLicense", ADMIN),
    ("/directory.v1.Licenses/RevokeLicense", ADMIN),
    ("/directory.v1.Licenses/ListSubscriptionHolders", READ),
    // roles
    ("/directory.v1.Roles/SetMemberRole", ADMIN),
    ("/directory.v1.Roles/GetUserAccess", READ),
    ("/directory.v1.Roles/ListWorkspaceAdmins", READ),
    ("/directory.v1.Roles/SetRoleMapping", ADMIN),
    ("/directory.v1.Roles/DeleteRoleMapping", ADMIN),
    ("/directory.v1.Roles/ListRoleMappings", READ),
    // tokens
    ("/directory.v1.Tokens/IssueToken", ADMIN),
    ("/directory.v1.Tokens/ListTokens", READ),
    ("/directory.v1.Tokens/RevokeToken", ADMIN),
    ("/directory.v1.Tokens/AuthenticateToken", GATEWAY),
    // typed calls for internal services
    ("/directory.v1.Users/DeactivateUser", ADMIN),
    ("/directory.v1.Users/ReactivateUser", ADMIN),
    ("/directory.v1.Users/UpdateUserProfile", ADMIN),
    ("/directory.v1.Users/LookupUser", READ),
    ("/directory.v1.Users/DescribeUser", READ),
    ("/directory.v1.Groups/AddGroupMembers", ADMIN),
    ("/directory.v1.Groups/RemoveGroupMembers", ADMIN),
    ("/directory.v1.Groups/ReplaceGroupMembers", ADMIN),
    // Events
    ("/directory.v1.Events/ListEvents", READ),
    ("/directory.v1.Events/WatchEvents", READ),
    ("/directory.v1.Events/CreateWebhook", ADMIN),
    ("/directory.v1.Events/ListWebhooks", READ),
    ("/directory.v1.Events/DeleteWebhook", ADMIN),
    ("/directory.v1.Events/SetWebhookEnabled", ADMIN),
    ("/directory.v1.Events/ListWebhookDeliveries", READ),
    ("/directory.v1.Events/WatchRevokedTokens", SCIM_READ),
    // Credentials
    // RateLimits
    ("/directory.v1.RateLimits/SetRateLimit", ADMIN),
    ("/directory.v1.RateLimits/ListRateLimits", READ),
    ("/directory.v1.RateLimits/DeleteRateLimit", ADMIN),
    // RequestLog: the gateway records, readers read
    ("/directory.v1.RequestLog/RecordRequests", GATEWAY),
    ("/directory.v1.RequestLog/ListRequests", READ),
    ("/directory.v1.RequestLog/GetRequest", READ),
    // GroupMembers: the streamed full read of a group
    ("/directory.v1.GroupMembers/StreamGroupMembers", SCIM_READ),
    ("/directory.v1.Credentials/CreateCredential", ADMIN),
    ("/directory.v1.Credentials/ListCredentials", ADMIN),
    ("/directory.v1.Credentials/RevokeCredential", ADMIN),
    // TokenRotation
    ("/directory.v1.TokenRotation/RotateToken", ADMIN),
    // OAuthClients
    ("/directory.v1.OAuthClients/CreateClient", ADMIN),
    ("/directory.v1.OAuthClients/ListClients", READ),
    ("/directory.v1.OAuthClients/RevokeClient", ADMIN),
    ("/directory.v1.OAuthClients/AddClientSecret", ADMIN),
    ("/directory.v1.OAuthClients/RevokeClientSecret", ADMIN),
    (
        "/directory.v1.OAuthClients/ExchangeClientCredentials",
        GATEWAY,
    ),
];

/// The SCIM RPCs a token's scope restricts: (method, resource, writes). A call the gateway
/// makes for a SCIM token (`x-directory-actor-token`) outside that token's scope answers
/// PERMISSION_DENIED (the gateway's 403); every other RPC is outside any scope's reach.
pub const SCOPED_METHODS: &[(&str, ScopedResource, bool)] = &[
    ("/directory.v1.Users/CreateUser", Users, true),
    ("/directory.v1.Users/GetUser", Users, false),
    ("/directory.v1.Users/ListUsers", Users, false),
    ("/directory.v1.Users/ReplaceUser", Users, true),
    ("/directory.v1.Users/PatchUser", Users, true),
    ("/directory.v1.Users/DeleteUser", Users, true),
    ("/directory.v1.Groups/CreateGroup", Groups, true),
    ("/directory.v1.Groups/GetGroup", Groups, false),
    (
        "/directory.v1.GroupMembers/StreamGroupMembers",
        Groups,
        false,
    ),
    ("/directory.v1.Groups/ListGroups", Groups, false),
    ("/directory.v1.Groups/ReplaceGroup", Groups, true),
    ("/directory.v1.Groups/PatchGroup", Groups, true),
    ("/directory.v1.Groups/DeleteGroup", Groups, true),
];

/// Refuses a SCIM RPC made for a token outside its scope.
async fn check_token_scope(
    db: &Db,
    scopes: &TokenScopes,
    path: &str,
    actor_token: Option<&[u8]>,
) -> Result<(), Status> {
    let Some((_, resource, write)) = SCOPED_METHODS.iter().find(|(m, _, _)| *m == path) else {
        return Ok(());
    };
    let Some(token_id) = actor_token
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .and_then(|text| uuid::Uuid::parse_str(text).ok())
    else {
        return Ok(());
    };
    let scope = scopes
        .scope_of(db, token_id)
        .await
        .map_err(super::status::to_status)?;
    if scope.allows(*resource, *write) {
        Ok(())
    } else {
        Err(Status::permission_denied(format!(
            "the token's scope is {}: it may not {} {}",
            scope.as_str(),
            if *write { "write" } else { "read" },
            match resource {
                Users => "users",
                Groups => "groups",
            }
        )))
    }
}

/// Who may call `path`; a method not in the table is admin-only.
pub fn access_of(path: &str) -> Access {
    METHOD_ACCESS
        .iter()
        .find(|(method, _)| *method == path)
        .map_or(ADMIN, |(_, access)| *access)
}

/// Checks one call: Ok with the caller (None for open methods), or the status to answer.
pub async fn authorize(
    checker: &CredentialChecker,
    path: &str,
    presented: Option<&[u8]>,
) -> Result<Option<Caller>, Status> {
    let Access::Roles(roles) = access_of(path) else {
        return Ok(None);
    };
    let presented = presented
        .and_then(|bytes| std::str::from_utf8(bytes).ok())
        .unwrap_or_default();
    let caller = match checker.check(presented).await {
        Ok(caller) => caller,
        Err(DomainError::Unauthenticated) => {
            return Err(Status::unauthenticated(
                "missing or wrong service credential",
            ));
        }
        Err(err) => return Err(super::status::to_status(err)),
    };
    if roles.contains(&caller.role) {
        Ok(Some(caller))
    } else {
        Err(Status::permission_denied(format!(
            "the {} credential may not call {path}",
            caller.role.as_str()
        )))
    }
}

/// The tower layer that runs `authorize` on every request of the server.
#[derive(Clone)]
pub struct AccessLayer {
    checker: Arc<CredentialChecker>,
    db: Db,
    scopes: Arc<TokenScopes>,
}

impl AccessLayer {
    pub fn new(checker: Arc<CredentialChecker>, db: Db) -> Self {
        AccessLayer {
            checker,
            db,
            scopes: Arc::default(),
        }
    }
}

impl<S> tower::Layer<S> for AccessLayer {
    type Service = AccessControl<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessControl {
            inner,
            checker: self.checker.clone(),
            db: self.db.clone(),
            scopes: self.scopes.clone(),
        }
    }
}

#[derive(Clone)]
pub struct AccessControl<S> {
    inner: S,
    checker: Arc<CredentialChecker>,
    db: Db,
    scopes: Arc<TokenScopes>,
}

impl<S, B> tower::Service<http::Request<B>> for AccessControl<S>
where
    S: tower::Service<
            http::Request<B>,
            Response = http::Response<tonic::body::Body>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
{
    type Response = S::Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The service that was polled ready serves this request; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let checker = self.checker.clone();
        let db = self.db.clone();
        let scopes = self.scopes.clone();
        Box::pin(async move {
            let path = request.uri().path().to_owned();
            let presented = request
                .headers()
                .get(CREDENTIAL_METADATA_KEY)
                .map(|v| v.as_bytes().to_vec());
            let actor_token = request
                .headers()
                .get(directory_proto::ACTOR_TOKEN_METADATA_KEY)
                .map(|v| v.as_bytes().to_vec());
            let checked = match authorize(&checker, &path, presented.as_deref()).await {
                Ok(caller) => check_token_scope(&db, &scopes, &path, actor_token.as_deref())
                    .await
                    .map(|()| caller),
                Err(status) => Err(status),
            };
            match checked {
                Ok(caller) => {
                    if let Some(caller) = caller {
                        request.extensions_mut().insert(caller);
                    }
                    inner.call(request).await
                }
                Err(status) => Ok(status.into_http()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use std::collections::BTreeSet;

    /// Every method of every service the directory serves, from the compiled descriptors.
    fn served_methods() -> BTreeSet<String> {
        let sets = [
            directory_proto::FILE_DESCRIPTOR_SET,
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        ];
        let mut methods = BTreeSet::new();
        for bytes in sets {
            let set = prost_types::FileDescriptorSet::decode(bytes).unwrap();
            for file in set.file {
                let package = file.package().to_owned();
                let served = package == "directory.v1"
                    || package == "grpc.health.v1"
                    || package == "grpc.reflection.v1";
                if !served {
                    continue;
                }
                for service in &file.service {
                    for method in &service.method {
                        methods.insert(format!("/{package}.{}/{}", service.name(), method.name()));
                    }
                }
            }
        }
        methods
    }

    #[test]
    fn every_rpc_of_every_service_has_an_entry_and_no_entry_is_stale() {
        let served = served_methods();
        assert!(
            served.len() > 60,
            "descriptors enumerated: {}",
            served.len()
        );
        let table: BTreeSet<String> = METHOD_ACCESS.iter().map(|(m, _)| m.to_string()).collect();
        assert_eq!(table.len(), METHOD_ACCESS.len(), "duplicate entries");
        let missing: Vec<_> = served.difference(&table).collect();
        assert!(
            missing.is_empty(),
            "RPCs without an access entry: {missing:#?}"
        );
        let stale: Vec<_> = table.difference(&served).collect();
        assert!(
            stale.is_empty(),
            "entries for RPCs nobody serves: {stale:#?}"
        );
    }

    #[test]
    fn every_scoped_method_is_in_the_access_table_and_a_gateway_call() {
        for (method, _, _) in SCOPED_METHODS {
            let Access::Roles(roles) = access_of(method) else {
                panic!("{method} open")
            };
            assert!(roles.contains(&Gateway), "{method}");
            assert!(
                METHOD_ACCESS.iter().any(|(m, _)| m == method),
                "{method} not in the table"
            );
        }
    }

    #[test]
    fn only_health_is_open_and_admins_may_call_everything_else() {
        for (method, access) in METHOD_ACCESS {
            match access {
                Access::Open => assert!(method.starts_with("/grpc.health.v1."), "{method}"),
                Access::Roles(roles) => assert!(roles.contains(&Admin), "{method}"),
            }
        }
        assert_eq!(access_of("/directory.v1.Directory/NotYetInTheTable"), ADMIN);
    }

    #[test]
    fn readers_get_no_write_and_the_gateway_no_token_minting_or_workspace_listing() {
        let read_prefixes = [
            "Get",
            "List",
            "Lookup",
            "Describe",
            "Watch",
            "Stream",
            "ServerReflection",
        ];
        for (method, access) in METHOD_ACCESS {
            let name = method.rsplit('/').next().unwrap();
            let is_read = read_prefixes.iter().any(|p| name.starts_with(p));
            if let Access::Roles(roles) = access
                && roles.contains(&Reader)
            {
                assert!(is_read, "reader may call the write {method}");
            }
        }
        for method in [
            "/directory.v1.Tokens/IssueToken",
            "/directory.v1.Workspaces/ListWorkspaces",
            "/directory.v1.Tokens/ListTokens",
            "/directory.v1.Credentials/CreateCredential",
        ] {
            let Access::Roles(roles) = access_of(method) else {
                panic!("{method} open")
            };
            assert!(!roles.contains(&Gateway), "gateway may call {method}");
        }
    }
}

//! The Credentials service: named service credentials with a role (see `access.rs`).

use std::sync::Arc;

use directory_proto::v1 as pb;
use directory_proto::v1::credentials_server::Credentials;
use tonic::{Request, Response, Status};

use super::convert::{parse_resource_id, timestamp};
use super::status::{invalid, to_status};
use crate::domain::credentials::Role;
use crate::ops::{self, credentials::CredentialChecker};
use crate::store::{Db, credentials::Credential};

pub struct CredentialsService {
    pub db: Db,
    pub checker: Arc<CredentialChecker>,
}

fn role_to_pb(role: &str) -> pb::CredentialRole {
    match Role::parse(role) {
        Ok(Role::Gateway) => pb::CredentialRole::Gateway,
        Ok(Role::Reader) => pb::CredentialRole::Reader,
        Ok(Role::Admin) => pb::CredentialRole::Admin,
        Err(_) => pb::CredentialRole::Unspecified,
    }
}

fn role_from_pb(role: i32) -> Result<Role, Status> {
    match pb::CredentialRole::try_from(role) {
        Ok(pb::CredentialRole::Gateway) => Ok(Role::Gateway),
        Ok(pb::CredentialRole::Reader) => Ok(Role::Reader),
        Ok(pb::CredentialRole::Admin) => Ok(Role::Admin),
        _ => Err(invalid("role must be gateway, reader or admin")),
    }
}

fn credential(c: Credential) -> pb::Credential {
    pb::Credential {
        id: c.id.to_string(),
        role: role_to_pb(&c.role) as i32,
        name: c.name,
        prefix: c.prefix,
        created: Some(timestamp(c.created_at)),
        last_used: c.last_used_at.map(timestamp),
        revoked: c.revoked_at.map(timestamp),
    }
}

type RpcResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl Credentials for CredentialsService {
    async fn create_credential(
        &self,
        req: Request<pb::CreateCredentialRequest>,
    ) -> RpcResult<pb::CreateCredentialResponse> {
        let req = req.into_inner();
        let role = role_from_pb(req.role)?;
        let (created, secret) = ops::credentials::create_credential(&self.db, &req.name, role)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::CreateCredentialResponse {
            credential: Some(credential(created)),
            secret,
        }))
    }

    async fn list_credentials(
        &self,
        _req: Request<pb::ListCredentialsRequest>,
    ) -> RpcResult<pb::ListCredentialsResponse> {
        let credentials = ops::credentials::list_credentials(&self.db)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListCredentialsResponse {
            credentials: credentials.into_iter().map(credential).collect(),
        }))
    }

    async fn revoke_credential(
        &self,
        req: Request<pb::RevokeCredentialRequest>,
    ) -> RpcResult<pb::Credential> {
        let id = parse_resource_id("credential", &req.into_inner().id)?;
        let revoked = ops::credentials::revoke_credential(&self.db, &self.checker, id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(credential(revoked)))
    }
}

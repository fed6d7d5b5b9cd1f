//! The OAuthClients service (client credentials for IdPs).

use directory_proto::v1 as pb;
use directory_proto::v1::o_auth_clients_server::OAuthClients;
use tonic::{Request, Response, Status};

use super::convert::{from_timestamp, parse_id, parse_resource_id, timestamp};
use super::status::to_status;
use crate::ops;
use crate::store::{Db, oauth::Client, oauth::Secret};

pub struct OAuthClientsService {
    pub db: Db,
}

fn secret(s: &Secret) -> pb::OAuthClientSecret {
    pb::OAuthClientSecret {
        id: s.id.to_string(),
        prefix: s.prefix.clone(),
        created: Some(timestamp(s.created_at)),
        revoked: s.revoked_at.map(timestamp),
    }
}

fn client(c: Client, secrets: &[Secret]) -> pb::OAuthClient {
    pb::OAuthClient {
        id: c.id.to_string(),
        workspace_id: c.workspace_id.to_string(),
        name: c.name,
        client_id: c.client_id,
        created: Some(timestamp(c.created_at)),
        expires: c.expires_at.map(timestamp),
        revoked: c.revoked_at.map(timestamp),
        secrets: secrets.iter().map(secret).collect(),
    }
}

type RpcResult<T> = Result<Response<T>, Status>;

#[tonic::async_trait]
impl OAuthClients for OAuthClientsService {
    async fn create_client(
        &self,
        req: Request<pb::CreateClientRequest>,
    ) -> RpcResult<pb::CreateClientResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let expires = req.expires.as_ref().map(from_timestamp).transpose()?;
        let (created, secrets, plaintext) =
            ops::oauth::create_client(&self.db, workspace_id, &req.name, expires)
                .await
                .map_err(to_status)?;
        Ok(Response::new(pb::CreateClientResponse {
            client: Some(client(created, &secrets)),
            client_secret: plaintext,
        }))
    }

    async fn list_clients(
        &self,
        req: Request<pb::ListClientsRequest>,
    ) -> RpcResult<pb::ListClientsResponse> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        let clients = ops::oauth::list_clients(&self.db, workspace_id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListClientsResponse {
            clients: clients
                .into_iter()
                .map(|(c, secrets)| client(c, &secrets))
                .collect(),
        }))
    }

    async fn revoke_client(&self, req: Request<pb::ClientRef>) -> RpcResult<pb::OAuthClient> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("client", &req.id)?;
        let (revoked, secrets) = ops::oauth::revoke_client(&self.db, workspace_id, id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(client(revoked, &secrets)))
    }

    async fn add_client_secret(
        &self,
        req: Request<pb::ClientRef>,
    ) -> RpcResult<pb::AddClientSecretResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("client", &req.id)?;
        let (c, secrets, added, plaintext) = ops::oauth::add_secret(&self.db, workspace_id, id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::AddClientSecretResponse {
            client: Some(client(c, &secrets)),
            secret: Some(secret(&added)),
            client_secret: plaintext,
        }))
    }

    async fn revoke_client_secret(
        &self,
        req: Request<pb::RevokeClientSecretRequest>,
    ) -> RpcResult<pb::OAuthClient> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("client", &req.id)?;
        let secret_id = parse_resource_id("secret", &req.secret_id)?;
        let (c, secrets) = ops::oauth::revoke_secret(&self.db, workspace_id, id, secret_id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(client(c, &secrets)))
    }

    async fn exchange_client_credentials(
        &self,
        req: Request<pb::ExchangeClientCredentialsRequest>,
    ) -> RpcResult<pb::ExchangeClientCredentialsResponse> {
        let req = req.into_inner();
        let token = ops::oauth::exchange_client_credentials(
            &self.db,
            &req.client_id,
            &req.client_secret,
            req.lifetime_seconds,
        )
        .await
        .map_err(to_status)?;
        Ok(Response::new(pb::ExchangeClientCredentialsResponse {
            access_token: token.access_token,
            expires_in: token.expires_in,
            workspace_id: token.workspace_id.to_string(),
        }))
    }
}

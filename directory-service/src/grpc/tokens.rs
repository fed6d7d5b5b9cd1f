//! The Tokens service: SCIM bearer tokens and their authentication. Handlers only convert
//! and delegate to `ops`.

use directory_proto::v1::{self as pb, tokens_server::Tokens};
use tonic::Request;

use super::convert::{self, parse_id, parse_resource_id};
use super::{DirectoryService, RpcResult, reply};
use crate::ops;

#[tonic::async_trait]
impl Tokens for DirectoryService {
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
            crate::ops::retry::retrying(|| {
                ops::tokens::issue_token(
                    &self.db,
                    workspace_id,
                    &req.name,
                    expires,
                    scope,
                    &req.allowed_cidrs,
                )
            })
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
            crate::ops::retry::retrying(|| ops::tokens::revoke_token(&self.db, workspace_id, id))
                .await,
            convert::token,
        )
    }

    async fn authenticate_token(
        &self,
        req: Request<pb::AuthenticateTokenRequest>,
    ) -> RpcResult<pb::AuthenticateTokenResponse> {
        let req = req.into_inner();
        let authenticated =
            match ops::tokens::authenticate(&self.db, &req.token, req.client_address.parse().ok())
                .await
            {
                // The token's rate limit travels with the answer (no extra call per request).
                Ok(auth) => ops::rate_limits::for_token(&self.db, auth.workspace_id, auth.token_id)
                    .await
                    .map(|limit| (auth, limit)),
                Err(e) => Err(e),
            };
        reply(authenticated, |(auth, limit)| {
            pb::AuthenticateTokenResponse {
                workspace_id: auth.workspace_id.to_string(),
                token_id: auth.token_id.to_string(),
                cache_for_millis: auth.cache_for.num_milliseconds(),
                rate_limit_per_second: limit.map_or(0, |l| l.per_second),
                rate_limit_burst: limit.map_or(0, |l| l.burst),
            }
        })
    }

    // ---- typed calls for internal services (grpc/typed.rs)
}

//! The TokenRotation service: a successor token with an overlap.

use directory_proto::v1 as pb;
use directory_proto::v1::token_rotation_server::TokenRotation;
use tonic::{Request, Response, Status};

use super::convert::{self, parse_id, parse_resource_id};
use super::status::to_status;
use crate::ops;
use crate::store::Db;

pub struct TokenRotationService {
    pub db: Db,
}

#[tonic::async_trait]
impl TokenRotation for TokenRotationService {
    async fn rotate_token(
        &self,
        req: Request<pb::RotateTokenRequest>,
    ) -> Result<Response<pb::RotateTokenResponse>, Status> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("token", &req.id)?;
        let (previous, token, plaintext) =
            ops::tokens::rotate_token(&self.db, workspace_id, id, req.overlap_seconds)
                .await
                .map_err(to_status)?;
        Ok(Response::new(pb::RotateTokenResponse {
            previous: Some(convert::token(previous)),
            token: Some(convert::token(token)),
            plaintext,
        }))
    }
}

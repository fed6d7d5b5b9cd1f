//! The `RateLimits` service (rate_limits.proto): settings per workspace and per token.

use directory_proto::v1 as pb;
use directory_proto::v1::rate_limits_server::RateLimits;
use tonic::{Request, Response, Status};
use uuid::Uuid;

use super::convert::parse_id;
use super::status::{invalid, to_status};
use crate::domain::rate_limits::RateLimit;
use crate::ops;
use crate::store::Db;

pub struct RateLimitsService {
    pub db: Db,
}

fn token_id(raw: &str) -> Result<Option<Uuid>, Status> {
    if raw.trim().is_empty() {
        Ok(None)
    } else {
        parse_id("token_id", raw).map(Some)
    }
}

fn to_pb(limit: RateLimit) -> pb::RateLimit {
    pb::RateLimit {
        workspace_id: limit.workspace_id.to_string(),
        token_id: limit.token_id.map(|id| id.to_string()).unwrap_or_default(),
        per_second: limit.per_second,
        burst: limit.burst,
    }
}

#[tonic::async_trait]
impl RateLimits for RateLimitsService {
    async fn set_rate_limit(
        &self,
        req: Request<pb::SetRateLimitRequest>,
    ) -> Result<Response<pb::RateLimit>, Status> {
        let limit = req
            .into_inner()
            .limit
            .ok_or_else(|| invalid("limit is required"))?;
        let workspace_id = parse_id("workspace_id", &limit.workspace_id)?;
        let limit = RateLimit::new(
            workspace_id,
            token_id(&limit.token_id)?,
            limit.per_second,
            limit.burst,
        )
        .map_err(to_status)?;
        let set = ops::retry::retrying(|| ops::rate_limits::set_rate_limit(&self.db, limit))
            .await
            .map_err(to_status)?;
        Ok(Response::new(to_pb(set)))
    }

    async fn list_rate_limits(
        &self,
        req: Request<pb::ListRateLimitsRequest>,
    ) -> Result<Response<pb::ListRateLimitsResponse>, Status> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        let limits = ops::rate_limits::list_rate_limits(&self.db, workspace_id)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::ListRateLimitsResponse {
            limits: limits.into_iter().map(to_pb).collect(),
        }))
    }

    async fn delete_rate_limit(
        &self,
        req: Request<pb::DeleteRateLimitRequest>,
    ) -> Result<Response<pb::DeleteRateLimitResponse>, Status> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let token_id = token_id(&req.token_id)?;
        let deleted = ops::retry::retrying(|| {
            ops::rate_limits::delete_rate_limit(&self.db, workspace_id, token_id)
        })
        .await
        .map_err(to_status)?;
        Ok(Response::new(pb::DeleteRateLimitResponse { deleted }))
    }
}

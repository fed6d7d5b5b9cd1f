//! The RequestLog service: the gateways' request batches and their listing.

use directory_proto::v1 as pb;
use directory_proto::v1::request_log_server::RequestLog;
use tonic::{Request, Response, Status};

use super::convert::{from_timestamp, parse_id, parse_resource_id, timestamp};
use super::status::{invalid, to_status};
use crate::ops;
use crate::store::{Db, request_log::RequestRecord};

pub struct RequestLogService {
    pub db: Db,
}

fn record(r: RequestRecord) -> pb::RequestRecord {
    pb::RequestRecord {
        id: r.id.to_string(),
        workspace_id: r.workspace_id.to_string(),
        received_at: Some(timestamp(r.received_at)),
        method: r.method,
        path: r.path,
        query: r.query,
        status: r.status.max(0) as u32,
        scim_type: r.scim_type,
        latency_micros: r.latency_micros.max(0) as u64,
        token_id: r.token_id,
        trace_id: r.trace_id,
        request_id: r.request_id,
        request_body: r.request_body,
        response_body: r.response_body,
        request_body_truncated: r.request_body_truncated,
        response_body_truncated: r.response_body_truncated,
    }
}

fn record_from_pb(r: pb::RequestRecord) -> Result<RequestRecord, Status> {
    let received_at = r
        .received_at
        .as_ref()
        .map(from_timestamp)
        .transpose()?
        .ok_or_else(|| invalid("received_at is required"))?;
    Ok(RequestRecord {
        id: parse_id("id", &r.id)?,
        workspace_id: parse_id("workspace_id", &r.workspace_id)?,
        received_at,
        method: r.method,
        path: r.path,
        query: r.query,
        status: i32::try_from(r.status).map_err(|_| invalid("status out of range"))?,
        scim_type: r.scim_type,
        latency_micros: i64::try_from(r.latency_micros).unwrap_or(i64::MAX),
        token_id: r.token_id,
        trace_id: r.trace_id,
        request_id: r.request_id,
        request_body: r.request_body,
        response_body: r.response_body,
        request_body_truncated: r.request_body_truncated,
        response_body_truncated: r.response_body_truncated,
    })
}

#[tonic::async_trait]
impl RequestLog for RequestLogService {
    async fn record_requests(
        &self,
        req: Request<pb::RecordRequestsRequest>,
    ) -> Result<Response<pb::RecordRequestsResponse>, Status> {
        let records = req
            .into_inner()
            .records
            .into_iter()
            .map(record_from_pb)
            .collect::<Result<Vec<_>, _>>()?;
        let recorded = ops::request_log::record(&self.db, records)
            .await
            .map_err(to_status)?;
        Ok(Response::new(pb::RecordRequestsResponse {
            recorded: u32::try_from(recorded).unwrap_or(u32::MAX),
        }))
    }

    async fn list_requests(
        &self,
        req: Request<pb::ListRequestsRequest>,
    ) -> Result<Response<pb::ListRequestsResponse>, Status> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let since = req.since.as_ref().map(from_timestamp).transpose()?;
        let status = match req.status {
            0 => None,
            s => Some(i32::try_from(s).map_err(|_| invalid("status out of range"))?),
        };
        let (records, next) = ops::request_log::list(
            &self.db,
            workspace_id,
            status,
            since,
            Some(req.cursor.as_str()),
            Some(u64::from(req.limit)),
        )
        .await
        .map_err(to_status)?;
        Ok(Response::new(pb::ListRequestsResponse {
            records: records.into_iter().map(record).collect(),
            next_cursor: next.unwrap_or_default(),
        }))
    }

    async fn get_request(
        &self,
        req: Request<pb::GetRequestRequest>,
    ) -> Result<Response<pb::RequestRecord>, Status> {
        let id = parse_resource_id("request", &req.into_inner().id)?;
        ops::request_log::get(&self.db, id)
            .await
            .map(|r| Response::new(record(r)))
            .map_err(to_status)
    }
}

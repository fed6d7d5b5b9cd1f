//! The Attributes service: custom attributes and attribute mappings. Handlers only convert
//! and delegate to `ops`.

use directory_proto::v1::{self as pb, attributes_server::Attributes};
use tonic::Request;

use super::convert::{self, parse_id};
use super::{DirectoryService, RpcResult, reply};
use crate::ops;

#[tonic::async_trait]
impl Attributes for DirectoryService {
    async fn declare_custom_attribute(
        &self,
        req: Request<pb::DeclareCustomAttributeRequest>,
    ) -> RpcResult<pb::CustomAttribute> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let attribute = convert::custom_attribute_from_pb(req)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::custom_attributes::declare_custom_attribute(
                    &self.db,
                    workspace_id,
                    attribute.clone(),
                )
            })
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
            crate::ops::retry::retrying(|| {
                ops::custom_attributes::delete_custom_attribute(
                    &self.db,
                    workspace_id,
                    &req.schema,
                    &req.name,
                )
            })
            .await,
            |()| pb::DeleteCustomAttributeResponse {},
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
            crate::ops::retry::retrying(|| {
                ops::attribute_mappings::set_attribute_mapping(
                    &self.db,
                    workspace_id,
                    mapping.clone(),
                )
            })
            .await,
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
            crate::ops::retry::retrying(|| {
                ops::attribute_mappings::delete_attribute_mapping(
                    &self.db,
                    workspace_id,
                    &req.destination,
                )
            })
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
}

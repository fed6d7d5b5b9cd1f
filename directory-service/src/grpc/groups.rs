//! The Groups service: SCIM group operations and the typed member calls. Handlers only
//! convert and delegate to `ops`.

use directory_proto::v1::{self as pb, groups_server::Groups};
use tonic::{Request, Response};

use super::convert::{self, parse_id, parse_resource_id};
use super::status::to_status;
use super::{DirectoryService, RpcResult, page_request, reply, typed};
use crate::domain::patch::PatchOp;
use crate::ops;

#[tonic::async_trait]
impl Groups for DirectoryService {
    async fn create_group(&self, req: Request<pb::CreateGroupRequest>) -> RpcResult<pb::Group> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let (profile, members) = convert::group_from_pb(req.attributes)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::groups::create_group(&self.db, workspace_id, profile.clone(), &members)
            })
            .await,
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
        let result = crate::ops::retry::retrying(|| {
            ops::groups::replace_group(
                &self.db,
                workspace_id,
                id,
                profile.clone(),
                &members,
                req.expected_version,
                !req.exclude_members,
            )
        })
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
        let result = crate::ops::retry::retrying(|| {
            ops::groups::patch_group(
                &self.db,
                workspace_id,
                id,
                &operations,
                req.expected_version,
                !req.exclude_members,
            )
        })
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
            crate::ops::retry::retrying(|| {
                ops::groups::delete_group(&self.db, workspace_id, id, req.expected_version)
            })
            .await,
            |()| pb::DeleteGroupResponse {},
        )
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

//! The Roles service: member roles, role mappings and effective access. Handlers only
//! convert and delegate to `ops`.

use directory_proto::v1::{self as pb, roles_server::Roles};
use tonic::Request;

use super::convert::{self, parse_id, parse_resource_id};
use super::{DirectoryService, RpcResult, reply};
use crate::domain::paging::PageRequest;
use crate::ops;

#[tonic::async_trait]
impl Roles for DirectoryService {
    async fn set_member_role(
        &self,
        req: Request<pb::SetMemberRoleRequest>,
    ) -> RpcResult<pb::UserAccess> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let user_id = parse_resource_id("user", &req.user_id)?;
        let role = convert::role_from_pb(req.role)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::roles::set_member_role(&self.db, workspace_id, user_id, role)
            })
            .await,
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
            crate::ops::retry::retrying(|| {
                ops::roles::set_role_mapping(&self.db, workspace_id, mapping.clone())
            })
            .await,
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
            crate::ops::retry::retrying(|| {
                ops::roles::delete_role_mapping(&self.db, workspace_id, source, &req.value)
            })
            .await,
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
}

//! The Workspaces service: the tenants and their SCIM endpoint. Handlers only convert and
//! delegate to `ops`.

use directory_proto::v1::{self as pb, workspaces_server::Workspaces};
use tonic::{Request, Response, Status};

use super::convert::{self, parse_resource_id};
use super::status::invalid;
use super::{DirectoryService, RpcResult, reply};
use crate::ops;

#[tonic::async_trait]
impl Workspaces for DirectoryService {
    async fn create_workspace(
        &self,
        req: Request<pb::CreateWorkspaceRequest>,
    ) -> RpcResult<pb::Workspace> {
        let req = req.into_inner();
        reply(
            crate::ops::retry::retrying(|| {
                ops::workspaces::create_workspace(&self.db, &req.slug, &req.display_name)
            })
            .await,
            convert::workspace,
        )
    }

    async fn get_workspace(
        &self,
        req: Request<pb::GetWorkspaceRequest>,
    ) -> RpcResult<pb::Workspace> {
        let req = req.into_inner();
        let result = match (req.id.is_empty(), req.slug.is_empty()) {
            (false, true) => {
                let id = parse_resource_id("workspace", &req.id)?;
                ops::workspaces::get_workspace_by_id(&self.db, id).await
            }
            (true, false) => ops::workspaces::get_workspace_by_slug(&self.db, &req.slug).await,
            _ => return Err(invalid("give exactly one of id or slug")),
        };
        reply(result, convert::workspace)
    }

    async fn delete_workspace(
        &self,
        req: Request<pb::DeleteWorkspaceRequest>,
    ) -> RpcResult<pb::DeleteWorkspaceResponse> {
        let req = req.into_inner();
        let id = parse_resource_id("workspace", &req.id)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::workspaces::delete_workspace(&self.db, id, &req.confirm_slug)
            })
            .await,
            |(workspace, counts)| pb::DeleteWorkspaceResponse {
                workspace: Some(convert::workspace(workspace)),
                users_deleted: counts.users as i64,
                groups_deleted: counts.groups as i64,
                tokens_deleted: counts.tokens as i64,
            },
        )
    }

    async fn get_scim_endpoint(
        &self,
        _req: Request<pb::GetScimEndpointRequest>,
    ) -> RpcResult<pb::ScimEndpoint> {
        match &self.endpoint {
            Some(endpoint) => Ok(Response::new(pb::ScimEndpoint {
                base_url: endpoint.as_str().to_owned(),
            })),
            None => Err(Status::failed_precondition(
                "no public base URL is configured: start the directory with --public-base-url \
                 (DIRECTORY_PUBLIC_BASE_URL), e.g. https://scim.example.com",
            )),
        }
    }

    async fn list_workspaces(
        &self,
        _req: Request<pb::ListWorkspacesRequest>,
    ) -> RpcResult<pb::ListWorkspacesResponse> {
        reply(ops::workspaces::list_workspaces(&self.db).await, |list| {
            pb::ListWorkspacesResponse {
                workspaces: list.into_iter().map(convert::workspace).collect(),
            }
        })
    }

    async fn set_workspace_allow_list(
        &self,
        req: Request<pb::SetWorkspaceAllowListRequest>,
    ) -> RpcResult<pb::WorkspaceAllowList> {
        let req = req.into_inner();
        let id = parse_resource_id("workspace", &req.workspace_id)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::workspaces::set_allow_list(&self.db, id, &req.allowed_cidrs)
            })
            .await,
            |allowed_cidrs| pb::WorkspaceAllowList {
                workspace_id: id.to_string(),
                allowed_cidrs,
            },
        )
    }

    async fn get_workspace_allow_list(
        &self,
        req: Request<pb::GetWorkspaceAllowListRequest>,
    ) -> RpcResult<pb::WorkspaceAllowList> {
        let req = req.into_inner();
        let id = parse_resource_id("workspace", &req.workspace_id)?;
        reply(
            ops::workspaces::get_allow_list(&self.db, id).await,
            |allowed_cidrs| pb::WorkspaceAllowList {
                workspace_id: id.to_string(),
                allowed_cidrs,
            },
        )
    }
}

//! The Users service: SCIM user operations and the typed user calls for internal services.
//! Handlers only convert and delegate to `ops`.

use directory_proto::v1::{self as pb, users_server::Users};
use tonic::Request;
use tracing::Instrument as _;

use super::convert::{self, parse_id, parse_resource_id};
use super::{DirectoryService, RpcResult, page_request, reply, typed};
use crate::ops;

#[tonic::async_trait]
impl Users for DirectoryService {
    async fn create_user(&self, req: Request<pb::CreateUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let profile = convert::profile_from_pb(req.attributes)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::users::create_user(&self.db, workspace_id, profile.clone())
            })
            .await,
            convert::user,
        )
    }

    async fn get_user(&self, req: Request<pb::GetUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        reply(
            ops::users::get_user(&self.db, workspace_id, id).await,
            convert::user,
        )
    }

    async fn list_users(
        &self,
        req: Request<pb::ListUsersRequest>,
    ) -> RpcResult<pb::ListUsersResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let filter = req.filter.map(convert::filter_from_pb).transpose()?;
        let sort = convert::sort_from_pb(req.sort);
        let result = ops::users::list_users(
            &self.db,
            workspace_id,
            filter.as_ref(),
            sort.as_ref(),
            page_request(req.cursor.as_deref(), req.start_index, req.count)?,
        )
        .instrument(tracing::info_span!("list_users"))
        .await;
        reply(result, |page| pb::ListUsersResponse {
            users: page.users.into_iter().map(convert::user).collect(),
            total_results: page.total_results as i64,
            start_index: page.start_index as i64,
            next_cursor: page.next_cursor.unwrap_or_default(),
        })
    }

    async fn replace_user(&self, req: Request<pb::ReplaceUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        let profile = convert::profile_from_pb(req.attributes)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::users::replace_user(
                    &self.db,
                    workspace_id,
                    id,
                    profile.clone(),
                    req.expected_version,
                )
            })
            .await,
            convert::user,
        )
    }

    async fn patch_user(&self, req: Request<pb::PatchUserRequest>) -> RpcResult<pb::User> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        let operations = req
            .operations
            .into_iter()
            .map(convert::patch_from_pb)
            .collect::<Result<Vec<_>, _>>()?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::users::patch_user(
                    &self.db,
                    workspace_id,
                    id,
                    &operations,
                    req.expected_version,
                )
            })
            .await,
            convert::user,
        )
    }

    async fn delete_user(
        &self,
        req: Request<pb::DeleteUserRequest>,
    ) -> RpcResult<pb::DeleteUserResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("user", &req.id)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::users::delete_user(&self.db, workspace_id, id, req.expected_version)
            })
            .await,
            |()| pb::DeleteUserResponse {},
        )
    }

    async fn import_users(
        &self,
        req: Request<pb::ImportUsersRequest>,
    ) -> RpcResult<pb::ImportUsersResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let profiles = req
            .users
            .into_iter()
            .map(|attributes| convert::profile_from_pb(Some(attributes)))
            .collect::<Result<Vec<_>, _>>()?;
        reply(
            ops::users::import_users(&self.db, workspace_id, profiles).await,
            |rows| {
                let mut response = pb::ImportUsersResponse::default();
                for (user_name, outcome) in rows {
                    let (id, outcome, error) = match outcome {
                        ops::users::ImportOutcome::Created(id) => {
                            response.created += 1;
                            (id.to_string(), pb::ImportOutcome::Created, String::new())
                        }
                        ops::users::ImportOutcome::Existing(id) => {
                            response.existing += 1;
                            (id.to_string(), pb::ImportOutcome::Existing, String::new())
                        }
                        ops::users::ImportOutcome::Failed(error) => {
                            response.failed += 1;
                            (String::new(), pb::ImportOutcome::Failed, error.to_string())
                        }
                    };
                    response.results.push(pb::ImportResult {
                        user_name,
                        id,
                        outcome: outcome as i32,
                        error,
                    });
                }
                response
            },
        )
    }

    async fn deactivate_user(&self, req: Request<pb::UserRef>) -> RpcResult<pb::User> {
        typed::set_active(&self.db, req.into_inner(), false).await
    }

    async fn reactivate_user(&self, req: Request<pb::UserRef>) -> RpcResult<pb::User> {
        typed::set_active(&self.db, req.into_inner(), true).await
    }

    async fn update_user_profile(
        &self,
        req: Request<pb::UpdateUserProfileRequest>,
    ) -> RpcResult<pb::User> {
        typed::update_user_profile(&self.db, req.into_inner()).await
    }

    async fn lookup_user(&self, req: Request<pb::LookupUserRequest>) -> RpcResult<pb::User> {
        typed::lookup_user(&self.db, req.into_inner()).await
    }

    async fn describe_user(&self, req: Request<pb::UserRef>) -> RpcResult<pb::UserDescription> {
        typed::describe_user(&self.db, req.into_inner()).await
    }
}

//! The GroupMembers service: a group with all its members as a server stream, so that no
//! message (and no buffer here or in the gateway) holds a large group whole.

use std::pin::Pin;

use directory_proto::v1 as pb;
use directory_proto::v1::group_members_server::GroupMembers;
use tokio_stream::{Stream, StreamExt as _};
use tonic::{Request, Response, Status};

use super::convert::{self, parse_id, parse_resource_id};
use super::status::to_status;
use crate::ops;
use crate::ops::groups::GroupView;
use crate::store::{Db, groups::MemberPage};

pub struct GroupMembersService {
    pub db: Db,
}

fn members(page: Vec<crate::domain::groups::Member>) -> Vec<pb::GroupMember> {
    page.into_iter()
        .map(|m| pb::GroupMember {
            value: m.user_id.to_string(),
            display: m.user_name,
        })
        .collect()
}

fn message(page: MemberPage) -> pb::GroupMembersPage {
    pb::GroupMembersPage {
        group: page.group.map(|group| {
            convert::group(GroupView {
                group,
                members: None,
            })
        }),
        members: members(page.members),
    }
}

#[tonic::async_trait]
impl GroupMembers for GroupMembersService {
    type StreamGroupMembersStream =
        Pin<Box<dyn Stream<Item = Result<pb::GroupMembersPage, Status>> + Send>>;

    async fn stream_group_members(
        &self,
        req: Request<pb::StreamGroupMembersRequest>,
    ) -> Result<Response<Self::StreamGroupMembersStream>, Status> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let id = parse_resource_id("group", &req.id)?;
        let page_size = usize::try_from(req.page_size).unwrap_or(usize::MAX);
        let mut pages = ops::groups::stream_group_members(&self.db, workspace_id, id, page_size);
        // The first message decides the call: an error (not found, ...) is the call's
        // status rather than an error after a successful start.
        let first = match pages.recv().await {
            Some(Ok(first)) => message(first),
            Some(Err(err)) => return Err(to_status(err)),
            None => return Err(Status::internal("the group read ended early")),
        };
        let rest = tokio_stream::wrappers::ReceiverStream::new(pages)
            .map(|page| page.map(message).map_err(to_status));
        Ok(Response::new(Box::pin(
            tokio_stream::once(Ok(first)).chain(rest),
        )))
    }
}

//! The Licenses service: subscriptions, seats and licenses. Handlers only convert and
//! delegate to `ops`.

use directory_proto::v1::{self as pb, licenses_server::Licenses};
use tonic::Request;

use super::convert::{self, parse_id, parse_resource_id};
use super::{DirectoryService, RpcResult, reply};
use crate::domain::paging::PageRequest;
use crate::ops;

#[tonic::async_trait]
impl Licenses for DirectoryService {
    async fn create_subscription(
        &self,
        req: Request<pb::CreateSubscriptionRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let subscription = crate::domain::licenses::Subscription {
            subscription_id: req.subscription_id,
            plan: req.plan,
            product: req.product,
            seats: req.seats,
        };
        reply(
            crate::ops::retry::retrying(|| {
                ops::licenses::create_subscription(&self.db, workspace_id, subscription.clone())
            })
            .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn update_subscription(
        &self,
        req: Request<pb::UpdateSubscriptionRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::licenses::update_seats(&self.db, workspace_id, &req.subscription_id, req.seats)
            })
            .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn delete_subscription(
        &self,
        req: Request<pb::DeleteSubscriptionRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::licenses::delete_subscription(&self.db, workspace_id, &req.subscription_id)
            })
            .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn list_subscriptions(
        &self,
        req: Request<pb::ListSubscriptionsRequest>,
    ) -> RpcResult<pb::ListSubscriptionsResponse> {
        let workspace_id = parse_id("workspace_id", &req.into_inner().workspace_id)?;
        reply(
            ops::licenses::list_subscriptions(&self.db, workspace_id).await,
            |views| pb::ListSubscriptionsResponse {
                subscriptions: views
                    .into_iter()
                    .map(|v| convert::subscription(workspace_id, v))
                    .collect(),
            },
        )
    }

    async fn assign_license(
        &self,
        req: Request<pb::LicenseRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let user_id = parse_resource_id("user", &req.user_id)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::licenses::assign_license(&self.db, workspace_id, &req.subscription_id, user_id)
            })
            .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn revoke_license(
        &self,
        req: Request<pb::LicenseRequest>,
    ) -> RpcResult<pb::Subscription> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let user_id = parse_resource_id("user", &req.user_id)?;
        reply(
            crate::ops::retry::retrying(|| {
                ops::licenses::revoke_license(&self.db, workspace_id, &req.subscription_id, user_id)
            })
            .await,
            |view| convert::subscription(workspace_id, view),
        )
    }

    async fn list_subscription_holders(
        &self,
        req: Request<pb::ListSubscriptionHoldersRequest>,
    ) -> RpcResult<pb::ListUsersResponse> {
        let req = req.into_inner();
        let workspace_id = parse_id("workspace_id", &req.workspace_id)?;
        let page = PageRequest::index(req.start_index, req.count);
        reply(
            if req.waiting {
                ops::licenses::list_waiting(&self.db, workspace_id, &req.subscription_id, page)
                    .await
            } else {
                ops::licenses::list_holders(&self.db, workspace_id, &req.subscription_id, page)
                    .await
            },
            |(users, total)| pb::ListUsersResponse {
                users: users.into_iter().map(convert::user).collect(),
                total_results: total as i64,
                start_index: page.start_index() as i64,
                next_cursor: String::new(),
            },
        )
    }
}

//! Subscriptions and licenses over gRPC/CLI; the seat rule (`domain::licenses`) holds for
//! license groups, direct assignments and reactivations alike.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::events::EventType;
use crate::domain::licenses::{Subscription, check_seats};
use crate::domain::paging::PageRequest;
use crate::domain::users::User;
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db, db_error};

#[derive(Debug)]
pub struct SubscriptionView {
    pub subscription: Subscription,
    pub created: DateTime<Utc>,
    pub seats_used: u64,
    pub group_id: Option<Uuid>,
}

fn subscription_json(view: &SubscriptionView) -> serde_json::Value {
    serde_json::json!({
        "subscription_id": view.subscription.subscription_id,
        "plan": view.subscription.plan,
        "product": view.subscription.product,
        "seats": view.subscription.seats,
        "seats_used": view.seats_used,
    })
}

async fn view(
    db: &impl store::Conn,
    workspace_id: Uuid,
    subscription: Subscription,
    created: DateTime<Utc>,
) -> DomainResult<SubscriptionView> {
    Ok(SubscriptionView {
        seats_used: store::licenses::count_holders(db, workspace_id, &subscription.subscription_id)
            .await?,
        group_id: store::licenses::license_group_id(
            db,
            workspace_id,
            &subscription.subscription_id,
        )
        .await?,
        subscription,
        created,
    })
}

pub async fn create_subscription(
    db: &Db,
    workspace_id: Uuid,
    subscription: Subscription,
) -> DomainResult<SubscriptionView> {
    let subscription = subscription.validated()?;
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let (subscription, created) =
        store::licenses::insert(&tx, workspace_id, &subscription, Utc::now()).await?;
    store::licenses::link_existing_group(&tx, workspace_id, &subscription).await?;
    let seats_used =
        store::licenses::count_holders(&tx, workspace_id, &subscription.subscription_id).await?;
    check_seats(&subscription, 0, seats_used)?;
    let view = view(&tx, workspace_id, subscription, created).await?;
    super::events::record_resource(
        &tx,
        workspace_id,
        EventType::SubscriptionCreated,
        "subscription",
        &view.subscription.subscription_id,
        subscription_json(&view),
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(view)
}

pub async fn list_subscriptions(
    db: &Db,
    workspace_id: Uuid,
) -> DomainResult<Vec<SubscriptionView>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    let mut views = Vec::new();
    for (subscription, created) in store::licenses::list(db, workspace_id).await? {
        views.push(view(db, workspace_id, subscription, created).await?);
    }
    Ok(views)
}

/// Assigns a license directly. A user who already holds it (through its license group)
/// keeps one seat.
pub async fn assign_license(
    db: &Db,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
) -> DomainResult<SubscriptionView> {
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let (subscription, created) = store::licenses::find(&tx, workspace_id, subscription_id).await?;
    store::users::find(&tx, workspace_id, user_id, false).await?;
    let before = store::licenses::count_holders(&tx, workspace_id, subscription_id).await?;
    store::licenses::grant(&tx, workspace_id, subscription_id, user_id, Utc::now()).await?;
    let after = store::licenses::count_holders(&tx, workspace_id, subscription_id).await?;
    check_seats(&subscription, before, after)?;
    let view = view(&tx, workspace_id, subscription, created).await?;
    let mut data = subscription_json(&view);
    data["user_id"] = serde_json::json!(user_id);
    super::events::record_resource(
        &tx,
        workspace_id,
        EventType::LicenseAssigned,
        "user",
        user_id,
        data,
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(view)
}

/// Withdraws a direct assignment (membership of the license group is the IdP's to change).
pub async fn revoke_license(
    db: &Db,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
) -> DomainResult<SubscriptionView> {
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let (subscription, created) = store::licenses::find(&tx, workspace_id, subscription_id).await?;
    if store::licenses::revoke(&tx, workspace_id, subscription_id, user_id).await? == 0 {
        return Err(DomainError::NotFound(format!(
            "user {user_id} has no directly assigned license of {subscription_id}"
        )));
    }
    let view = view(&tx, workspace_id, subscription, created).await?;
    let mut data = subscription_json(&view);
    data["user_id"] = serde_json::json!(user_id);
    super::events::record_resource(
        &tx,
        workspace_id,
        EventType::LicenseRevoked,
        "user",
        user_id,
        data,
    )
    .await?;
    tx.commit().await.map_err(db_error)?;
    Ok(view)
}

pub async fn list_holders(
    db: &Db,
    workspace_id: Uuid,
    subscription_id: &str,
    page: PageRequest,
) -> DomainResult<(Vec<User>, u64)> {
    store::licenses::find(db, workspace_id, subscription_id).await?;
    let total = store::licenses::count_holders(db, workspace_id, subscription_id).await?;
    let PageRequest::Index { offset, limit } = page else {
        return Err(DomainError::InvalidValue(
            "holders are paged by index".into(),
        ));
    };
    let users =
        store::licenses::list_holders(db, workspace_id, subscription_id, offset, limit).await?;
    Ok((users, total))
}

/// Seats taken per subscription, to compare after a change.
pub(super) async fn seats_taken(
    db: &impl store::Conn,
    workspace_id: Uuid,
) -> DomainResult<Vec<(Subscription, u64)>> {
    let mut taken = Vec::new();
    for (subscription, _) in store::licenses::list(db, workspace_id).await? {
        let n =
            store::licenses::count_holders(db, workspace_id, &subscription.subscription_id).await?;
        taken.push((subscription, n));
    }
    Ok(taken)
}

pub(super) async fn check_no_seat_overflow(
    db: &impl store::Conn,
    workspace_id: Uuid,
    before: &[(Subscription, u64)],
) -> DomainResult<()> {
    for (subscription, held_before) in before {
        let after =
            store::licenses::count_holders(db, workspace_id, &subscription.subscription_id).await?;
        check_seats(subscription, *held_before, after)?;
    }
    Ok(())
}

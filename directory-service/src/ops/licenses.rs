//! Subscriptions and licenses over gRPC/CLI; the seat rule (`domain::licenses`) holds for
//! license groups, direct assignments and reactivations alike.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::events::EventType;
use crate::domain::licenses::Subscription;
use crate::domain::paging::PageRequest;
use crate::domain::users::User;
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db};

#[derive(Debug)]
pub struct SubscriptionView {
    pub subscription: Subscription,
    pub created: DateTime<Utc>,
    pub seats_used: u64,
    /// Entitled members waiting for a seat (reactivated while all were taken).
    pub seats_waiting: u64,
    pub group_id: Option<Uuid>,
}

/// A subscription as events show it, with the seats held in the write's transaction.
async fn subscription_json(
    write: &Write,
    workspace_id: Uuid,
    subscription: &Subscription,
) -> DomainResult<serde_json::Value> {
    let seats_used =
        store::licenses::count_holders(write.conn(), workspace_id, &subscription.subscription_id)
            .await?;
    Ok(serde_json::json!({
        "subscription_id": subscription.subscription_id,
        "plan": subscription.plan,
        "product": subscription.product,
        "seats": subscription.seats,
        "seats_used": seats_used,
    }))
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
        seats_waiting: store::licenses::count_waiting(
            db,
            workspace_id,
            &subscription.subscription_id,
        )
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
    let mut write = Write::workspace(db, workspace_id).await?;
    let (subscription, created) =
        store::licenses::insert(write.tx(), workspace_id, &subscription, Utc::now()).await?;
    store::licenses::link_existing_group(write.tx(), workspace_id, &subscription).await?;
    write.record(Change::SubscriptionChanged {
        subscription_id: subscription.subscription_id.clone(),
    });
    let data = subscription_json(&write, workspace_id, &subscription).await?;
    write.event(super::events::resource(
        EventType::SubscriptionCreated,
        "subscription",
        &subscription.subscription_id,
        data,
    ));
    write.commit().await?;
    view(db, workspace_id, subscription, created).await
}

/// Changes the seat count. Fewer seats than holders is refused; more seats go to members
/// waiting for one (longest-waiting first) in the same transaction.
pub async fn update_seats(
    db: &Db,
    workspace_id: Uuid,
    subscription_id: &str,
    seats: i64,
) -> DomainResult<SubscriptionView> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let (subscription, created) =
        store::licenses::find(write.conn(), workspace_id, subscription_id).await?;
    let holders =
        store::licenses::count_holders(write.conn(), workspace_id, subscription_id).await?;
    let seats_before = subscription.seats;
    if let Err(refused) =
        crate::domain::licenses::check_new_seat_count(&subscription, seats, holders)
    {
        write.abandon().await?;
        return Err(refused);
    }
    store::licenses::set_seats(write.tx(), workspace_id, subscription_id, seats).await?;
    write.record(Change::SubscriptionChanged {
        subscription_id: subscription_id.to_owned(),
    });
    let subscription = Subscription {
        seats,
        ..subscription
    };
    let mut data = subscription_json(&write, workspace_id, &subscription).await?;
    data["seats_before"] = serde_json::json!(seats_before);
    write.event(super::events::resource(
        EventType::SubscriptionUpdated,
        "subscription",
        subscription_id,
        data,
    ));
    write.commit().await?;
    view(db, workspace_id, subscription, created).await
}

/// Deletes a subscription: its holders lose the license, its license group stays as a
/// plain group.
pub async fn delete_subscription(
    db: &Db,
    workspace_id: Uuid,
    subscription_id: &str,
) -> DomainResult<SubscriptionView> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let (subscription, created) =
        store::licenses::find(write.conn(), workspace_id, subscription_id).await?;
    // The tombstone carries the subscription as it was: built before the row goes.
    let data = subscription_json(&write, workspace_id, &subscription).await?;
    write.event(super::events::resource(
        EventType::SubscriptionDeleted,
        "subscription",
        subscription_id,
        data,
    ));
    let before = view(write.conn(), workspace_id, subscription, created).await?;
    store::licenses::delete(write.tx(), workspace_id, subscription_id).await?;
    write.record(Change::SubscriptionChanged {
        subscription_id: subscription_id.to_owned(),
    });
    write.commit().await?;
    Ok(before)
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
    let mut write = Write::workspace(db, workspace_id).await?;
    let (subscription, created) =
        store::licenses::find(write.conn(), workspace_id, subscription_id).await?;
    store::users::find(write.conn(), workspace_id, user_id, false).await?;
    store::licenses::grant(
        write.tx(),
        workspace_id,
        subscription_id,
        user_id,
        Utc::now(),
    )
    .await?;
    write.record(Change::LicenseAssigned {
        subscription_id: subscription_id.to_owned(),
        user_id,
    });
    let seats_used =
        store::licenses::count_holders(write.conn(), workspace_id, subscription_id).await?;
    write.event(super::events::license(
        EventType::LicenseAssigned,
        &subscription,
        seats_used,
        user_id,
        false,
    ));
    // The seat rule runs at commit (and may seat waiting members): read the view after.
    write.commit().await?;
    view(db, workspace_id, subscription, created).await
}

/// Withdraws a direct assignment (membership of the license group is the IdP's to change).
pub async fn revoke_license(
    db: &Db,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
) -> DomainResult<SubscriptionView> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let (subscription, created) =
        store::licenses::find(write.conn(), workspace_id, subscription_id).await?;
    if store::licenses::revoke(write.tx(), workspace_id, subscription_id, user_id).await? == 0 {
        write.abandon().await?;
        return Err(DomainError::NotFound(format!(
            "user {user_id} has no directly assigned license of {subscription_id}"
        )));
    }
    write.record(Change::LicenseRevoked {
        subscription_id: subscription_id.to_owned(),
        user_id,
    });
    let seats_used =
        store::licenses::count_holders(write.conn(), workspace_id, subscription_id).await?;
    write.event(super::events::license(
        EventType::LicenseRevoked,
        &subscription,
        seats_used,
        user_id,
        false,
    ));
    write.commit().await?;
    view(db, workspace_id, subscription, created).await
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

/// Members waiting for a seat, longest-waiting first.
pub async fn list_waiting(
    db: &Db,
    workspace_id: Uuid,
    subscription_id: &str,
    page: PageRequest,
) -> DomainResult<(Vec<User>, u64)> {
    store::licenses::find(db, workspace_id, subscription_id).await?;
    let total = store::licenses::count_waiting(db, workspace_id, subscription_id).await?;
    let PageRequest::Index { offset, limit } = page else {
        return Err(DomainError::InvalidValue(
            "waiting members are paged by index".into(),
        ));
    };
    let users =
        store::licenses::list_waiting(db, workspace_id, subscription_id, offset, limit).await?;
    Ok((users, total))
}

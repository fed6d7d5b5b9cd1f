//! Subscriptions, license groups and direct license grants.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::entity::{group, group_member, license_grant, license_wait, subscription, user};
use super::{WriteTx, db_error};
use crate::domain::licenses::Subscription;
use crate::domain::users::User;
use crate::domain::{DomainError, DomainResult};

fn to_domain(row: subscription::Model) -> (Subscription, DateTime<Utc>) {
    (
        Subscription {
            subscription_id: row.subscription_id,
            plan: row.plan,
            product: row.product,
            seats: row.seats,
        },
        row.created_at,
    )
}

pub async fn insert(
    tx: &WriteTx,
    workspace_id: Uuid,
    sub: &Subscription,
    now: DateTime<Utc>,
) -> DomainResult<(Subscription, DateTime<Utc>)> {
    let db = tx.conn();
    let row = subscription::ActiveModel {
        workspace_id: Set(workspace_id),
        subscription_id: Set(sub.subscription_id.clone()),
        plan: Set(sub.plan.clone()),
        product: Set(sub.product.clone()),
        seats: Set(sub.seats),
        group_name: Set(sub.group_name()),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(|e| match db_error(e) {
        DomainError::Uniqueness(_) => DomainError::Uniqueness(format!(
            "subscription {} already exists in this workspace",
            sub.subscription_id
        )),
        other => other,
    })?;
    Ok(to_domain(row))
}

pub async fn list(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<Vec<(Subscription, DateTime<Utc>)>> {
    Ok(subscription::Entity::find()
        .filter(subscription::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(subscription::Column::SubscriptionId)
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(to_domain)
        .collect())
}

pub async fn find(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
) -> DomainResult<(Subscription, DateTime<Utc>)> {
    subscription::Entity::find_by_id((workspace_id, subscription_id.to_owned()))
        .one(db)
        .await
        .map_err(db_error)?
        .map(to_domain)
        .ok_or_else(|| DomainError::NotFound(format!("subscription {subscription_id} not found")))
}

/// The subscription whose license group has exactly this displayName.
pub async fn find_by_group_name(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    display_name: &str,
) -> DomainResult<Option<String>> {
    Ok(subscription::Entity::find()
        .filter(subscription::Column::WorkspaceId.eq(workspace_id))
        .filter(subscription::Column::GroupName.eq(display_name))
        .one(db)
        .await
        .map_err(db_error)?
        .map(|row| row.subscription_id))
}

/// A group pushed before its subscription existed becomes its license group now.
pub async fn link_existing_group(
    tx: &WriteTx,
    workspace_id: Uuid,
    sub: &Subscription,
) -> DomainResult<()> {
    let db = tx.conn();
    group::Entity::update_many()
        .col_expr(
            group::Column::LicenseSubscription,
            Expr::value(sub.subscription_id.clone()),
        )
        .filter(group::Column::WorkspaceId.eq(workspace_id))
        .filter(group::Column::DisplayName.eq(sub.group_name()))
        .filter(group::Column::LicenseSubscription.is_null())
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub async fn license_group_id(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
) -> DomainResult<Option<Uuid>> {
    group::Entity::find()
        .select_only()
        .column(group::Column::Id)
        .filter(group::Column::WorkspaceId.eq(workspace_id))
        .filter(group::Column::LicenseSubscription.eq(subscription_id))
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)
}

/// Active users of the workspace entitled to `subscription_id`: in its license group, or
/// assigned it directly. Each counts once. Holders are those of them not waiting.
fn entitled_condition(workspace_id: Uuid, subscription_id: &str) -> Condition {
    let in_license_group: SimpleExpr = Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(group_member::Entity)
            .inner_join(
                group::Entity,
                Expr::col((group::Entity, group::Column::Id))
                    .equals((group_member::Entity, group_member::Column::GroupId)),
            )
            .and_where(
                Expr::col((group_member::Entity, group_member::Column::UserId))
                    .equals((user::Entity, user::Column::Id)),
            )
            .and_where(
                Expr::col((group::Entity, group::Column::LicenseSubscription)).eq(subscription_id),
            )
            .to_owned(),
    );
    let granted: SimpleExpr = Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(license_grant::Entity)
            .and_where(
                Expr::col((license_grant::Entity, license_grant::Column::UserId))
                    .equals((user::Entity, user::Column::Id)),
            )
            .and_where(
                Expr::col((license_grant::Entity, license_grant::Column::SubscriptionId))
                    .eq(subscription_id),
            )
            .to_owned(),
    );
    Condition::all()
        .add(user::Column::WorkspaceId.eq(workspace_id))
        .add(user::Column::Active.eq(true))
        .add(Condition::any().add(in_license_group).add(granted))
}

/// The user waits for a seat of `subscription_id` (a `license_waits` row).
fn waiting(workspace_id: Uuid, subscription_id: &str) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(license_wait::Entity)
            .and_where(
                Expr::col((license_wait::Entity, license_wait::Column::UserId))
                    .equals((user::Entity, user::Column::Id)),
            )
            .and_where(
                Expr::col((license_wait::Entity, license_wait::Column::WorkspaceId))
                    .eq(workspace_id),
            )
            .and_where(
                Expr::col((license_wait::Entity, license_wait::Column::SubscriptionId))
                    .eq(subscription_id),
            )
            .to_owned(),
    )
}

/// Holders: entitled (active, in the license group or granted) and not waiting.
fn holders_condition(workspace_id: Uuid, subscription_id: &str) -> Condition {
    entitled_condition(workspace_id, subscription_id)
        .add(waiting(workspace_id, subscription_id).not())
}

/// Entitled members who wait for a seat.
fn waiting_condition(workspace_id: Uuid, subscription_id: &str) -> Condition {
    entitled_condition(workspace_id, subscription_id).add(waiting(workspace_id, subscription_id))
}

pub async fn count_waiting(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
) -> DomainResult<u64> {
    user::Entity::find()
        .filter(waiting_condition(workspace_id, subscription_id))
        .count(db)
        .await
        .map_err(db_error)
}

/// Whether the user holds a seat of the subscription now.
pub async fn holds(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
) -> DomainResult<bool> {
    Ok(user::Entity::find()
        .filter(user::Column::Id.eq(user_id))
        .filter(holders_condition(workspace_id, subscription_id))
        .count(db)
        .await
        .map_err(db_error)?
        > 0)
}

/// Puts the user in the subscription's queue, from `since`.
pub async fn start_waiting(
    tx: &WriteTx,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> DomainResult<()> {
    license_wait::Entity::insert(license_wait::ActiveModel {
        workspace_id: Set(workspace_id),
        subscription_id: Set(subscription_id.to_owned()),
        user_id: Set(user_id),
        since: Set(since),
    })
    .on_conflict_do_nothing_on([
        license_wait::Column::WorkspaceId,
        license_wait::Column::SubscriptionId,
        license_wait::Column::UserId,
    ])
    .exec_without_returning(tx.conn())
    .await
    .map_err(db_error)?;
    Ok(())
}

/// Forgets waits of users no longer entitled (deactivated, left the license group, grant
/// withdrawn): they stop waiting, and wait anew from the end if they come back.
pub async fn drop_stale_waits(
    tx: &WriteTx,
    workspace_id: Uuid,
    subscription_id: &str,
) -> DomainResult<u64> {
    let db = tx.conn();
    let waiting_users: Vec<Uuid> = license_wait::Entity::find()
        .select_only()
        .column(license_wait::Column::UserId)
        .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
        .filter(license_wait::Column::SubscriptionId.eq(subscription_id))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    if waiting_users.is_empty() {
        return Ok(0);
    }
    let still_entitled: Vec<Uuid> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .filter(user::Column::Id.is_in(waiting_users.iter().copied()))
        .filter(entitled_condition(workspace_id, subscription_id))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let stale: Vec<Uuid> = waiting_users
        .into_iter()
        .filter(|id| !still_entitled.contains(id))
        .collect();
    if stale.is_empty() {
        return Ok(0);
    }
    Ok(license_wait::Entity::delete_many()
        .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
        .filter(license_wait::Column::SubscriptionId.eq(subscription_id))
        .filter(license_wait::Column::UserId.is_in(stale))
        .exec(db)
        .await
        .map_err(db_error)?
        .rows_affected)
}

/// Gives the next free seat to the longest-waiting member, if anyone waits.
pub async fn seat_longest_waiting(
    tx: &WriteTx,
    workspace_id: Uuid,
    subscription_id: &str,
) -> DomainResult<Option<Uuid>> {
    let db = tx.conn();
    let next: Option<Uuid> = license_wait::Entity::find()
        .select_only()
        .column(license_wait::Column::UserId)
        .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
        .filter(license_wait::Column::SubscriptionId.eq(subscription_id))
        .order_by_asc(license_wait::Column::Since)
        .order_by_asc(license_wait::Column::UserId)
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?;
    if let Some(user_id) = next {
        license_wait::Entity::delete_many()
            .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
            .filter(license_wait::Column::SubscriptionId.eq(subscription_id))
            .filter(license_wait::Column::UserId.eq(user_id))
            .exec(db)
            .await
            .map_err(db_error)?;
    }
    Ok(next)
}

/// Entitled members waiting for a seat, longest-waiting first.
pub async fn list_waiting(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
    offset: u64,
    limit: u64,
) -> DomainResult<Vec<User>> {
    user::Entity::find()
        .join_rev(
            sea_orm::JoinType::InnerJoin,
            license_wait::Entity::belongs_to(user::Entity)
                .from(license_wait::Column::UserId)
                .to(user::Column::Id)
                .into(),
        )
        .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
        .filter(license_wait::Column::SubscriptionId.eq(subscription_id))
        .filter(entitled_condition(workspace_id, subscription_id))
        .order_by_asc(license_wait::Column::Since)
        .order_by_asc(user::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(super::users::to_domain)
        .collect()
}

/// Subscriptions of the workspace that have members waiting for a seat.
pub async fn subscriptions_with_waiters(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<Vec<String>> {
    license_wait::Entity::find()
        .select_only()
        .column(license_wait::Column::SubscriptionId)
        .distinct()
        .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)
}

/// Subscriptions the user waits for a seat of.
pub async fn waits_of_user(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    user_id: Uuid,
) -> DomainResult<Vec<String>> {
    license_wait::Entity::find()
        .select_only()
        .column(license_wait::Column::SubscriptionId)
        .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
        .filter(license_wait::Column::UserId.eq(user_id))
        .order_by_asc(license_wait::Column::SubscriptionId)
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn count_holders(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
) -> DomainResult<u64> {
    user::Entity::find()
        .filter(holders_condition(workspace_id, subscription_id))
        .count(db)
        .await
        .map_err(db_error)
}

pub async fn list_holders(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
    offset: u64,
    limit: u64,
) -> DomainResult<Vec<User>> {
    user::Entity::find()
        .filter(holders_condition(workspace_id, subscription_id))
        .order_by_asc(user::Column::Id)
        .offset(offset)
        .limit(limit)
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(super::users::to_domain)
        .collect()
}

/// Subscriptions the user holds (whether or not the user is active): through license
/// groups and direct grants, each once, except those the user waits for.
pub async fn subscriptions_of_user(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    user_id: Uuid,
) -> DomainResult<Vec<String>> {
    let via_groups: Vec<Option<String>> = group_member::Entity::find()
        .select_only()
        .column_as(
            Expr::col((group::Entity, group::Column::LicenseSubscription)),
            "license_subscription",
        )
        .join_rev(
            sea_orm::JoinType::InnerJoin,
            group::Entity::belongs_to(group_member::Entity)
                .from(group::Column::Id)
                .to(group_member::Column::GroupId)
                .into(),
        )
        .filter(group_member::Column::UserId.eq(user_id))
        .filter(group::Column::LicenseSubscription.is_not_null())
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let granted: Vec<String> = license_grant::Entity::find()
        .select_only()
        .column(license_grant::Column::SubscriptionId)
        .filter(license_grant::Column::WorkspaceId.eq(workspace_id))
        .filter(license_grant::Column::UserId.eq(user_id))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    let waits = waits_of_user(db, workspace_id, user_id).await?;
    let mut held: Vec<String> = via_groups
        .into_iter()
        .flatten()
        .chain(granted)
        .filter(|subscription| !waits.contains(subscription))
        .collect();
    held.sort();
    held.dedup();
    Ok(held)
}

pub async fn grant(
    tx: &WriteTx,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let db = tx.conn();
    license_grant::Entity::insert(license_grant::ActiveModel {
        workspace_id: Set(workspace_id),
        subscription_id: Set(subscription_id.to_owned()),
        user_id: Set(user_id),
        created_at: Set(now),
    })
    .on_conflict_do_nothing_on([
        license_grant::Column::WorkspaceId,
        license_grant::Column::SubscriptionId,
        license_grant::Column::UserId,
    ])
    .exec_without_returning(db)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub async fn revoke(
    tx: &WriteTx,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
) -> DomainResult<u64> {
    let db = tx.conn();
    Ok(license_grant::Entity::delete_many()
        .filter(license_grant::Column::WorkspaceId.eq(workspace_id))
        .filter(license_grant::Column::SubscriptionId.eq(subscription_id))
        .filter(license_grant::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map_err(db_error)?
        .rows_affected)
}

pub async fn set_seats(
    tx: &WriteTx,
    workspace_id: Uuid,
    subscription_id: &str,
    seats: i64,
) -> DomainResult<()> {
    subscription::Entity::update_many()
        .col_expr(subscription::Column::Seats, Expr::value(seats))
        .filter(subscription::Column::WorkspaceId.eq(workspace_id))
        .filter(subscription::Column::SubscriptionId.eq(subscription_id))
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Removes the subscription with its direct grants and waits; its license group stays, as
/// a plain group (the IdP owns it).
pub async fn delete(tx: &WriteTx, workspace_id: Uuid, subscription_id: &str) -> DomainResult<()> {
    let db = tx.conn();
    license_grant::Entity::delete_many()
        .filter(license_grant::Column::WorkspaceId.eq(workspace_id))
        .filter(license_grant::Column::SubscriptionId.eq(subscription_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    license_wait::Entity::delete_many()
        .filter(license_wait::Column::WorkspaceId.eq(workspace_id))
        .filter(license_wait::Column::SubscriptionId.eq(subscription_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    group::Entity::update_many()
        .col_expr(
            group::Column::LicenseSubscription,
            Expr::value(Option::<String>::None),
        )
        .filter(group::Column::WorkspaceId.eq(workspace_id))
        .filter(group::Column::LicenseSubscription.eq(subscription_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    subscription::Entity::delete_many()
        .filter(subscription::Column::WorkspaceId.eq(workspace_id))
        .filter(subscription::Column::SubscriptionId.eq(subscription_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

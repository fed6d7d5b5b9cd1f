//! Subscriptions, license groups and direct license grants.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::db_error;
use super::entity::{group, group_member, license_grant, subscription, user};
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
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    sub: &Subscription,
    now: DateTime<Utc>,
) -> DomainResult<(Subscription, DateTime<Utc>)> {
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
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    sub: &Subscription,
) -> DomainResult<()> {
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

/// Active users of the workspace holding `subscription_id`: in its license group, or
/// assigned it directly. Each counts once.
fn holders_condition(workspace_id: Uuid, subscription_id: &str) -> Condition {
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
/// groups and direct grants, each once.
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
    let mut held: Vec<String> = via_groups.into_iter().flatten().chain(granted).collect();
    held.sort();
    held.dedup();
    Ok(held)
}

pub async fn grant(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> DomainResult<()> {
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
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    subscription_id: &str,
    user_id: Uuid,
) -> DomainResult<u64> {
    Ok(license_grant::Entity::delete_many()
        .filter(license_grant::Column::WorkspaceId.eq(workspace_id))
        .filter(license_grant::Column::SubscriptionId.eq(subscription_id))
        .filter(license_grant::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map_err(db_error)?
        .rows_affected)
}

//! Queries behind the workspace role rules (see `domain::roles`).

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, JoinType, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::db_error;
use super::entity::{group, group_member, user};
use crate::domain::DomainResult;
use crate::domain::roles::GroupRole;

fn member_of_group() -> sea_orm::RelationDef {
    group::Entity::belongs_to(group_member::Entity)
        .from(group::Column::Id)
        .to(group_member::Column::GroupId)
        .into()
}

fn member_is_user() -> sea_orm::RelationDef {
    user::Entity::belongs_to(group_member::Entity)
        .from(user::Column::Id)
        .to(group_member::Column::UserId)
        .into()
}

/// Active users of the workspace who are in at least one admin role group.
pub async fn count_active_admins(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<u64> {
    let count: Option<i64> = group_member::Entity::find()
        .select_only()
        .expr(Expr::col((group_member::Entity, group_member::Column::UserId)).count_distinct())
        .join_rev(JoinType::InnerJoin, member_of_group())
        .join_rev(JoinType::InnerJoin, member_is_user())
        .filter(group_member::Column::WorkspaceId.eq(workspace_id))
        .filter(group::Column::Role.eq(GroupRole::Admin.as_str()))
        .filter(user::Column::Active.eq(true))
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?;
    Ok(u64::try_from(count.unwrap_or(0)).unwrap_or(0))
}

/// The first of `user_ids` that is in a group of `role`: (userName, group displayName).
pub async fn first_member_with_role(
    db: &impl ConnectionTrait,
    user_ids: &[Uuid],
    role: GroupRole,
) -> DomainResult<Option<(String, String)>> {
    for chunk in user_ids.chunks(1000) {
        let found: Option<(String, String)> = group_member::Entity::find()
            .select_only()
            .column_as(
                Expr::col((user::Entity, user::Column::UserName)),
                "user_name",
            )
            .column_as(
                Expr::col((group::Entity, group::Column::DisplayName)),
                "display_name",
            )
            .join_rev(JoinType::InnerJoin, member_of_group())
            .join_rev(JoinType::InnerJoin, member_is_user())
            .filter(group_member::Column::UserId.is_in(chunk.iter().copied()))
            .filter(group::Column::Role.eq(role.as_str()))
            .into_tuple()
            .one(db)
            .await
            .map_err(db_error)?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

//! Queries behind the workspace role rules (see `domain::roles`): roles come from role
//! groups and from direct grants.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query, SimpleExpr};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, JoinType,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::entity::{group, group_member, role_grant, role_mapping, user};
use super::{WriteTx, db_error};
use crate::domain::DomainResult;
use crate::domain::roles::{GroupRole, MappingSource, RoleMapping};
use crate::domain::users::User;

/// `users` rows that hold `role` through a role group or a direct grant.
fn holds_role(role: GroupRole) -> Condition {
    let [via_group, via_grant, via_idp] = role_sources_of(role);
    Condition::any().add(via_group).add(via_grant).add(via_idp)
}

/// The three ways to hold `role`, in [`RoleSource`] order: a role group, a direct grant, the
/// IdP role value mapped to it.
fn role_sources_of(role: GroupRole) -> [SimpleExpr; 3] {
    let via_group: SimpleExpr = Expr::exists(
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
            .and_where(Expr::col((group::Entity, group::Column::Role)).eq(role.as_str()))
            .to_owned(),
    );
    let via_grant: SimpleExpr = Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(role_grant::Entity)
            .and_where(
                Expr::col((role_grant::Entity, role_grant::Column::UserId))
                    .equals((user::Entity, user::Column::Id)),
            )
            .and_where(Expr::col((role_grant::Entity, role_grant::Column::Role)).eq(role.as_str()))
            .to_owned(),
    );
    [via_group, via_grant, via_idp_role(role.as_str())]
}

/// Which sources give the user `role` (ignoring whether the user is active).
pub async fn role_sources(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    role: GroupRole,
) -> DomainResult<Vec<crate::domain::roles::RoleSource>> {
    let mut sources = Vec::new();
    use crate::domain::roles::RoleSource;
    let kinds = [
        RoleSource::RoleGroup,
        RoleSource::DirectGrant,
        RoleSource::IdpRoleMapping,
    ];
    for (kind, condition) in kinds.into_iter().zip(role_sources_of(role)) {
        let holds = user::Entity::find()
            .filter(user::Column::Id.eq(user_id))
            .filter(condition)
            .count(db)
            .await
            .map_err(db_error)?
            > 0;
        if holds {
            sources.push(kind);
        }
    }
    Ok(sources)
}

/// The user's IdP role value is mapped to `role` in its workspace.
fn via_idp_role(role: &str) -> SimpleExpr {
    Expr::exists(
        Query::select()
            .expr(Expr::val(1))
            .from(role_mapping::Entity)
            .and_where(
                Expr::col((role_mapping::Entity, role_mapping::Column::WorkspaceId))
                    .equals((user::Entity, user::Column::WorkspaceId)),
            )
            .and_where(
                Expr::col((role_mapping::Entity, role_mapping::Column::Source))
                    .eq(MappingSource::IdpRole.as_str()),
            )
            .and_where(
                Expr::col((role_mapping::Entity, role_mapping::Column::SourceValue))
                    .equals((user::Entity, user::Column::IdpRole)),
            )
            .and_where(Expr::col((role_mapping::Entity, role_mapping::Column::Role)).eq(role))
            .to_owned(),
    )
}

fn active_admins(workspace_id: Uuid) -> Condition {
    Condition::all()
        .add(user::Column::WorkspaceId.eq(workspace_id))
        .add(user::Column::Active.eq(true))
        .add(holds_role(GroupRole::Admin))
}

/// Active users of the workspace who are admins (by role group or grant).
pub async fn count_active_admins(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<u64> {
    user::Entity::find()
        .filter(active_admins(workspace_id))
        .count(db)
        .await
        .map_err(db_error)
}

/// Whether the workspace has at least one active admin. Driven from the few admin sources
/// (admin role groups' members, admin grants, IdP role values mapped to admin) through
/// their indexes, stopping at the first: every locked write asks it twice, so it must not
/// walk a million users when there are few admins or none.
pub async fn any_active_admin(db: &impl ConnectionTrait, workspace_id: Uuid) -> DomainResult<bool> {
    let via_group: Option<Uuid> = group_member::Entity::find()
        .select_only()
        .column(group_member::Column::UserId)
        .join_rev(
            JoinType::InnerJoin,
            group::Entity::belongs_to(group_member::Entity)
                .from(group::Column::Id)
                .to(group_member::Column::GroupId)
                .into(),
        )
        .join_rev(
            JoinType::InnerJoin,
            user::Entity::belongs_to(group_member::Entity)
                .from(user::Column::Id)
                .to(group_member::Column::UserId)
                .into(),
        )
        .filter(group::Column::WorkspaceId.eq(workspace_id))
        .filter(group::Column::Role.eq(GroupRole::Admin.as_str()))
        .filter(user::Column::Active.eq(true))
        .limit(1)
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?;
    if via_group.is_some() {
        return Ok(true);
    }
    let via_grant: Option<Uuid> = role_grant::Entity::find()
        .select_only()
        .column(role_grant::Column::UserId)
        .join_rev(
            JoinType::InnerJoin,
            user::Entity::belongs_to(role_grant::Entity)
                .from(user::Column::Id)
                .to(role_grant::Column::UserId)
                .into(),
        )
        .filter(role_grant::Column::WorkspaceId.eq(workspace_id))
        .filter(role_grant::Column::Role.eq(GroupRole::Admin.as_str()))
        .filter(user::Column::Active.eq(true))
        .limit(1)
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?;
    if via_grant.is_some() {
        return Ok(true);
    }
    let admin_values: Vec<String> = role_mapping::Entity::find()
        .select_only()
        .column(role_mapping::Column::SourceValue)
        .filter(role_mapping::Column::WorkspaceId.eq(workspace_id))
        .filter(role_mapping::Column::Source.eq(MappingSource::IdpRole.as_str()))
        .filter(role_mapping::Column::Role.eq(GroupRole::Admin.as_str()))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    for value in admin_values {
        let via_value: Option<Uuid> = user::Entity::find()
            .select_only()
            .column(user::Column::Id)
            .filter(user::Column::WorkspaceId.eq(workspace_id))
            .filter(user::Column::IdpRole.eq(value))
            .filter(user::Column::Active.eq(true))
            .limit(1)
            .into_tuple()
            .one(db)
            .await
            .map_err(db_error)?;
        if via_value.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

pub async fn list_active_admins(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    offset: u64,
    limit: u64,
) -> DomainResult<Vec<User>> {
    user::Entity::find()
        .filter(active_admins(workspace_id))
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

/// Whether the user holds admin and member (ignoring whether it is active), in one query.
pub async fn user_holds_admin_and_member(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> DomainResult<(bool, bool)> {
    let holds = |role| {
        Expr::case(holds_role(role), Expr::val(1))
            .finally(Expr::val(0))
            .into()
    };
    let row: Option<(i32, i32)> = user::Entity::find()
        .select_only()
        .column_as::<SimpleExpr, _>(holds(GroupRole::Admin), "admin")
        .column_as::<SimpleExpr, _>(holds(GroupRole::Member), "member")
        .filter(user::Column::Id.eq(user_id))
        .into_tuple()
        .one(db)
        .await
        .map_err(db_error)?;
    Ok(row.map_or((false, false), |(admin, member)| (admin == 1, member == 1)))
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
            .join_rev(
                JoinType::InnerJoin,
                group::Entity::belongs_to(group_member::Entity)
                    .from(group::Column::Id)
                    .to(group_member::Column::GroupId)
                    .into(),
            )
            .join_rev(
                JoinType::InnerJoin,
                user::Entity::belongs_to(group_member::Entity)
                    .from(user::Column::Id)
                    .to(group_member::Column::UserId)
                    .into(),
            )
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

pub async fn granted_role(
    db: &impl ConnectionTrait,
    user_id: Uuid,
) -> DomainResult<Option<GroupRole>> {
    Ok(role_grant::Entity::find_by_id(user_id)
        .one(db)
        .await
        .map_err(db_error)?
        .map(|row| GroupRole::parse(&row.role)))
}

/// Sets (or with `GroupRole::None`, withdraws) the user's direct role grant.
pub async fn set_grant(
    tx: &WriteTx,
    workspace_id: Uuid,
    user_id: Uuid,
    role: GroupRole,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let db = tx.conn();
    role_grant::Entity::delete_by_id(user_id)
        .exec(db)
        .await
        .map_err(db_error)?;
    if role != GroupRole::None {
        role_grant::ActiveModel {
            user_id: Set(user_id),
            workspace_id: Set(workspace_id),
            role: Set(role.as_str().to_owned()),
            created_at: Set(now),
        }
        .insert(db)
        .await
        .map_err(db_error)?;
    }
    Ok(())
}

/// The custom role the user's IdP role value maps to, if any.
pub async fn mapped_custom_role(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    idp_role: Option<&str>,
) -> DomainResult<Option<String>> {
    let Some(value) = idp_role else {
        return Ok(None);
    };
    Ok(role_mapping::Entity::find_by_id((
        workspace_id,
        MappingSource::IdpRole.as_str().to_owned(),
        value.to_owned(),
    ))
    .one(db)
    .await
    .map_err(db_error)?
    .map(|row| row.role))
}

/// The role a group-name mapping gives a group created with exactly this displayName.
pub async fn group_name_role(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    display_name: &str,
) -> DomainResult<Option<GroupRole>> {
    Ok(role_mapping::Entity::find_by_id((
        workspace_id,
        MappingSource::GroupName.as_str().to_owned(),
        display_name.to_owned(),
    ))
    .one(db)
    .await
    .map_err(db_error)?
    .map(|row| GroupRole::parse(&row.role)))
}

fn mapping_from_row(row: role_mapping::Model) -> RoleMapping {
    RoleMapping {
        source: MappingSource::parse(&row.source).unwrap_or(MappingSource::IdpRole),
        value: row.source_value,
        role: row.role,
    }
}

pub async fn set_mapping(
    tx: &WriteTx,
    workspace_id: Uuid,
    mapping: &RoleMapping,
    now: DateTime<Utc>,
) -> DomainResult<()> {
    let db = tx.conn();
    delete_mapping(tx, workspace_id, mapping.source, &mapping.value).await?;
    role_mapping::ActiveModel {
        workspace_id: Set(workspace_id),
        source: Set(mapping.source.as_str().to_owned()),
        source_value: Set(mapping.value.clone()),
        role: Set(mapping.role.clone()),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(())
}

pub async fn delete_mapping(
    tx: &WriteTx,
    workspace_id: Uuid,
    source: MappingSource,
    value: &str,
) -> DomainResult<u64> {
    let db = tx.conn();
    Ok(role_mapping::Entity::delete_many()
        .filter(role_mapping::Column::WorkspaceId.eq(workspace_id))
        .filter(role_mapping::Column::Source.eq(source.as_str()))
        .filter(role_mapping::Column::SourceValue.eq(value))
        .exec(db)
        .await
        .map_err(db_error)?
        .rows_affected)
}

pub async fn list_mappings(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<Vec<RoleMapping>> {
    Ok(role_mapping::Entity::find()
        .filter(role_mapping::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(role_mapping::Column::Source)
        .order_by_asc(role_mapping::Column::SourceValue)
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(mapping_from_row)
        .collect())
}

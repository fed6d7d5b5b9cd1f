//! Roles outside SCIM (seed 000: "assign another admin in LocalStack first") and the
//! read side for internal services.

use chrono::Utc;
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::DomainError;
use crate::domain::DomainResult;
use crate::domain::events::EventType;
use crate::domain::paging::PageRequest;
use crate::domain::roles::{GroupRole, MappingSource, RoleMapping, resolve_role};
use crate::domain::users::User;
use crate::store::{self, Db};

#[derive(Debug)]
pub struct UserAccess {
    pub user_id: Uuid,
    pub active: bool,
    /// A custom role from the IdP role value's mapping, when no admin or member role applies.
    pub custom_role: Option<String>,
    /// Effective: Admin over Member over None; None while inactive.
    pub role: GroupRole,
    /// Where the effective role comes from (empty for None).
    pub role_sources: Vec<crate::domain::roles::RoleSource>,
    pub granted_role: GroupRole,
    /// Subscription ids held (none while inactive).
    pub licenses: Vec<String>,
    /// Subscription ids the user waits for a seat of (none while inactive).
    pub waiting_licenses: Vec<String>,
}

pub async fn user_access(
    db: &impl store::Conn,
    workspace_id: Uuid,
    user_id: Uuid,
) -> DomainResult<UserAccess> {
    let user = store::users::find(db, workspace_id, user_id, false).await?;
    let active = user.profile.is_active();
    let role = effective_role(db, &user).await?;
    let custom_role = custom_role(db, &user, role).await?;
    let (licenses, waiting_licenses) = if active {
        (
            store::licenses::subscriptions_of_user(db, workspace_id, user_id).await?,
            store::licenses::waits_of_user(db, workspace_id, user_id).await?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    let role_sources = if role == GroupRole::None {
        Vec::new()
    } else {
        store::roles::role_sources(db, user_id, role).await?
    };
    Ok(UserAccess {
        user_id,
        active,
        custom_role,
        role,
        role_sources,
        granted_role: store::roles::granted_role(db, user_id)
            .await?
            .unwrap_or(GroupRole::None),
        licenses,
        waiting_licenses,
    })
}

/// Admin over member over none; none while inactive (one query for an active user).
async fn effective_role(db: &impl store::Conn, user: &User) -> DomainResult<GroupRole> {
    let active = user.profile.is_active();
    let (admin, member) = if active {
        store::roles::user_holds_admin_and_member(db, user.id).await?
    } else {
        (false, false)
    };
    Ok(resolve_role(active, admin, member))
}

/// A custom role from the IdP role value's mapping, when no admin or member role applies.
async fn custom_role(
    db: &impl store::Conn,
    user: &User,
    role: GroupRole,
) -> DomainResult<Option<String>> {
    if !user.profile.is_active() || role != GroupRole::None {
        return Ok(None);
    }
    Ok(store::roles::mapped_custom_role(
        db,
        user.workspace_id,
        user.profile.role_value().as_deref(),
    )
    .await?
    .filter(|r| r != "admin" && r != "member"))
}

/// The role (custom role when one is mapped) and licenses a user's events show: what
/// [`user_access`] resolves, without the role sources, direct grant and waits events do
/// not carry, in one to four queries instead of up to eleven. `user` is the state in the
/// caller's transaction; one `just_created` there holds no group, grant or seat yet, so
/// only an IdP role mapping can give it a role.
pub async fn shown_access(
    db: &impl store::Conn,
    user: &User,
    just_created: bool,
) -> DomainResult<(String, Vec<String>)> {
    let active = user.profile.is_active();
    let role = effective_role(db, user).await?;
    let shown = custom_role(db, user, role)
        .await?
        .unwrap_or_else(|| role.as_str().to_owned());
    let licenses = if active && !just_created {
        store::licenses::subscriptions_of_user(db, user.workspace_id, user.id).await?
    } else {
        Vec::new()
    };
    Ok((shown, licenses))
}

pub async fn get_user_access(
    db: &Db,
    workspace_id: Uuid,
    user_id: Uuid,
) -> DomainResult<UserAccess> {
    user_access(db, workspace_id, user_id).await
}

/// Grants a role directly, or withdraws the grant with `GroupRole::None`. Withdrawing the
/// last admin's grant is refused like any other removal of the last admin.
pub async fn set_member_role(
    db: &Db,
    workspace_id: Uuid,
    user_id: Uuid,
    role: GroupRole,
) -> DomainResult<UserAccess> {
    let mut write = Write::workspace(db, workspace_id).await?;
    store::users::find(write.conn(), workspace_id, user_id, false).await?;
    store::roles::set_grant(write.tx(), workspace_id, user_id, role, Utc::now()).await?;
    write.record(Change::RoleGranted { user_id, role });
    let access = user_access(write.conn(), workspace_id, user_id).await?;
    write.event(super::events::resource(
        EventType::RoleChanged,
        "user",
        user_id,
        serde_json::json!({ "id": user_id, "granted_role": role.as_str(), "role": access.role.as_str() }),
    ));
    write.commit().await?;
    Ok(access)
}

pub async fn list_workspace_admins(
    db: &Db,
    workspace_id: Uuid,
    page: PageRequest,
) -> DomainResult<(Vec<User>, u64)> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    let total = store::roles::count_active_admins(db, workspace_id).await?;
    let PageRequest::Index { offset, limit } = page else {
        return Err(DomainError::InvalidValue(
            "admins are paged by index".into(),
        ));
    };
    Ok((
        store::roles::list_active_admins(db, workspace_id, offset, limit).await?,
        total,
    ))
}

/// Sets a role mapping. Taking the admin role away from a value can cost the workspace its
/// last admin, so the rule is checked like for any other change.
pub async fn set_role_mapping(
    db: &Db,
    workspace_id: Uuid,
    mapping: RoleMapping,
) -> DomainResult<Vec<RoleMapping>> {
    let mapping = mapping.validated()?;
    let mut write = Write::workspace(db, workspace_id).await?;
    store::roles::set_mapping(write.tx(), workspace_id, &mapping, Utc::now()).await?;
    write.record(Change::RoleMappingsChanged);
    write.event(super::events::resource(
        EventType::RoleMappingSet,
        "role_mapping",
        &mapping.value,
        serde_json::json!({ "source": mapping.source.as_str(), "value": mapping.value, "role": mapping.role }),
    ));
    let all = store::roles::list_mappings(write.conn(), workspace_id).await?;
    write.commit().await?;
    Ok(all)
}

pub async fn delete_role_mapping(
    db: &Db,
    workspace_id: Uuid,
    source: MappingSource,
    value: &str,
) -> DomainResult<Vec<RoleMapping>> {
    let mut write = Write::workspace(db, workspace_id).await?;
    if store::roles::delete_mapping(write.tx(), workspace_id, source, value).await? == 0 {
        write.abandon().await?;
        return Err(DomainError::NotFound(format!(
            "no {} mapping for {value:?}",
            source.as_str()
        )));
    }
    write.record(Change::RoleMappingsChanged);
    write.event(super::events::resource(
        EventType::RoleMappingDeleted,
        "role_mapping",
        value,
        serde_json::json!({ "source": source.as_str(), "value": value }),
    ));
    let all = store::roles::list_mappings(write.conn(), workspace_id).await?;
    write.commit().await?;
    Ok(all)
}

pub async fn list_role_mappings(db: &Db, workspace_id: Uuid) -> DomainResult<Vec<RoleMapping>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    store::roles::list_mappings(db, workspace_id).await
}

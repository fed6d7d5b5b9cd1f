use chrono::Utc;
use uuid::Uuid;

use super::custom_attributes::declared;
use super::write::{Change, Write};
use crate::domain::attribute_mappings::apply_attribute_mappings;
use crate::domain::custom_attributes::{check_custom_attributes, refuse_undeclared_extensions};
use crate::domain::filter::{Filter, Sort};
use crate::domain::paging::{PageRequest, encode_cursor};
use crate::domain::patch::{PatchOperation, apply_patch};
use crate::domain::users::{User, UserProfile};
use crate::domain::{DomainError, DomainResult, check_version};
use crate::store::{self, Db};

/// A create cannot take a seat (the user is in no group yet) or remove an admin, and
/// userName uniqueness is a unique index: it runs without the workspace lock.
pub async fn create_user(db: &Db, workspace_id: Uuid, profile: UserProfile) -> DomainResult<User> {
    let profile = profile.validated()?;
    let mut write = Write::profile(db, workspace_id).await?;
    let config = write.config().await?;
    let profile = apply_attribute_mappings(profile, &[], &config.mappings)?;
    refuse_undeclared_extensions(&profile, None, &config.declared)?;
    let profile = check_custom_attributes(profile, &config.declared)?;
    check_manager(write.conn(), workspace_id, None, &profile).await?;
    let now = Utc::now();
    let user = User {
        id: Uuid::now_v7(),
        workspace_id,
        profile,
        created: now,
        last_modified: now,
        version: 1,
        groups: Vec::new(),
    };
    let user = store::users::insert(write.tx(), &user).await?;
    write.record(Change::UserCreated { user_id: user.id });
    write.events(super::events::user_events(write.conn(), None, Some(&user)).await?);
    write.commit().await?;
    Ok(user)
}

/// `manager.value` must name a user of the same workspace. Checked
/// when it is set or changed, so a manager deleted later does not block the user's
/// other updates.
async fn check_manager(
    conn: &impl store::Conn,
    workspace_id: Uuid,
    current: Option<&UserProfile>,
    profile: &UserProfile,
) -> DomainResult<()> {
    let Some(manager) = &profile.enterprise.manager else {
        return Ok(());
    };
    let before = current.and_then(|c| c.enterprise.manager.as_ref());
    if before.is_some_and(|b| b.value == manager.value) {
        return Ok(());
    }
    let unknown = || {
        DomainError::InvalidValue(format!(
            "manager.value {:?} names no user of this workspace",
            manager.value.chars().take(64).collect::<String>()
        ))
    };
    let id = Uuid::try_parse(&manager.value).map_err(|_| unknown())?;
    match store::users::find(conn, workspace_id, id, false).await {
        Ok(_) => Ok(()),
        Err(DomainError::NotFound(_)) => Err(unknown()),
        Err(other) => Err(other),
    }
}

pub async fn get_user(db: &Db, workspace_id: Uuid, id: Uuid) -> DomainResult<User> {
    store::users::find_with_groups(db, workspace_id, id).await
}

/// Fills each user's read-only `groups` with one query for the whole page.
async fn with_groups(db: &impl store::Conn, mut users: Vec<User>) -> DomainResult<Vec<User>> {
    let ids: Vec<Uuid> = users.iter().map(|u| u.id).collect();
    let mut groups = store::groups::groups_of_users(db, &ids).await?;
    for user in &mut users {
        user.groups = groups.remove(&user.id).unwrap_or_default();
    }
    Ok(users)
}

pub struct UserPage {
    pub users: Vec<User>,
    pub total_results: u64,
    pub start_index: u64,
    pub next_cursor: Option<String>,
}

pub async fn list_users(
    db: &Db,
    workspace_id: Uuid,
    filter: Option<&Filter>,
    sort: Option<&Sort>,
    page: PageRequest,
) -> DomainResult<UserPage> {
    // A filter on core or enterprise attributes (all an IdP sends) spares the query.
    let custom = if filter.is_some_and(Filter::names_extension_schema) {
        declared(db, workspace_id).await?
    } else {
        Vec::new()
    };
    let found = store::users::list(db, workspace_id, filter, &custom, sort, page).await?;
    Ok(UserPage {
        users: with_groups(db, found.users).await?,
        total_results: found.total_results,
        start_index: page.start_index(),
        next_cursor: found.next_cursor.map(encode_cursor),
    })
}

pub async fn replace_user(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    profile: UserProfile,
    expected_version: Option<i64>,
) -> DomainResult<User> {
    let profile = profile.validated()?;
    update_user_with(db, workspace_id, id, expected_version, |_| {
        Ok(profile.clone())
    })
    .await
}

pub async fn patch_user(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    operations: &[PatchOperation],
    expected_version: Option<i64>,
) -> DomainResult<User> {
    update_user_with(db, workspace_id, id, expected_version, |current| {
        apply_patch(current, operations)
    })
    .await
}

/// Loads and locks the user, computes its new profile, and writes it with a new version,
/// all in one transaction. A change that alters nothing keeps the version and timestamp
/// (Okta re-sends unchanged values with every update).
///
/// A change that leaves `active` and the role value alone cannot touch a role or a seat:
/// it runs without the workspace lock (only the user row is locked). Otherwise the write
/// starts again under the workspace lock (taking it while holding the user row would
/// invert the lock order of the other writes).
async fn update_user_with(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
    change: impl Fn(&UserProfile) -> DomainResult<UserProfile>,
) -> DomainResult<User> {
    let write = Write::profile(db, workspace_id).await?;
    match update_user_in(write, workspace_id, id, expected_version, &change).await? {
        Updated::Done(user) => Ok(*user),
        Updated::NeedsWorkspaceLock => {
            let write = Write::workspace(db, workspace_id).await?;
            match update_user_in(write, workspace_id, id, expected_version, &change).await? {
                Updated::Done(user) => Ok(*user),
                Updated::NeedsWorkspaceLock => Err(DomainError::Storage(
                    "internal: a locked user update asked for the lock".into(),
                )),
            }
        }
    }
}

enum Updated {
    Done(Box<User>),
    NeedsWorkspaceLock,
}

async fn update_user_in(
    mut write: Write,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
    change: &impl Fn(&UserProfile) -> DomainResult<UserProfile>,
) -> DomainResult<Updated> {
    let current = store::users::find(write.conn(), workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    let profile = change(&current.profile)?;
    let config = write.config().await?;
    let profile = if config.mappings.is_empty() {
        profile
    } else {
        let mut groups = store::groups::groups_of_users(write.conn(), &[id]).await?;
        apply_attribute_mappings(
            profile,
            &groups.remove(&id).unwrap_or_default(),
            &config.mappings,
        )?
    };
    refuse_undeclared_extensions(&profile, Some(&current.profile), &config.declared)?;
    let profile = check_custom_attributes(profile, &config.declared)?;
    check_manager(write.conn(), workspace_id, Some(&current.profile), &profile).await?;
    if profile == current.profile {
        let current = with_groups(write.conn(), vec![current]).await?.remove(0);
        write.abandon().await?;
        return Ok(Updated::Done(Box::new(current)));
    }
    let deactivating = current.profile.is_active() && !profile.is_active();
    let reactivating = !current.profile.is_active() && profile.is_active();
    let rules =
        deactivating || reactivating || current.profile.role_value() != profile.role_value();
    if rules && !write.locks_workspace() {
        write.abandon().await?;
        return Ok(Updated::NeedsWorkspaceLock);
    }
    let updated = User {
        profile,
        last_modified: Utc::now().max(current.last_modified),
        version: current.version + 1,
        ..current.clone()
    };
    let updated = store::users::update(write.tx(), &updated).await?;
    write.record(Change::UserUpdated { user_id: id, rules });
    if deactivating {
        write.record(Change::UserDeactivated { user_id: id });
    }
    if reactivating {
        write.record(Change::UserReactivated { user_id: id });
    }
    let updated = with_groups(write.conn(), vec![updated]).await?.remove(0);
    write.events(super::events::user_events(write.conn(), Some(&current), Some(&updated)).await?);
    write.commit().await?;
    Ok(Updated::Done(Box::new(updated)))
}

pub async fn delete_user(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
) -> DomainResult<()> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let current = store::users::find(write.conn(), workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    // The tombstone carries the user's last state: built before the row goes.
    write.events(super::events::user_events(write.conn(), Some(&current), None).await?);
    // Its memberships go with it: each group it was in records the member removed.
    let groups = store::groups::groups_of_users(write.conn(), &[id])
        .await?
        .remove(&id)
        .unwrap_or_default();
    for (group_id, _) in groups {
        let group = store::groups::find(write.conn(), workspace_id, group_id, false).await?;
        write.events(super::events::group_events(
            Some(&group),
            Some(&group),
            &[],
            &[id],
        ));
    }
    store::users::delete(write.tx(), workspace_id, id).await?;
    write.record(Change::UserDeleted { user_id: id });
    write.commit().await?;
    Ok(())
}

pub enum ImportOutcome {
    Created(Uuid),
    Existing(Uuid),
    Failed(DomainError),
}

/// Imports members who existed before SCIM, each in its own transaction. A userName that
/// is already taken (case-insensitively) is an existing member, not an error.
pub async fn import_users(
    db: &Db,
    workspace_id: Uuid,
    profiles: Vec<UserProfile>,
) -> DomainResult<Vec<(String, ImportOutcome)>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    let mut results = Vec::with_capacity(profiles.len());
    for profile in profiles {
        let user_name = profile.user_name.clone();
        let outcome = match create_user(db, workspace_id, profile).await {
            Ok(user) => ImportOutcome::Created(user.id),
            Err(DomainError::Uniqueness(_)) => {
                match store::users::find_by_user_name(db, workspace_id, &user_name).await? {
                    Some(existing) => ImportOutcome::Existing(existing.id),
                    None => {
                        ImportOutcome::Failed(DomainError::Uniqueness("userName is taken".into()))
                    }
                }
            }
            Err(DomainError::Storage(cause)) => return Err(DomainError::Storage(cause)),
            Err(other) => ImportOutcome::Failed(other),
        };
        results.push((user_name, outcome));
    }
    Ok(results)
}

use chrono::Utc;
use uuid::Uuid;

use super::custom_attributes::declared;
use crate::domain::attribute_mappings::apply_attribute_mappings;
use crate::domain::custom_attributes::check_custom_attributes;
use crate::domain::filter::{Filter, Sort};
use crate::domain::paging::{PageRequest, encode_cursor};
use crate::domain::patch::{PatchOperation, apply_patch};
use crate::domain::roles::check_admins_remain;
use crate::domain::users::{User, UserProfile};
use crate::domain::{DomainError, DomainResult, check_version};
use crate::store::{self, Db, db_error};

pub async fn create_user(db: &Db, workspace_id: Uuid, profile: UserProfile) -> DomainResult<User> {
    let profile = profile.validated()?;
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let mappings = store::attribute_mappings::list(&tx, workspace_id).await?;
    let profile = apply_attribute_mappings(profile, &[], &mappings)?;
    let profile = check_custom_attributes(profile, &declared(&tx, workspace_id).await?)?;
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
    let user = store::users::insert(&tx, &user).await?;
    super::events::record_user(&tx, None, Some(&user)).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(user)
}

pub async fn get_user(db: &Db, workspace_id: Uuid, id: Uuid) -> DomainResult<User> {
    let user = store::users::find(db, workspace_id, id, false).await?;
    Ok(with_groups(db, vec![user]).await?.remove(0))
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
    let custom = declared(db, workspace_id).await?;
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
    update_user_with(db, workspace_id, id, expected_version, |_| Ok(profile)).await
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
async fn update_user_with(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
    change: impl FnOnce(&UserProfile) -> DomainResult<UserProfile>,
) -> DomainResult<User> {
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let current = store::users::find(&tx, workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    let profile = change(&current.profile)?;
    let mappings = store::attribute_mappings::list(&tx, workspace_id).await?;
    let profile = if mappings.is_empty() {
        profile
    } else {
        let mut groups = store::groups::groups_of_users(&tx, &[id]).await?;
        apply_attribute_mappings(profile, &groups.remove(&id).unwrap_or_default(), &mappings)?
    };
    let profile = check_custom_attributes(profile, &declared(&tx, workspace_id).await?)?;
    if profile == current.profile {
        let current = with_groups(&tx, vec![current]).await?.remove(0);
        tx.rollback().await.map_err(db_error)?;
        return Ok(current);
    }
    let before = current.clone();
    let updated = User {
        profile,
        last_modified: Utc::now().max(current.last_modified),
        version: current.version + 1,
        ..current
    };
    // Deactivation takes the user's roles away: it must not leave the workspace adminless.
    let deactivating = current.profile.is_active() && !updated.profile.is_active();
    // A new IdP role value can take a mapped admin role away.
    let role_value_changed = current.profile.role_value() != updated.profile.role_value();
    let admins_before = if deactivating || role_value_changed {
        Some(store::roles::count_active_admins(&tx, workspace_id).await?)
    } else {
        None
    };
    // Reactivation gives the user's licenses back: only if seats are free.
    let reactivating = !current.profile.is_active() && updated.profile.is_active();
    let seats_before = if reactivating {
        Some(super::licenses::seats_taken(&tx, workspace_id).await?)
    } else {
        None
    };
    let updated = store::users::update(&tx, &updated).await?;
    if let Some(before) = seats_before {
        super::licenses::check_no_seat_overflow(&tx, workspace_id, &before).await?;
    }
    if let Some(before) = admins_before {
        check_admins_remain(
            before,
            store::roles::count_active_admins(&tx, workspace_id).await?,
        )?;
    }
    let updated = with_groups(&tx, vec![updated]).await?.remove(0);
    super::events::record_user(&tx, Some(&before), Some(&updated)).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(updated)
}

pub async fn delete_user(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
) -> DomainResult<()> {
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let current = store::users::find(&tx, workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    let admins_before = store::roles::count_active_admins(&tx, workspace_id).await?;
    super::events::record_user(&tx, Some(&current), None).await?;
    store::users::delete(&tx, workspace_id, id).await?;
    check_admins_remain(
        admins_before,
        store::roles::count_active_admins(&tx, workspace_id).await?,
    )?;
    tx.commit().await.map_err(db_error)?;
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

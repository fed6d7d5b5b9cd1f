use std::collections::HashSet;

use chrono::Utc;
use uuid::Uuid;

use crate::domain::filter::{Filter, Sort};
use crate::domain::groups::{
    Group, GroupProfile, Member, MembershipChange, member_ids, plan_group_patch,
};
use crate::domain::licenses::check_seats;
use crate::domain::paging::{PageRequest, encode_cursor};
use crate::domain::patch::PatchOperation;
use crate::domain::roles::{GroupRole, check_admins_remain, dual_role_conflict};
use crate::domain::{DomainResult, check_version};
use crate::store::{self, Db, db_error};

/// A group as read: members are loaded only when asked for (a group may have 100k).
#[derive(Debug)]
pub struct GroupView {
    pub group: Group,
    pub members: Option<Vec<Member>>,
}

async fn view(
    db: &impl store::Conn,
    group: Group,
    include_members: bool,
) -> DomainResult<GroupView> {
    let members = if include_members {
        let mut by_group = store::groups::members_of(db, &[group.id]).await?;
        Some(by_group.remove(&group.id).unwrap_or_default())
    } else {
        None
    };
    Ok(GroupView { group, members })
}

fn unique(ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.into_iter().filter(|id| seen.insert(*id)).collect()
}

pub async fn create_group(
    db: &Db,
    workspace_id: Uuid,
    profile: GroupProfile,
    members: &[String],
) -> DomainResult<GroupView> {
    let profile = profile.validated()?;
    let members = unique(member_ids(members)?);
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let now = Utc::now();
    let license_subscription =
        store::licenses::find_by_group_name(&tx, workspace_id, &profile.display_name).await?;
    let group = Group {
        id: Uuid::now_v7(),
        workspace_id,
        // An explicit group-name mapping decides; otherwise the displayName's words do.
        role: match store::roles::group_name_role(&tx, workspace_id, &profile.display_name).await? {
            Some(role) => role,
            None => GroupRole::from_display_name(&profile.display_name),
        },
        license_subscription,
        profile,
        created: now,
        last_modified: now,
        version: 1,
    };
    let group = store::groups::insert(&tx, &group).await?;
    let seats_before = seats_held(&tx, &group).await?;
    store::groups::check_users_exist(&tx, workspace_id, &members).await?;
    store::groups::add_members(&tx, workspace_id, group.id, &members, now).await?;
    check_single_role(&tx, &group, &members).await?;
    check_license_seats(&tx, &group, seats_before).await?;
    super::events::record_group(&tx, None, Some(&group), &members, &[]).await?;
    let view = view(&tx, group, true).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(view)
}

/// Seats taken of the group's subscription, when it is a license group.
async fn seats_held(tx: &impl store::Conn, group: &Group) -> DomainResult<Option<u64>> {
    match &group.license_subscription {
        Some(subscription) => Ok(Some(
            store::licenses::count_holders(tx, group.workspace_id, subscription).await?,
        )),
        None => Ok(None),
    }
}

/// A license group may not give out more seats than its subscription has.
async fn check_license_seats(
    tx: &impl store::Conn,
    group: &Group,
    before: Option<u64>,
) -> DomainResult<()> {
    let (Some(subscription), Some(before)) = (&group.license_subscription, before) else {
        return Ok(());
    };
    let (rules, _) = store::licenses::find(tx, group.workspace_id, subscription).await?;
    let after = store::licenses::count_holders(tx, group.workspace_id, subscription).await?;
    check_seats(&rules, before, after)
}

/// Members just added to a role group must not be in a group of the other role.
async fn check_single_role(
    tx: &impl store::Conn,
    group: &Group,
    added: &[Uuid],
) -> DomainResult<()> {
    let Some(other) = group.role.conflicting() else {
        return Ok(());
    };
    match store::roles::first_member_with_role(tx, added, other).await? {
        Some((user_name, other_group)) => Err(dual_role_conflict(
            &user_name,
            &group.profile.display_name,
            &other_group,
            group.role,
        )),
        None => Ok(()),
    }
}

pub async fn get_group(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    include_members: bool,
) -> DomainResult<GroupView> {
    let group = store::groups::find(db, workspace_id, id, false).await?;
    view(db, group, include_members).await
}

pub struct GroupPage {
    pub groups: Vec<GroupView>,
    pub total_results: u64,
    pub start_index: u64,
    pub next_cursor: Option<String>,
}

pub async fn list_groups(
    db: &Db,
    workspace_id: Uuid,
    filter: Option<&Filter>,
    sort: Option<&Sort>,
    page: PageRequest,
    include_members: bool,
) -> DomainResult<GroupPage> {
    let found = store::groups::list(db, workspace_id, filter, sort, page).await?;
    let mut members = if include_members {
        let ids: Vec<Uuid> = found.groups.iter().map(|g| g.id).collect();
        Some(store::groups::members_of(db, &ids).await?)
    } else {
        None
    };
    let groups = found
        .groups
        .into_iter()
        .map(|group| GroupView {
            members: members
                .as_mut()
                .map(|m| m.remove(&group.id).unwrap_or_default()),
            group,
        })
        .collect();
    Ok(GroupPage {
        groups,
        total_results: found.total_results,
        start_index: page.start_index(),
        next_cursor: found.next_cursor.map(encode_cursor),
    })
}

/// PUT: the new profile and exactly the given member set.
pub async fn replace_group(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    profile: GroupProfile,
    members: &[String],
    expected_version: Option<i64>,
    include_members: bool,
) -> DomainResult<GroupView> {
    let profile = profile.validated()?;
    let members = unique(member_ids(members)?);
    update_group_with(
        db,
        workspace_id,
        id,
        expected_version,
        include_members,
        |_| Ok((profile, vec![MembershipChange::ReplaceAll(members)])),
    )
    .await
}

pub async fn patch_group(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    operations: &[PatchOperation],
    expected_version: Option<i64>,
    include_members: bool,
) -> DomainResult<GroupView> {
    update_group_with(
        db,
        workspace_id,
        id,
        expected_version,
        include_members,
        |current| {
            let plan = plan_group_patch(current, operations)?;
            Ok((plan.profile, plan.membership))
        },
    )
    .await
}

/// Loads and locks the group, applies the new profile and the membership changes in
/// order, and bumps the version only if something really changed (Okta re-sends the same
/// displayName with every membership update).
async fn update_group_with(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
    include_members: bool,
    change: impl FnOnce(&GroupProfile) -> DomainResult<(GroupProfile, Vec<MembershipChange>)>,
) -> DomainResult<GroupView> {
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let current = store::groups::find(&tx, workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    let (profile, membership) = change(&current.profile)?;
    // Only removals from an admin role group can cost the workspace its last admin.
    let admins_before = if current.role == GroupRole::Admin {
        Some(store::roles::count_active_admins(&tx, workspace_id).await?)
    } else {
        None
    };
    let seats_before = seats_held(&tx, &current).await?;
    let now = Utc::now();
    let mut members_changed = false;
    let mut added = Vec::new();
    let mut removed = Vec::new();
    for change in membership {
        let affected = match change {
            MembershipChange::Add(ids) => {
                let ids = unique(ids);
                store::groups::check_users_exist(&tx, workspace_id, &ids).await?;
                let n = store::groups::add_members(&tx, workspace_id, id, &ids, now).await?;
                added.extend(ids);
                n
            }
            MembershipChange::Remove(ids) => {
                let n = store::groups::remove_members(&tx, id, &ids).await?;
                removed.extend(ids);
                n
            }
            MembershipChange::RemoveAll => {
                removed.extend(store::groups::member_ids(&tx, id).await?);
                store::groups::remove_all_members(&tx, id).await?
            }
            MembershipChange::ReplaceAll(ids) => {
                let wanted: HashSet<Uuid> = unique(ids).into_iter().collect();
                let existing: HashSet<Uuid> = store::groups::member_ids(&tx, id)
                    .await?
                    .into_iter()
                    .collect();
                let to_add: Vec<Uuid> = wanted.difference(&existing).copied().collect();
                let to_remove: Vec<Uuid> = existing.difference(&wanted).copied().collect();
                store::groups::check_users_exist(&tx, workspace_id, &to_add).await?;
                let n = store::groups::remove_members(&tx, id, &to_remove).await?
                    + store::groups::add_members(&tx, workspace_id, id, &to_add, now).await?;
                added.extend(to_add);
                removed.extend(to_remove);
                n
            }
        };
        members_changed |= affected > 0;
    }
    // Rules on the state after the change, still inside the transaction.
    check_single_role(&tx, &current, &added).await?;
    check_license_seats(&tx, &current, seats_before).await?;
    if let Some(before) = admins_before {
        check_admins_remain(
            before,
            store::roles::count_active_admins(&tx, workspace_id).await?,
        )?;
    }
    if profile == current.profile && !members_changed {
        let view = view(&tx, current, include_members).await?;
        tx.rollback().await.map_err(db_error)?;
        return Ok(view);
    }
    let before = current.clone();
    let updated = Group {
        profile,
        last_modified: now.max(current.last_modified),
        version: current.version + 1,
        ..current
    };
    let updated = store::groups::update(&tx, &updated).await?;
    super::events::record_group(&tx, Some(&before), Some(&updated), &added, &removed).await?;
    let view = view(&tx, updated, include_members).await?;
    tx.commit().await.map_err(db_error)?;
    Ok(view)
}

pub async fn delete_group(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
) -> DomainResult<()> {
    let tx = store::begin_write(db).await?;
    store::workspaces::lock(&tx, workspace_id).await?;
    let current = store::groups::find(&tx, workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    let admins_before = store::roles::count_active_admins(&tx, workspace_id).await?;
    super::events::record_group(&tx, Some(&current), None, &[], &[]).await?;
    store::groups::delete(&tx, workspace_id, id).await?;
    if current.role == GroupRole::Admin {
        check_admins_remain(
            admins_before,
            store::roles::count_active_admins(&tx, workspace_id).await?,
        )?;
    }
    tx.commit().await.map_err(db_error)?;
    Ok(())
}

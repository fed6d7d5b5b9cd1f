use std::collections::{HashMap, HashSet};

use chrono::Utc;
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::filter::{Filter, Sort};
use crate::domain::groups::{
    Group, GroupProfile, Member, MembershipChange, member_ids, plan_group_patch,
};
use crate::domain::paging::{PageRequest, encode_cursor};
use crate::domain::patch::PatchOperation;
use crate::domain::roles::GroupRole;
use crate::domain::{DomainResult, check_version};
use crate::store::{self, Db};

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
    profile.refuse_extensions(None)?;
    let members = unique(member_ids(members)?);
    let mut write = Write::workspace(db, workspace_id).await?;
    let now = Utc::now();
    let license_subscription =
        store::licenses::find_by_group_name(write.conn(), workspace_id, &profile.display_name)
            .await?;
    // An explicit group-name mapping decides; otherwise the displayName's words do.
    let role =
        match store::roles::group_name_role(write.conn(), workspace_id, &profile.display_name)
            .await?
        {
            Some(role) => role,
            None => GroupRole::from_display_name(&profile.display_name),
        };
    let group = Group {
        id: Uuid::now_v7(),
        workspace_id,
        role,
        license_subscription,
        profile,
        created: now,
        last_modified: now,
        version: 1,
    };
    let group = store::groups::insert(write.tx(), &group).await?;
    write.record(Change::GroupCreated { group_id: group.id });
    store::groups::check_users_exist(write.conn(), workspace_id, &members).await?;
    store::groups::add_members(write.tx(), workspace_id, group.id, &members, now).await?;
    write.events(super::events::group_events(
        None,
        Some(&group),
        &members,
        &[],
    ));
    if !members.is_empty() {
        write.record(Change::MembersAdded {
            group_id: group.id,
            user_ids: members,
        });
    }
    let view = view(write.conn(), group, true).await?;
    write.commit().await?;
    Ok(view)
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

/// Members per message of a streamed group read, unless the caller asks otherwise.
pub const DEFAULT_MEMBER_PAGE: usize = 1_000;
/// The most members one message of a streamed group read carries.
pub const MAX_MEMBER_PAGE: usize = 10_000;

/// Group `id` with all its members, streamed: the first message is the group (or the
/// error, e.g. not found) with the first page of members, then pages of `page_size`
/// (0: [`DEFAULT_MEMBER_PAGE`]), all from one snapshot, so the version in the first message
/// is the version of exactly these members. Bounded: a few pages are buffered, the reader's
/// pace drives the query.
pub fn stream_group_members(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    page_size: usize,
) -> tokio::sync::mpsc::Receiver<DomainResult<store::groups::MemberPage>> {
    let page_size = match page_size {
        0 => DEFAULT_MEMBER_PAGE,
        n => n.min(MAX_MEMBER_PAGE),
    };
    let (pages, received) = tokio::sync::mpsc::channel(2);
    let db = db.clone();
    tokio::spawn(async move {
        store::groups::stream_with_members(&db, workspace_id, id, page_size, pages).await;
    });
    received
}

/// Member counts of groups of the workspace (for admin views).
pub async fn member_counts(db: &Db, group_ids: &[Uuid]) -> DomainResult<HashMap<Uuid, u64>> {
    store::groups::member_counts(db, group_ids).await
}

/// The most members one page of a group list carries inline, all groups together: a page
/// stays a few MiB (a member is its id and userName, at most ~1 KiB) whatever the group
/// sizes, far below the gRPC message limit. A group whose members do not fit in what is left
/// of the budget is listed without them (`members_included` false); `GET /Groups/{id}`
/// streams any number.
pub const MAX_LISTED_MEMBERS: u64 = 10_000;

/// The groups of a page (in page order) whose members are listed inline: each while its
/// member count fits in what `budget` has left.
fn members_inline(ids: &[Uuid], counts: &HashMap<Uuid, u64>, budget: u64) -> HashSet<Uuid> {
    let mut left = budget;
    let mut inline = HashSet::new();
    for id in ids {
        let count = counts.get(id).copied().unwrap_or(0);
        if count <= left {
            left -= count;
            inline.insert(*id);
        }
    }
    inline
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
    let (inline, mut members) = if include_members {
        let ids: Vec<Uuid> = found.groups.iter().map(|g| g.id).collect();
        let counts = store::groups::member_counts(db, &ids).await?;
        let inline = members_inline(&ids, &counts, MAX_LISTED_MEMBERS);
        let loaded: Vec<Uuid> = inline.iter().copied().collect();
        (inline, store::groups::members_of(db, &loaded).await?)
    } else {
        (HashSet::new(), HashMap::new())
    };
    let groups = found
        .groups
        .into_iter()
        .map(|group| GroupView {
            members: inline
                .contains(&group.id)
                .then(|| members.remove(&group.id).unwrap_or_default()),
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
        |current| {
            profile.refuse_extensions(Some(current))?;
            Ok((profile, vec![MembershipChange::ReplaceAll(members)]))
        },
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
/// displayName with every membership update). The rules run in `Write::commit`.
async fn update_group_with(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
    include_members: bool,
    change: impl FnOnce(&GroupProfile) -> DomainResult<(GroupProfile, Vec<MembershipChange>)>,
) -> DomainResult<GroupView> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let current = store::groups::find(write.conn(), workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    let (profile, membership) = change(&current.profile)?;
    let now = Utc::now();
    let mut members_changed = false;
    let mut all_added = Vec::new();
    let mut all_removed = Vec::new();
    for change in membership {
        let (added, removed) = match change {
            MembershipChange::Add(ids) => {
                let ids = unique(ids);
                store::groups::check_users_exist(write.conn(), workspace_id, &ids).await?;
                let n = store::groups::add_members(write.tx(), workspace_id, id, &ids, now).await?;
                members_changed |= n > 0;
                (ids, Vec::new())
            }
            MembershipChange::Remove(ids) => {
                let ids = unique(ids);
                members_changed |= store::groups::remove_members(write.tx(), id, &ids).await? > 0;
                (Vec::new(), ids)
            }
            MembershipChange::RemoveAll => {
                let ids = store::groups::member_ids(write.conn(), id).await?;
                members_changed |= store::groups::remove_all_members(write.tx(), id).await? > 0;
                (Vec::new(), ids)
            }
            MembershipChange::ReplaceAll(ids) => {
                let wanted: HashSet<Uuid> = unique(ids).into_iter().collect();
                let existing: HashSet<Uuid> = store::groups::member_ids(write.conn(), id)
                    .await?
                    .into_iter()
                    .collect();
                let to_add: Vec<Uuid> = wanted.difference(&existing).copied().collect();
                let to_remove: Vec<Uuid> = existing.difference(&wanted).copied().collect();
                store::groups::check_users_exist(write.conn(), workspace_id, &to_add).await?;
                let n = store::groups::remove_members(write.tx(), id, &to_remove).await?
                    + store::groups::add_members(write.tx(), workspace_id, id, &to_add, now)
                        .await?;
                members_changed |= n > 0;
                (to_add, to_remove)
            }
        };
        all_added.extend(added.iter().copied());
        all_removed.extend(removed.iter().copied());
        if !added.is_empty() {
            write.record(Change::MembersAdded {
                group_id: id,
                user_ids: added,
            });
        }
        if !removed.is_empty() {
            write.record(Change::MembersRemoved {
                group_id: id,
                user_ids: removed,
            });
        }
    }
    if profile == current.profile && !members_changed {
        let view = view(write.conn(), current, include_members).await?;
        write.abandon().await?;
        return Ok(view);
    }
    if profile != current.profile {
        write.record(Change::GroupUpdated {
            group_id: id,
            renamed: profile.display_name != current.profile.display_name,
        });
    }
    let updated = Group {
        profile,
        last_modified: now.max(current.last_modified),
        version: current.version + 1,
        ..current.clone()
    };
    let updated = store::groups::update(write.tx(), &updated).await?;
    write.events(super::events::group_events(
        Some(&current),
        Some(&updated),
        &all_added,
        &all_removed,
    ));
    // The rules may refuse the change; the view is read before commit, in the transaction.
    let view = view(write.conn(), updated, include_members).await?;
    write.commit().await?;
    Ok(view)
}

pub async fn delete_group(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    expected_version: Option<i64>,
) -> DomainResult<()> {
    let mut write = Write::workspace(db, workspace_id).await?;
    let current = store::groups::find(write.conn(), workspace_id, id, true).await?;
    check_version(expected_version, current.version)?;
    let members = store::groups::member_ids(write.conn(), id).await?;
    // The tombstone, then the memberships that go with the group.
    write.events(super::events::group_events(
        Some(&current),
        None,
        &[],
        &members,
    ));
    store::groups::delete(write.tx(), workspace_id, id).await?;
    write.record(Change::GroupDeleted {
        group_id: id,
        members,
    });
    write.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_page_carries_a_bounded_number_of_members_inline() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let counts: HashMap<Uuid, u64> = [(ids[0], 4), (ids[1], 100_000), (ids[2], 6), (ids[3], 1)]
            .into_iter()
            .collect();
        // ids[4] has no members: always inline (an empty list)
        let inline = members_inline(&ids, &counts, 10);
        assert_eq!(
            ids.iter().map(|id| inline.contains(id)).collect::<Vec<_>>(),
            [true, false, true, false, true]
        );
        let everything = members_inline(&ids, &counts, u64::MAX);
        assert_eq!(everything.len(), ids.len());
    }
}

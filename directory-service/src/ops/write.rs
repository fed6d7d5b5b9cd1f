//! The write step: every write to a workspace's users, groups, memberships, roles,
//! licenses and mappings runs inside one [`Write`] and ends in [`Write::commit`], which
//! checks the workspace rules on the state after the change and only then commits (the
//! way kanidm runs its plugins on every write transaction).
//!
//! A write opens in one of two scopes:
//! - [`Write::workspace`] locks the workspace row first and notes what the rules compare
//!   against (was there an admin, seats taken per subscription). Every write that can
//!   change a role, a seat or a membership takes it.
//! - [`Write::profile`] takes no workspace lock: user creates and profile updates that
//!   cannot change a role, a seat or a uniqueness outcome (uniqueness is a unique index,
//!   the user row is locked by the update itself). Its commit refuses any recorded change
//!   that would need the rules, so a write that needs the lock cannot slip through here.
//!
//! The operation records typed [`Change`]s as it goes. At commit, in this order:
//! 1. members touched by a group change get their attribute mappings re-evaluated (a group
//!    push changes `organization_role` and so roles, seed 003);
//! 2. seats: reactivated members over a full subscription wait, stale waits are dropped,
//!    free seats go to the longest-waiting members, then no subscription may hold more
//!    holders than seats where the change added holders;
//! 3. one role group at a time for members just added to a role group;
//! 4. a workspace that had an active admin keeps one;
//! 5. counts: the users and groups created and deleted are added to the workspace's
//!    stored counts (`store::workspace_counts`, one upsert, only when one changed), in
//!    both scopes;
//! 6. events: the events the operation handed over (`write.event(..)`, built when the
//!    change was made, so a tombstone carries the row's last state) and those of the
//!    changes the step made itself (users re-evaluated by mappings, seats given to waiting
//!    members) become outbox rows,
//!    with the workspace's next sequence numbers taken as the transaction's last write:
//!    an event exists exactly when its change is committed, and the counter row, locked
//!    until the commit, orders the commits of both scopes without gaps.
//!
//! Only this module opens and commits a `store::WriteTx` (a test below enforces it), and
//! every store function that writes takes a `&WriteTx`: a write cannot bypass the step.

use std::collections::BTreeSet;

use chrono::Utc;
use uuid::Uuid;

use crate::domain::attribute_mappings::{AttributeMapping, apply_attribute_mappings};
use crate::domain::events::{EventType, NewEvent};
use crate::domain::licenses::check_seats;
use crate::domain::roles::{GroupRole, check_admins_remain, dual_role_conflict};
use crate::domain::users::User;
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db, WriteTx};

/// What a write changed, recorded by the operation in order. The rules read it at commit;
/// the outbox (issue #16) turns it into event rows in the same transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    UserCreated {
        user_id: Uuid,
    },
    /// The profile changed. `rules` is true when `active` or the role value changed (a
    /// change the workspace rules must see; recorded as well as the specific change below).
    UserUpdated {
        user_id: Uuid,
        rules: bool,
    },
    UserDeactivated {
        user_id: Uuid,
    },
    UserReactivated {
        user_id: Uuid,
    },
    UserDeleted {
        user_id: Uuid,
    },
    GroupCreated {
        group_id: Uuid,
    },
    /// Profile changed; `renamed` when the displayName did (mappings read group names).
    GroupUpdated {
        group_id: Uuid,
        renamed: bool,
    },
    /// `members` were its members just before the delete.
    GroupDeleted {
        group_id: Uuid,
        members: Vec<Uuid>,
    },
    MembersAdded {
        group_id: Uuid,
        user_ids: Vec<Uuid>,
    },
    MembersRemoved {
        group_id: Uuid,
        user_ids: Vec<Uuid>,
    },
    RoleGranted {
        user_id: Uuid,
        role: GroupRole,
    },
    RoleMappingsChanged,
    AttributeMappingsChanged,
    CustomAttributesChanged,
    SubscriptionChanged {
        subscription_id: String,
    },
    LicenseAssigned {
        subscription_id: String,
        user_id: Uuid,
    },
    LicenseRevoked {
        subscription_id: String,
        user_id: Uuid,
    },
    /// Reactivated while every seat was taken: entitled, holding no seat yet.
    LicenseWaiting {
        subscription_id: String,
        user_id: Uuid,
    },
    /// A freed seat went to this waiting member.
    LicenseSeated {
        subscription_id: String,
        user_id: Uuid,
    },
    TokenIssued {
        token_id: Uuid,
    },
    TokenRevoked {
        token_id: Uuid,
    },
    /// The workspace and everything in it went: no rule has a subject left.
    WorkspaceDeleted,
}

impl Change {
    /// Whether a write without the workspace lock may record this change.
    fn allowed_without_workspace_lock(&self) -> bool {
        matches!(
            self,
            Change::UserCreated { .. }
                | Change::UserUpdated { rules: false, .. }
                | Change::TokenIssued { .. }
                | Change::TokenRevoked { .. }
        )
    }
}

/// How many users and groups the changes added (negative: removed).
fn count_deltas(changes: &[Change]) -> (i64, i64) {
    changes
        .iter()
        .fold((0, 0), |(users, groups), change| match change {
            Change::UserCreated { .. } => (users + 1, groups),
            Change::UserDeleted { .. } => (users - 1, groups),
            Change::GroupCreated { .. } => (users, groups + 1),
            Change::GroupDeleted { .. } => (users, groups - 1),
            _ => (users, groups),
        })
}

/// What the rules compare the state after the change with.
struct Before {
    had_admin: bool,
}

pub struct Write {
    tx: WriteTx,
    workspace_id: Uuid,
    /// The workspace row as the write opened it (events name its id and slug; a slug
    /// never changes).
    workspace: store::workspaces::Workspace,
    /// `None` in the profile scope (no workspace lock).
    before: Option<Before>,
    changes: Vec<Change>,
    /// Events to write at commit, in order.
    events: Vec<NewEvent>,
    /// Whether events were written already (`write_events_now`): wake readers at commit.
    wrote_events: bool,
}

impl Write {
    /// Opens a write that can change roles, seats or memberships: locks the workspace row
    /// (Postgres `FOR UPDATE`; SQLite's IMMEDIATE transaction holds the database) so the
    /// rules are checked on a state no concurrent write can change.
    pub async fn workspace(db: &Db, workspace_id: Uuid) -> DomainResult<Self> {
        let tx = WriteTx::begin(db).await?;
        let workspace = store::workspaces::lock(tx.conn(), workspace_id).await?;
        let before = Before {
            had_admin: store::roles::any_active_admin(tx.conn(), workspace_id).await?,
        };
        Ok(Write {
            tx,
            workspace_id,
            workspace,
            before: Some(before),
            changes: Vec::new(),
            events: Vec::new(),
            wrote_events: false,
        })
    }

    /// Opens a write that cannot change a role, a seat or a membership (a user create, a
    /// profile update that leaves `active` and the role value alone). No workspace lock.
    pub async fn profile(db: &Db, workspace_id: Uuid) -> DomainResult<Self> {
        let tx = WriteTx::begin(db).await?;
        let workspace = store::workspaces::find_by_id(tx.conn(), workspace_id).await?;
        Ok(Write {
            tx,
            workspace_id,
            workspace,
            before: None,
            changes: Vec::new(),
            events: Vec::new(),
            wrote_events: false,
        })
    }

    /// The workspace's attribute mappings and custom attribute declarations: cached under
    /// the version read with the workspace row, or read afresh once this write changed them.
    pub async fn config(
        &self,
    ) -> DomainResult<std::sync::Arc<super::workspace_config::WorkspaceConfig>> {
        if self.changes_config() {
            return Ok(std::sync::Arc::new(
                super::workspace_config::read(self.tx.conn(), self.workspace_id).await?,
            ));
        }
        super::workspace_config::of(self.tx.conn(), &self.workspace).await
    }

    fn changes_config(&self) -> bool {
        self.changes.iter().any(|c| {
            matches!(
                c,
                Change::AttributeMappingsChanged | Change::CustomAttributesChanged
            )
        })
    }

    pub fn locks_workspace(&self) -> bool {
        self.before.is_some()
    }

    /// For store writes.
    pub fn tx(&self) -> &WriteTx {
        &self.tx
    }

    /// For reads inside the transaction.
    pub fn conn(&self) -> &sea_orm::DatabaseTransaction {
        self.tx.conn()
    }

    pub fn record(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// An event to write with the change (at commit, after the rules passed).
    pub fn event(&mut self, event: NewEvent) {
        self.events.push(event);
    }

    pub fn events(&mut self, events: impl IntoIterator<Item = NewEvent>) {
        self.events.extend(events);
    }

    /// Writes the events handed over so far now and returns the last sequence taken. For
    /// a write that needs its own event's sequence (a webhook endpoint starts right
    /// before its creation event); the counter row stays locked until the commit.
    pub async fn write_events_now(&mut self) -> DomainResult<Option<i64>> {
        let events = std::mem::take(&mut self.events);
        let last = super::events::record(&self.tx, &self.workspace, events).await?;
        self.wrote_events |= last.is_some();
        Ok(last)
    }

    /// Ends a write that changed nothing.
    pub async fn abandon(self) -> DomainResult<()> {
        self.tx.rollback().await
    }

    /// Checks the workspace rules on the state after the change and commits. Returns the
    /// recorded changes (including those the rules made: re-evaluated users, seats given).
    ///
    /// After the rules passed and before `tx.commit()`, the events become outbox rows
    /// (issue #16) in this transaction: an event exists exactly when its change is
    /// committed. A deleted workspace records none (its events cascade away with it).
    pub async fn commit(mut self) -> DomainResult<Vec<Change>> {
        match self.before.take() {
            None => {
                if let Some(change) = self
                    .changes
                    .iter()
                    .find(|c| !c.allowed_without_workspace_lock())
                {
                    self.tx.rollback().await?;
                    return Err(DomainError::Storage(format!(
                        "internal: {change:?} needs the workspace lock (open the write with Write::workspace)"
                    )));
                }
            }
            Some(_) if self.changes.contains(&Change::WorkspaceDeleted) => {}
            Some(before) => {
                self.reevaluate_mappings_of_touched_members().await?;
                self.settle_seats().await?;
                self.check_one_role_group_at_a_time().await?;
                check_admins_remain(
                    u64::from(before.had_admin),
                    u64::from(
                        store::roles::any_active_admin(self.tx.conn(), self.workspace_id).await?,
                    ),
                )?;
            }
        }
        if self.changes_config() && !self.changes.contains(&Change::WorkspaceDeleted) {
            store::workspaces::bump_config_version(&self.tx, self.workspace_id).await?;
        }
        let written = if self.changes.contains(&Change::WorkspaceDeleted) {
            None
        } else {
            self.count_created_and_deleted_users_and_groups().await?;
            let events = std::mem::take(&mut self.events);
            super::events::record(&self.tx, &self.workspace, events).await?
        };
        self.tx.commit().await?;
        if written.is_some() || self.wrote_events {
            super::events::wake();
        }
        Ok(self.changes)
    }

    /// Adds the users and groups this write created or deleted to the workspace's stored
    /// counts (what an unfiltered list answers as `totalResults`): one upsert, only when a
    /// count changed. Every insert and delete of a user or group row records its change
    /// (a workspace delete cascades the counts row away with the rows it counted).
    async fn count_created_and_deleted_users_and_groups(&self) -> DomainResult<()> {
        let (users, groups) = count_deltas(&self.changes);
        if users != 0 || groups != 0 {
            store::workspace_counts::add(&self.tx, self.workspace_id, users, groups).await?;
        }
        Ok(())
    }

    /// Users whose groups changed: members added or removed, and every member of a group
    /// that was created or renamed.
    async fn members_touched_by_group_changes(&self) -> DomainResult<BTreeSet<Uuid>> {
        let mut touched = BTreeSet::new();
        for change in &self.changes {
            match change {
                Change::MembersAdded { user_ids, .. } | Change::MembersRemoved { user_ids, .. } => {
                    touched.extend(user_ids.iter().copied())
                }
                Change::GroupDeleted { members, .. } => touched.extend(members.iter().copied()),
                Change::GroupUpdated {
                    group_id,
                    renamed: true,
                } => touched.extend(store::groups::member_ids(self.tx.conn(), *group_id).await?),
                _ => {}
            }
        }
        Ok(touched)
    }

    /// Attribute mappings that read `groups` see a new value when a group push changes a
    /// member's groups: apply them again to those members, in this transaction.
    async fn reevaluate_mappings_of_touched_members(&mut self) -> DomainResult<()> {
        let config = self.config().await?;
        let mappings = &config.mappings;
        if !mappings.iter().any(AttributeMapping::reads_groups) {
            return Ok(());
        }
        let touched: Vec<Uuid> = self
            .members_touched_by_group_changes()
            .await?
            .into_iter()
            .collect();
        let mut groups = store::groups::groups_of_users(self.tx.conn(), &touched).await?;
        let now = Utc::now();
        for user_id in touched {
            let current =
                match store::users::find(self.tx.conn(), self.workspace_id, user_id, true).await {
                    Ok(user) => user,
                    // Deleted in this write.
                    Err(DomainError::NotFound(_)) => continue,
                    Err(other) => return Err(other),
                };
            let user_groups = groups.remove(&user_id).unwrap_or_default();
            let profile =
                apply_attribute_mappings(current.profile.clone(), &user_groups, mappings)?;
            if profile == current.profile {
                continue;
            }
            let rules = profile.role_value() != current.profile.role_value();
            let updated = User {
                profile,
                last_modified: now.max(current.last_modified),
                version: current.version + 1,
                ..current.clone()
            };
            store::users::update(&self.tx, &updated).await?;
            let events =
                super::events::user_events(self.tx.conn(), Some(&current), Some(&updated)).await?;
            self.events(events);
            self.record(Change::UserUpdated { user_id, rules });
        }
        Ok(())
    }

    /// Seats after the change: reactivated members wait when their subscription is full,
    /// freed seats go to the longest-waiting, and a change that adds holders beyond the
    /// seats is refused (naming the subscription). Only subscriptions the change can add
    /// holders to, and those with members waiting, are counted.
    async fn settle_seats(&mut self) -> DomainResult<()> {
        let conn = self.tx.conn();
        let workspace_id = self.workspace_id;
        // Subscriptions this change may add holders to.
        let mut adding: BTreeSet<String> = BTreeSet::new();
        let mut reactivated = Vec::new();
        for change in &self.changes {
            match change {
                Change::MembersAdded { group_id, .. } => {
                    let group = store::groups::find(conn, workspace_id, *group_id, false).await?;
                    adding.extend(group.license_subscription);
                }
                Change::LicenseAssigned {
                    subscription_id, ..
                }
                | Change::SubscriptionChanged { subscription_id } => {
                    adding.insert(subscription_id.clone());
                }
                Change::UserReactivated { user_id } => {
                    reactivated.push(*user_id);
                    adding.extend(
                        store::licenses::subscriptions_of_user(conn, workspace_id, *user_id)
                            .await?,
                    );
                }
                _ => {}
            }
        }
        let with_waiters = store::licenses::subscriptions_with_waiters(conn, workspace_id).await?;
        let now = Utc::now();
        for subscription_id in adding
            .iter()
            .chain(with_waiters.iter())
            .collect::<BTreeSet<_>>()
        {
            let subscription =
                match store::licenses::find(self.tx.conn(), workspace_id, subscription_id).await {
                    Ok((subscription, _)) => subscription,
                    // Deleted in this write: no seats left to settle.
                    Err(DomainError::NotFound(_)) => continue,
                    Err(other) => return Err(other),
                };
            let seats = subscription.seats.max(0) as u64;
            let mut held =
                store::licenses::count_holders(self.tx.conn(), workspace_id, subscription_id)
                    .await?;
            for user_id in &reactivated {
                if held > seats
                    && store::licenses::holds(
                        self.tx.conn(),
                        workspace_id,
                        subscription_id,
                        *user_id,
                    )
                    .await?
                {
                    store::licenses::start_waiting(
                        &self.tx,
                        workspace_id,
                        subscription_id,
                        *user_id,
                        now,
                    )
                    .await?;
                    held -= 1;
                    self.changes.push(Change::LicenseWaiting {
                        subscription_id: subscription_id.clone(),
                        user_id: *user_id,
                    });
                    self.events.push(super::events::license(
                        EventType::LicenseWaiting,
                        &subscription,
                        held,
                        *user_id,
                        false,
                    ));
                }
            }
            store::licenses::drop_stale_waits(&self.tx, workspace_id, subscription_id).await?;
            while held < seats {
                match store::licenses::seat_longest_waiting(&self.tx, workspace_id, subscription_id)
                    .await?
                {
                    Some(user_id) => {
                        held += 1;
                        self.changes.push(Change::LicenseSeated {
                            subscription_id: subscription_id.clone(),
                            user_id,
                        });
                        // The waiting member now holds the license: the same event as a
                        // direct assignment, marked as a seat given by the rules.
                        self.events.push(super::events::license(
                            EventType::LicenseAssigned,
                            &subscription,
                            held,
                            user_id,
                            true,
                        ));
                    }
                    None => break,
                }
            }
            if adding.contains(subscription_id) {
                check_seats(&subscription, seats, held)?;
            }
        }
        Ok(())
    }

    /// Nobody just added to a role group may be in a group of the other role.
    async fn check_one_role_group_at_a_time(&self) -> DomainResult<()> {
        for change in &self.changes {
            let Change::MembersAdded { group_id, user_ids } = change else {
                continue;
            };
            let group =
                store::groups::find(self.tx.conn(), self.workspace_id, *group_id, false).await?;
            let Some(other) = group.role.conflicting() else {
                continue;
            };
            if let Some((user_name, other_group)) =
                store::roles::first_member_with_role(self.tx.conn(), user_ids, other).await?
            {
                return Err(dual_role_conflict(
                    &user_name,
                    &group.profile.display_name,
                    &other_group,
                    group.role,
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                rust_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// Every write goes through `Write`: no other module opens, commits or rolls back a
    /// write transaction, and nothing outside `store` starts a SeaORM transaction. (Store
    /// write functions take `&WriteTx`, so a write cannot run on the pool either.)
    #[test]
    fn no_write_path_bypasses_the_write_step() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&root, &mut files);
        let mut offenders = Vec::new();
        for file in files {
            let relative = file
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let text = std::fs::read_to_string(&file).unwrap();
            let allowed = ["ops/write.rs", "store/mod.rs"].contains(&relative.as_str());
            let in_store = relative.starts_with("store/");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let opens = code.contains("WriteTx::begin")
                    || code.contains("tx.commit()")
                    || code.contains("tx.rollback()");
                let raw = code.contains(".begin()")
                    || code.contains("begin_with_options")
                    || code.contains("begin_with_config")
                    || code.contains("TransactionTrait");
                let bypass = if opens {
                    !allowed
                } else {
                    raw && !in_store && !allowed
                };
                if bypass {
                    offenders.push(format!("{relative}:{}: {}", n + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "writes must open with ops::write::Write and end in Write::commit:\n{}",
            offenders.join("\n")
        );
    }
}

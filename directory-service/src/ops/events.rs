//! Recording events in the change's own transaction (the outbox), and reading them back
//! for the event stream and the audit log.
//!
//! Operations build their events with the `*_events` helpers and hand them to their
//! [`Write`](super::write::Write) (`write.event(..)`); `Write::commit`, once the workspace
//! rules passed, calls [`record`], which adds the workspace and the actor, takes the
//! workspace's next sequence numbers (the transaction's last write: see
//! `store::events::take_sequences`) and inserts the rows.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::DomainResult;
use crate::domain::events::{Actor, EventType, NewEvent, UserSnapshot, resource_event, user_event};
use crate::domain::groups::Group;
use crate::domain::licenses::Subscription;
use crate::domain::users::User;
use crate::store::workspaces::Workspace;
use crate::store::{self, Conn, Db, WriteTx, events::Event, events::EventFilter};

tokio::task_local! {
    /// The caller of the operation being served, set by the gRPC layer per request.
    pub static ACTOR: Actor;
}

/// Bumped whenever an event is written by this process: the stream and the delivery
/// worker wake on it (and poll besides, for other replicas and for the commit to land).
static WRITTEN: LazyLock<tokio::sync::watch::Sender<u64>> =
    LazyLock::new(|| tokio::sync::watch::channel(0).0);

pub fn subscribe() -> tokio::sync::watch::Receiver<u64> {
    WRITTEN.subscribe()
}

/// Wakes the stream and the delivery worker (after a commit; they poll besides).
pub fn wake() {
    WRITTEN.send_modify(|n| *n = n.wrapping_add(1));
}

fn current_actor() -> Actor {
    ACTOR
        .try_with(Actor::clone)
        .unwrap_or_else(|_| Actor::system())
}

/// Token names by (workspace, token id). A token's name never changes after issue, so
/// an entry never goes stale; the map is emptied when it grows past 10,000 tokens.
static TOKEN_NAMES: LazyLock<std::sync::Mutex<HashMap<(Uuid, Uuid), String>>> =
    LazyLock::new(Default::default);

/// The name of the workspace's token `token_id`, `None` when the workspace has no such token.
async fn token_name(conn: &impl Conn, workspace_id: Uuid, token_id: Uuid) -> Option<String> {
    let names = || TOKEN_NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(name) = names().get(&(workspace_id, token_id)) {
        return Some(name.clone());
    }
    let token = store::tokens::find_in_workspace(conn, workspace_id, token_id)
        .await
        .ok()?;
    let mut names = names();
    if names.len() >= 10_000 {
        names.clear();
    }
    names.insert((workspace_id, token_id), token.name.clone());
    Some(token.name)
}

/// Writes `events` in the write's transaction with the next sequence numbers of the
/// workspace and returns the last one taken (`None` when there were no events). Only
/// `Write` calls it, as the transaction's last write.
pub(super) async fn record(
    tx: &WriteTx,
    workspace: &Workspace,
    events: Vec<NewEvent>,
) -> DomainResult<Option<i64>> {
    if events.is_empty() {
        return Ok(None);
    }
    let workspace_id = workspace.id;
    let mut actor = current_actor();
    if actor.kind == "token"
        && let Ok(token_id) = actor.id.parse::<Uuid>()
        && let Some(name) = token_name(tx.conn(), workspace_id, token_id).await
    {
        actor.name = name;
    }
    let now = Utc::now();
    let count = events.len() as i64;
    let first = store::events::take_sequences(tx, workspace_id, count).await?;
    let rows = events
        .into_iter()
        .enumerate()
        .map(|(i, event)| {
            let mut data = event.data;
            data.insert(
                "workspace".into(),
                json!({ "id": workspace.id, "slug": workspace.slug }),
            );
            data.insert("organization_id".into(), json!(workspace.id));
            if actor.kind == "token" {
                // The connection that drove provisioning (seed 003).
                data.insert(
                    "connection".into(),
                    json!({ "token_id": actor.id, "token_name": actor.name }),
                );
            }
            Event {
                id: Uuid::now_v7(),
                workspace_id,
                sequence: first + i as i64,
                event_type: event.event_type.as_str().to_owned(),
                resource_type: event.resource_type.to_owned(),
                resource_id: event.resource_id,
                actor_kind: actor.kind.clone(),
                actor_id: actor.id.clone(),
                actor_name: actor.name.clone(),
                occurred_at: now,
                data: Value::Object(data),
                changes: event.changes,
            }
        })
        .collect();
    store::events::insert_many(tx, rows).await?;
    Ok(Some(first + count - 1))
}

/// The user as events show it: profile after mappings, groups, effective role, licenses.
/// A user `just_created` in this write is in no group yet; a user whose `groups` are
/// filled must carry its groups as they stand in this transaction (they are read
/// otherwise).
async fn snapshot(tx: &impl Conn, user: &User, just_created: bool) -> DomainResult<UserSnapshot> {
    let (role, licenses) = super::roles::shown_access(tx, user, just_created).await?;
    let mut user = user.clone();
    user.groups = if just_created || !user.groups.is_empty() {
        std::mem::take(&mut user.groups)
    } else {
        store::groups::groups_of_users(tx, &[user.id])
            .await?
            .remove(&user.id)
            .unwrap_or_default()
    };
    Ok(UserSnapshot {
        user,
        role,
        licenses,
    })
}

/// The event of a user that was created (`after` only), changed, or is about to be
/// deleted (`before` only: build it before the row goes so that the tombstone carries its
/// last state). Hand it to the write with `write.events(..)`.
pub async fn user_events(
    tx: &impl Conn,
    before: Option<&User>,
    after: Option<&User>,
) -> DomainResult<Vec<NewEvent>> {
    if after.or(before).is_none() {
        return Ok(Vec::new());
    }
    let after_snapshot = match after {
        Some(user) => Some(snapshot(tx, user, before.is_none()).await?),
        None => None,
    };
    let before_snapshot = match (before, &after_snapshot) {
        // The diff is of the profile: the derived parts are taken from the new state.
        (Some(user), Some(shown)) => Some(UserSnapshot {
            user: user.clone(),
            role: shown.role.clone(),
            licenses: shown.licenses.clone(),
        }),
        (Some(user), None) => Some(snapshot(tx, user, false).await?),
        (None, _) => None,
    };
    let event = user_event(before_snapshot.as_ref(), after_snapshot.as_ref());
    Ok(event.into_iter().collect())
}

fn group_json(group: &Group) -> Value {
    json!({
        "id": group.id,
        "displayName": group.profile.display_name,
        "externalId": group.profile.external_id,
        "role": group.role.as_str(),
        "license_subscription": group.license_subscription,
        "version": group.version,
    })
}

/// The events of a group that was created, changed (members `added` / `removed`), or
/// deleted.
pub fn group_events(
    before: Option<&Group>,
    after: Option<&Group>,
    added: &[Uuid],
    removed: &[Uuid],
) -> Vec<NewEvent> {
    let Some(shown) = after.or(before) else {
        return Vec::new();
    };
    let mut events = Vec::new();
    match (before, after) {
        (None, Some(group)) => events.push(resource_event(
            EventType::GroupCreated,
            "group",
            group.id,
            group_json(group),
            None,
        )),
        (Some(group), None) => events.push(resource_event(
            EventType::GroupDeleted,
            "group",
            group.id,
            group_json(group),
            None,
        )),
        (Some(old), Some(new)) if old.profile != new.profile => {
            let event_type = if old.profile.display_name != new.profile.display_name {
                EventType::GroupRenamed
            } else {
                EventType::GroupUpdated
            };
            let changes = crate::domain::events::diff(&group_json(old), &group_json(new));
            events.push(resource_event(
                event_type,
                "group",
                new.id,
                group_json(new),
                Some(changes),
            ));
        }
        _ => {}
    }
    for (event_type, ids) in [
        (EventType::GroupMembersAdded, added),
        (EventType::GroupMembersRemoved, removed),
    ] {
        if !ids.is_empty() {
            let mut event = resource_event(event_type, "group", shown.id, group_json(shown), None);
            event.data.insert("members".into(), json!(ids));
            events.push(event);
        }
    }
    events
}

/// Any other resource: tokens, licenses, roles, mappings, subscriptions, webhooks.
pub fn resource(
    event_type: EventType,
    resource_type: &'static str,
    resource_id: impl ToString,
    resource: Value,
) -> NewEvent {
    resource_event(event_type, resource_type, resource_id, resource, None)
}

/// A license event (`license.assigned`, `license.revoked`, `license.waiting`) of one
/// member: one shape whether the change was a direct assignment or the write step seating
/// or parking a member — `subscription` (with the seats used after the change), `user_id`
/// and `seated_from_waiting`. Filed under the user for the audit log.
pub fn license(
    event_type: EventType,
    subscription: &Subscription,
    seats_used: u64,
    user_id: Uuid,
    seated_from_waiting: bool,
) -> NewEvent {
    let mut data = serde_json::Map::new();
    data.insert(
        "subscription".into(),
        json!({
            "subscription_id": subscription.subscription_id,
            "plan": subscription.plan,
            "product": subscription.product,
            "seats": subscription.seats,
            "seats_used": seats_used,
        }),
    );
    data.insert("user_id".into(), json!(user_id));
    data.insert("seated_from_waiting".into(), json!(seated_from_waiting));
    NewEvent {
        event_type,
        resource_type: "user",
        resource_id: user_id.to_string(),
        data,
        changes: None,
    }
}

/// The most events one `ListEvents` answers.
pub const MAX_PAGE: u64 = 1000;

pub async fn list_events(
    db: &Db,
    workspace_id: Uuid,
    filter: &EventFilter,
    limit: Option<u64>,
) -> DomainResult<Vec<Event>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    let limit = limit.filter(|l| *l > 0).unwrap_or(100).min(MAX_PAGE);
    store::events::list(db, workspace_id, filter, limit).await
}

//! Recording events in the change's own transaction (the outbox), and reading them back
//! for the event stream and the audit log.
//!
//! Every write operation calls one `record_*` helper just before it commits. The helper
//! adds the workspace and the actor, takes the workspace's next sequence numbers (the
//! transaction's last write: see `store::events::take_sequences`) and inserts the rows.

use std::sync::LazyLock;

use chrono::Utc;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::DomainResult;
use crate::domain::events::{Actor, EventType, NewEvent, UserSnapshot, resource_event, user_event};
use crate::domain::groups::Group;
use crate::domain::users::User;
use crate::store::{self, Conn, Db, events::Event, events::EventFilter};

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

/// Wakes the stream and the delivery worker (after a commit, or before one: they poll).
pub fn wake() {
    WRITTEN.send_modify(|n| *n = n.wrapping_add(1));
}

fn current_actor() -> Actor {
    ACTOR
        .try_with(Actor::clone)
        .unwrap_or_else(|_| Actor::system())
}

/// Writes `events` in the caller's transaction with the next sequence numbers of the
/// workspace. Call it as the transaction's last write.
pub async fn record(tx: &impl Conn, workspace_id: Uuid, events: Vec<NewEvent>) -> DomainResult<()> {
    if events.is_empty() {
        return Ok(());
    }
    let workspace = store::workspaces::find_by_id(tx, workspace_id).await?;
    let mut actor = current_actor();
    if actor.kind == "token"
        && let Ok(token_id) = actor.id.parse::<Uuid>()
        && let Ok(token) = store::tokens::find_in_workspace(tx, workspace_id, token_id).await
    {
        actor.name = token.name;
    }
    let now = Utc::now();
    let first = store::events::take_sequences(tx, workspace_id, events.len() as i64).await?;
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
    wake();
    Ok(())
}

/// The user as events show it: profile after mappings, groups, effective role, licenses.
async fn snapshot(tx: &impl Conn, user: &User) -> DomainResult<UserSnapshot> {
    let access = super::roles::user_access(tx, user.workspace_id, user.id).await?;
    let mut user = user.clone();
    let mut groups = store::groups::groups_of_users(tx, &[user.id]).await?;
    user.groups = groups.remove(&user.id).unwrap_or_default();
    let role = access
        .custom_role
        .clone()
        .unwrap_or_else(|| access.role.as_str().to_owned());
    Ok(UserSnapshot {
        user,
        role,
        licenses: access.licenses,
    })
}

/// A user was created (`after` only), changed, or is about to be deleted (`before` only,
/// called before the row goes so that the tombstone carries its last state).
pub async fn record_user(
    tx: &impl Conn,
    before: Option<&User>,
    after: Option<&User>,
) -> DomainResult<()> {
    let Some(workspace_id) = after.or(before).map(|u| u.workspace_id) else {
        return Ok(());
    };
    let after_snapshot = match after {
        Some(user) => Some(snapshot(tx, user).await?),
        None => None,
    };
    let before_snapshot = match (before, &after_snapshot) {
        // The diff is of the profile: the derived parts are taken from the new state.
        (Some(user), Some(shown)) => Some(UserSnapshot {
            user: user.clone(),
            role: shown.role.clone(),
            licenses: shown.licenses.clone(),
        }),
        (Some(user), None) => Some(snapshot(tx, user).await?),
        (None, _) => None,
    };
    let event = user_event(before_snapshot.as_ref(), after_snapshot.as_ref());
    record(tx, workspace_id, event.into_iter().collect()).await
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

/// A group was created, changed (members `added` / `removed`), or deleted.
pub async fn record_group(
    tx: &impl Conn,
    before: Option<&Group>,
    after: Option<&Group>,
    added: &[Uuid],
    removed: &[Uuid],
) -> DomainResult<()> {
    let Some(shown) = after.or(before) else {
        return Ok(());
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
    record(tx, shown.workspace_id, events).await
}

/// Any other resource: tokens, licenses, roles, mappings, subscriptions, webhooks.
pub async fn record_resource(
    tx: &impl Conn,
    workspace_id: Uuid,
    event_type: EventType,
    resource_type: &'static str,
    resource_id: impl ToString,
    resource: Value,
) -> DomainResult<()> {
    let event = resource_event(event_type, resource_type, resource_id, resource, None);
    record(tx, workspace_id, vec![event]).await
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

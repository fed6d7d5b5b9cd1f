//! Events: what changed, who changed it, and how a change is shown to webhooks, the event
//! stream and the audit log. Pure rules: classification of a user change, the attribute
//! diff with secrets masked, the actor, and the names of the catalogue.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::users::User;

/// Every event type. The names are the wire contract (webhooks, `ListEvents`, the CLI);
/// `scimUser.provisioned` and `scimUser.deprovisioned` are the names the product docs use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    UserProvisioned,
    UserUpdated,
    UserDeprovisioned,
    UserReprovisioned,
    UserDeleted,
    GroupCreated,
    GroupRenamed,
    GroupUpdated,
    GroupDeleted,
    GroupMembersAdded,
    GroupMembersRemoved,
    RoleChanged,
    LicenseAssigned,
    LicenseRevoked,
    LicenseWaiting,
    TokenIssued,
    TokenRevoked,
    SubscriptionCreated,
    SubscriptionUpdated,
    SubscriptionDeleted,
    RoleMappingSet,
    RoleMappingDeleted,
    AttributeMappingSet,
    AttributeMappingDeleted,
    WebhookCreated,
    WebhookDeleted,
    WebhookEnabled,
    WebhookDisabled,
}

impl EventType {
    pub const ALL: [EventType; 28] = [
        EventType::UserProvisioned,
        EventType::UserUpdated,
        EventType::UserDeprovisioned,
        EventType::UserReprovisioned,
        EventType::UserDeleted,
        EventType::GroupCreated,
        EventType::GroupRenamed,
        EventType::GroupUpdated,
        EventType::GroupDeleted,
        EventType::GroupMembersAdded,
        EventType::GroupMembersRemoved,
        EventType::RoleChanged,
        EventType::LicenseAssigned,
        EventType::LicenseRevoked,
        EventType::LicenseWaiting,
        EventType::TokenIssued,
        EventType::TokenRevoked,
        EventType::SubscriptionCreated,
        EventType::SubscriptionUpdated,
        EventType::SubscriptionDeleted,
        EventType::RoleMappingSet,
        EventType::RoleMappingDeleted,
        EventType::AttributeMappingSet,
        EventType::AttributeMappingDeleted,
        EventType::WebhookCreated,
        EventType::WebhookDeleted,
        EventType::WebhookEnabled,
        EventType::WebhookDisabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::UserProvisioned => "scimUser.provisioned",
            EventType::UserUpdated => "scimUser.updated",
            EventType::UserDeprovisioned => "scimUser.deprovisioned",
            EventType::UserReprovisioned => "scimUser.reprovisioned",
            EventType::UserDeleted => "scimUser.deleted",
            EventType::GroupCreated => "scimGroup.created",
            EventType::GroupRenamed => "scimGroup.renamed",
            EventType::GroupUpdated => "scimGroup.updated",
            EventType::GroupDeleted => "scimGroup.deleted",
            EventType::GroupMembersAdded => "scimGroup.membersAdded",
            EventType::GroupMembersRemoved => "scimGroup.membersRemoved",
            EventType::RoleChanged => "member.roleChanged",
            EventType::LicenseAssigned => "license.assigned",
            EventType::LicenseRevoked => "license.revoked",
            EventType::LicenseWaiting => "license.waiting",
            EventType::TokenIssued => "token.issued",
            EventType::TokenRevoked => "token.revoked",
            EventType::SubscriptionCreated => "subscription.created",
            EventType::SubscriptionUpdated => "subscription.updated",
            EventType::SubscriptionDeleted => "subscription.deleted",
            EventType::RoleMappingSet => "roleMapping.set",
            EventType::RoleMappingDeleted => "roleMapping.deleted",
            EventType::AttributeMappingSet => "attributeMapping.set",
            EventType::AttributeMappingDeleted => "attributeMapping.deleted",
            EventType::WebhookCreated => "webhook.created",
            EventType::WebhookDeleted => "webhook.deleted",
            EventType::WebhookEnabled => "webhook.enabled",
            EventType::WebhookDisabled => "webhook.disabled",
        }
    }

    pub fn parse(name: &str) -> Option<EventType> {
        EventType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// Who drove a change: a SCIM token (through the gateway) or a gRPC caller (scimctl or an
/// internal service), named by what it sent in `x-directory-actor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Actor {
    /// `token`, `grpc` or `system`.
    pub kind: String,
    /// The token id for `token`; the caller's self-declared name otherwise.
    pub id: String,
    /// The token's name for `token`.
    pub name: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            kind: "system".into(),
            id: String::new(),
            name: String::new(),
        }
    }
}

/// One change to record, before it gets its sequence, id and time.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    /// `user`, `group`, `token`, ... and its id, for the audit filter.
    pub resource_type: &'static str,
    pub resource_id: String,
    /// The payload's resource part; the workspace and actor are added when recorded.
    pub data: Map<String, Value>,
    /// For updates: changed attributes, `{ "attr": { "before": .., "after": .. } }`.
    pub changes: Option<Value>,
}

/// What a user event carries: the user as the product sees it (after mappings) and its
/// effective access.
#[derive(Clone, Debug, PartialEq)]
pub struct UserSnapshot {
    pub user: User,
    pub role: String,
    pub licenses: Vec<String>,
}

/// Attribute names whose values never leave the directory in an event.
const SECRET_KEYS: [&str; 5] = ["password", "secret", "token", "plaintext", "secret_hash"];

pub const MASK: &str = "***";

fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.iter().any(|s| key == *s || key.ends_with(s))
}

/// Replaces the value of every secret-named key, at any depth, with `***`.
pub fn mask_secrets(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if is_secret(key) {
                    *v = Value::String(MASK.into());
                } else {
                    mask_secrets(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

/// The user's JSON as carried by events (SCIM-like names plus `public_metadata`,
/// `organization_role`, the effective `role` and the `licenses` held).
pub fn user_json(snapshot: &UserSnapshot) -> Value {
    let user = &snapshot.user;
    let mut profile = serde_json::to_value(&user.profile).unwrap_or_else(|_| json!({}));
    mask_secrets(&mut profile);
    let mut map = match profile {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    // The product-facing names (seed 003: `data.user.public_metadata`).
    if let Some(v) = map.remove("publicMetadata") {
        map.insert("public_metadata".into(), v);
    }
    if let Some(v) = map.remove("organizationRole") {
        map.insert("organization_role".into(), v);
    }
    map.insert("id".into(), json!(user.id));
    map.insert("active".into(), json!(user.profile.is_active()));
    map.insert("version".into(), json!(user.version));
    map.insert("created".into(), json!(user.created));
    map.insert("lastModified".into(), json!(user.last_modified));
    map.insert(
        "groups".into(),
        Value::Array(
            user.groups
                .iter()
                .map(|(id, name)| json!({ "id": id, "displayName": name }))
                .collect(),
        ),
    );
    map.insert("role".into(), json!(snapshot.role));
    map.insert("licenses".into(), json!(snapshot.licenses));
    Value::Object(map)
}

/// Top-level attributes that differ, before and after, secrets masked. Bookkeeping fields
/// (version, lastModified) are not changes of their own.
pub fn diff(before: &Value, after: &Value) -> Value {
    let empty = Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    let mut changes = Map::new();
    for key in keys {
        if matches!(key.as_str(), "version" | "lastModified") {
            continue;
        }
        let (b, a) = (before.get(key), after.get(key));
        if b != a {
            let mask = |v: Option<&Value>| match v {
                Some(_) if is_secret(key) => json!(MASK),
                Some(v) => v.clone(),
                None => Value::Null,
            };
            changes.insert(key.clone(), json!({ "before": mask(b), "after": mask(a) }));
        }
    }
    Value::Object(changes)
}

/// The event for a user change: provisioned (new), deleted (gone), deprovisioned /
/// reprovisioned (`active` flipped), updated otherwise. None when nothing visible changed.
pub fn user_event(before: Option<&UserSnapshot>, after: Option<&UserSnapshot>) -> Option<NewEvent> {
    let (event_type, shown, changes) = match (before, after) {
        (None, Some(after)) => (EventType::UserProvisioned, after, None),
        (Some(before), None) => (EventType::UserDeleted, before, None),
        (Some(before), Some(after)) => {
            // The audit diff is of the profile; role, licenses and groups are derived.
            let attributes = |s: &UserSnapshot| {
                let mut v = user_json(s);
                if let Some(map) = v.as_object_mut() {
                    for derived in ["role", "licenses", "groups"] {
                        map.remove(derived);
                    }
                }
                v
            };
            let changes = diff(&attributes(before), &attributes(after));
            if changes.as_object().is_some_and(|c| c.is_empty()) {
                return None;
            }
            let was = before.user.profile.is_active();
            let is = after.user.profile.is_active();
            let event_type = match (was, is) {
                (true, false) => EventType::UserDeprovisioned,
                (false, true) => EventType::UserReprovisioned,
                _ => EventType::UserUpdated,
            };
            (event_type, after, Some(changes))
        }
        (None, None) => return None,
    };
    let mut data = Map::new();
    data.insert("user".into(), user_json(shown));
    Some(NewEvent {
        event_type,
        resource_type: "user",
        resource_id: shown.user.id.to_string(),
        data,
        changes,
    })
}

/// An event about anything else: `data` is the resource's JSON (secrets masked).
pub fn resource_event(
    event_type: EventType,
    resource_type: &'static str,
    resource_id: impl ToString,
    mut resource: Value,
    changes: Option<Value>,
) -> NewEvent {
    mask_secrets(&mut resource);
    let mut data = Map::new();
    data.insert(resource_type.into(), resource);
    NewEvent {
        event_type,
        resource_type,
        resource_id: resource_id.to_string(),
        data,
        changes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::users::UserProfile;

    fn snapshot(active: bool, title: &str) -> UserSnapshot {
        let now = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let mut profile = UserProfile {
            user_name: "ada@example.com".into(),
            active: Some(active),
            title: Some(title.into()),
            ..Default::default()
        };
        profile
            .extensions
            .insert("password".into(), json!("hunter2"));
        UserSnapshot {
            user: User {
                id: uuid::Uuid::nil(),
                workspace_id: uuid::Uuid::nil(),
                profile,
                created: now,
                last_modified: now,
                version: 1,
                groups: vec![],
            },
            role: "member".into(),
            licenses: vec![],
        }
    }

    #[test]
    fn names_round_trip_and_are_unique() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
        }
        let mut names: Vec<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), EventType::ALL.len());
        assert_eq!(EventType::UserProvisioned.as_str(), "scimUser.provisioned");
        assert_eq!(
            EventType::UserDeprovisioned.as_str(),
            "scimUser.deprovisioned"
        );
    }

    #[test]
    fn user_changes_are_classified() {
        let a = snapshot(true, "Engineer");
        let b = snapshot(false, "Engineer");
        let c = snapshot(true, "Lead");
        let kind = |x, y| user_event(x, y).map(|e| e.event_type);
        assert_eq!(kind(None, Some(&a)), Some(EventType::UserProvisioned));
        assert_eq!(kind(Some(&a), None), Some(EventType::UserDeleted));
        assert_eq!(kind(Some(&a), Some(&b)), Some(EventType::UserDeprovisioned));
        assert_eq!(kind(Some(&b), Some(&a)), Some(EventType::UserReprovisioned));
        assert_eq!(kind(Some(&a), Some(&c)), Some(EventType::UserUpdated));
        assert_eq!(kind(Some(&a), Some(&a)), None);
        let changes = user_event(Some(&a), Some(&c)).unwrap().changes.unwrap();
        assert_eq!(
            changes,
            json!({ "title": { "before": "Engineer", "after": "Lead" } })
        );
    }

    #[test]
    fn secrets_are_masked_in_payloads_and_diffs() {
        let a = snapshot(true, "Engineer");
        let shown = user_json(&a).to_string();
        assert!(!shown.contains("hunter2"), "{shown}");
        let mut b = snapshot(true, "Engineer");
        b.user
            .profile
            .extensions
            .insert("password".into(), json!("correct horse"));
        let mut before = json!({ "password": "hunter2", "title": "x" });
        let after = json!({ "password": "correct horse", "title": "x" });
        let d = diff(&before, &after).to_string();
        assert!(
            !d.contains("hunter2") && !d.contains("correct horse"),
            "{d}"
        );
        mask_secrets(&mut before);
        assert_eq!(before["password"], json!(MASK));
    }
}

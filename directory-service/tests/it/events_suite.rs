//! The outbox: every change writes its events in its own transaction, with a
//! per-workspace sequence that has no gaps; failed writes leave no event.

use crate::harness::{profile, workspace};
use directory_service::domain::events::Actor;
use directory_service::domain::filter::AttrPath;
use directory_service::domain::groups::GroupProfile;
use directory_service::domain::patch::{PatchOp, PatchOperation};
use directory_service::ops;
use directory_service::store::events::{Event, EventFilter};
use directory_service::store::{self, Db};
use serde_json::json;
use uuid::Uuid;

fn replace(attribute: &str, value: serde_json::Value) -> PatchOperation {
    PatchOperation {
        op: PatchOp::Replace,
        path: AttrPath {
            attribute: attribute.into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(crate::harness::typed(value)),
    }
}

async fn events(db: &Db, ws: Uuid, after: i64) -> Vec<Event> {
    ops::events::list_events(
        db,
        ws,
        &EventFilter {
            after_sequence: after,
            ..Default::default()
        },
        Some(1000),
    )
    .await
    .unwrap()
}

fn types(events: &[Event]) -> Vec<&str> {
    events.iter().map(|e| e.event_type.as_str()).collect()
}

fn assert_gap_free(events: &[Event], from: i64) {
    let sequences: Vec<i64> = events.iter().map(|e| e.sequence).collect();
    let expected: Vec<i64> = (from..from + events.len() as i64).collect();
    assert_eq!(sequences, expected);
}

pub async fn every_change_records_an_event_in_sequence(db: &Db) {
    let ws = workspace(db, "acme").await;
    let other = workspace(db, "other").await;
    let user = ops::users::create_user(db, ws, profile("ada@example.com"))
        .await
        .unwrap();
    ops::users::create_user(db, other, profile("bob@example.com"))
        .await
        .unwrap();
    ops::users::patch_user(db, ws, user.id, &[replace("title", json!("Lead"))], None)
        .await
        .unwrap();
    // An update that changes nothing is no event.
    ops::users::patch_user(db, ws, user.id, &[replace("title", json!("Lead"))], None)
        .await
        .unwrap();
    ops::users::patch_user(db, ws, user.id, &[replace("active", json!(false))], None)
        .await
        .unwrap();
    ops::users::patch_user(db, ws, user.id, &[replace("active", json!(true))], None)
        .await
        .unwrap();
    let group = ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: "Engineering".into(),
            ..Default::default()
        },
        &[user.id.to_string()],
    )
    .await
    .unwrap()
    .group;
    ops::groups::patch_group(
        db,
        ws,
        group.id,
        &[replace("displayName", json!("Platform"))],
        None,
        false,
    )
    .await
    .unwrap();
    ops::groups::replace_group(
        db,
        ws,
        group.id,
        GroupProfile {
            display_name: "Platform".into(),
            ..Default::default()
        },
        &[],
        None,
        false,
    )
    .await
    .unwrap();
    let (token, plaintext) = ops::tokens::issue_token(
        db,
        ws,
        "okta",
        None,
        directory_service::domain::tokens::TokenScope::Full,
        &[],
    )
    .await
    .unwrap();
    ops::tokens::revoke_token(db, ws, token.id).await.unwrap();
    ops::groups::delete_group(db, ws, group.id, None)
        .await
        .unwrap();
    ops::users::delete_user(db, ws, user.id, None)
        .await
        .unwrap();

    let all = events(db, ws, 0).await;
    assert_eq!(
        types(&all),
        [
            "scimUser.provisioned",
            "scimUser.updated",
            "scimUser.deprovisioned",
            "scimUser.reprovisioned",
            "scimGroup.created",
            "scimGroup.membersAdded",
            "scimGroup.renamed",
            "scimGroup.membersRemoved",
            "token.issued",
            "token.revoked",
            "scimGroup.deleted",
            "scimUser.deleted",
        ]
    );
    assert_gap_free(&all, 1);
    // The other workspace has its own sequence.
    let theirs = events(db, other, 0).await;
    assert_eq!(types(&theirs), ["scimUser.provisioned"]);
    assert_eq!(theirs[0].sequence, 1);

    let provisioned = &all[0].data;
    assert_eq!(provisioned["user"]["userName"], "ada@example.com");
    assert_eq!(provisioned["user"]["id"], json!(user.id));
    assert_eq!(provisioned["user"]["active"], true);
    assert!(provisioned["user"]["public_metadata"].is_object());
    assert_eq!(provisioned["workspace"]["slug"], "acme");
    assert_eq!(provisioned["organization_id"], json!(ws));
    assert_eq!(all[0].actor_kind, "system");

    assert_eq!(
        all[1].changes,
        Some(json!({ "title": { "before": null, "after": "Lead" } }))
    );
    assert_eq!(
        all[2].changes.as_ref().unwrap()["active"],
        json!({ "before": true, "after": false })
    );
    assert_eq!(all[5].data["members"], json!([user.id]));
    assert_eq!(all[7].data["members"], json!([user.id]));
    // A deleted user stays readable as a tombstone with its last state.
    assert_eq!(all[11].data["user"]["userName"], "ada@example.com");
    assert_eq!(all[11].resource_id, user.id.to_string());
    // No event carries a token's secret.
    for event in &all {
        let text = event.data.to_string();
        assert!(!text.contains(&plaintext), "{text}");
        assert!(!text.contains(&token.secret_hash), "{text}");
    }
    // The cursor resumes exactly after what was seen.
    let tail = events(db, ws, 10).await;
    assert_gap_free(&tail, 11);
    assert_eq!(types(&tail), ["scimGroup.deleted", "scimUser.deleted"]);
}

pub async fn failed_writes_leave_no_event_and_no_gap(db: &Db) {
    let ws = workspace(db, "acme").await;
    ops::users::create_user(db, ws, profile("ada@example.com"))
        .await
        .unwrap();
    // A duplicate userName fails inside the transaction: neither user nor event.
    assert!(
        ops::users::create_user(db, ws, profile("ADA@example.com"))
            .await
            .is_err()
    );
    ops::users::create_user(db, ws, profile("bob@example.com"))
        .await
        .unwrap();
    let all = events(db, ws, 0).await;
    assert_eq!(
        types(&all),
        ["scimUser.provisioned", "scimUser.provisioned"]
    );
    assert_gap_free(&all, 1);
}

pub async fn events_name_their_actor(db: &Db) {
    let ws = workspace(db, "acme").await;
    let (token, _) = ops::tokens::issue_token(
        db,
        ws,
        "Okta Token",
        None,
        directory_service::domain::tokens::TokenScope::Full,
        &[],
    )
    .await
    .unwrap();
    let actor = Actor {
        kind: "token".into(),
        id: token.id.to_string(),
        name: String::new(),
    };
    let user = ops::events::ACTOR
        .scope(
            actor,
            ops::users::create_user(db, ws, profile("ada@example.com")),
        )
        .await
        .unwrap();
    let cli = Actor {
        kind: "grpc".into(),
        id: "scimctl".into(),
        name: String::new(),
    };
    ops::events::ACTOR
        .scope(
            cli,
            ops::users::patch_user(db, ws, user.id, &[replace("title", json!("x"))], None),
        )
        .await
        .unwrap();
    let all = events(db, ws, 0).await;
    let provisioned = &all[1];
    assert_eq!(provisioned.event_type, "scimUser.provisioned");
    assert_eq!(
        (
            provisioned.actor_kind.as_str(),
            provisioned.actor_name.as_str()
        ),
        ("token", "Okta Token")
    );
    assert_eq!(provisioned.actor_id, token.id.to_string());
    assert_eq!(
        provisioned.data["connection"],
        json!({ "token_id": token.id.to_string(), "token_name": "Okta Token" })
    );
    assert_eq!(
        (all[2].actor_kind.as_str(), all[2].actor_id.as_str()),
        ("grpc", "scimctl")
    );
    // The audit filters.
    let by_cli = ops::events::list_events(
        db,
        ws,
        &EventFilter {
            actor_id: Some("scimctl".into()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(types(&by_cli), ["scimUser.updated"]);
    let by_resource = ops::events::list_events(
        db,
        ws,
        &EventFilter {
            resource_id: Some(user.id.to_string()),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    assert_eq!(by_resource.len(), 2);
}

/// Many writers at once: the sequence has no gap and no duplicate, and a reader polling
/// meanwhile never sees a later sequence before an earlier one.
pub async fn concurrent_writers_get_a_gap_free_sequence(db: &Db) {
    let ws = workspace(db, "acme").await;
    let writers = 8;
    let per_writer = 10;
    let reader_db = db.clone();
    let reader = tokio::spawn(async move {
        let mut seen = 0i64;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while seen < (writers * per_writer) as i64 && std::time::Instant::now() < deadline {
            for event in events(&reader_db, ws, seen).await {
                assert_eq!(event.sequence, seen + 1, "a reader saw a gap");
                seen = event.sequence;
            }
            tokio::task::yield_now().await;
        }
        seen
    });
    let mut tasks = Vec::new();
    for w in 0..writers {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per_writer {
                ops::users::create_user(&db, ws, profile(&format!("u{w}-{i}@example.com")))
                    .await
                    .unwrap();
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(reader.await.unwrap(), (writers * per_writer) as i64);
    let all = events(db, ws, 0).await;
    assert_gap_free(&all, 1);
}

pub async fn webhook_endpoints_start_at_their_creation(db: &Db) {
    let ws = workspace(db, "acme").await;
    ops::users::create_user(db, ws, profile("ada@example.com"))
        .await
        .unwrap();
    assert!(
        ops::webhooks::create_webhook(db, ws, "ftp://example.com", &[])
            .await
            .is_err()
    );
    assert!(
        ops::webhooks::create_webhook(db, ws, "https://example.com/h", &["nope".into()])
            .await
            .is_err()
    );
    let endpoint = ops::webhooks::create_webhook(
        db,
        ws,
        "https://example.com/h",
        &["scimUser.provisioned".into()],
    )
    .await
    .unwrap();
    assert!(endpoint.secret.starts_with("whsec_"));
    // It has seen the user created before it (sequence 1), not its own creation (2).
    assert_eq!(endpoint.cursor, 1);
    let disabled = ops::webhooks::set_webhook_enabled(db, ws, endpoint.id, false)
        .await
        .unwrap();
    assert!(!disabled.enabled);
    ops::webhooks::delete_webhook(db, ws, endpoint.id)
        .await
        .unwrap();
    assert!(
        ops::webhooks::list_webhooks(db, ws)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        types(&events(db, ws, 0).await),
        [
            "scimUser.provisioned",
            "webhook.created",
            "webhook.disabled",
            "webhook.deleted"
        ]
    );
}

/// The write step's own changes are events too: members a group push re-evaluates through
/// an attribute mapping get their user event, in the push's transaction, after the group's
/// events and without a gap. Deleting the workspace takes its events, counter and webhook
/// endpoints with it and leaves the other workspace's alone.
pub async fn users_the_write_step_reevaluates_get_their_event(db: &Db) {
    use directory_service::domain::attribute_mappings::{AttributeMapping, Destination};
    let ws = workspace(db, "acme").await;
    let other = workspace(db, "other").await;
    ops::attribute_mappings::set_attribute_mapping(
        db,
        ws,
        AttributeMapping {
            source: "groups[0].value".into(),
            destination: Destination::OrganizationRole,
            template: Some(
                "{% assign group = value | downcase %}{% if group == 'okta-leads' %}org:admin{% else %}org:member{% endif %}".into(),
            ),
        },
    )
    .await
    .unwrap();
    let kim = ops::users::create_user(db, ws, profile("kim@example.com"))
        .await
        .unwrap();
    assert_eq!(kim.profile.organization_role.as_deref(), Some("org:member"));
    ops::webhooks::create_webhook(db, ws, "https://hooks.example.com/scim", &[])
        .await
        .unwrap();
    let before = events(db, ws, 0).await;
    let last = before.last().unwrap().sequence;

    ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: "Okta-Leads".into(),
            ..Default::default()
        },
        &[kim.id.to_string()],
    )
    .await
    .unwrap();
    let pushed = events(db, ws, last).await;
    assert_eq!(
        types(&pushed),
        [
            "scimGroup.created",
            "scimGroup.membersAdded",
            "scimUser.updated"
        ]
    );
    assert_gap_free(&pushed, last + 1);
    let updated = &pushed[2];
    assert_eq!(updated.resource_id, kim.id.to_string());
    assert_eq!(
        updated.changes.as_ref().unwrap()["organization_role"],
        json!({ "before": "org:member", "after": "org:admin" })
    );
    assert_eq!(
        ops::users::get_user(db, ws, kim.id)
            .await
            .unwrap()
            .profile
            .organization_role
            .as_deref(),
        Some("org:admin")
    );

    ops::users::create_user(db, other, profile("bob@example.com"))
        .await
        .unwrap();
    ops::workspaces::delete_workspace(db, ws, "acme")
        .await
        .unwrap();
    let gone = store::events::list(db, ws, &EventFilter::default(), 1000)
        .await
        .unwrap();
    assert!(gone.is_empty(), "events cascade away with the workspace");
    assert_eq!(store::events::last_sequence(db, ws).await.unwrap(), 0);
    assert!(
        store::webhooks::list(db, ws).await.unwrap().is_empty(),
        "endpoints cascade away with the workspace"
    );
    assert_eq!(types(&events(db, other, 0).await), ["scimUser.provisioned"]);
}

/// A seat the write step gives to a waiting member is a `license.assigned` event of that
/// member, in the write that freed it.
pub async fn a_seat_given_to_a_waiting_member_is_an_event(db: &Db) {
    use directory_service::domain::licenses::Subscription;
    let ws = workspace(db, "acme").await;
    ops::licenses::create_subscription(
        db,
        ws,
        Subscription {
            subscription_id: "sub_pro".into(),
            plan: "pro".into(),
            product: "app".into(),
            seats: 1,
        },
    )
    .await
    .unwrap();
    let a = ops::users::create_user(db, ws, profile("a@example.com"))
        .await
        .unwrap();
    let b = ops::users::create_user(db, ws, profile("b@example.com"))
        .await
        .unwrap();
    ops::licenses::assign_license(db, ws, "sub_pro", a.id)
        .await
        .unwrap();
    ops::users::patch_user(db, ws, a.id, &[replace("active", json!(false))], None)
        .await
        .unwrap();
    ops::licenses::assign_license(db, ws, "sub_pro", b.id)
        .await
        .unwrap();
    let before_return = events(db, ws, 0).await.last().unwrap().sequence;
    // a comes back to a full subscription and waits: that is an event of its own.
    ops::users::patch_user(db, ws, a.id, &[replace("active", json!(true))], None)
        .await
        .unwrap();
    let returned = events(db, ws, before_return).await;
    assert_eq!(
        types(&returned),
        ["scimUser.reprovisioned", "license.waiting"]
    );
    let waiting = &returned[1];
    assert_eq!(waiting.resource_type, "user");
    assert_eq!(waiting.resource_id, a.id.to_string());
    assert_eq!(waiting.data["user_id"], json!(a.id));
    assert_eq!(waiting.data["subscription"]["subscription_id"], "sub_pro");
    assert_eq!(waiting.data["subscription"]["seats"], 1);
    assert_eq!(waiting.data["subscription"]["seats_used"], 1);
    assert_eq!(waiting.data["seated_from_waiting"], false);
    let last = returned.last().unwrap().sequence;

    // b leaves: a gets the seat in the same write.
    ops::users::patch_user(db, ws, b.id, &[replace("active", json!(false))], None)
        .await
        .unwrap();
    let freed = events(db, ws, last).await;
    let all_events = events(db, ws, 0).await;
    assert_eq!(
        types(&freed),
        ["scimUser.deprovisioned", "license.assigned"]
    );
    assert_gap_free(&freed, last + 1);
    assert_eq!(freed[1].resource_id, a.id.to_string());
    assert_eq!(freed[1].data["seated_from_waiting"], json!(true));
    // The same shape as a direct assignment: the subscription under `subscription`, the
    // member under `user_id` (the seat was once nested under `user`).
    let direct = all_events
        .iter()
        .find(|e| e.event_type == "license.assigned")
        .unwrap();
    assert_eq!(direct.data["seated_from_waiting"], json!(false));
    let keys = |e: &Event| {
        let mut k: Vec<String> = e.data.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&freed[1]), keys(direct));
    assert!(freed[1].data.get("user").is_none(), "{}", freed[1].data);
    assert_eq!(freed[1].data["user_id"], json!(a.id));
    assert_eq!(freed[1].data["subscription"]["subscription_id"], "sub_pro");
    assert_eq!(freed[1].data["subscription"]["plan"], "pro");
    assert_eq!(freed[1].data["subscription"]["seats_used"], 1);
    assert_eq!(
        ops::roles::get_user_access(db, ws, a.id)
            .await
            .unwrap()
            .licenses,
        vec!["sub_pro".to_owned()]
    );
}

/// Changing a subscription's seats and deleting it are events; the delete's tombstone
/// carries the subscription as it was.
pub async fn subscription_updates_and_deletes_are_events(db: &Db) {
    use directory_service::domain::licenses::Subscription;
    let ws = workspace(db, "acme").await;
    ops::licenses::create_subscription(
        db,
        ws,
        Subscription {
            subscription_id: "sub_pro".into(),
            plan: "pro".into(),
            product: "app".into(),
            seats: 1,
        },
    )
    .await
    .unwrap();
    ops::licenses::update_seats(db, ws, "sub_pro", 3)
        .await
        .unwrap();
    ops::licenses::delete_subscription(db, ws, "sub_pro")
        .await
        .unwrap();
    let all = events(db, ws, 0).await;
    assert_eq!(
        types(&all),
        [
            "subscription.created",
            "subscription.updated",
            "subscription.deleted"
        ]
    );
    assert_gap_free(&all, 1);
    assert_eq!(all[1].data["subscription"]["seats"], json!(3));
    assert_eq!(all[1].data["subscription"]["seats_before"], json!(1));
    assert_eq!(all[2].resource_id, "sub_pro");
    assert_eq!(all[2].data["subscription"]["seats"], json!(3));
    assert!(
        ops::licenses::list_subscriptions(db, ws)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Deleting a user removes it from its groups: each group records `membersRemoved` naming
/// it, after the user's tombstone, in the same write. Deleting a group records its
/// tombstone and then the memberships that went with it.
pub async fn deletes_record_the_memberships_they_cascade(db: &Db) {
    let ws = workspace(db, "acme").await;
    let ada = ops::users::create_user(db, ws, profile("ada@example.com"))
        .await
        .unwrap();
    let bob = ops::users::create_user(db, ws, profile("bob@example.com"))
        .await
        .unwrap();
    let mut groups = Vec::new();
    for name in ["Engineering", "Oncall"] {
        let group = ops::groups::create_group(
            db,
            ws,
            GroupProfile {
                display_name: name.into(),
                ..Default::default()
            },
            &[ada.id.to_string(), bob.id.to_string()],
        )
        .await
        .unwrap()
        .group;
        groups.push(group.id);
    }
    let last = events(db, ws, 0).await.last().unwrap().sequence;

    ops::users::delete_user(db, ws, ada.id, None).await.unwrap();
    let deleted = events(db, ws, last).await;
    assert_eq!(
        types(&deleted),
        [
            "scimUser.deleted",
            "scimGroup.membersRemoved",
            "scimGroup.membersRemoved"
        ]
    );
    assert_gap_free(&deleted, last + 1);
    let mut named: Vec<Uuid> = deleted[1..]
        .iter()
        .map(|e| e.resource_id.parse().unwrap())
        .collect();
    named.sort();
    let mut expected = groups.clone();
    expected.sort();
    assert_eq!(named, expected);
    for event in &deleted[1..] {
        assert_eq!(event.resource_type, "group");
        assert_eq!(event.data["members"], json!([ada.id]));
        assert_eq!(event.data["group"]["id"], json!(event.resource_id));
    }
    let last = deleted.last().unwrap().sequence;

    ops::groups::delete_group(db, ws, groups[0], None)
        .await
        .unwrap();
    let gone = events(db, ws, last).await;
    assert_eq!(
        types(&gone),
        ["scimGroup.deleted", "scimGroup.membersRemoved"]
    );
    assert_eq!(gone[1].resource_id, groups[0].to_string());
    assert_eq!(gone[1].data["members"], json!([bob.id]));

    // A user in no group is deleted with its tombstone only.
    let carol = ops::users::create_user(db, ws, profile("carol@example.com"))
        .await
        .unwrap();
    let last = events(db, ws, 0).await.last().unwrap().sequence;
    ops::users::delete_user(db, ws, carol.id, None)
        .await
        .unwrap();
    assert_eq!(types(&events(db, ws, last).await), ["scimUser.deleted"]);
}

async fn stored_events(db: &Db, ws: Uuid) -> usize {
    store::events::list(db, ws, &EventFilter::default(), 100)
        .await
        .unwrap()
        .len()
}

/// Retention: events older than the cut go in bounded batches, newer ones stay.
pub async fn old_events_are_pruned_in_bounded_batches(db: &Db) {
    let ws = workspace(db, "acme").await;
    for name in ["a@x.test", "b@x.test", "c@x.test"] {
        ops::users::create_user(db, ws, profile(name))
            .await
            .unwrap();
    }
    let total = stored_events(db, ws).await;
    assert!(total >= 3, "{total} events");
    let yesterday = chrono::Utc::now() - chrono::Duration::days(1);
    assert_eq!(store::events::prune(db, yesterday, 2).await.unwrap(), 0);
    assert_eq!(stored_events(db, ws).await, total);
    let later = chrono::Utc::now() + chrono::Duration::minutes(1);
    assert_eq!(store::events::prune(db, later, 2).await.unwrap(), 2);
    assert_eq!(stored_events(db, ws).await, total - 2);
    let mut left = total as u64 - 2;
    while left > 0 {
        let gone = store::events::prune(db, later, 2).await.unwrap();
        assert!(gone > 0 && gone <= 2);
        left -= gone;
    }
    assert_eq!(stored_events(db, ws).await, 0);
}

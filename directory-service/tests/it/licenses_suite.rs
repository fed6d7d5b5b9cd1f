//! Subscriptions, license seats, direct grants and the read side (seed 000).

use directory_service::domain::DomainError;
use directory_service::domain::filter::AttrPath;
use directory_service::domain::groups::GroupProfile;
use directory_service::domain::licenses::Subscription;
use directory_service::domain::paging::PageRequest;
use directory_service::domain::patch::{PatchOp, PatchOperation};
use directory_service::domain::roles::{GroupRole, LAST_ADMIN};
use directory_service::domain::users::UserProfile;
use directory_service::ops;
use directory_service::store::Db;
use serde_json::json;

use crate::harness::{member_ids, typed};
use uuid::Uuid;

const SUB: &str = "sub_1RqpMYGCs0LNOzY9UszOGJkL";
const GROUP: &str = "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL";

async fn workspace(db: &Db) -> Uuid {
    ops::workspaces::create_workspace(db, "acme", "")
        .await
        .unwrap()
        .id
}

async fn user(db: &Db, ws: Uuid, name: &str) -> Uuid {
    let profile = UserProfile {
        user_name: name.into(),
        active: Some(true),
        ..Default::default()
    };
    ops::users::create_user(db, ws, profile).await.unwrap().id
}

async fn subscription(db: &Db, ws: Uuid, seats: i64) -> ops::licenses::SubscriptionView {
    let sub = Subscription {
        subscription_id: SUB.into(),
        plan: "Enterprise Plan".into(),
        product: "AWS".into(),
        seats,
    };
    ops::licenses::create_subscription(db, ws, sub)
        .await
        .unwrap()
}

fn add(ids: &[Uuid]) -> PatchOperation {
    PatchOperation {
        op: PatchOp::Add,
        path: AttrPath {
            attribute: "members".into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(member_ids(ids)),
    }
}

fn active(value: bool) -> PatchOperation {
    PatchOperation {
        op: PatchOp::Replace,
        path: AttrPath {
            attribute: "active".into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(typed(json!(value))),
    }
}

async fn seats_used(db: &Db, ws: Uuid) -> u64 {
    ops::licenses::list_subscriptions(db, ws)
        .await
        .unwrap()
        .remove(0)
        .seats_used
}

pub async fn license_groups_give_seats_up_to_the_count(db: &Db) {
    let ws = workspace(db).await;
    let created = subscription(db, ws, 2).await;
    assert_eq!(created.subscription.group_name(), GROUP);
    assert!(created.group_id.is_none(), "no license group pushed yet");
    let (a, b, c) = (
        user(db, ws, "a@x.test").await,
        user(db, ws, "b@x.test").await,
        user(db, ws, "c@x.test").await,
    );
    let group = ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: GROUP.into(),
            ..Default::default()
        },
        &[a.to_string()],
    )
    .await
    .unwrap()
    .group;
    assert_eq!(group.license_subscription.as_deref(), Some(SUB));
    assert_eq!(seats_used(db, ws).await, 1);
    let refused = ops::groups::patch_group(db, ws, group.id, &[add(&[b, c])], None, false).await;
    match refused {
        Err(DomainError::Conflict(message)) => assert!(
            message.contains(SUB) && message.contains("2 seats"),
            "{message}"
        ),
        other => panic!("expected the seat conflict, got {other:?}"),
    }
    assert_eq!(
        seats_used(db, ws).await,
        1,
        "refused atomically, nobody evicted"
    );
    ops::groups::patch_group(db, ws, group.id, &[add(&[b])], None, false)
        .await
        .unwrap();
    assert_eq!(seats_used(db, ws).await, 2);
    let (holders, total) =
        ops::licenses::list_holders(db, ws, SUB, PageRequest::index(1, Some(10)))
            .await
            .unwrap();
    assert_eq!(total, 2);
    assert_eq!(holders.len(), 2);
    let listed = ops::licenses::list_subscriptions(db, ws)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(listed.group_id, Some(group.id));
}

async fn waiting(db: &Db, ws: Uuid) -> u64 {
    ops::licenses::list_subscriptions(db, ws)
        .await
        .unwrap()
        .remove(0)
        .seats_waiting
}

/// Issue #19 item 4: reactivation always succeeds; with every seat taken the member waits,
/// and the longest-waiting member gets the next seat that frees, in the freeing write.
pub async fn reactivation_into_a_full_subscription_waits_for_a_seat(db: &Db) {
    let ws = workspace(db).await;
    subscription(db, ws, 1).await;
    let (a, b, c, d) = (
        user(db, ws, "a@x.test").await,
        user(db, ws, "b@x.test").await,
        user(db, ws, "c@x.test").await,
        user(db, ws, "d@x.test").await,
    );
    let group = ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: GROUP.into(),
            ..Default::default()
        },
        &[a.to_string()],
    )
    .await
    .unwrap()
    .group;
    ops::users::patch_user(db, ws, a, &[active(false)], None)
        .await
        .unwrap();
    assert_eq!(
        seats_used(db, ws).await,
        0,
        "an inactive user holds no seat"
    );
    let access = ops::roles::get_user_access(db, ws, a).await.unwrap();
    assert!(access.licenses.is_empty() && access.role == GroupRole::None);
    ops::groups::patch_group(db, ws, group.id, &[add(&[b])], None, false)
        .await
        .unwrap();
    assert_eq!(seats_used(db, ws).await, 1, "b took the free seat");

    // Reactivating a into the full subscription succeeds: a waits.
    let reactivated = ops::users::patch_user(db, ws, a, &[active(true)], None)
        .await
        .unwrap();
    assert!(reactivated.profile.is_active());
    let access = ops::roles::get_user_access(db, ws, a).await.unwrap();
    assert!(access.active);
    assert!(access.licenses.is_empty(), "{access:?}");
    assert_eq!(access.waiting_licenses, vec![SUB.to_owned()]);
    assert_eq!((seats_used(db, ws).await, waiting(db, ws).await), (1, 1));
    let (holders, _) = ops::licenses::list_holders(db, ws, SUB, PageRequest::index(1, Some(10)))
        .await
        .unwrap();
    assert_eq!(
        holders.iter().map(|u| u.id).collect::<Vec<_>>(),
        vec![b],
        "a waiting member is not a holder"
    );

    // A second member waits behind a; a new member still gets the 409.
    ops::groups::patch_group(db, ws, group.id, &[add(&[d])], None, false)
        .await
        .expect_err("d is new: the group is full");
    ops::licenses::assign_license(db, ws, SUB, d)
        .await
        .expect_err("a direct assignment of a full subscription is refused too");
    ops::users::patch_user(db, ws, c, &[active(false)], None)
        .await
        .unwrap();
    ops::groups::patch_group(db, ws, group.id, &[add(&[c])], None, false)
        .await
        .unwrap();
    ops::users::patch_user(db, ws, c, &[active(true)], None)
        .await
        .unwrap();
    assert_eq!((seats_used(db, ws).await, waiting(db, ws).await), (1, 2));
    let refused = ops::groups::patch_group(db, ws, group.id, &[add(&[d])], None, false).await;
    match refused {
        Err(DomainError::Conflict(message)) => assert!(message.contains(SUB), "{message}"),
        other => panic!("expected the seat conflict, got {other:?}"),
    }

    // b leaves: the longest-waiting member (a, not c) gets the seat in the same write.
    ops::users::patch_user(db, ws, b, &[active(false)], None)
        .await
        .unwrap();
    let access = ops::roles::get_user_access(db, ws, a).await.unwrap();
    assert_eq!(access.licenses, vec![SUB.to_owned()]);
    assert!(access.waiting_licenses.is_empty());
    let access = ops::roles::get_user_access(db, ws, c).await.unwrap();
    assert_eq!(access.waiting_licenses, vec![SUB.to_owned()]);
    assert_eq!((seats_used(db, ws).await, waiting(db, ws).await), (1, 1));

    // A waiting member who leaves the group stops waiting; removing a seats nobody else.
    ops::groups::patch_group(
        db,
        ws,
        group.id,
        &[PatchOperation {
            op: PatchOp::Remove,
            path: AttrPath {
                attribute: "members".into(),
                ..Default::default()
            },
            value_filter: None,
            value: Some(member_ids(&[c])),
        }],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!((seats_used(db, ws).await, waiting(db, ws).await), (1, 0));
    assert!(
        ops::roles::get_user_access(db, ws, c)
            .await
            .unwrap()
            .waiting_licenses
            .is_empty()
    );
}

pub async fn direct_and_group_licenses_share_one_seat(db: &Db) {
    let ws = workspace(db).await;
    subscription(db, ws, 1).await;
    let (a, b) = (
        user(db, ws, "a@x.test").await,
        user(db, ws, "b@x.test").await,
    );
    ops::licenses::assign_license(db, ws, SUB, a).await.unwrap();
    assert_eq!(seats_used(db, ws).await, 1);
    // Migrating a licensed user into the pushed license group keeps one seat.
    ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: GROUP.into(),
            ..Default::default()
        },
        &[a.to_string()],
    )
    .await
    .unwrap();
    assert_eq!(seats_used(db, ws).await, 1);
    assert!(matches!(
        ops::licenses::assign_license(db, ws, SUB, b).await,
        Err(DomainError::Conflict(_))
    ));
    assert_eq!(
        ops::roles::get_user_access(db, ws, a)
            .await
            .unwrap()
            .licenses,
        [SUB]
    );
    ops::licenses::revoke_license(db, ws, SUB, a).await.unwrap();
    assert_eq!(seats_used(db, ws).await, 1, "still held through the group");
    assert!(matches!(
        ops::licenses::revoke_license(db, ws, SUB, a).await,
        Err(DomainError::NotFound(_))
    ));
}

pub async fn a_license_group_pushed_early_is_linked_later(db: &Db) {
    let ws = workspace(db).await;
    let a = user(db, ws, "a@x.test").await;
    let group = ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: GROUP.into(),
            ..Default::default()
        },
        &[a.to_string()],
    )
    .await
    .unwrap()
    .group;
    assert!(group.license_subscription.is_none());
    let created = subscription(db, ws, 5).await;
    assert_eq!(created.group_id, Some(group.id));
    assert_eq!(created.seats_used, 1);
    let again = ops::licenses::create_subscription(
        db,
        ws,
        Subscription {
            subscription_id: SUB.into(),
            plan: "p".into(),
            product: "q".into(),
            seats: 1,
        },
    )
    .await;
    assert!(matches!(again, Err(DomainError::Uniqueness(_))));
}

pub async fn granted_admins_count_for_the_last_admin_rule(db: &Db) {
    let ws = workspace(db).await;
    let (a, b) = (
        user(db, ws, "a@x.test").await,
        user(db, ws, "b@x.test").await,
    );
    let admins = ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: "LocalStack-Admin".into(),
            ..Default::default()
        },
        &[a.to_string()],
    )
    .await
    .unwrap()
    .group;
    let remove_a = PatchOperation {
        op: PatchOp::Remove,
        value: Some(member_ids(&[a])),
        ..add(&[])
    };
    assert!(matches!(
        ops::groups::patch_group(
            db,
            ws,
            admins.id,
            std::slice::from_ref(&remove_a),
            None,
            false
        )
        .await,
        Err(DomainError::Conflict(_))
    ));
    // "Assign another admin in LocalStack first": a grant outside SCIM.
    let access = ops::roles::set_member_role(db, ws, b, GroupRole::Admin)
        .await
        .unwrap();
    assert_eq!(
        (access.role, access.granted_role),
        (GroupRole::Admin, GroupRole::Admin)
    );
    ops::groups::patch_group(db, ws, admins.id, &[remove_a], None, false)
        .await
        .unwrap();
    let (listed, total) = ops::roles::list_workspace_admins(db, ws, PageRequest::index(1, None))
        .await
        .unwrap();
    assert_eq!((total, listed[0].id), (1, b));
    match ops::roles::set_member_role(db, ws, b, GroupRole::None).await {
        Err(DomainError::Conflict(message)) => assert!(message.starts_with(LAST_ADMIN)),
        other => panic!("expected the last-admin conflict, got {other:?}"),
    }
    assert_eq!(
        ops::roles::get_user_access(db, ws, a).await.unwrap().role,
        GroupRole::None
    );
}

pub async fn imported_members_are_found_not_duplicated(db: &Db) {
    use directory_service::domain::users::MultiValue;
    let ws = workspace(db).await;
    let profile = |name: &str, email: &str| UserProfile {
        user_name: name.into(),
        active: Some(true),
        emails: vec![MultiValue {
            value: email.into(),
            kind: Some("work".into()),
            primary: true,
            display: None,
        }],
        ..Default::default()
    };
    let rows = vec![
        profile("Dana@Corp.test", "dana@corp.test"),
        profile(" ", "x@corp.test"),
        profile("eli@corp.test", "eli@corp.test"),
    ];
    let results = ops::users::import_users(db, ws, rows).await.unwrap();
    let outcome = |i: usize| match &results[i].1 {
        ops::users::ImportOutcome::Created(_) => "created",
        ops::users::ImportOutcome::Existing(_) => "existing",
        ops::users::ImportOutcome::Failed(_) => "failed",
    };
    assert_eq!(
        (outcome(0), outcome(1), outcome(2)),
        ("created", "failed", "created")
    );
    // Importing again (or the IdP pushing the same person) finds the member.
    let again = ops::users::import_users(db, ws, vec![profile("dana@corp.test", "dana@corp.test")])
        .await
        .unwrap();
    let (ops::users::ImportOutcome::Existing(id), ops::users::ImportOutcome::Created(first)) =
        (&again[0].1, &results[0].1)
    else {
        panic!("expected the existing member");
    };
    assert_eq!(id, first);
    use directory_service::domain::filter::{CompareOp, Filter, FilterValue};
    let lookup = |attribute: &str, sub: &str, value: &str| Filter::Compare {
        path: AttrPath {
            schema: String::new(),
            attribute: attribute.into(),
            sub_attribute: sub.into(),
        },
        op: CompareOp::Eq,
        value: FilterValue::String(value.into()),
    };
    for filter in [
        lookup("userName", "", "DANA@corp.test"),
        lookup("emails", "value", "Dana@Corp.test"),
    ] {
        let page = ops::users::list_users(db, ws, Some(&filter), None, PageRequest::index(1, None))
            .await
            .unwrap();
        assert_eq!(page.users.len(), 1, "{filter:?}");
        assert_eq!(page.users[0].id, *first);
    }
}

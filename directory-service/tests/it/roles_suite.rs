//! Workspace role rules (seeds 000/001): role groups, one role per user, last admin.

use directory_service::domain::DomainError;
use directory_service::domain::filter::AttrPath;
use directory_service::domain::groups::GroupProfile;
use directory_service::domain::patch::{PatchOp, PatchOperation};
use directory_service::domain::roles::{GroupRole, LAST_ADMIN};
use directory_service::domain::users::UserProfile;
use directory_service::ops;
use directory_service::store::Db;
use serde_json::json;

use crate::harness::{member_ids, typed};
use uuid::Uuid;

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

async fn group(db: &Db, ws: Uuid, name: &str, members: &[Uuid]) -> Uuid {
    let members: Vec<String> = members.iter().map(Uuid::to_string).collect();
    let profile = GroupProfile {
        display_name: name.into(),
        ..Default::default()
    };
    ops::groups::create_group(db, ws, profile, &members)
        .await
        .unwrap()
        .group
        .id
}

/// A `members` operation; no ids: a remove of every member.
fn members_op(op: PatchOp, ids: &[Uuid]) -> PatchOperation {
    PatchOperation {
        op,
        path: AttrPath {
            attribute: "members".into(),
            ..Default::default()
        },
        value_filter: None,
        value: if ids.is_empty() {
            None
        } else {
            Some(member_ids(ids))
        },
    }
}

/// Okta's `members[value eq "id"]` remove, as the gateway sends it.
fn remove_by_filter(id: Uuid) -> PatchOperation {
    members_op(PatchOp::Remove, &[id])
}

fn replace(attribute: &str, value: serde_json::Value) -> PatchOperation {
    PatchOperation {
        op: PatchOp::Replace,
        path: AttrPath {
            attribute: attribute.into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(typed(value)),
    }
}

#[track_caller]
fn assert_last_admin<T: std::fmt::Debug>(result: Result<T, DomainError>) {
    match result {
        Err(DomainError::Conflict(message)) => {
            assert!(message.starts_with(LAST_ADMIN), "{message}")
        }
        other => panic!("expected the last-admin conflict, got {other:?}"),
    }
}

async fn member_count(db: &Db, ws: Uuid, group: Uuid) -> usize {
    ops::groups::get_group(db, ws, group, true)
        .await
        .unwrap()
        .members
        .unwrap()
        .len()
}

pub async fn role_groups_keep_the_role_of_their_first_name(db: &Db) {
    let ws = workspace(db).await;
    let admins = group(db, ws, "LocalStack-Admin", &[]).await;
    let members = group(db, ws, "engineering-MEMBERS", &[]).await;
    let plain = group(db, ws, "Engineering", &[]).await;
    let role = |id| async move {
        ops::groups::get_group(db, ws, id, false)
            .await
            .unwrap()
            .group
            .role
    };
    assert_eq!(role(admins).await, GroupRole::Admin);
    assert_eq!(role(members).await, GroupRole::Member);
    assert_eq!(role(plain).await, GroupRole::None);
    let renamed = ops::groups::patch_group(
        db,
        ws,
        admins,
        &[replace("displayName", json!("Platform Owners"))],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        renamed.group.profile.display_name, "Platform Owners",
        "the rename is recorded"
    );
    assert_eq!(renamed.group.role, GroupRole::Admin, "and keeps the role");
    let promoted = ops::groups::patch_group(
        db,
        ws,
        plain,
        &[replace("displayName", json!("Engineering Admins"))],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        promoted.group.role,
        GroupRole::None,
        "a rename does not grant a role"
    );
}

pub async fn a_user_holds_one_role_at_a_time(db: &Db) {
    let ws = workspace(db).await;
    let alice = user(db, ws, "alice@x.test").await;
    let admins = group(db, ws, "LocalStack-Admin", &[]).await;
    let members = group(db, ws, "LocalStack-Member", &[alice]).await;

    let refused = ops::groups::patch_group(
        db,
        ws,
        admins,
        &[members_op(PatchOp::Add, &[alice])],
        None,
        false,
    )
    .await;
    match refused {
        Err(DomainError::Conflict(message)) => {
            assert!(
                message.contains("alice@x.test") && message.contains("remove"),
                "{message}"
            )
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(member_count(db, ws, admins).await, 0, "nothing changed");
    let put = ops::groups::replace_group(
        db,
        ws,
        admins,
        GroupProfile {
            display_name: "LocalStack-Admin".into(),
            ..Default::default()
        },
        &[alice.to_string()],
        None,
        false,
    )
    .await;
    assert!(matches!(put, Err(DomainError::Conflict(_))));
    let create = ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: "Ops Admins".into(),
            ..Default::default()
        },
        &[alice.to_string()],
    )
    .await;
    assert!(matches!(create, Err(DomainError::Conflict(_))));

    // Remove first, then add: the move works.
    ops::groups::patch_group(db, ws, members, &[remove_by_filter(alice)], None, false)
        .await
        .unwrap();
    ops::groups::patch_group(
        db,
        ws,
        admins,
        &[members_op(PatchOp::Add, &[alice])],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(member_count(db, ws, admins).await, 1);
    // And the reverse direction is refused too.
    let back = ops::groups::patch_group(
        db,
        ws,
        members,
        &[members_op(PatchOp::Add, &[alice])],
        None,
        false,
    )
    .await;
    assert!(matches!(back, Err(DomainError::Conflict(_))));
}

pub async fn the_last_admin_cannot_be_removed_in_any_shape(db: &Db) {
    let ws = workspace(db).await;
    let alice = user(db, ws, "alice@x.test").await;
    let bob = user(db, ws, "bob@x.test").await;
    let carol = user(db, ws, "carol@x.test").await;
    ops::users::patch_user(db, ws, carol, &[replace("active", json!(false))], None)
        .await
        .unwrap();
    let admins = group(db, ws, "LocalStack-Admin", &[alice]).await;

    // Member removal by filter (Okta), by value (Entra), by replace (Okta full push),
    // remove-all, PUT of the group, delete of the group.
    assert_last_admin(
        ops::groups::patch_group(db, ws, admins, &[remove_by_filter(alice)], None, false).await,
    );
    assert_last_admin(
        ops::groups::patch_group(
            db,
            ws,
            admins,
            &[members_op(PatchOp::Remove, &[alice])],
            None,
            false,
        )
        .await,
    );
    assert_last_admin(
        ops::groups::patch_group(
            db,
            ws,
            admins,
            // Replaced by an inactive user only: nobody left to administer.
            &[members_op(PatchOp::Replace, &[carol])],
            None,
            false,
        )
        .await,
    );
    assert_last_admin(
        ops::groups::patch_group(
            db,
            ws,
            admins,
            &[members_op(PatchOp::Remove, &[])],
            None,
            false,
        )
        .await,
    );
    let empty_put = ops::groups::replace_group(
        db,
        ws,
        admins,
        GroupProfile {
            display_name: "LocalStack-Admin".into(),
            ..Default::default()
        },
        &[],
        None,
        false,
    )
    .await;
    assert_last_admin(empty_put);
    assert_last_admin(ops::groups::delete_group(db, ws, admins, None).await);
    // Deactivation by PATCH (Okta, Entra "False" arrives as false), by PUT, and DELETE.
    assert_last_admin(
        ops::users::patch_user(db, ws, alice, &[replace("active", json!(false))], None).await,
    );
    let inactive = UserProfile {
        user_name: "alice@x.test".into(),
        active: Some(false),
        ..Default::default()
    };
    assert_last_admin(ops::users::replace_user(db, ws, alice, inactive, None).await);
    assert_last_admin(ops::users::delete_user(db, ws, alice, None).await);
    assert_eq!(
        member_count(db, ws, admins).await,
        1,
        "every refusal changed nothing"
    );
    assert!(
        ops::users::get_user(db, ws, alice)
            .await
            .unwrap()
            .profile
            .is_active()
    );

    // With a second admin, the first may go.
    ops::groups::patch_group(
        db,
        ws,
        admins,
        &[members_op(PatchOp::Add, &[bob])],
        None,
        false,
    )
    .await
    .unwrap();
    ops::groups::patch_group(db, ws, admins, &[remove_by_filter(alice)], None, false)
        .await
        .unwrap();
    assert_last_admin(
        ops::users::patch_user(db, ws, bob, &[replace("active", json!(false))], None).await,
    );
    // A deactivated admin does not count: a second, inactive admin cannot save the last one.
    ops::groups::patch_group(
        db,
        ws,
        admins,
        &[members_op(PatchOp::Add, &[alice])],
        None,
        false,
    )
    .await
    .unwrap();
    ops::users::patch_user(db, ws, alice, &[replace("active", json!(false))], None)
        .await
        .unwrap();
    assert_last_admin(
        ops::groups::patch_group(db, ws, admins, &[remove_by_filter(bob)], None, false).await,
    );
}

pub async fn workspaces_without_admins_are_not_blocked(db: &Db) {
    let ws = workspace(db).await;
    let alice = user(db, ws, "alice@x.test").await;
    let members = group(db, ws, "LocalStack-Member", &[alice]).await;
    ops::groups::patch_group(db, ws, members, &[remove_by_filter(alice)], None, false)
        .await
        .unwrap();
    ops::users::patch_user(db, ws, alice, &[replace("active", json!(false))], None)
        .await
        .unwrap();
    ops::users::delete_user(db, ws, alice, None).await.unwrap();
}

/// The last-admin rule under concurrency (Postgres, where transactions really overlap):
/// many trials of 50 concurrent DELETEs aimed at the two admins of a workspace. Exactly
/// one may succeed; the others see 404 (same user, already gone) or the last-admin 409;
/// the workspace never ends without an admin.
pub async fn concurrent_removals_never_remove_the_last_admin(db: &Db) {
    const TRIALS: usize = 20;
    const REMOVALS: usize = 50;
    let started = std::time::Instant::now();
    for trial in 0..TRIALS {
        let ws = ops::workspaces::create_workspace(db, &format!("trial-{trial}"), "")
            .await
            .unwrap()
            .id;
        let a = user(db, ws, "a@x.test").await;
        let b = user(db, ws, "b@x.test").await;
        let admins = group(db, ws, "Admins", &[a, b]).await;
        let mut tasks = Vec::new();
        for i in 0..REMOVALS {
            let db = db.clone();
            let target = if i % 2 == 0 { a } else { b };
            tasks.push(tokio::spawn(async move {
                // Two shapes: DELETE of the user, and deactivation.
                if i % 4 < 2 {
                    ops::users::delete_user(&db, ws, target, None)
                        .await
                        .map(|_| ())
                } else {
                    let deactivate = replace("active", json!(false));
                    ops::users::patch_user(&db, ws, target, &[deactivate], None)
                        .await
                        .map(|_| ())
                }
            }));
        }
        let mut last_admin_refusals = 0;
        let mut other_errors = Vec::new();
        for task in tasks {
            match task.await.unwrap() {
                Ok(()) | Err(DomainError::NotFound(_)) => {}
                Err(DomainError::Conflict(m)) if m.starts_with(LAST_ADMIN) => {
                    last_admin_refusals += 1
                }
                Err(other) => other_errors.push(other),
            }
        }
        assert!(
            other_errors.is_empty(),
            "trial {trial}: unexpected errors {other_errors:?}"
        );
        let remaining = ops::groups::get_group(db, ws, admins, true)
            .await
            .unwrap()
            .members
            .unwrap();
        let active_admins = {
            let mut n = 0;
            for member in &remaining {
                if ops::users::get_user(db, ws, member.user_id)
                    .await
                    .unwrap()
                    .profile
                    .is_active()
                {
                    n += 1;
                }
            }
            n
        };
        assert_eq!(
            active_admins, 1,
            "trial {trial}: exactly one admin survives"
        );
        assert!(
            last_admin_refusals >= REMOVALS / 2 - 1,
            "trial {trial}: {last_admin_refusals} refusals"
        );
    }
    eprintln!(
        "concurrency: {TRIALS} trials x {REMOVALS} concurrent removals in {:?}, 0 invariant breaks",
        started.elapsed()
    );
}

pub async fn role_mappings_from_idp_values_and_group_names(db: &Db) {
    use directory_service::domain::roles::{MappingSource, RoleMapping};
    let ws = workspace(db).await;
    let map = |source, value: &str, role: &str| RoleMapping {
        source,
        value: value.into(),
        role: role.into(),
    };
    ops::roles::set_role_mapping(db, ws, map(MappingSource::IdpRole, "Admin", "admin"))
        .await
        .unwrap();
    ops::roles::set_role_mapping(
        db,
        ws,
        map(MappingSource::IdpRole, "Billing", "billing-manager"),
    )
    .await
    .unwrap();
    let all = ops::roles::set_role_mapping(
        db,
        ws,
        map(MappingSource::GroupName, "Platform Owners", "admin"),
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 3);
    assert!(
        ops::roles::set_role_mapping(
            db,
            ws,
            map(MappingSource::GroupName, "x", "billing-manager")
        )
        .await
        .is_err()
    );

    let with_role = |name: &str, value: &str| {
        let mut p = UserProfile {
            user_name: name.into(),
            active: Some(true),
            ..Default::default()
        };
        p.extensions.insert(
            "roles".into(),
            json!([{"primary": true, "value": value}, {"value": "other"}]),
        );
        p
    };
    let boss = ops::users::create_user(db, ws, with_role("boss@x.test", "Admin"))
        .await
        .unwrap()
        .id;
    let clerk = ops::users::create_user(db, ws, with_role("clerk@x.test", "Billing"))
        .await
        .unwrap()
        .id;
    let access = ops::roles::get_user_access(db, ws, boss).await.unwrap();
    assert_eq!(access.role, GroupRole::Admin);
    let access = ops::roles::get_user_access(db, ws, clerk).await.unwrap();
    assert_eq!(
        (access.role, access.custom_role.as_deref()),
        (GroupRole::None, Some("billing-manager"))
    );

    // The mapped admin is the only admin: changing the role value away is refused...
    assert_last_admin(
        ops::users::patch_user(
            db,
            ws,
            boss,
            &[replace(
                "roles",
                json!([{"primary": true, "value": "Billing"}]),
            )],
            None,
        )
        .await,
    );
    // ...and so is deleting the mapping.
    assert_last_admin(
        ops::roles::delete_role_mapping(db, ws, MappingSource::IdpRole, "Admin").await,
    );

    // A group created with a mapped name gets the mapped role, whatever its words say.
    let owners = group(db, ws, "Platform Owners", &[clerk]).await;
    assert_eq!(
        ops::groups::get_group(db, ws, owners, false)
            .await
            .unwrap()
            .group
            .role,
        GroupRole::Admin
    );
    assert_eq!(
        ops::roles::get_user_access(db, ws, clerk)
            .await
            .unwrap()
            .role,
        GroupRole::Admin,
        "the higher role wins"
    );
    // Now another admin exists: the role value may change.
    ops::users::patch_user(
        db,
        ws,
        boss,
        &[replace(
            "roles",
            json!([{"primary": true, "value": "Billing"}]),
        )],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        ops::roles::get_user_access(db, ws, boss)
            .await
            .unwrap()
            .custom_role
            .as_deref(),
        Some("billing-manager")
    );
}

pub async fn attribute_mappings_feed_metadata_and_the_organization_role(db: &Db) {
    use directory_service::domain::attribute_mappings::{AttributeMapping, Destination};
    use directory_service::domain::roles::{MappingSource, RoleMapping};
    let ws = workspace(db).await;
    let mapping = |source: &str, destination: &str, template: Option<&str>| AttributeMapping {
        source: source.into(),
        destination: Destination::parse(destination).unwrap(),
        template: template.map(str::to_owned),
    };
    // The seed's two examples, verbatim (Liquid).
    ops::attribute_mappings::set_attribute_mapping(
        db,
        ws,
        mapping(
            "groups[0].value",
            "organization_role",
            Some(r#"{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}"#),
        ),
    )
    .await
    .unwrap();
    ops::attribute_mappings::set_attribute_mapping(
        db,
        ws,
        mapping(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department",
            "public_metadata.department",
            None,
        ),
    )
    .await
    .unwrap();
    let all = ops::attribute_mappings::set_attribute_mapping(
        db,
        ws,
        mapping(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber",
            "public_metadata.employee_number",
            None,
        ),
    )
    .await
    .unwrap();
    assert_eq!(all.len(), 3);
    ops::roles::set_role_mapping(
        db,
        ws,
        RoleMapping {
            source: MappingSource::IdpRole,
            value: "org:admin".into(),
            role: "admin".into(),
        },
    )
    .await
    .unwrap();

    let mut profile = UserProfile {
        user_name: "kim@x.test".into(),
        active: Some(true),
        ..Default::default()
    };
    profile.enterprise.department = Some("R&D".into());
    profile.enterprise.employee_number = Some("E-7".into());
    let kim = ops::users::create_user(db, ws, profile).await.unwrap();
    assert_eq!(kim.profile.public_metadata["department"], "R&D");
    assert_eq!(kim.profile.public_metadata["employee_number"], "E-7");
    assert_eq!(kim.profile.organization_role.as_deref(), Some("org:member"));
    assert_eq!(
        ops::roles::get_user_access(db, ws, kim.id)
            .await
            .unwrap()
            .role,
        GroupRole::None
    );

    // In the "Admins" group, the next update maps kim to org:admin, which is an admin.
    group(db, ws, "Admins", &[kim.id]).await;
    let updated = ops::users::patch_user(db, ws, kim.id, &[replace("title", json!("Lead"))], None)
        .await
        .unwrap();
    assert_eq!(
        updated.profile.organization_role.as_deref(),
        Some("org:admin")
    );
    assert_eq!(
        ops::roles::get_user_access(db, ws, kim.id)
            .await
            .unwrap()
            .role,
        GroupRole::Admin
    );

    // A mapping that fails to evaluate refuses the write; nothing changes.
    ops::attribute_mappings::set_attribute_mapping(
        db,
        ws,
        mapping("title", "nickName", Some("{{ no_such_variable }}")),
    )
    .await
    .unwrap();
    let refused =
        ops::users::patch_user(db, ws, kim.id, &[replace("title", json!("Boss"))], None).await;
    assert!(
        matches!(refused, Err(DomainError::InvalidValue(_))),
        "{refused:?}"
    );
    assert_eq!(
        ops::users::get_user(db, ws, kim.id)
            .await
            .unwrap()
            .profile
            .title
            .as_deref(),
        Some("Lead")
    );
    assert!(
        Destination::parse("password").is_err(),
        "only mappable destinations"
    );
}

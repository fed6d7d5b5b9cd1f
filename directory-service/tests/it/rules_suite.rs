//! The write step (`ops::write`): one case folding, group pushes that re-evaluate
//! mappings and roles, and profile writes that do not wait for the workspace lock.

use directory_service::domain::DomainError;
use directory_service::domain::attribute_mappings::{AttributeMapping, Destination};
use directory_service::domain::custom_attributes::{AttributeKind, CustomAttribute};
use directory_service::domain::filter::{AttrPath, CompareOp, Filter, FilterValue};
use directory_service::domain::groups::GroupProfile;
use directory_service::domain::paging::PageRequest;
use directory_service::domain::patch::{PatchOp, PatchOperation};
use directory_service::domain::roles::{GroupRole, LAST_ADMIN, MappingSource, RoleMapping};
use directory_service::domain::users::UserProfile;
use directory_service::ops;
use directory_service::store::Db;
use serde_json::json;
use uuid::Uuid;

const URN: &str = "urn:acme:params:scim:schemas:extension:acme:2.0:User";

async fn workspace(db: &Db) -> Uuid {
    ops::workspaces::create_workspace(db, "acme", "")
        .await
        .unwrap()
        .id
}

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

fn members(op: PatchOp, ids: &[Uuid]) -> PatchOperation {
    PatchOperation {
        op,
        path: AttrPath {
            attribute: "members".into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(crate::harness::member_ids(ids)),
    }
}

fn compare(schema: &str, attribute: &str, sub: &str, op: CompareOp, value: &str) -> Filter {
    Filter::Compare {
        path: AttrPath {
            schema: schema.into(),
            attribute: attribute.into(),
            sub_attribute: sub.into(),
        },
        op,
        value: FilterValue::String(value.into()),
    }
}

async fn user_names(db: &Db, ws: Uuid, filter: Filter) -> Vec<String> {
    let page = ops::users::list_users(
        db,
        ws,
        Some(&filter),
        None,
        PageRequest::index(1, Some(100)),
    )
    .await
    .unwrap();
    let mut names: Vec<String> = page
        .users
        .into_iter()
        .map(|u| u.profile.user_name)
        .collect();
    names.sort();
    names
}

/// givenName, familyName and case-insensitive custom attributes compare on keys folded in
/// Rust: non-ASCII letters match on SQLite as on Postgres (SQL lower() did not on SQLite).
pub async fn case_insensitive_filters_fold_non_ascii_letters(db: &Db) {
    let ws = workspace(db).await;
    ops::custom_attributes::declare_custom_attribute(
        db,
        ws,
        CustomAttribute {
            schema: URN.into(),
            name: "site".into(),
            kind: AttributeKind::String,
            multi_valued: false,
            case_exact: false,
            description: String::new(),
        },
    )
    .await
    .unwrap();
    let mut emile = UserProfile {
        user_name: "emile@x.test".into(),
        active: Some(true),
        ..Default::default()
    };
    emile.name.given_name = Some("ÉMILE".into());
    emile.name.family_name = Some("Übermann".into());
    emile
        .extensions
        .insert(URN.into(), json!({"site": "ÅRHUS-Öst"}));
    ops::users::create_user(db, ws, emile).await.unwrap();
    let mut other = UserProfile {
        user_name: "other@x.test".into(),
        active: Some(true),
        ..Default::default()
    };
    other.name.given_name = Some("Emile".into());
    other.name.family_name = Some("Ubermann".into());
    other
        .extensions
        .insert(URN.into(), json!({"site": "Arhus"}));
    ops::users::create_user(db, ws, other).await.unwrap();

    let emile_only = vec!["emile@x.test".to_owned()];
    for (filter, what) in [
        (
            compare("", "name", "givenName", CompareOp::Eq, "émile"),
            "givenName eq",
        ),
        (
            compare("", "name", "givenName", CompareOp::Co, "Émi"),
            "givenName co",
        ),
        (
            compare("", "name", "familyName", CompareOp::Sw, "ÜBER"),
            "familyName sw",
        ),
        (
            compare("", "name", "familyName", CompareOp::Eq, "übermann"),
            "familyName eq",
        ),
        (
            compare(URN, "site", "", CompareOp::Eq, "århus-öst"),
            "custom eq",
        ),
        (compare(URN, "site", "", CompareOp::Ew, "-ÖST"), "custom ew"),
    ] {
        assert_eq!(user_names(db, ws, filter).await, emile_only, "{what}");
    }
    // A later update keeps the keys current.
    let id = ops::users::list_users(
        db,
        ws,
        Some(&compare("", "userName", "", CompareOp::Eq, "emile@x.test")),
        None,
        PageRequest::index(1, Some(1)),
    )
    .await
    .unwrap()
    .users
    .remove(0)
    .id;
    ops::users::patch_user(
        db,
        ws,
        id,
        &[PatchOperation {
            path: AttrPath {
                attribute: "name".into(),
                sub_attribute: "givenName".into(),
                ..Default::default()
            },
            ..replace("name", json!("Łukasz"))
        }],
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        user_names(
            db,
            ws,
            compare("", "name", "givenName", CompareOp::Eq, "łukasz")
        )
        .await,
        emile_only
    );
}

fn group_role_mapping() -> AttributeMapping {
    AttributeMapping {
        source: "groups[0].value".into(),
        destination: Destination::OrganizationRole,
        template: Some(
            "{% assign group = value | downcase %}{% if group == 'okta-leads' %}org:admin{% else %}org:member{% endif %}".into(),
        ),
    }
}

/// Issue #19 item 3: a group push (create, members added or removed, rename) re-evaluates
/// the mappings and roles of the members it touches, in its own transaction, and the
/// workspace rules apply to the roles that result.
pub async fn a_group_push_reevaluates_mappings_and_roles(db: &Db) {
    let ws = workspace(db).await;
    ops::attribute_mappings::set_attribute_mapping(db, ws, group_role_mapping())
        .await
        .unwrap();
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
    let kim = ops::users::create_user(
        db,
        ws,
        UserProfile {
            user_name: "kim@x.test".into(),
            active: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(kim.profile.organization_role.as_deref(), Some("org:member"));
    let role_of = |id: Uuid| async move {
        let user = ops::users::get_user(db, ws, id).await.unwrap();
        let access = ops::roles::get_user_access(db, ws, id).await.unwrap();
        (user.profile.organization_role, access.role, user.version)
    };

    // Pushing the group with kim in it: kim is mapped to org:admin, with no user write.
    let leads = ops::groups::create_group(
        db,
        ws,
        GroupProfile {
            display_name: "Okta-Leads".into(),
            ..Default::default()
        },
        &[kim.id.to_string()],
    )
    .await
    .unwrap()
    .group;
    assert_eq!(leads.role, GroupRole::None, "not a role group by its name");
    let (role, access, version) = role_of(kim.id).await;
    assert_eq!(role.as_deref(), Some("org:admin"));
    assert_eq!(access, GroupRole::Admin);
    assert_eq!(
        version,
        kim.version + 1,
        "the re-evaluation is a new version"
    );

    // kim is the only admin: the push that would demote kim is refused as a whole.
    let refused = ops::groups::patch_group(
        db,
        ws,
        leads.id,
        &[members(PatchOp::Remove, &[kim.id])],
        None,
        false,
    )
    .await;
    match refused {
        Err(DomainError::Conflict(message)) => assert!(message.starts_with(LAST_ADMIN)),
        other => panic!("expected the last-admin conflict, got {other:?}"),
    }
    assert_eq!(role_of(kim.id).await.1, GroupRole::Admin, "nothing changed");

    // With another admin, the removal goes through and kim is a member again.
    let ana = ops::users::create_user(
        db,
        ws,
        UserProfile {
            user_name: "ana@x.test".into(),
            active: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    ops::groups::patch_group(
        db,
        ws,
        leads.id,
        &[members(PatchOp::Add, &[ana.id])],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(role_of(ana.id).await.1, GroupRole::Admin);
    ops::groups::patch_group(
        db,
        ws,
        leads.id,
        &[members(PatchOp::Remove, &[kim.id])],
        None,
        false,
    )
    .await
    .unwrap();
    let (role, access, _) = role_of(kim.id).await;
    assert_eq!(role.as_deref(), Some("org:member"));
    assert_eq!(access, GroupRole::None);

    // Renaming the group re-evaluates its members: ana's only admin source goes, refused;
    // after kim is granted admin directly, the rename goes through.
    let rename = replace("displayName", json!("Okta-Staff"));
    let refused =
        ops::groups::patch_group(db, ws, leads.id, std::slice::from_ref(&rename), None, false)
            .await;
    assert!(
        matches!(refused, Err(DomainError::Conflict(_))),
        "{refused:?}"
    );
    ops::roles::set_member_role(db, ws, kim.id, GroupRole::Admin)
        .await
        .unwrap();
    ops::groups::patch_group(db, ws, leads.id, &[rename], None, false)
        .await
        .unwrap();
    let (role, access, _) = role_of(ana.id).await;
    assert_eq!(role.as_deref(), Some("org:member"));
    assert_eq!(access, GroupRole::None);
}

/// Issue #14: a profile write that cannot change a role or a seat does not wait for the
/// workspace lock; a deactivation does. Postgres only (SQLite has one writer at a time).
pub async fn profile_writes_do_not_wait_for_the_workspace_lock(db: &Db) {
    use sea_orm::TransactionTrait;
    let ws = workspace(db).await;
    let user = ops::users::create_user(
        db,
        ws,
        UserProfile {
            user_name: "lee@x.test".into(),
            active: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Another transaction holds the workspace lock, as a long group push would.
    let holder = db.begin().await.unwrap();
    directory_service::store::workspaces::lock(&holder, ws)
        .await
        .unwrap();

    let profile_write = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        ops::users::patch_user(db, ws, user.id, &[replace("title", json!("Chef"))], None),
    )
    .await
    .expect("a profile PATCH must not wait for the workspace lock")
    .unwrap();
    assert_eq!(profile_write.profile.title.as_deref(), Some("Chef"));
    let created = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        ops::users::create_user(
            db,
            ws,
            UserProfile {
                user_name: "new@x.test".into(),
                ..Default::default()
            },
        ),
    )
    .await
    .expect("a create must not wait for the workspace lock");
    assert!(created.is_ok(), "{created:?}");

    let deactivation = {
        let db = db.clone();
        tokio::spawn(async move {
            ops::users::patch_user(&db, ws, user.id, &[replace("active", json!(false))], None).await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !deactivation.is_finished(),
        "a deactivation can cost the last admin or free a seat: it waits for the lock"
    );
    holder.commit().await.unwrap();
    let deactivated = deactivation.await.unwrap().unwrap();
    assert!(!deactivated.profile.is_active());
    assert_eq!(deactivated.profile.title.as_deref(), Some("Chef"));
}

/// Users written before m0009 get their case keys from the migration, computed in Rust
/// (re-running it on rows whose key columns were dropped).
pub async fn case_keys_are_backfilled_by_the_migration(db: &Db) {
    use directory_service::store::migration::Migrator;
    use sea_orm_migration::MigratorTrait;
    let ws = workspace(db).await;
    let mut profile = UserProfile {
        user_name: "emile@x.test".into(),
        active: Some(true),
        display_name: Some("ÉMILE Ü".into()),
        ..Default::default()
    };
    profile.name.given_name = Some("ÉMILE".into());
    profile.name.family_name = Some("ÜBERMANN".into());
    ops::users::create_user(db, ws, profile).await.unwrap();
    // Back to before m0009 (however many migrations came after it), then up again: the
    // keys are rebuilt.
    let migrations = Migrator::migrations();
    let position = migrations
        .iter()
        .position(|m| m.name() == "m0009_case_keys")
        .expect("m0009 is a migration");
    Migrator::down(db, Some((migrations.len() - position) as u32))
        .await
        .unwrap();
    Migrator::up(db, None).await.unwrap();
    let emile_only = vec!["emile@x.test".to_owned()];
    for (filter, what) in [
        (
            compare("", "name", "givenName", CompareOp::Eq, "émile"),
            "givenName",
        ),
        (
            compare("", "name", "familyName", CompareOp::Eq, "übermann"),
            "familyName",
        ),
        (
            compare("", "displayName", "", CompareOp::Eq, "émile ü"),
            "displayName",
        ),
    ] {
        assert_eq!(user_names(db, ws, filter).await, emile_only, "{what}");
    }
}

/// Attribute mappings and custom attribute declarations are cached per workspace under
/// the workspace row's `config_version`: every change bumps it in its own transaction, so
/// the next user write applies the new configuration (and a cache that missed a change
/// would show here as a stale mapping or declaration).
pub async fn user_writes_apply_the_configuration_of_their_time(db: &Db) {
    use directory_service::store::entity::workspace;
    use sea_orm::EntityTrait;
    let ws = workspace(db).await;
    let with_department = |user_name: &str, department: &str| {
        let mut profile = UserProfile {
            user_name: user_name.into(),
            active: Some(true),
            ..Default::default()
        };
        profile.enterprise.department = Some(department.into());
        profile
    };
    let department_of = |user: &directory_service::domain::users::User| {
        user.profile.public_metadata.get("department").cloned()
    };
    // Cached while there is no mapping.
    let first = ops::users::create_user(db, ws, with_department("first@x.test", "Ops"))
        .await
        .unwrap();
    assert_eq!(department_of(&first), None);

    ops::attribute_mappings::set_attribute_mapping(
        db,
        ws,
        AttributeMapping {
            source: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department".into(),
            destination: Destination::parse("public_metadata.department").unwrap(),
            template: None,
        },
    )
    .await
    .unwrap();
    let second = ops::users::create_user(db, ws, with_department("second@x.test", "Sales"))
        .await
        .unwrap();
    assert_eq!(department_of(&second), Some(json!("Sales")));
    let first = ops::users::patch_user(
        db,
        ws,
        first.id,
        &[PatchOperation {
            op: PatchOp::Replace,
            path: AttrPath {
                schema: "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".into(),
                attribute: "department".into(),
                ..Default::default()
            },
            value_filter: None,
            value: Some(crate::harness::typed(json!("Finance"))),
        }],
        None,
    )
    .await
    .unwrap();
    assert_eq!(department_of(&first), Some(json!("Finance")));

    ops::attribute_mappings::delete_attribute_mapping(db, ws, "public_metadata.department")
        .await
        .unwrap();
    let third = ops::users::create_user(db, ws, with_department("third@x.test", "Legal"))
        .await
        .unwrap();
    assert_eq!(department_of(&third), None);

    let site = CustomAttribute {
        schema: URN.into(),
        name: "site".into(),
        kind: AttributeKind::String,
        multi_valued: false,
        case_exact: false,
        description: String::new(),
    };
    let with_site = |user_name: &str| {
        let mut profile = UserProfile {
            user_name: user_name.into(),
            active: Some(true),
            ..Default::default()
        };
        profile
            .extensions
            .insert(URN.into(), json!({"site": "Oslo"}));
        profile
    };
    ops::custom_attributes::declare_custom_attribute(db, ws, site)
        .await
        .unwrap();
    ops::users::create_user(db, ws, with_site("fourth@x.test"))
        .await
        .expect("a declared extension is accepted");
    ops::custom_attributes::delete_custom_attribute(db, ws, URN, "site")
        .await
        .unwrap();
    assert!(
        ops::users::create_user(db, ws, with_site("fifth@x.test"))
            .await
            .is_err(),
        "an extension no longer declared is refused"
    );

    let row = workspace::Entity::find_by_id(ws)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.config_version, 4, "set, delete, declare, delete");
}

//! Groups and memberships, on every backend.

use directory_service::domain::DomainError;
use directory_service::domain::filter::{AttrPath, CompareOp, Filter, FilterValue, Sort};
use directory_service::domain::groups::GroupProfile;
use directory_service::domain::paging::PageRequest;
use directory_service::domain::patch::{PatchOp, PatchOperation};
use directory_service::domain::users::{MultiValue, UserProfile};
use directory_service::ops;
use directory_service::store::Db;
use serde_json::json;

use crate::harness::workspace;
use crate::harness::{member_ids, typed};
use uuid::Uuid;

async fn user(db: &Db, ws: Uuid, name: &str) -> Uuid {
    let profile = UserProfile {
        user_name: name.into(),
        active: Some(true),
        ..Default::default()
    };
    ops::users::create_user(db, ws, profile).await.unwrap().id
}

fn group(name: &str) -> GroupProfile {
    GroupProfile {
        display_name: name.into(),
        ..Default::default()
    }
}

/// A `members` operation; a JSON array of `{"value": id}` stands for the id list.
fn members_op(op: PatchOp, value: Option<serde_json::Value>) -> PatchOperation {
    let value = value.map(|value| match value {
        serde_json::Value::Array(items) => member_ids(
            &items
                .iter()
                .map(|item| item["value"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>(),
        ),
        other => typed(other),
    });
    PatchOperation {
        op,
        path: AttrPath {
            attribute: "members".into(),
            ..Default::default()
        },
        value_filter: None,
        value,
    }
}

fn compare(attribute: &str, sub: &str, op: CompareOp, value: &str) -> Filter {
    Filter::Compare {
        path: AttrPath {
            schema: String::new(),
            attribute: attribute.into(),
            sub_attribute: sub.into(),
        },
        op,
        value: FilterValue::String(value.into()),
    }
}

async fn member_names(db: &Db, ws: Uuid, id: Uuid) -> Vec<String> {
    let view = ops::groups::get_group(db, ws, id, true).await.unwrap();
    let mut names: Vec<_> = view
        .members
        .unwrap()
        .into_iter()
        .map(|m| m.user_name)
        .collect();
    names.sort();
    names
}

pub async fn groups_hold_members_of_their_workspace_only(db: &Db) {
    let ws = workspace(db, "acme").await;
    let alice = user(db, ws, "alice@x.test").await;
    let bob = user(db, ws, "bob@x.test").await;
    let created = ops::groups::create_group(
        db,
        ws,
        group("Engineering"),
        &[alice.to_string(), bob.to_string()],
    )
    .await
    .unwrap();
    assert_eq!(created.members.as_ref().unwrap().len(), 2);
    assert_eq!(
        member_names(db, ws, created.group.id).await,
        ["alice@x.test", "bob@x.test"]
    );
    let lean = ops::groups::get_group(db, ws, created.group.id, false)
        .await
        .unwrap();
    assert!(
        lean.members.is_none(),
        "members are not loaded when excluded"
    );

    let clash = ops::groups::create_group(db, ws, group("ENGINEERING"), &[]).await;
    assert!(
        matches!(clash, Err(DomainError::Uniqueness(_))),
        "{clash:?}"
    );

    let other = workspace(db, "globex").await;
    let stranger = user(db, other, "eve@x.test").await;
    let refused = ops::groups::create_group(
        db,
        ws,
        group("Sales"),
        &[alice.to_string(), stranger.to_string()],
    )
    .await;
    assert!(
        matches!(refused, Err(DomainError::InvalidValue(_))),
        "{refused:?}"
    );
    let garbage = ops::groups::create_group(db, ws, group("Sales"), &["not-an-id".into()]).await;
    assert!(matches!(garbage, Err(DomainError::InvalidValue(_))));
    let sales = compare("displayName", "", CompareOp::Eq, "sales");
    let page = ops::groups::list_groups(
        db,
        ws,
        Some(&sales),
        None,
        PageRequest::index(1, None),
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        page.total_results, 0,
        "a refused create leaves nothing behind"
    );
    let add_stranger = members_op(PatchOp::Add, Some(json!([{"value": stranger.to_string()}])));
    let refused =
        ops::groups::patch_group(db, ws, created.group.id, &[add_stranger], None, true).await;
    assert!(matches!(refused, Err(DomainError::InvalidValue(_))));
    assert_eq!(
        member_names(db, ws, created.group.id).await,
        ["alice@x.test", "bob@x.test"]
    );
}

pub async fn membership_patches_in_every_dialect(db: &Db) {
    let ws = workspace(db, "acme").await;
    let a = user(db, ws, "a@x.test").await;
    let b = user(db, ws, "b@x.test").await;
    let c = user(db, ws, "c@x.test").await;
    let g = ops::groups::create_group(db, ws, group("Team"), &[])
        .await
        .unwrap()
        .group;

    // Entra adds several members in one PATCH.
    let add = members_op(
        PatchOp::Add,
        Some(json!([{"value": a.to_string()}, {"value": b.to_string()}, {"value": c.to_string()}])),
    );
    let after = ops::groups::patch_group(db, ws, g.id, std::slice::from_ref(&add), None, false)
        .await
        .unwrap();
    assert_eq!(after.group.version, 2);
    assert_eq!(
        member_names(db, ws, g.id).await,
        ["a@x.test", "b@x.test", "c@x.test"]
    );
    // Adding again changes nothing, not even the version.
    let again = ops::groups::patch_group(db, ws, g.id, &[add], None, false)
        .await
        .unwrap();
    assert_eq!(again.group.version, 2);

    // Entra's default dialect: remove with the member in the value; only that member goes.
    let entra_remove = members_op(PatchOp::Remove, Some(json!([{"value": b.to_string()}])));
    ops::groups::patch_group(db, ws, g.id, &[entra_remove], None, false)
        .await
        .unwrap();
    assert_eq!(member_names(db, ws, g.id).await, ["a@x.test", "c@x.test"]);

    // Okta: remove by filter (the gateway sends the filtered ids) and add in one PATCH,
    // plus the repeated same-name rename.
    let okta_remove = members_op(PatchOp::Remove, Some(json!([{"value": a.to_string()}])));
    let okta_add = members_op(
        PatchOp::Add,
        Some(json!([{"value": b.to_string(), "display": "b@x.test"}])),
    );
    let same_name = PatchOperation {
        op: PatchOp::Replace,
        path: AttrPath {
            attribute: "displayName".into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(typed(json!("Team"))),
    };
    ops::groups::patch_group(
        db,
        ws,
        g.id,
        &[okta_remove, okta_add, same_name.clone()],
        None,
        false,
    )
    .await
    .unwrap();
    assert_eq!(member_names(db, ws, g.id).await, ["b@x.test", "c@x.test"]);
    let before = ops::groups::get_group(db, ws, g.id, false)
        .await
        .unwrap()
        .group
        .version;
    let noop = ops::groups::patch_group(db, ws, g.id, &[same_name], None, false)
        .await
        .unwrap();
    assert_eq!(noop.group.version, before, "a same-name rename is a no-op");

    // Okta full push: replace the member set.
    let replace = members_op(PatchOp::Replace, Some(json!([{"value": a.to_string()}])));
    ops::groups::patch_group(db, ws, g.id, &[replace], None, false)
        .await
        .unwrap();
    assert_eq!(member_names(db, ws, g.id).await, ["a@x.test"]);

    // A failing operation undoes the ones before it.
    let add_c = members_op(PatchOp::Add, Some(json!([{"value": c.to_string()}])));
    let bad = PatchOperation {
        path: AttrPath {
            attribute: "owner".into(),
            ..Default::default()
        },
        ..members_op(PatchOp::Add, Some(json!("x")))
    };
    assert!(
        ops::groups::patch_group(db, ws, g.id, &[add_c, bad], None, false)
            .await
            .is_err()
    );
    assert_eq!(member_names(db, ws, g.id).await, ["a@x.test"]);

    // PUT replaces name and members.
    let put = ops::groups::replace_group(
        db,
        ws,
        g.id,
        group("Team 2"),
        &[b.to_string(), c.to_string()],
        None,
        true,
    )
    .await
    .unwrap();
    assert_eq!(put.group.profile.display_name, "Team 2");
    assert_eq!(member_names(db, ws, g.id).await, ["b@x.test", "c@x.test"]);

    // Remove without value: everyone.
    ops::groups::patch_group(
        db,
        ws,
        g.id,
        &[members_op(PatchOp::Remove, None)],
        None,
        false,
    )
    .await
    .unwrap();
    assert!(member_names(db, ws, g.id).await.is_empty());
}

pub async fn deleting_users_and_groups_cleans_memberships(db: &Db) {
    let ws = workspace(db, "acme").await;
    let a = user(db, ws, "a@x.test").await;
    let b = user(db, ws, "b@x.test").await;
    let g = ops::groups::create_group(db, ws, group("Team"), &[a.to_string(), b.to_string()])
        .await
        .unwrap()
        .group;
    let read = ops::users::get_user(db, ws, a).await.unwrap();
    assert_eq!(
        read.groups,
        vec![(g.id, "Team".to_owned())],
        "users list their groups"
    );
    ops::users::delete_user(db, ws, a, None).await.unwrap();
    assert_eq!(member_names(db, ws, g.id).await, ["b@x.test"]);
    ops::groups::delete_group(db, ws, g.id, None).await.unwrap();
    assert!(matches!(
        ops::groups::get_group(db, ws, g.id, true).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(
        ops::users::get_user(db, ws, b)
            .await
            .unwrap()
            .groups
            .is_empty(),
        "users stay"
    );
}

pub async fn group_filters_translate_to_sql(db: &Db) {
    let ws = workspace(db, "acme").await;
    let a = user(db, ws, "a@x.test").await;
    let b = user(db, ws, "b@x.test").await;
    let mut admins = group("LocalStack-Admin");
    admins.external_id = Some("EXT-1".into());
    let admins = ops::groups::create_group(db, ws, admins, &[a.to_string()])
        .await
        .unwrap()
        .group;
    ops::groups::create_group(db, ws, group("LocalStack-Member"), &[b.to_string()])
        .await
        .unwrap();

    let names = |page: ops::groups::GroupPage| -> Vec<String> {
        page.groups
            .into_iter()
            .map(|g| g.group.profile.display_name)
            .collect()
    };
    let find = |filter: Filter| async move {
        ops::groups::list_groups(
            db,
            ws,
            Some(&filter),
            None,
            PageRequest::index(1, None),
            false,
        )
        .await
    };
    assert_eq!(
        names(
            find(compare(
                "displayName",
                "",
                CompareOp::Eq,
                "localstack-admin"
            ))
            .await
            .unwrap()
        ),
        ["LocalStack-Admin"]
    );
    assert_eq!(
        names(
            find(compare("externalId", "", CompareOp::Eq, "EXT-1"))
                .await
                .unwrap()
        ),
        ["LocalStack-Admin"]
    );
    assert_eq!(
        names(
            find(compare("members", "", CompareOp::Eq, &b.to_string()))
                .await
                .unwrap()
        ),
        ["LocalStack-Member"]
    );
    // Entra's membership check.
    let check = Filter::And(vec![
        compare("id", "", CompareOp::Eq, &admins.id.to_string()),
        compare("members", "", CompareOp::Eq, &a.to_string()),
    ]);
    assert_eq!(find(check).await.unwrap().total_results, 1);
    let negative = Filter::And(vec![
        compare("id", "", CompareOp::Eq, &admins.id.to_string()),
        compare("members", "", CompareOp::Eq, &b.to_string()),
    ]);
    assert_eq!(find(negative).await.unwrap().total_results, 0);
    let value_path = Filter::ValuePath {
        path: AttrPath {
            attribute: "members".into(),
            ..Default::default()
        },
        filter: Box::new(compare("value", "", CompareOp::Eq, &a.to_string())),
    };
    assert_eq!(names(find(value_path).await.unwrap()), ["LocalStack-Admin"]);
    assert_eq!(
        find(compare("displayName", "", CompareOp::Sw, "localstack"))
            .await
            .unwrap()
            .total_results,
        2
    );
    assert!(matches!(
        find(compare("owner", "", CompareOp::Eq, "x")).await,
        Err(DomainError::InvalidFilter(_))
    ));

    let sort = Sort {
        by: AttrPath {
            attribute: "displayName".into(),
            ..Default::default()
        },
        descending: true,
    };
    let sorted = ops::groups::list_groups(
        db,
        ws,
        None,
        Some(&sort),
        PageRequest::index(1, None),
        false,
    )
    .await
    .unwrap();
    assert_eq!(names(sorted), ["LocalStack-Member", "LocalStack-Admin"]);
}

pub async fn users_are_found_by_email_and_sorted(db: &Db) {
    let ws = workspace(db, "acme").await;
    for (name, email, kind) in [
        ("zed", "Zed@Corp.test", "work"),
        ("amy", "amy@home.test", "home"),
    ] {
        let profile = UserProfile {
            user_name: name.into(),
            active: Some(true),
            emails: vec![MultiValue {
                value: email.into(),
                kind: Some(kind.into()),
                primary: true,
                display: None,
            }],
            ..Default::default()
        };
        ops::users::create_user(db, ws, profile).await.unwrap();
    }
    let names = |page: ops::users::UserPage| -> Vec<String> {
        page.users
            .into_iter()
            .map(|u| u.profile.user_name)
            .collect()
    };
    let find = |filter: Filter| async move {
        ops::users::list_users(db, ws, Some(&filter), None, PageRequest::index(1, None))
            .await
            .unwrap()
    };
    assert_eq!(
        names(find(compare("emails", "value", CompareOp::Eq, "zed@corp.test")).await),
        ["zed"]
    );
    assert_eq!(
        names(find(compare("emails", "", CompareOp::Eq, "AMY@home.test")).await),
        ["amy"]
    );
    let work = Filter::ValuePath {
        path: AttrPath {
            attribute: "emails".into(),
            ..Default::default()
        },
        filter: Box::new(Filter::And(vec![
            compare("type", "", CompareOp::Eq, "work"),
            compare("value", "", CompareOp::Co, "@corp"),
        ])),
    };
    assert_eq!(names(find(work).await), ["zed"]);
    let wrong_type = Filter::ValuePath {
        path: AttrPath {
            attribute: "emails".into(),
            ..Default::default()
        },
        filter: Box::new(Filter::And(vec![
            compare("type", "", CompareOp::Eq, "home"),
            compare("value", "", CompareOp::Eq, "zed@corp.test"),
        ])),
    };
    assert!(names(find(wrong_type).await).is_empty());
    // A changed email is found under the new address only.
    let zed = find(compare("userName", "", CompareOp::Eq, "zed"))
        .await
        .users
        .remove(0);
    let change = PatchOperation {
        op: PatchOp::Replace,
        path: AttrPath {
            attribute: "emails".into(),
            sub_attribute: "value".into(),
            ..Default::default()
        },
        value_filter: Some(compare("type", "", CompareOp::Eq, "work")),
        value: Some(typed(json!("zed@new.test"))),
    };
    ops::users::patch_user(db, ws, zed.id, &[change], None)
        .await
        .unwrap();
    assert!(
        names(find(compare("emails", "value", CompareOp::Eq, "zed@corp.test")).await).is_empty()
    );
    assert_eq!(
        names(find(compare("emails", "value", CompareOp::Eq, "zed@new.test")).await),
        ["zed"]
    );

    let by_name = Sort {
        by: AttrPath {
            attribute: "userName".into(),
            ..Default::default()
        },
        descending: false,
    };
    let sorted = ops::users::list_users(db, ws, None, Some(&by_name), PageRequest::index(1, None))
        .await
        .unwrap();
    assert_eq!(names(sorted), ["amy", "zed"]);
    let bad_sort = Sort {
        by: AttrPath {
            attribute: "shoeSize".into(),
            ..Default::default()
        },
        descending: false,
    };
    assert!(
        ops::users::list_users(db, ws, None, Some(&bad_sort), PageRequest::index(1, None))
            .await
            .is_err()
    );
}

pub async fn cursor_paging_is_stable_under_concurrent_writes(db: &Db) {
    let ws = workspace(db, "acme").await;
    let mut ids = Vec::new();
    for i in 0..7 {
        ids.push(user(db, ws, &format!("c{i}@x.test")).await);
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    let mut pages = 0;
    loop {
        let page = ops::users::list_users(
            db,
            ws,
            None,
            None,
            PageRequest::cursor(&cursor, Some(3)).unwrap(),
        )
        .await
        .unwrap();
        pages += 1;
        seen.extend(page.users.iter().map(|u| u.profile.user_name.clone()));
        if pages == 1 {
            // Between pages: one unseen user goes away, one new user arrives, and one
            // already-seen user is deleted.
            ops::users::delete_user(db, ws, ids[5], None).await.unwrap();
            ops::users::delete_user(db, ws, ids[0], None).await.unwrap();
            user(db, ws, "late@x.test").await;
        }
        match page.next_cursor {
            Some(next) => cursor = next,
            None => break,
        }
        assert!(pages < 10, "paging terminates");
    }
    assert_eq!(
        seen,
        [
            "c0@x.test",
            "c1@x.test",
            "c2@x.test",
            "c3@x.test",
            "c4@x.test",
            "c6@x.test",
            "late@x.test"
        ],
        "no resource repeated or skipped"
    );
    assert!(matches!(
        PageRequest::cursor("not-a-cursor", None),
        Err(DomainError::InvalidCursor(_))
    ));
    let sort = Sort {
        by: AttrPath {
            attribute: "userName".into(),
            ..Default::default()
        },
        descending: false,
    };
    let with_sort = ops::users::list_users(
        db,
        ws,
        None,
        Some(&sort),
        PageRequest::cursor("", None).unwrap(),
    )
    .await;
    assert!(matches!(with_sort, Err(DomainError::InvalidValue(_))));
    let groups_page = ops::groups::list_groups(
        db,
        ws,
        None,
        None,
        PageRequest::cursor("", Some(1)).unwrap(),
        false,
    )
    .await
    .unwrap();
    assert!(groups_page.next_cursor.is_none() && groups_page.groups.is_empty());
}

pub async fn custom_attributes_are_checked_returned_and_filterable(db: &Db) {
    use directory_service::domain::custom_attributes::{AttributeKind, CustomAttribute};
    const URN: &str = "urn:acme:params:scim:schemas:extension:acme:2.0:User";
    let ws = workspace(db, "acme").await;
    let declare = |name: &str, kind: AttributeKind, case_exact: bool| CustomAttribute {
        schema: URN.into(),
        name: name.into(),
        kind,
        multi_valued: false,
        case_exact,
        description: String::new(),
    };
    ops::custom_attributes::declare_custom_attribute(
        db,
        ws,
        declare("costCode", AttributeKind::String, false),
    )
    .await
    .unwrap();
    ops::custom_attributes::declare_custom_attribute(
        db,
        ws,
        declare("level", AttributeKind::Integer, false),
    )
    .await
    .unwrap();
    ops::custom_attributes::declare_custom_attribute(
        db,
        ws,
        declare("contractor", AttributeKind::Boolean, false),
    )
    .await
    .unwrap();
    let again = ops::custom_attributes::declare_custom_attribute(
        db,
        ws,
        declare("COSTCODE", AttributeKind::String, false),
    )
    .await;
    assert!(
        matches!(again, Err(DomainError::Uniqueness(_))),
        "{again:?}"
    );
    assert_eq!(
        ops::custom_attributes::list_custom_attributes(db, ws)
            .await
            .unwrap()
            .len(),
        3
    );

    let with = |name: &str, extension: serde_json::Value| {
        let mut p = UserProfile {
            user_name: name.into(),
            active: Some(true),
            ..Default::default()
        };
        p.extensions.insert(URN.into(), extension);
        p
    };
    ops::users::create_user(
        db,
        ws,
        with(
            "a",
            json!({"costCode": "CC-1", "level": 3, "contractor": true}),
        ),
    )
    .await
    .unwrap();
    ops::users::create_user(
        db,
        ws,
        with(
            "b",
            json!({"costCode": "cc-2", "level": 7, "contractor": false}),
        ),
    )
    .await
    .unwrap();
    let bad = ops::users::create_user(db, ws, with("c", json!({"level": "seven"}))).await;
    assert!(matches!(bad, Err(DomainError::InvalidValue(_))), "{bad:?}");
    let undeclared = ops::users::create_user(db, ws, with("c", json!({"shoeSize": 42}))).await;
    assert!(matches!(undeclared, Err(DomainError::InvalidValue(_))));

    let custom = |name: &str, op: CompareOp, value: FilterValue| Filter::Compare {
        path: AttrPath {
            schema: URN.into(),
            attribute: name.into(),
            sub_attribute: String::new(),
        },
        op,
        value,
    };
    let names = |page: ops::users::UserPage| -> Vec<String> {
        let mut n: Vec<String> = page
            .users
            .into_iter()
            .map(|u| u.profile.user_name)
            .collect();
        n.sort();
        n
    };
    let find = |filter: Filter| async move {
        ops::users::list_users(db, ws, Some(&filter), None, PageRequest::index(1, None)).await
    };
    assert_eq!(
        names(
            find(custom(
                "costCode",
                CompareOp::Eq,
                FilterValue::String("cc-1".into())
            ))
            .await
            .unwrap()
        ),
        ["a"]
    );
    assert_eq!(
        names(
            find(custom(
                "CostCode",
                CompareOp::Sw,
                FilterValue::String("CC".into())
            ))
            .await
            .unwrap()
        ),
        ["a", "b"]
    );
    assert_eq!(
        names(
            find(custom("level", CompareOp::Gt, FilterValue::Number(5.0)))
                .await
                .unwrap()
        ),
        ["b"]
    );
    assert_eq!(
        names(
            find(custom("contractor", CompareOp::Eq, FilterValue::Bool(true)))
                .await
                .unwrap()
        ),
        ["a"]
    );
    assert_eq!(
        names(
            find(custom("level", CompareOp::Pr, FilterValue::Null))
                .await
                .unwrap()
        ),
        ["a", "b"]
    );
    let wrong_type = find(custom(
        "level",
        CompareOp::Eq,
        FilterValue::String("x".into()),
    ))
    .await;
    assert!(matches!(wrong_type, Err(DomainError::InvalidFilter(_))));
    let unknown = find(custom("shoeSize", CompareOp::Eq, FilterValue::Number(1.0))).await;
    assert!(matches!(unknown, Err(DomainError::InvalidFilter(_))));

    let read = find(custom(
        "costCode",
        CompareOp::Eq,
        FilterValue::String("CC-1".into()),
    ))
    .await
    .unwrap()
    .users
    .remove(0);
    assert_eq!(
        read.profile.extensions[URN]["costCode"], "CC-1",
        "values are returned"
    );
    ops::custom_attributes::delete_custom_attribute(db, ws, URN, "costcode")
        .await
        .unwrap();
    assert!(matches!(
        ops::custom_attributes::delete_custom_attribute(db, ws, URN, "costCode").await,
        Err(DomainError::NotFound(_))
    ));
}

/// `get_user` reads the user and its groups in one query (a left join): every group, in
/// group-id order as the list reads them, none for a user in no group, and still not
/// found across workspaces.
pub async fn get_user_reads_its_groups_in_one_query(db: &Db) {
    let ws = workspace(db, "acme").await;
    let alice = user(db, ws, "alice@x.test").await;
    let loner = user(db, ws, "loner@x.test").await;
    let mut expected = Vec::new();
    for name in ["Engineering", "Sales", "Ops"] {
        let created = ops::groups::create_group(db, ws, group(name), &[alice.to_string()])
            .await
            .unwrap();
        expected.push((created.group.id, name.to_string()));
    }
    expected.sort();
    let read = ops::users::get_user(db, ws, alice).await.unwrap();
    assert_eq!(read.groups, expected);
    assert_eq!(read.profile.user_name, "alice@x.test");
    let listed = ops::users::list_users(db, ws, None, None, PageRequest::index(1, None))
        .await
        .unwrap();
    let in_list = listed.users.iter().find(|u| u.id == alice).unwrap();
    assert_eq!(in_list.groups, read.groups, "GET and list agree");
    assert_eq!(in_list.version, read.version);

    let alone = ops::users::get_user(db, ws, loner).await.unwrap();
    assert!(alone.groups.is_empty());
    assert_eq!(alone.profile.user_name, "loner@x.test");

    let other = workspace(db, "globex").await;
    let across = ops::users::get_user(db, other, alice).await;
    assert!(
        matches!(across, Err(DomainError::NotFound(_))),
        "{across:?}"
    );
    let missing = ops::users::get_user(db, ws, Uuid::now_v7()).await;
    assert!(
        matches!(missing, Err(DomainError::NotFound(_))),
        "{missing:?}"
    );
}

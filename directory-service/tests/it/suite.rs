//! Behaviour every storage backend must show. Each test gets its own empty database.

use chrono::{Duration, Utc};
use directory_service::domain::DomainError;
use directory_service::domain::filter::{AttrPath, CompareOp, Filter, FilterValue};
use directory_service::domain::paging::PageRequest;
use directory_service::domain::patch::{PatchOp, PatchOperation};
use directory_service::domain::users::MultiValue;
use directory_service::ops;
use directory_service::store::Db;
use serde_json::json;

use crate::harness::typed;
use crate::harness::{profile, workspace};
use uuid::Uuid;

fn compare(attribute: &str, sub: &str, op: CompareOp, value: FilterValue) -> Filter {
    Filter::Compare {
        path: AttrPath {
            schema: String::new(),
            attribute: attribute.into(),
            sub_attribute: sub.into(),
        },
        op,
        value,
    }
}

fn s(v: &str) -> FilterValue {
    FilterValue::String(v.into())
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
    let mut names: Vec<_> = page
        .users
        .into_iter()
        .map(|u| u.profile.user_name)
        .collect();
    names.sort();
    names
}

pub async fn users_round_trip_with_non_ascii_json(db: &Db) {
    let ws = workspace(db, "acme").await;
    let mut p = profile("Émile@Example.com");
    p.external_id = Some("ext-1".into());
    p.name.given_name = Some("Émile".into());
    p.emails = vec![MultiValue {
        value: "emile@example.com".into(),
        kind: Some("work".into()),
        primary: true,
        display: None,
    }];
    p.extensions
        .insert("xNested".into(), json!({"nested": {"ключ": [1, "ü"]}}));
    let created = ops::users::create_user(db, ws, p.clone()).await.unwrap();
    assert_eq!(created.version, 1);
    let read = ops::users::get_user(db, ws, created.id).await.unwrap();
    assert_eq!(read.profile, p);
    assert_eq!(read.created, created.created);
    // Another workspace cannot see it.
    let other = workspace(db, "other").await;
    assert!(matches!(
        ops::users::get_user(db, other, created.id).await,
        Err(DomainError::NotFound(_))
    ));
}

pub async fn user_name_is_unique_per_workspace_case_insensitively(db: &Db) {
    let ws = workspace(db, "acme").await;
    ops::users::create_user(db, ws, profile("émile@example.com"))
        .await
        .unwrap();
    let clash = ops::users::create_user(db, ws, profile("ÉMILE@EXAMPLE.COM")).await;
    assert!(
        matches!(clash, Err(DomainError::Uniqueness(_))),
        "{clash:?}"
    );
    let other = workspace(db, "other").await;
    ops::users::create_user(db, other, profile("ÉMILE@EXAMPLE.COM"))
        .await
        .unwrap();
    let total = ops::users::list_users(db, ws, None, None, PageRequest::index(1, Some(10)))
        .await
        .unwrap()
        .total_results;
    assert_eq!(total, 1);
}

pub async fn filters_translate_to_sql(db: &Db) {
    let ws = workspace(db, "acme").await;
    let mut alice = profile("Alice@Example.com");
    alice.external_id = Some("EXT-A".into());
    alice.display_name = Some("Alice Liddell".into());
    let alice = ops::users::create_user(db, ws, alice).await.unwrap();
    let mut bob = profile("bob@example.com");
    bob.active = Some(false);
    bob.name.family_name = Some("Builder".into());
    ops::users::create_user(db, ws, bob).await.unwrap();
    ops::users::create_user(db, ws, profile("carol_50%@corp.test"))
        .await
        .unwrap();
    let mut emile = profile("emile@corp.test");
    emile.display_name = Some("ÉMILE Zola".into());
    ops::users::create_user(db, ws, emile).await.unwrap();
    // displayName is caseExact false, Unicode-aware on both backends (key folded in Rust).
    let by_display = Filter::Compare {
        path: AttrPath {
            attribute: "displayName".into(),
            ..Default::default()
        },
        op: CompareOp::Eq,
        value: FilterValue::String("émile zola".into()),
    };
    assert_eq!(user_names(db, ws, by_display).await, ["emile@corp.test"]);
    ops::users::delete_user(
        db,
        ws,
        ops::users::list_users(
            db,
            ws,
            Some(&Filter::Compare {
                path: AttrPath {
                    attribute: "userName".into(),
                    ..Default::default()
                },
                op: CompareOp::Eq,
                value: FilterValue::String("emile@corp.test".into()),
            }),
            None,
            PageRequest::index(1, None),
        )
        .await
        .unwrap()
        .users[0]
            .id,
        None,
    )
    .await
    .unwrap();

    use CompareOp::*;
    assert_eq!(
        user_names(db, ws, compare("userName", "", Eq, s("alice@EXAMPLE.com"))).await,
        ["Alice@Example.com"]
    );
    assert_eq!(
        user_names(db, ws, compare("externalId", "", Eq, s("EXT-A"))).await,
        ["Alice@Example.com"]
    );
    assert!(
        user_names(db, ws, compare("externalId", "", Eq, s("ext-a")))
            .await
            .is_empty(),
        "externalId is caseExact"
    );
    assert_eq!(
        user_names(db, ws, compare("id", "", Eq, s(&alice.id.to_string()))).await,
        ["Alice@Example.com"]
    );
    assert!(
        user_names(db, ws, compare("id", "", Eq, s("not-a-uuid")))
            .await
            .is_empty()
    );
    assert_eq!(
        user_names(db, ws, compare("userName", "", Ew, s("@example.com")))
            .await
            .len(),
        2
    );
    assert_eq!(
        user_names(db, ws, compare("userName", "", Co, s("50%"))).await,
        ["carol_50%@corp.test"]
    );
    assert!(
        user_names(db, ws, compare("userName", "", Co, s("0%@x")))
            .await
            .is_empty(),
        "LIKE wildcards are escaped"
    );
    assert_eq!(
        user_names(db, ws, compare("active", "", Eq, FilterValue::Bool(false))).await,
        ["bob@example.com"]
    );
    assert_eq!(
        user_names(db, ws, compare("displayName", "", Sw, s("alice"))).await,
        ["Alice@Example.com"]
    );
    assert_eq!(
        user_names(db, ws, compare("name", "familyName", Eq, s("builder"))).await,
        ["bob@example.com"]
    );
    assert_eq!(
        user_names(db, ws, compare("externalId", "", Pr, FilterValue::Null)).await,
        ["Alice@Example.com"]
    );
    // not() keeps users whose attribute is unassigned.
    let not_ext = Filter::Not(Box::new(compare("externalId", "", Eq, s("EXT-A"))));
    assert_eq!(
        user_names(db, ws, not_ext).await,
        ["bob@example.com", "carol_50%@corp.test"]
    );
    let either = Filter::Or(vec![
        compare("userName", "", Sw, s("bob")),
        Filter::And(vec![
            compare("active", "", Eq, FilterValue::Bool(true)),
            compare("userName", "", Sw, s("carol")),
        ]),
    ]);
    assert_eq!(
        user_names(db, ws, either).await,
        ["bob@example.com", "carol_50%@corp.test"]
    );
    let after = (alice.created - Duration::seconds(1)).to_rfc3339();
    assert_eq!(
        user_names(db, ws, compare("meta", "created", Gt, s(&after)))
            .await
            .len(),
        3
    );
}

pub async fn unknown_filter_attributes_are_refused(db: &Db) {
    let ws = workspace(db, "acme").await;
    for filter in [
        compare("favouriteColour", "", CompareOp::Eq, s("x")),
        compare("active", "", CompareOp::Eq, s("yes")),
        compare("meta", "created", CompareOp::Gt, s("yesterday")),
        compare("id", "", CompareOp::Co, s("x")),
    ] {
        let result =
            ops::users::list_users(db, ws, Some(&filter), None, PageRequest::index(1, None)).await;
        assert!(
            matches!(result, Err(DomainError::InvalidFilter(_))),
            "{filter:?}: {:?}",
            result.err()
        );
    }
}

pub async fn paging_is_stable_and_bounded(db: &Db) {
    let ws = workspace(db, "acme").await;
    for i in 0..7 {
        ops::users::create_user(db, ws, profile(&format!("user{i}@x.test")))
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = ops::users::list_users(db, ws, None, None, PageRequest::index(start, Some(3)))
            .await
            .unwrap();
        assert_eq!(page.total_results, 7);
        assert_eq!(page.start_index, start as u64);
        if page.users.is_empty() {
            break;
        }
        start += page.users.len() as i64;
        seen.extend(page.users.into_iter().map(|u| u.profile.user_name));
    }
    let expected: Vec<_> = (0..7).map(|i| format!("user{i}@x.test")).collect();
    assert_eq!(seen, expected, "creation order, each user once");
    let only_total = ops::users::list_users(db, ws, None, None, PageRequest::index(1, Some(0)))
        .await
        .unwrap();
    assert_eq!((only_total.users.len(), only_total.total_results), (0, 7));
    let below_one = ops::users::list_users(db, ws, None, None, PageRequest::index(-5, Some(1)))
        .await
        .unwrap();
    assert_eq!(below_one.start_index, 1);
    assert_eq!(below_one.users[0].profile.user_name, "user0@x.test");
}

pub async fn failed_patch_changes_nothing(db: &Db) {
    let ws = workspace(db, "acme").await;
    let user = ops::users::create_user(db, ws, profile("a@x.test"))
        .await
        .unwrap();
    let operations = [
        PatchOperation {
            op: PatchOp::Replace,
            path: AttrPath {
                attribute: "displayName".into(),
                ..Default::default()
            },
            value_filter: None,
            value: Some(typed(json!("changed"))),
        },
        PatchOperation {
            op: PatchOp::Replace,
            path: AttrPath {
                attribute: "id".into(),
                ..Default::default()
            },
            value_filter: None,
            value: Some(typed(json!("x"))),
        },
    ];
    let result = ops::users::patch_user(db, ws, user.id, &operations, None).await;
    assert!(matches!(result, Err(DomainError::Mutability(_))));
    let after = ops::users::get_user(db, ws, user.id).await.unwrap();
    assert_eq!(after, user);

    let deactivate = [PatchOperation {
        op: PatchOp::Replace,
        path: AttrPath {
            attribute: "active".into(),
            ..Default::default()
        },
        value_filter: None,
        value: Some(typed(json!(false))),
    }];
    let patched = ops::users::patch_user(db, ws, user.id, &deactivate, None)
        .await
        .unwrap();
    assert_eq!(patched.profile.active, Some(false));
    assert_eq!(patched.version, 2);
    assert!(patched.last_modified >= user.last_modified);
    assert!(
        !ops::users::get_user(db, ws, user.id)
            .await
            .unwrap()
            .profile
            .is_active()
    );
}

pub async fn unchanged_replace_keeps_the_version(db: &Db) {
    let ws = workspace(db, "acme").await;
    let user = ops::users::create_user(db, ws, profile("a@x.test"))
        .await
        .unwrap();
    let same = ops::users::replace_user(db, ws, user.id, profile("a@x.test"), None)
        .await
        .unwrap();
    assert_eq!(same.version, 1);
    let mut renamed = profile("b@x.test");
    renamed.title = Some("CTO".into());
    let changed = ops::users::replace_user(db, ws, user.id, renamed, Some(1))
        .await
        .unwrap();
    assert_eq!(changed.version, 2);
    assert_eq!(changed.profile.title.as_deref(), Some("CTO"));
    let found = user_names(
        db,
        ws,
        compare("userName", "", CompareOp::Eq, s("B@X.TEST")),
    )
    .await;
    assert_eq!(found, ["b@x.test"], "the lookup key follows a rename");
}

pub async fn version_preconditions_are_enforced(db: &Db) {
    let ws = workspace(db, "acme").await;
    let user = ops::users::create_user(db, ws, profile("a@x.test"))
        .await
        .unwrap();
    let stale = ops::users::replace_user(db, ws, user.id, profile("b@x.test"), Some(7)).await;
    assert_eq!(
        stale.unwrap_err(),
        DomainError::VersionMismatch {
            expected: 7,
            current: 1
        }
    );
    let stale_delete = ops::users::delete_user(db, ws, user.id, Some(2)).await;
    assert!(matches!(
        stale_delete,
        Err(DomainError::VersionMismatch { .. })
    ));
    assert_eq!(
        ops::users::get_user(db, ws, user.id)
            .await
            .unwrap()
            .profile
            .user_name,
        "a@x.test"
    );
}

pub async fn deleted_users_are_gone(db: &Db) {
    let ws = workspace(db, "acme").await;
    let user = ops::users::create_user(db, ws, profile("a@x.test"))
        .await
        .unwrap();
    let other = workspace(db, "other").await;
    assert!(matches!(
        ops::users::delete_user(db, other, user.id, None).await,
        Err(DomainError::NotFound(_))
    ));
    ops::users::delete_user(db, ws, user.id, None)
        .await
        .unwrap();
    assert!(matches!(
        ops::users::get_user(db, ws, user.id).await,
        Err(DomainError::NotFound(_))
    ));
    assert!(matches!(
        ops::users::delete_user(db, ws, user.id, None).await,
        Err(DomainError::NotFound(_))
    ));
    assert_eq!(
        ops::users::list_users(db, ws, None, None, PageRequest::index(1, None))
            .await
            .unwrap()
            .total_results,
        0
    );
    // The userName is free again.
    ops::users::create_user(db, ws, profile("A@x.test"))
        .await
        .unwrap();
}

pub async fn tokens_authenticate_until_revoked_or_expired(db: &Db) {
    let ws = workspace(db, "acme").await;
    let (token, plaintext) = ops::tokens::issue_token(
        db,
        ws,
        "Okta — Production",
        None,
        directory_service::domain::tokens::TokenScope::Full,
        &[],
    )
    .await
    .unwrap();
    assert!(plaintext.starts_with(&token.prefix));
    assert_ne!(token.secret_hash, plaintext);
    assert!(!token.secret_hash.contains(&plaintext[token.prefix.len()..]));
    let auth = ops::tokens::authenticate(db, &plaintext, None)
        .await
        .unwrap();
    assert_eq!((auth.workspace_id, auth.token_id), (ws, token.id));
    assert!(auth.cache_for <= Duration::seconds(5));
    let listed = ops::tokens::list_tokens(db, ws).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        listed[0].last_used_at.is_some(),
        "authentication records last use"
    );

    // Same prefix, different last character of the secret.
    let last = if plaintext.ends_with('X') { 'Y' } else { 'X' };
    let wrong = format!("{}{last}", &plaintext[..plaintext.len() - 1]);
    assert_eq!(
        ops::tokens::authenticate(db, &wrong, None).await.err(),
        Some(DomainError::Unauthenticated)
    );
    assert_eq!(
        ops::tokens::authenticate(db, "garbage", None).await.err(),
        Some(DomainError::Unauthenticated)
    );

    let other = workspace(db, "other").await;
    assert!(matches!(
        ops::tokens::revoke_token(db, other, token.id).await,
        Err(DomainError::NotFound(_))
    ));
    let revoked = ops::tokens::revoke_token(db, ws, token.id).await.unwrap();
    assert!(revoked.revoked_at.is_some());
    assert_eq!(
        ops::tokens::authenticate(db, &plaintext, None).await.err(),
        Some(DomainError::Unauthenticated)
    );

    let soon = Utc::now() + Duration::milliseconds(1500);
    let (_, short_lived) = ops::tokens::issue_token(
        db,
        ws,
        "short",
        Some(soon),
        directory_service::domain::tokens::TokenScope::Full,
        &[],
    )
    .await
    .unwrap();
    let auth = ops::tokens::authenticate(db, &short_lived, None)
        .await
        .unwrap();
    assert!(
        auth.cache_for <= Duration::milliseconds(1500),
        "never cached past expiry"
    );
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    assert_eq!(
        ops::tokens::authenticate(db, &short_lived, None)
            .await
            .err(),
        Some(DomainError::Unauthenticated)
    );
    let past = ops::tokens::issue_token(
        db,
        ws,
        "past",
        Some(Utc::now() - Duration::seconds(1)),
        directory_service::domain::tokens::TokenScope::Full,
        &[],
    )
    .await;
    assert!(matches!(past, Err(DomainError::InvalidValue(_))));
}

pub async fn workspace_slugs_are_unique(db: &Db) {
    workspace(db, "acme").await;
    let again = ops::workspaces::create_workspace(db, "acme", "Acme again").await;
    assert!(matches!(again, Err(DomainError::Uniqueness(_))));
    assert!(matches!(
        ops::workspaces::create_workspace(db, "Not A Slug", "").await,
        Err(DomainError::InvalidValue(_))
    ));
    assert_eq!(ops::workspaces::list_workspaces(db).await.unwrap().len(), 1);
}

pub async fn deleting_a_workspace_removes_its_rows_only(db: &Db) {
    use directory_service::domain::groups::GroupProfile;
    let mut kept_and_doomed = Vec::new();
    for slug in ["kept", "doomed"] {
        let ws = workspace(db, slug).await;
        let user = ops::users::create_user(db, ws, profile("a@x.test"))
            .await
            .unwrap();
        let group = GroupProfile {
            display_name: "Engineering".into(),
            ..Default::default()
        };
        ops::groups::create_group(db, ws, group, &[user.id.to_string()])
            .await
            .unwrap();
        ops::tokens::issue_token(
            db,
            ws,
            "okta",
            None,
            directory_service::domain::tokens::TokenScope::Full,
            &[],
        )
        .await
        .unwrap();
        kept_and_doomed.push(ws);
    }
    let [kept, doomed] = kept_and_doomed[..] else {
        unreachable!()
    };
    assert!(matches!(
        ops::workspaces::delete_workspace(db, doomed, "kept").await,
        Err(DomainError::InvalidValue(_))
    ));
    let (deleted, counts) = ops::workspaces::delete_workspace(db, doomed, "doomed")
        .await
        .unwrap();
    assert_eq!(deleted.slug, "doomed");
    assert_eq!((counts.users, counts.groups, counts.tokens), (1, 1, 1));
    assert!(matches!(
        ops::workspaces::get_workspace_by_id(db, doomed).await,
        Err(DomainError::NotFound(_))
    ));
    // The kept workspace still has its user, group (with its member) and token.
    let users = ops::users::list_users(db, kept, None, None, PageRequest::index(1, None))
        .await
        .unwrap();
    assert_eq!(users.total_results, 1);
    let groups = ops::groups::list_groups(db, kept, None, None, PageRequest::index(1, None), true)
        .await
        .unwrap();
    assert_eq!(groups.total_results, 1);
    assert_eq!(groups.groups[0].members.as_ref().map(Vec::len), Some(1));
    assert_eq!(ops::tokens::list_tokens(db, kept).await.unwrap().len(), 1);
}

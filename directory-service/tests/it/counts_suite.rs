//! The stored user and group counts of a workspace (`workspace_counts`): kept equal to the
//! rows by every write, initialised by their migration, and what an unfiltered list
//! answers as `totalResults`.

use directory_service::domain::DomainError;
use directory_service::domain::filter::{AttrPath, CompareOp, Filter, FilterValue};
use directory_service::domain::groups::GroupProfile;
use directory_service::domain::paging::PageRequest;
use directory_service::domain::patch::{PatchOp, PatchOperation};
use directory_service::ops;
use directory_service::store::entity::{group, user};
use directory_service::store::workspace_counts::{self, WorkspaceCounts};
use directory_service::store::{self, Db};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use crate::harness::member_ids;
use crate::harness::{profile, workspace};

fn group_named(name: &str) -> GroupProfile {
    GroupProfile {
        display_name: name.into(),
        ..Default::default()
    }
}

async fn create_user(db: &Db, ws: Uuid, name: &str) -> Uuid {
    ops::users::create_user(db, ws, profile(name))
        .await
        .unwrap()
        .id
}

async fn create_group(db: &Db, ws: Uuid, name: &str, members: &[Uuid]) -> Uuid {
    let members: Vec<String> = members.iter().map(Uuid::to_string).collect();
    ops::groups::create_group(db, ws, group_named(name), &members)
        .await
        .unwrap()
        .group
        .id
}

/// The workspace's rows, counted.
async fn counted(db: &Db, ws: Uuid) -> WorkspaceCounts {
    let users = user::Entity::find()
        .filter(user::Column::WorkspaceId.eq(ws))
        .count(db)
        .await
        .unwrap();
    let groups = group::Entity::find()
        .filter(group::Column::WorkspaceId.eq(ws))
        .count(db)
        .await
        .unwrap();
    WorkspaceCounts { users, groups }
}

/// The stored counts equal the rows, and the unfiltered lists answer them.
async fn assert_counts(db: &Db, ws: Uuid, users: u64, groups: u64, after: &str) {
    let expected = WorkspaceCounts { users, groups };
    assert_eq!(counted(db, ws).await, expected, "rows after {after}");
    assert_eq!(
        workspace_counts::find(db, ws).await.unwrap(),
        Some(expected),
        "stored counts after {after}"
    );
    let listed_users = ops::users::list_users(db, ws, None, None, PageRequest::index(1, Some(1)))
        .await
        .unwrap()
        .total_results;
    let listed_groups =
        ops::groups::list_groups(db, ws, None, None, PageRequest::index(1, Some(1)), false)
            .await
            .unwrap()
            .total_results;
    assert_eq!(
        (listed_users, listed_groups),
        (users, groups),
        "totalResults after {after}"
    );
}

fn user_name_starts_with(prefix: &str) -> Filter {
    Filter::Compare {
        path: AttrPath {
            schema: String::new(),
            attribute: "userName".into(),
            sub_attribute: String::new(),
        },
        op: CompareOp::Sw,
        value: FilterValue::String(prefix.into()),
    }
}

fn add_members(ids: &[Uuid]) -> PatchOperation {
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

pub async fn stored_counts_follow_every_write(db: &Db) {
    let ws = workspace(db, "acme").await;
    let other = workspace(db, "other").await;
    create_user(db, other, "someone@other.test").await;
    assert_counts(db, ws, 0, 0, "creating the workspace").await;

    let alice = create_user(db, ws, "alice@x.test").await;
    let bob = create_user(db, ws, "bob@x.test").await;
    assert_counts(db, ws, 2, 0, "two user creates").await;

    // A failed create rolls back: no row, no count.
    assert!(matches!(
        ops::users::create_user(db, ws, profile("ALICE@x.test")).await,
        Err(DomainError::Uniqueness(_))
    ));
    assert_counts(db, ws, 2, 0, "a duplicate userName").await;

    let admins = create_group(db, ws, "LocalStack-Admin", &[alice]).await;
    let engineering = create_group(db, ws, "Engineering", &[alice, bob]).await;
    assert_counts(db, ws, 2, 2, "two group creates").await;
    assert!(matches!(
        ops::groups::create_group(db, ws, group_named("engineering"), &[]).await,
        Err(DomainError::Uniqueness(_))
    ));
    assert_counts(db, ws, 2, 2, "a duplicate group name").await;

    // Writes the rules refuse after the row went: the delete is rolled back, counts too.
    assert!(matches!(
        ops::users::delete_user(db, ws, alice, None).await,
        Err(DomainError::Conflict(_))
    ));
    assert_counts(db, ws, 2, 2, "deleting the last admin (refused)").await;
    assert!(matches!(
        ops::groups::delete_group(db, ws, admins, None).await,
        Err(DomainError::Conflict(_))
    ));
    assert_counts(db, ws, 2, 2, "deleting the last admin group (refused)").await;

    ops::users::delete_user(db, ws, bob, None).await.unwrap();
    assert_counts(db, ws, 1, 2, "a user delete").await;
    assert!(matches!(
        ops::users::delete_user(db, ws, bob, None).await,
        Err(DomainError::NotFound(_))
    ));
    assert_counts(db, ws, 1, 2, "deleting a deleted user").await;
    ops::groups::delete_group(db, ws, engineering, None)
        .await
        .unwrap();
    assert_counts(db, ws, 1, 1, "a group delete").await;

    // A Bulk-like series: one operation after the other, a failure in the middle.
    let mut created = Vec::new();
    for i in 0..5 {
        created.push(create_user(db, ws, &format!("bulk{i}@x.test")).await);
    }
    let staff = create_group(db, ws, "Staff", &created[..2]).await;
    ops::groups::patch_group(db, ws, staff, &[add_members(&created[2..])], None, false)
        .await
        .unwrap();
    assert!(
        ops::users::create_user(db, ws, profile("bulk0@x.test"))
            .await
            .is_err()
    );
    ops::users::delete_user(db, ws, created[0], None)
        .await
        .unwrap();
    ops::users::delete_user(db, ws, created[1], None)
        .await
        .unwrap();
    assert_counts(db, ws, 4, 2, "a Bulk-like series").await;

    // Imports go through the same create.
    let imported = ops::users::import_users(
        db,
        ws,
        vec![profile("imported@x.test"), profile("bulk2@x.test")],
    )
    .await
    .unwrap();
    assert_eq!(imported.len(), 2);
    assert_counts(db, ws, 5, 2, "an import (one new, one existing)").await;

    // The other workspace was never touched; deleting it takes its counts with it.
    assert_counts(db, other, 1, 0, "writes in another workspace").await;
    ops::workspaces::delete_workspace(db, other, "other")
        .await
        .unwrap();
    assert_eq!(workspace_counts::find(db, other).await.unwrap(), None);
    assert_counts(db, ws, 5, 2, "deleting another workspace").await;

    // An unfiltered list answers the stored count (set here to a value no row backs);
    // a filtered one counts its matches.
    db.execute(
        &Query::update()
            .table(Alias::new("workspace_counts"))
            .value(Alias::new("users"), 1_000_000i64)
            .value(Alias::new("groups"), 2_000i64)
            .and_where(Expr::col(Alias::new("workspace_id")).eq(ws))
            .to_owned(),
    )
    .await
    .unwrap();
    let unfiltered = ops::users::list_users(db, ws, None, None, PageRequest::index(1, Some(2)))
        .await
        .unwrap();
    assert_eq!(unfiltered.total_results, 1_000_000);
    // Pages shorter than their limit would be their own total: ask for full ones.
    let groups =
        ops::groups::list_groups(db, ws, None, None, PageRequest::index(1, Some(1)), false)
            .await
            .unwrap();
    assert_eq!(groups.total_results, 2_000);
    let filtered = ops::users::list_users(
        db,
        ws,
        Some(&user_name_starts_with("bulk")),
        None,
        PageRequest::index(1, Some(2)),
    )
    .await
    .unwrap();
    assert_eq!(filtered.total_results, 3);
}

/// m0015 counts the rows that exist when it runs, in every workspace (empty ones too).
pub async fn workspace_counts_are_initialised_by_their_migration(db: &Db) {
    use sea_orm_migration::MigratorTrait;
    use store::migration::Migrator;
    let busy = workspace(db, "busy").await;
    let empty = workspace(db, "empty").await;
    let alice = create_user(db, busy, "alice@x.test").await;
    create_user(db, busy, "bob@x.test").await;
    create_group(db, busy, "Engineering", &[alice]).await;
    // Back to before m0015 (however many migrations came after it), then up again.
    let migrations = Migrator::migrations();
    let position = migrations
        .iter()
        .position(|m| m.name() == "m0015_workspace_counts")
        .expect("m0015 is a migration");
    Migrator::down(db, Some((migrations.len() - position) as u32))
        .await
        .unwrap();
    Migrator::up(db, None).await.unwrap();
    assert_eq!(
        workspace_counts::find(db, busy).await.unwrap(),
        Some(WorkspaceCounts {
            users: 2,
            groups: 1
        })
    );
    assert_eq!(
        workspace_counts::find(db, empty).await.unwrap(),
        Some(WorkspaceCounts {
            users: 0,
            groups: 0
        })
    );
    assert_counts(db, busy, 2, 1, "the migration").await;
}

//! One integration binary: the storage suite, run against SQLite and PostgreSQL.

mod counts_suite;
mod events_suite;
mod groups_suite;
mod harness;
mod licenses_suite;
mod requests_suite;
mod retry_suite;
mod roles_suite;
mod rules_suite;
mod suite;

macro_rules! store_suite {
    ($backend:ident: $($test:ident),* $(,)?) => {
        mod $backend {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(db) = crate::harness::$backend().await {
                        crate::$test(&db).await;
                    }
                }
            )*
        }
    };
}

macro_rules! all_backends {
    ($($test:ident),* $(,)?) => {
        store_suite!(sqlite: $($test),*);
        store_suite!(postgres: $($test),*);
    };
}

all_backends!(
    users_round_trip_with_non_ascii_json,
    user_name_is_unique_per_workspace_case_insensitively,
    filters_translate_to_sql,
    unknown_filter_attributes_are_refused,
    paging_is_stable_and_bounded,
    failed_patch_changes_nothing,
    unchanged_replace_keeps_the_version,
    version_preconditions_are_enforced,
    deleted_users_are_gone,
    tokens_authenticate_until_revoked_or_expired,
    workspace_slugs_are_unique,
    groups_hold_members_of_their_workspace_only,
    membership_patches_in_every_dialect,
    deleting_users_and_groups_cleans_memberships,
    group_filters_translate_to_sql,
    users_are_found_by_email_and_sorted,
    cursor_paging_is_stable_under_concurrent_writes,
    custom_attributes_are_checked_returned_and_filterable,
    role_groups_keep_the_role_of_their_first_name,
    a_user_holds_one_role_at_a_time,
    the_last_admin_cannot_be_removed_in_any_shape,
    workspaces_without_admins_are_not_blocked,
    license_groups_give_seats_up_to_the_count,
    reactivation_into_a_full_subscription_waits_for_a_seat,
    direct_and_group_licenses_share_one_seat,
    a_license_group_pushed_early_is_linked_later,
    granted_admins_count_for_the_last_admin_rule,
    imported_members_are_found_not_duplicated,
    role_mappings_from_idp_values_and_group_names,
    attribute_mappings_feed_metadata_and_the_organization_role,
    deleting_a_workspace_removes_its_rows_only,
    case_insensitive_filters_fold_non_ascii_letters,
    user_writes_apply_the_configuration_of_their_time,
    a_group_push_reevaluates_mappings_and_roles,
    case_keys_are_backfilled_by_the_migration,
    every_change_records_an_event_in_sequence,
    old_events_are_pruned_in_bounded_batches,
    failed_writes_leave_no_event_and_no_gap,
    events_name_their_actor,
    concurrent_writers_get_a_gap_free_sequence,
    webhook_endpoints_start_at_their_creation,
    users_the_write_step_reevaluates_get_their_event,
    a_seat_given_to_a_waiting_member_is_an_event,
    subscription_updates_and_deletes_are_events,
    deletes_record_the_memberships_they_cascade,
    request_log_records_pages_prunes_and_cascades,
    get_user_reads_its_groups_in_one_query,
    stored_counts_follow_every_write,
    workspace_counts_are_initialised_by_their_migration,
);

use counts_suite::*;
use events_suite::*;
use groups_suite::*;
use licenses_suite::*;
use requests_suite::*;
use roles_suite::*;
use rules_suite::*;
use suite::*;

/// Postgres only: SQLite serialises every writer, so nothing would overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_concurrent_removals_never_remove_the_last_admin() {
    if let Some(db) = harness::postgres().await {
        concurrent_removals_never_remove_the_last_admin(&db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_profile_writes_do_not_wait_for_the_workspace_lock() {
    if let Some(db) = harness::postgres().await {
        profile_writes_do_not_wait_for_the_workspace_lock(&db).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_serialization_failures_are_retried_not_surfaced() {
    if let Some(db) = harness::postgres().await {
        retry_suite::serialization_failures_are_retried_not_surfaced(&db).await;
    }
}

#[tokio::test]
async fn sqlite_webhook_backlog_counts_events_not_yet_passed() {
    if let Some(db) = harness::sqlite().await {
        retry_suite::webhook_backlog_counts_events_not_yet_passed(&db).await;
    }
}

#[tokio::test]
async fn postgres_webhook_backlog_counts_events_not_yet_passed() {
    if let Some(db) = harness::postgres().await {
        retry_suite::webhook_backlog_counts_events_not_yet_passed(&db).await;
    }
}

/// A SQLite file database (the pool of 4 connections a local run has) with workspaces
/// `tenant-a` and `tenant-b` and one user of B: (db, file, A, B, B's user).
async fn sqlite_two_tenants(
    name: &str,
) -> (
    directory_service::store::Db,
    std::path::PathBuf,
    uuid::Uuid,
    uuid::Uuid,
    directory_service::domain::users::User,
) {
    use directory_service::{ops, store};
    let path = std::env::temp_dir().join(format!("it-{name}-{}.db", uuid::Uuid::now_v7()));
    let db = store::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    store::migrate(&db).await.unwrap();
    let tenant_a = harness::workspace(&db, "tenant-a").await;
    let tenant_b = harness::workspace(&db, "tenant-b").await;
    let reader = ops::users::create_user(&db, tenant_b, harness::profile("read@b.test"))
        .await
        .unwrap();
    (db, path, tenant_a, tenant_b, reader)
}

/// SQLite: the request log's batch inserts (bookkeeping outside the write step) queue for
/// the process's writer turn too; waiting inside SQLite for the write lock, each held a
/// pooled connection and reads of other workspaces waited for one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_request_log_writes_queue_without_taking_connections_from_reads() {
    use directory_service::ops;
    let (db, path, tenant_a, tenant_b, reader) = sqlite_two_tenants("log-writers").await;

    // A write of tenant A holds SQLite's write lock while the gateways' request log
    // batches arrive, as many as the pool has connections.
    let held = ops::write::Write::profile(&db, tenant_a).await.unwrap();
    let batches: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            let batch = vec![record(tenant_b, 200, chrono::Duration::zero())];
            tokio::spawn(async move { ops::request_log::record(&db, batch).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let read = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        ops::users::get_user(&db, tenant_b, reader.id),
    )
    .await
    .expect("a read must not wait behind request log batches queued for the write lock")
    .unwrap();
    assert_eq!(read.profile.user_name, "read@b.test");

    held.abandon().await.unwrap();
    for batch in batches {
        assert_eq!(batch.await.unwrap().expect("each batch is stored"), 1);
    }
    drop(db);
    let _ = std::fs::remove_file(&path);
}

/// SQLite file (a pool of 4 connections): writers queued behind a long write must not
/// take the connections another workspace's reads need. They used to wait inside SQLite
/// (`BEGIN IMMEDIATE` on the busy timeout), each holding a pooled connection, and the read
/// waited for a connection until the writes were done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_queued_writers_leave_connections_for_other_reads() {
    use directory_service::domain::users::UserProfile;
    use directory_service::ops;
    let (db, path, tenant_a, tenant_b, reader) = sqlite_two_tenants("writers").await;
    let profile = |name: &str| UserProfile {
        user_name: name.into(),
        ..Default::default()
    };

    // One write of tenant A in progress, as a long group push would be...
    let held = ops::write::Write::profile(&db, tenant_a).await.unwrap();
    // ...and as many more writers queued behind it as the pool has connections.
    let queued: Vec<_> = (0..4)
        .map(|i| {
            let db = db.clone();
            let profile = profile(&format!("queued{i}@a.test"));
            tokio::spawn(async move { ops::users::create_user(&db, tenant_a, profile).await })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;

    let read = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        ops::users::get_user(&db, tenant_b, reader.id),
    )
    .await
    .expect("a read of tenant B must not wait behind tenant A's queued writers")
    .unwrap();
    assert_eq!(read.profile.user_name, "read@b.test");

    held.abandon().await.unwrap();
    for writer in queued {
        writer
            .await
            .unwrap()
            .expect("queued writers run after the long one");
    }
    let count = ops::users::list_users(
        &db,
        tenant_a,
        None,
        None,
        directory_service::domain::paging::PageRequest::index(1, None),
    )
    .await
    .unwrap()
    .total_results;
    assert_eq!(count, 4);
    drop(db);
    let _ = std::fs::remove_file(&path);
}

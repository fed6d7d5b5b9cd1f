//! The request log's storage: batches (idempotent, unknown workspaces skipped), paging
//! newest first, filters, bounded pruning by age, and the cascade of a deleted workspace.

use chrono::{Duration, Utc};
use directory_service::ops;
use directory_service::store::Db;
use directory_service::store::request_log::RequestRecord;
use uuid::Uuid;

pub fn record(workspace_id: Uuid, status: i32, age: Duration) -> RequestRecord {
    RequestRecord {
        id: Uuid::now_v7(),
        workspace_id,
        received_at: Utc::now() - age,
        method: "POST".into(),
        path: "/scim/v2/Users".into(),
        query: String::new(),
        status,
        scim_type: if status == 409 {
            "uniqueness".into()
        } else {
            String::new()
        },
        latency_micros: 1500,
        token_id: "token-id".into(),
        trace_id: String::new(),
        request_id: "req".into(),
        request_body: r#"{"password":"***"}"#.into(),
        response_body: "x".repeat(100 * 1024),
        request_body_truncated: false,
        response_body_truncated: false,
    }
}

pub async fn request_log_records_pages_prunes_and_cascades(db: &Db) {
    let ws = ops::workspaces::create_workspace(db, "acme", "")
        .await
        .unwrap()
        .id;
    let old = record(ws, 201, Duration::days(40));
    let mut batch = vec![old.clone()];
    for i in 0..5 {
        batch.push(record(ws, if i == 2 { 409 } else { 201 }, Duration::zero()));
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    // A workspace that does not exist is skipped, not an error.
    batch.push(record(Uuid::now_v7(), 201, Duration::zero()));
    assert_eq!(
        ops::request_log::record(db, batch.clone()).await.unwrap(),
        6
    );
    // Sent again (a retried batch): nothing twice.
    assert_eq!(
        ops::request_log::record(db, batch.clone()).await.unwrap(),
        0
    );

    // Newest first, two per page, the cursor continues.
    let (page, next) = ops::request_log::list(db, ws, None, None, None, Some(2))
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![batch[5].id, batch[4].id]
    );
    let (page, _) = ops::request_log::list(db, ws, None, None, next.as_deref(), Some(2))
        .await
        .unwrap();
    assert_eq!(
        page.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![batch[3].id, batch[2].id]
    );
    // The body was capped at the directory's backstop.
    assert_eq!(
        page[0].response_body.len(),
        ops::request_log::MAX_STORED_BODY
    );
    assert!(page[0].response_body_truncated);
    // Filters.
    let (conflicts, _) = ops::request_log::list(db, ws, Some(409), None, None, None)
        .await
        .unwrap();
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].scim_type, "uniqueness");
    let (recent, _) = ops::request_log::list(
        db,
        ws,
        None,
        Some(Utc::now() - Duration::days(1)),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(recent.len(), 5);
    assert!(
        ops::request_log::list(db, ws, None, None, Some("nope"), None)
            .await
            .is_err()
    );
    assert_eq!(ops::request_log::get(db, old.id).await.unwrap().status, 201);

    // Pruning is bounded: one batch of one row at a time.
    let cutoff = Utc::now() - Duration::days(30);
    assert_eq!(ops::request_log::prune(db, cutoff, 1, 1).await.unwrap(), 1);
    assert!(ops::request_log::get(db, old.id).await.is_err());
    assert_eq!(ops::request_log::prune(db, cutoff, 1, 10).await.unwrap(), 0);
    let (left, _) = ops::request_log::list(db, ws, None, None, None, None)
        .await
        .unwrap();
    assert_eq!(left.len(), 5);

    // A deleted workspace takes its records with it.
    ops::workspaces::delete_workspace(db, ws, "acme")
        .await
        .unwrap();
    assert!(ops::request_log::get(db, batch[1].id).await.is_err());
}

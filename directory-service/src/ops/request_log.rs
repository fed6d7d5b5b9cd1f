//! The request log: batches the gateways send, listings for `scimctl requests`, and the
//! bounded prune. The gateway redacts and caps the bodies; the directory bounds what it
//! stores once more so a misbehaving caller cannot grow rows without limit.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::{DomainError, DomainResult};
use crate::store::{
    self, Db,
    request_log::{RequestFilter, RequestRecord},
};

/// The most records one `RecordRequests` may carry.
pub const MAX_BATCH: usize = 1000;
/// The most records one `ListRequests` answers.
pub const MAX_PAGE: u64 = 1000;
/// The most bytes of a body kept (the gateway caps at 16 KiB; this is the backstop).
pub const MAX_STORED_BODY: usize = 64 * 1024;

/// Cuts `text` to at most `max` bytes on a character boundary; true when it cut.
pub fn cap(text: &mut String, max: usize) -> bool {
    if text.len() <= max {
        return false;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    true
}

pub async fn record(db: &Db, mut records: Vec<RequestRecord>) -> DomainResult<u64> {
    if records.len() > MAX_BATCH {
        return Err(DomainError::InvalidValue(format!(
            "at most {MAX_BATCH} request records per batch"
        )));
    }
    for record in &mut records {
        record.request_body_truncated |= cap(&mut record.request_body, MAX_STORED_BODY);
        record.response_body_truncated |= cap(&mut record.response_body, MAX_STORED_BODY);
        cap(&mut record.path, 2048);
        cap(&mut record.query, 4096);
    }
    store::request_log::insert_many(db, records).await
}

/// A page of a workspace's requests, newest first, and the cursor of the next page.
pub async fn list(
    db: &Db,
    workspace_id: Uuid,
    status: Option<i32>,
    since: Option<DateTime<Utc>>,
    cursor: Option<&str>,
    limit: Option<u64>,
) -> DomainResult<(Vec<RequestRecord>, Option<String>)> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    let limit = limit.filter(|l| *l > 0).unwrap_or(100).min(MAX_PAGE);
    let before_id = match cursor.map(str::trim).filter(|c| !c.is_empty()) {
        Some(raw) => Some(
            Uuid::parse_str(raw)
                .map_err(|_| DomainError::InvalidValue(format!("cursor {raw:?} is not valid")))?,
        ),
        None => None,
    };
    let filter = RequestFilter {
        status,
        since,
        before_id,
    };
    let records = store::request_log::list(db, workspace_id, &filter, limit).await?;
    let next = (records.len() as u64 == limit)
        .then(|| records.last().map(|r| r.id.to_string()))
        .flatten();
    Ok((records, next))
}

pub async fn get(db: &Db, id: Uuid) -> DomainResult<RequestRecord> {
    store::request_log::find(db, id)
        .await?
        .ok_or_else(|| DomainError::NotFound(format!("request {id} not found")))
}

/// Deletes records received before `before`, at most `batches` × `batch` rows.
pub async fn prune(db: &Db, before: DateTime<Utc>, batch: u64, batches: u32) -> DomainResult<u64> {
    let mut total = 0;
    for _ in 0..batches {
        let done = store::request_log::prune(db, before, batch).await?;
        total += done;
        if done == 0 {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::cap;

    #[test]
    fn caps_on_a_character_boundary() {
        let mut s = "ééé".to_owned();
        assert!(cap(&mut s, 3));
        assert_eq!(s, "é");
        let mut short = "abc".to_owned();
        assert!(!cap(&mut short, 3));
        assert_eq!(short, "abc");
    }
}

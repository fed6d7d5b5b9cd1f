//! Paging of list results: SCIM index paging (startIndex/count, RFC 7644 §3.4.2.4) and
//! cursor paging (RFC 9865). Cursors are keyset positions on the id (UUIDv7, so creation
//! order): a page never repeats or skips a resource that existed when paging started,
//! whatever is inserted or deleted in between.

use uuid::Uuid;

use super::{DomainError, DomainResult};

/// Largest page a list returns, whatever the caller asks for.
pub const MAX_PAGE_SIZE: u64 = 1000;
/// Page size when the caller does not say.
pub const DEFAULT_PAGE_SIZE: u64 = 100;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PageRequest {
    /// 0-based offset (SCIM startIndex - 1) and page size.
    Index { offset: u64, limit: u64 },
    /// Resources after `after` (None: from the start), at most `limit` of them.
    Cursor { after: Option<Uuid>, limit: u64 },
}

impl PageRequest {
    /// `start_index` is 1-based (values below 1 mean 1); `count` 0 asks only for the
    /// total; counts above `MAX_PAGE_SIZE` are clamped.
    pub fn index(start_index: i64, count: Option<i64>) -> Self {
        PageRequest::Index {
            offset: start_index.max(1) as u64 - 1,
            limit: page_size(count),
        }
    }

    /// `cursor` is the opaque value from a previous page's `next_cursor`; empty for the
    /// first page.
    pub fn cursor(cursor: &str, count: Option<i64>) -> DomainResult<Self> {
        let after = match cursor.trim() {
            "" => None,
            text => Some(decode_cursor(text)?),
        };
        Ok(PageRequest::Cursor {
            after,
            limit: page_size(count),
        })
    }

    pub fn limit(&self) -> u64 {
        match self {
            PageRequest::Index { limit, .. } | PageRequest::Cursor { limit, .. } => *limit,
        }
    }

    /// The SCIM startIndex of the page (1 for cursor pages).
    pub fn start_index(&self) -> u64 {
        match self {
            PageRequest::Index { offset, .. } => offset + 1,
            PageRequest::Cursor { .. } => 1,
        }
    }
}

fn page_size(count: Option<i64>) -> u64 {
    count
        .map_or(DEFAULT_PAGE_SIZE, |c| c.max(0) as u64)
        .min(MAX_PAGE_SIZE)
}

/// Cursor text: the id's 32 hex digits (RFC 9865 allows only unreserved characters).
pub fn encode_cursor(after: Uuid) -> String {
    after.simple().to_string()
}

fn decode_cursor(text: &str) -> DomainResult<Uuid> {
    if text.len() != 32 {
        return Err(DomainError::InvalidCursor(format!(
            "{text:?} is not a cursor of ours"
        )));
    }
    Uuid::try_parse(text)
        .map_err(|_| DomainError::InvalidCursor(format!("{text:?} is not a cursor of ours")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_paging_bounds() {
        assert_eq!(
            PageRequest::index(0, None),
            PageRequest::Index {
                offset: 0,
                limit: DEFAULT_PAGE_SIZE
            }
        );
        assert_eq!(
            PageRequest::index(-4, Some(5000)),
            PageRequest::Index {
                offset: 0,
                limit: MAX_PAGE_SIZE
            }
        );
        assert_eq!(
            PageRequest::index(11, Some(-1)),
            PageRequest::Index {
                offset: 10,
                limit: 0
            }
        );
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let id = Uuid::now_v7();
        let text = encode_cursor(id);
        assert!(text.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(
            PageRequest::cursor(&text, Some(2)).unwrap(),
            PageRequest::Cursor {
                after: Some(id),
                limit: 2
            }
        );
        assert_eq!(
            PageRequest::cursor("", None).unwrap(),
            PageRequest::Cursor {
                after: None,
                limit: DEFAULT_PAGE_SIZE
            }
        );
        for bad in ["x", "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", &id.to_string()] {
            assert!(
                matches!(
                    PageRequest::cursor(bad, None),
                    Err(DomainError::InvalidCursor(_))
                ),
                "{bad}"
            );
        }
    }
}

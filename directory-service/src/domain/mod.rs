//! Pure rules of the directory: value types, validation, filters and patches.
//! No sea_orm, no tonic in here.

pub mod attribute_mappings;
pub mod credentials;
pub mod custom_attributes;
pub mod events;
pub mod filter;
pub mod groups;
pub mod licenses;
pub mod oauth;
pub mod paging;
pub mod patch;
pub mod rate_limits;
pub mod roles;
pub mod tokens;
pub mod users;
pub mod webhooks;
pub mod workspaces;

/// Everything an operation can refuse, plus the two ways storage can fail. One variant per
/// client-visible reason; `grpc::status` maps each to a gRPC code and an ErrorInfo reason.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DomainError {
    #[error("{0}")]
    InvalidValue(String),
    #[error("{0}")]
    InvalidFilter(String),
    #[error("{0}")]
    InvalidPath(String),
    #[error("{0}")]
    NoTarget(String),
    #[error("{0}")]
    Mutability(String),
    #[error("{0}")]
    TooMany(String),
    /// A pagination cursor we did not issue (RFC 9865 `invalidCursor`).
    #[error("{0}")]
    InvalidCursor(String),
    #[error("{0}")]
    Uniqueness(String),
    /// The change would break a workspace rule (dual role membership, last admin).
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    NotFound(String),
    #[error("version mismatch: expected {expected}, current {current}")]
    VersionMismatch { expected: i64, current: i64 },
    #[error("token is unknown, expired or revoked")]
    Unauthenticated,
    #[error("{0}")]
    PermissionDenied(String),
    /// A conflict between concurrent transactions that outlasted our retries.
    #[error("the directory is busy, retry later")]
    RetryLater,
    /// Anything else the storage layer reports. The text is logged, never sent to clients.
    #[error("internal storage error: {0}")]
    Storage(String),
}

pub type DomainResult<T> = Result<T, DomainError>;

/// The one case folding for every case-insensitive comparison (`caseExact: false`
/// attributes, role and group names): Unicode lowercase, computed in Rust so Postgres and
/// SQLite agree (SQL `lower()` is ASCII-only on SQLite). Not full case folding: `ß` stays.
pub fn fold_case(text: &str) -> String {
    text.to_lowercase()
}

/// The stored, indexed key of a case-insensitive value, and what a filter value is
/// compared with: trimmed, then folded.
pub fn case_key(text: &str) -> String {
    fold_case(text.trim())
}

/// Checks the optimistic-concurrency precondition (SCIM If-Match).
pub fn check_version(expected: Option<i64>, current: i64) -> DomainResult<()> {
    match expected {
        Some(expected) if expected != current => {
            Err(DomainError::VersionMismatch { expected, current })
        }
        _ => Ok(()),
    }
}

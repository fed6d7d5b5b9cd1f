//! Rate limits per workspace and per token (issue #18): what a setting may be, and which
//! one applies to a token. The gateway enforces the limit.

use uuid::Uuid;

use super::{DomainError, DomainResult};

/// The highest rate a setting may name (requests per second).
pub const MAX_PER_SECOND: u32 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub workspace_id: Uuid,
    /// `None`: the workspace's own limit.
    pub token_id: Option<Uuid>,
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    /// A setting: at least 1 request per second, a burst of 1 ..= one second's worth.
    pub fn new(
        workspace_id: Uuid,
        token_id: Option<Uuid>,
        per_second: u32,
        burst: u32,
    ) -> DomainResult<Self> {
        if !(1..=MAX_PER_SECOND).contains(&per_second) {
            return Err(DomainError::InvalidValue(format!(
                "per_second must be between 1 and {MAX_PER_SECOND}"
            )));
        }
        if burst == 0 || burst > per_second {
            return Err(DomainError::InvalidValue(
                "burst must be between 1 and per_second (at most one second's worth)".into(),
            ));
        }
        Ok(RateLimit {
            workspace_id,
            token_id,
            per_second,
            burst,
        })
    }
}

/// The limit of a token: its own setting, else its workspace's, else none (defaults).
pub fn applicable(settings: &[RateLimit], token_id: Uuid) -> Option<RateLimit> {
    settings
        .iter()
        .find(|limit| limit.token_id == Some(token_id))
        .or_else(|| settings.iter().find(|limit| limit.token_id.is_none()))
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_the_token_wins_over_the_workspace() {
        let ws = Uuid::now_v7();
        let (t1, t2) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(RateLimit::new(ws, None, 0, 1).is_err());
        assert!(RateLimit::new(ws, None, 5, 0).is_err());
        assert!(RateLimit::new(ws, None, 5, 6).is_err());
        let workspace = RateLimit::new(ws, None, 5, 5).unwrap();
        let token = RateLimit::new(ws, Some(t1), 50, 10).unwrap();
        assert_eq!(applicable(&[workspace, token], t1), Some(token));
        assert_eq!(applicable(&[workspace, token], t2), Some(workspace));
        assert_eq!(applicable(&[token], t2), None);
    }
}

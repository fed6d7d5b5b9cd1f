//! Bounded retries of a whole operation. A write that lost a race with a concurrent
//! transaction (Postgres serialization failure 40001 or deadlock 40P01, SQLite busy) or
//! whose connection dropped before its commit was rolled back: nothing of it is stored, so
//! running the operation again from the start is safe and gives the caller an answer
//! instead of a 503. The budget is bounded in attempts and time; once spent the error
//! (`RetryLater`, a 503 with `Retry-After`) reaches the caller.
//!
//! A connection lost *during* the commit is not retried (the commit may have happened):
//! `store::WriteTx::commit` reports it as a storage error instead.

use std::future::Future;
use std::time::Duration;

use rand::Rng as _;

use crate::domain::{DomainError, DomainResult};

/// Attempts in all, the first included.
pub const ATTEMPTS: u32 = 5;
/// The wait before the second attempt; each further one waits twice as long (±50 %).
const FIRST_BACKOFF: Duration = Duration::from_millis(10);

/// Runs `operation` until it succeeds, fails for another reason than a transient
/// conflict, or [`ATTEMPTS`] are used.
pub async fn retrying<T, F, Fut>(mut operation: F) -> DomainResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = DomainResult<T>>,
{
    let mut attempt = 1;
    loop {
        match operation().await {
            Err(DomainError::RetryLater) if attempt < ATTEMPTS => {
                metrics::counter!("directory_write_retries_total").increment(1);
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            Err(DomainError::RetryLater) => {
                metrics::counter!("directory_write_retries_exhausted_total").increment(1);
                tracing::warn!(attempts = attempt, "write still conflicting after retries");
                return Err(DomainError::RetryLater);
            }
            other => return other,
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    let base = FIRST_BACKOFF * 2u32.pow(attempt.saturating_sub(1).min(6));
    base.mul_f64(rand::rng().random_range(0.5..1.5))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn retries_transient_conflicts_within_the_budget() {
        let calls = AtomicU32::new(0);
        let result = retrying(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(DomainError::RetryLater)
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(result.unwrap(), 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn gives_up_after_the_budget_and_never_retries_other_errors() {
        let calls = AtomicU32::new(0);
        let result: DomainResult<()> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(DomainError::RetryLater)
        })
        .await;
        assert!(matches!(result, Err(DomainError::RetryLater)));
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);

        let calls = AtomicU32::new(0);
        let result: DomainResult<()> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(DomainError::NotFound("x".into()))
        })
        .await;
        assert!(matches!(result, Err(DomainError::NotFound(_))));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

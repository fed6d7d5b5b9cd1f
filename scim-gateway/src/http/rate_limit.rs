//! Per-token rate limiting (seed 003: 100 operations per second per token, `429` with an
//! integer `Retry-After`, which Okta honours; Entra needs a steady 25 req/s to pass).
//!
//! The limit is kept in this process: with several gateway replicas each enforces it on
//! its own share of the traffic. A limit shared across replicas (e.g. in Redis) is a later
//! step; this type is where it plugs in.

use std::num::NonZeroU32;

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::scim::ScimError;

/// Keys (token digests) kept before idle ones are dropped.
const MAX_TRACKED_TOKENS: usize = 10_000;

pub struct TokenRateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<[u8; 32]>>,
    clock: DefaultClock,
}

impl TokenRateLimiter {
    /// `per_second` requests per token sustained, up to `burst` at once (0: the same as
    /// `per_second`); `per_second` 0 turns the limit off. A burst above the rate lets an
    /// IdP's import or a test suite through; only sustained overload gets 429.
    pub fn new(per_second: u32, burst: u32) -> Self {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst).unwrap_or(rate).max(rate);
            RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        TokenRateLimiter {
            limiter,
            clock: DefaultClock::default(),
        }
    }

    /// Counts one request for the token; `429` with the seconds to wait when over.
    pub fn check(&self, token_digest: &[u8; 32]) -> Result<(), ScimError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if limiter.len() > MAX_TRACKED_TOKENS {
            limiter.retain_recent();
        }
        limiter.check_key(token_digest).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            // Okta honours only an integer number of seconds: round up, at least 1.
            let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            ScimError::too_many_requests(seconds.max(1))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_token_gets_its_own_budget() {
        let limiter = TokenRateLimiter::new(3, 3);
        let (a, b) = ([1u8; 32], [2u8; 32]);
        for _ in 0..3 {
            assert!(limiter.check(&a).is_ok());
        }
        let refused = limiter.check(&a).unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.retry_after, Some(1));
        assert!(limiter.check(&b).is_ok(), "another token is not affected");
        let off = TokenRateLimiter::new(0, 0);
        for _ in 0..1000 {
            assert!(off.check(&a).is_ok());
        }
        let bursty = TokenRateLimiter::new(2, 10);
        for i in 0..10 {
            assert!(bursty.check(&b).is_ok(), "burst request {i}");
        }
        assert!(bursty.check(&b).is_err());
    }
}

//! Failed authentication is limited per client address (issue #17), so that a flood of
//! well-formed bad tokens costs a bounded number of directory calls and never slows the
//! tenants whose tokens work.
//!
//! In front of [`super::auth::authenticate`]:
//! - a token answered from the token cache passes at once (no directory call);
//! - a token the directory refused in the last [`NEGATIVE_TTL`] is refused again without
//!   asking (the negative cache, keyed by the token's SHA-256 digest like the token cache);
//! - otherwise the client address must have failure budget left: GCRA per address,
//!   `per_minute` failures sustained after a burst of `burst`. Each directory call reserves
//!   one failure before it is made (so concurrent requests cannot overdraw the budget) and
//!   gives it back when the token is accepted. Without budget the request is answered
//!   `429` with an integer `Retry-After` and no directory call — for any token not in the
//!   cache, so the answer says nothing about whether a token exists.
//!
//! A token this gateway saw accepted in the last [`KNOWN_GOOD_TTL`] is asked about without
//! budget (it is still checked by the directory, so a revocation holds): an IdP sharing an
//! address with a flood (a NAT, a proxy without `X-Forwarded-For`) keeps working when its
//! cache entry expires. Only holders of a valid token can be in that set.
//!
//! A refused token is always answered the same `401` body, whether the directory or the
//! negative cache refused it. The client address is the one IP allow-lists see
//! ([`auth::request_client_address`]): the socket peer, or — only when the peer is one of
//! the `--trusted-proxies` — the rightmost `X-Forwarded-For` entry that is not a trusted
//! proxy. The caches are keyed by token and client address (an allow-list refuses a token
//! from one address and accepts it from another). Both maps are bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use http::{HeaderMap, StatusCode};

use super::AppState;
use super::auth::{self, TokenDigest};
use crate::scim::ScimError;

/// How long a refused token is answered from memory.
pub const NEGATIVE_TTL: Duration = Duration::from_secs(30);
/// Refused token digests kept at most (beyond it, expired ones go, then all).
const NEGATIVE_CAPACITY: usize = 100_000;
/// How long a token seen accepted skips the failure budget.
pub const KNOWN_GOOD_TTL: Duration = Duration::from_secs(3600);
/// Accepted token digests remembered at most.
const KNOWN_GOOD_CAPACITY: usize = 10_000;
/// Client addresses tracked at most (beyond it, those with a spent debt go, then all).
const ADDRESS_CAPACITY: usize = 100_000;

/// The TCP peer of the connection a request came on (set by the accept loop).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// Settings: failures per minute per address (0: no limit) and the burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimitSettings {
    pub failures_per_minute: u32,
    pub burst: u32,
}

impl Default for AuthLimitSettings {
    fn default() -> Self {
        AuthLimitSettings {
            failures_per_minute: 60,
            burst: 20,
        }
    }
}

pub struct AuthFailureLimiter {
    settings: AuthLimitSettings,
    /// Per address: the theoretical arrival time of the next failure (GCRA).
    addresses: Mutex<HashMap<IpAddr, Instant>>,
    refused: Mutex<HashMap<TokenDigest, Instant>>,
    known_good: Mutex<HashMap<TokenDigest, Instant>>,
}

/// A failure reserved before a directory call; [`AuthFailureLimiter::refund`] returns it.
struct Reservation(Option<IpAddr>);

impl AuthFailureLimiter {
    pub fn new(settings: AuthLimitSettings) -> Self {
        AuthFailureLimiter {
            settings,
            addresses: Mutex::new(HashMap::new()),
            refused: Mutex::new(HashMap::new()),
            known_good: Mutex::new(HashMap::new()),
        }
    }

    fn interval(&self) -> Option<Duration> {
        (self.settings.failures_per_minute > 0)
            .then(|| Duration::from_secs(60) / self.settings.failures_per_minute)
    }

    /// Reserves one failure for `address`, or the seconds to wait when none is left.
    fn reserve(&self, address: Option<IpAddr>, now: Instant) -> Result<Reservation, u64> {
        let (Some(interval), Some(ip)) = (self.interval(), address) else {
            return Ok(Reservation(None));
        };
        let tolerance = interval * self.settings.burst.max(1);
        let mut addresses = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        if addresses.len() >= ADDRESS_CAPACITY && !addresses.contains_key(&ip) {
            addresses.retain(|_, tat| *tat > now);
            if addresses.len() >= ADDRESS_CAPACITY {
                addresses.clear();
            }
        }
        let tat = addresses.get(&ip).copied().unwrap_or(now).max(now);
        let next = tat + interval;
        if next - now > tolerance {
            let wait = next - now - tolerance;
            return Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        }
        addresses.insert(ip, next);
        Ok(Reservation(Some(ip)))
    }

    /// The token was accepted (or the directory could not answer): the failure reserved
    /// for the call is given back.
    fn refund(&self, reservation: Reservation) {
        let (Some(interval), Reservation(Some(ip))) = (self.interval(), reservation) else {
            return;
        };
        let mut addresses = self.addresses.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(tat) = addresses.get_mut(&ip) {
            *tat = tat.checked_sub(interval).unwrap_or(*tat);
        }
    }

    fn known_good(&self, digest: &TokenDigest, now: Instant) -> bool {
        let known = self.known_good.lock().unwrap_or_else(|e| e.into_inner());
        known.get(digest).is_some_and(|until| *until > now)
    }

    fn remember(
        map: &Mutex<HashMap<TokenDigest, Instant>>,
        capacity: usize,
        digest: TokenDigest,
        until: Instant,
        now: Instant,
    ) {
        let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= capacity && !map.contains_key(&digest) {
            map.retain(|_, kept| *kept > now);
            if map.len() >= capacity {
                map.clear();
            }
        }
        map.insert(digest, until);
    }

    fn recently_refused(&self, digest: &TokenDigest, now: Instant) -> bool {
        let refused = self.refused.lock().unwrap_or_else(|e| e.into_inner());
        refused.get(digest).is_some_and(|until| *until > now)
    }

    fn remember_refused(&self, digest: TokenDigest, now: Instant) {
        Self::remember(
            &self.refused,
            NEGATIVE_CAPACITY,
            digest,
            now + NEGATIVE_TTL,
            now,
        );
        let mut known = self.known_good.lock().unwrap_or_else(|e| e.into_inner());
        known.remove(&digest);
    }

    fn remember_accepted(&self, digest: TokenDigest, now: Instant) {
        Self::remember(
            &self.known_good,
            KNOWN_GOOD_CAPACITY,
            digest,
            now + KNOWN_GOOD_TTL,
            now,
        );
    }
}

fn limited(seconds: u64) -> ScimError {
    ScimError {
        retry_after: Some(seconds.max(1)),
        ..ScimError::new(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            format!(
                "rate_limited: too many failed authentications from this address; retry after \
                 {} s",
                seconds.max(1)
            ),
        )
    }
}

/// [`auth::authenticate`] behind the negative cache and the per-address failure budget.
pub async fn authenticate(
    state: &AppState,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Result<String, ScimError> {
    let limiter = &state.auth_failures;
    let Some(token) = auth::bearer_token(headers) else {
        // no directory call: nothing to limit
        return auth::authenticate(&state.tokens, &state.directory, headers).await;
    };
    let client = auth::request_client_address(peer, headers);
    let digest = auth::answer_digest(token, client);
    let now = Instant::now();
    if state.tokens.holds(&digest, now) {
        return auth::authenticate(&state.tokens, &state.directory, headers).await;
    }
    if limiter.recently_refused(&digest, now) {
        metrics::counter!("scim_auth_refused_from_cache_total").increment(1);
        return Err(auth::unauthorized());
    }
    let address = if limiter.known_good(&digest, now) {
        None
    } else {
        client
    };
    let reservation = match limiter.reserve(address, now) {
        Ok(reservation) => reservation,
        Err(seconds) => {
            metrics::counter!("scim_auth_limited_total").increment(1);
            return Err(limited(seconds));
        }
    };
    metrics::counter!("scim_auth_directory_calls_total").increment(1);
    let answer = auth::authenticate(&state.tokens, &state.directory, headers).await;
    match &answer {
        Err(err) if err.status == StatusCode::UNAUTHORIZED => {
            limiter.remember_refused(digest, Instant::now());
        }
        Ok(_) => {
            limiter.remember_accepted(digest, Instant::now());
            limiter.refund(reservation);
        }
        Err(_) => limiter.refund(reservation),
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32) -> AuthFailureLimiter {
        AuthFailureLimiter::new(AuthLimitSettings {
            failures_per_minute: per_minute,
            burst,
        })
    }

    #[test]
    fn an_address_gets_its_burst_then_waits() {
        let limiter = limiter(60, 5);
        let now = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..5 {
            assert!(limiter.reserve(Some(a), now).is_ok());
        }
        let wait = limiter.reserve(Some(a), now).err().expect("limited");
        assert_eq!(wait, 1);
        // another address is not affected
        assert!(limiter.reserve(Some(b), now).is_ok());
        // one per second comes back
        assert!(
            limiter
                .reserve(Some(a), now + Duration::from_secs(1))
                .is_ok()
        );
        assert!(
            limiter
                .reserve(Some(a), now + Duration::from_secs(1))
                .is_err()
        );
    }

    #[test]
    fn accepted_tokens_give_their_reservation_back() {
        let limiter = limiter(60, 2);
        let now = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..10 {
            let reservation = limiter.reserve(Some(a), now).unwrap();
            limiter.refund(reservation);
        }
        assert!(limiter.reserve(Some(a), now).is_ok());
    }

    #[test]
    fn zero_turns_the_limit_off_and_refusals_are_remembered_for_a_while() {
        let limiter = limiter(0, 1);
        let now = Instant::now();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        for _ in 0..100 {
            assert!(limiter.reserve(Some(a), now).is_ok());
        }
        let d = auth::digest("scim_bad");
        limiter.remember_refused(d, now);
        assert!(limiter.recently_refused(&d, now + Duration::from_secs(1)));
        assert!(!limiter.recently_refused(&d, now + NEGATIVE_TTL + Duration::from_secs(1)));
    }
}

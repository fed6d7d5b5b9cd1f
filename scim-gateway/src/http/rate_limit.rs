//! Per-token rate limiting (seed 003: "100 ops / second per token", `429 rate_limited` with
//! an integer `Retry-After`, which Okta honours; Entra needs a steady 25 req/s to pass).
//!
//! The algorithm is GCRA (a leaky bucket kept as one "theoretical arrival time" per token):
//! `per_second` sustained, at most `burst` at once, where the burst is no larger than one
//! second's worth. It runs either
//! - in Redis (`--redis-url`), as one Lua script using Redis' clock, so every gateway replica
//!   draws on the same budget; or
//! - in this process, where each of `replicas` gateways enforces its share
//!   (`per_second / replicas`), which is exact when the load balancer spreads requests
//!   evenly. This is also the fallback while Redis is unreachable: requests are never
//!   failed because the limiter's store is down.
//!
//! A `POST /Bulk` is admitted like one request and then charged for each of its operations
//! ([`TokenRateLimiter::charge`]): the token's next requests wait until the debt is paid.
//! Keys are SHA-256 digests of tokens; no token is ever stored, sent to Redis or logged.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::StatusCode;
use redis::aio::MultiplexedConnection;

use crate::scim::ScimError;

/// Keys (token digests) kept in process before idle ones are dropped.
const MAX_TRACKED_TOKENS: usize = 10_000;
/// How long connecting to Redis, or one limiter call, may take before the local limit is
/// used instead (a request must never wait long on the limiter).
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);
/// After a Redis failure, the local limit is used for this long before Redis is tried again.
const REDIS_RETRY_AFTER: Duration = Duration::from_secs(1);

/// GCRA in Redis. Arguments: emission interval and tolerance in microseconds, cost, and
/// `1` to charge without checking. Returns `{allowed, microseconds to wait}`.
const GCRA_LUA: &str = r"
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local force = ARGV[4] == '1'
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local first = tat + interval
if (not force) and (first - now > tolerance) then
  return {0, first - now - tolerance}
end
local new_tat = tat + cost * interval
redis.call('SET', KEYS[1], string.format('%.0f', new_tat), 'PX', math.ceil((new_tat - now) / 1000) + 1000)
return {1, 0}
";

/// Sustained rate and burst of one budget.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Quota {
    /// Time one request "costs".
    interval: Duration,
    /// How far ahead of now the budget may be drawn: `burst * interval`.
    tolerance: Duration,
}

impl Quota {
    fn new(per_second: u32, burst: u32) -> Option<Quota> {
        if per_second == 0 {
            return None;
        }
        let burst = burst.clamp(1, per_second);
        let interval = Duration::from_secs(1) / per_second;
        Some(Quota {
            interval,
            tolerance: interval * burst,
        })
    }
}

/// The rate limit settings of one gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    /// Requests per second per token; 0 turns the limit off.
    pub per_second: u32,
    /// Requests at once; 0 or more than `per_second` means `per_second`.
    pub burst: u32,
    /// Gateway replicas sharing the traffic (the in-process limit is each one's share).
    pub replicas: u32,
}

pub struct TokenRateLimiter {
    replicas: u32,
    quota: Option<Quota>,
    local_quota: Option<Quota>,
    local: Mutex<HashMap<[u8; 32], Instant>>,
    redis: Option<Arc<RedisLimiter>>,
}

impl TokenRateLimiter {
    pub fn new(settings: RateLimitSettings, redis_url: Option<&str>) -> Result<Self, String> {
        let replicas = settings.replicas.max(1);
        let burst = if settings.burst == 0 {
            settings.per_second
        } else {
            settings.burst.min(settings.per_second)
        };
        let quota = Quota::new(settings.per_second, burst);
        let local_quota = if settings.per_second == 0 {
            None
        } else {
            Quota::new(
                (settings.per_second / replicas).max(1),
                (burst / replicas).max(1),
            )
        };
        // Redis is kept even when the default is off: a workspace or token may have a limit.
        let redis = match redis_url {
            Some(url) => Some(Arc::new(RedisLimiter::new(url)?)),
            None => None,
        };
        metrics::gauge!("scim_rate_limit_redis_up").set(0.0);
        Ok(TokenRateLimiter {
            replicas,
            quota,
            local_quota,
            local: Mutex::new(HashMap::new()),
            redis,
        })
    }

    /// Counts one request for the token; `429 rate_limited` with the seconds to wait when
    /// the budget is spent.
    #[cfg(test)]
    pub async fn check(&self, token_digest: &[u8; 32]) -> Result<(), ScimError> {
        self.acquire(token_digest, None, 1, false).await
    }

    /// Like [`Self::check`] with the limit set for the token or its workspace (requests per
    /// second, burst), which replaces the gateway's default.
    pub async fn check_limited(
        &self,
        token_digest: &[u8; 32],
        limit: Option<(u32, u32)>,
    ) -> Result<(), ScimError> {
        self.acquire(token_digest, limit, 1, false).await
    }

    /// Charges `cost` more requests without refusing (the operations of an admitted Bulk).
    pub async fn charge_limited(
        &self,
        token_digest: &[u8; 32],
        limit: Option<(u32, u32)>,
        cost: u32,
    ) {
        if cost > 0 {
            let _ = self.acquire(token_digest, limit, cost, true).await;
        }
    }

    /// The shared quota and this replica's share: the token's own limit when one is set,
    /// else the defaults.
    fn quotas(&self, limit: Option<(u32, u32)>) -> (Option<Quota>, Option<Quota>) {
        match limit {
            Some((per_second, burst)) if per_second > 0 => {
                let burst = burst.clamp(1, per_second);
                (
                    Quota::new(per_second, burst),
                    Quota::new(
                        (per_second / self.replicas).max(1),
                        (burst / self.replicas).max(1),
                    ),
                )
            }
            _ => (self.quota, self.local_quota),
        }
    }

    async fn acquire(
        &self,
        digest: &[u8; 32],
        limit: Option<(u32, u32)>,
        cost: u32,
        force: bool,
    ) -> Result<(), ScimError> {
        let (quota, local_quota) = self.quotas(limit);
        let Some(quota) = quota else {
            return Ok(());
        };
        let decision = match &self.redis {
            Some(redis) => redis
                .acquire(digest, quota, cost, force)
                .await
                .map(|decision| ("redis", decision)),
            None => None,
        };
        let (backend, decision) = match decision {
            Some(found) => found,
            None => {
                let local_quota = local_quota.unwrap_or(quota);
                (
                    "local",
                    self.acquire_local(digest, local_quota, cost, force),
                )
            }
        };
        if force {
            return Ok(());
        }
        let outcome = if decision.is_ok() {
            "allowed"
        } else {
            "limited"
        };
        metrics::counter!("scim_rate_limit_decisions_total", "backend" => backend, "outcome" => outcome)
            .increment(1);
        decision.map_err(rate_limited)
    }

    fn acquire_local(
        &self,
        digest: &[u8; 32],
        quota: Quota,
        cost: u32,
        force: bool,
    ) -> Result<(), Duration> {
        let now = Instant::now();
        let mut tats = self.local.lock().unwrap_or_else(|e| e.into_inner());
        if tats.len() >= MAX_TRACKED_TOKENS && !tats.contains_key(digest) {
            tats.retain(|_, tat| *tat > now);
            if tats.len() >= MAX_TRACKED_TOKENS {
                tats.clear();
            }
        }
        let previous = tats.get(digest).copied();
        let (new_tat, decision) = gcra(previous, now, quota, cost, force);
        if let Some(new_tat) = new_tat {
            tats.insert(*digest, new_tat);
        }
        decision
    }
}

/// One GCRA step at `now`: the new arrival time to store (when admitted) and the decision
/// (`Err(wait)` when refused). Admission is judged on one request; `cost` is charged.
fn gcra(
    tat: Option<Instant>,
    now: Instant,
    quota: Quota,
    cost: u32,
    force: bool,
) -> (Option<Instant>, Result<(), Duration>) {
    let tat = tat.filter(|tat| *tat > now).unwrap_or(now);
    let ahead = (tat + quota.interval).duration_since(now);
    if !force && ahead > quota.tolerance {
        return (None, Err(ahead - quota.tolerance));
    }
    (Some(tat + quota.interval * cost), Ok(()))
}

/// 429 with `Retry-After` in whole seconds (Okta honours only integers): rounded up, ≥ 1.
fn rate_limited(wait: Duration) -> ScimError {
    let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let mut err = ScimError::new(
        StatusCode::TOO_MANY_REQUESTS,
        None,
        format!("rate_limited: too many requests for this token, retry after {seconds} s"),
    );
    err.retry_after = Some(seconds);
    err
}

/// The shared budget in Redis; `None` from [`RedisLimiter::acquire`] means "use the local
/// limit" (Redis unreachable, slow or failing).
struct RedisLimiter {
    client: redis::Client,
    script: redis::Script,
    connection: Mutex<Option<MultiplexedConnection>>,
    connecting: AtomicBool,
    retry_at: Mutex<Option<Instant>>,
    up: AtomicBool,
}

impl RedisLimiter {
    fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| format!("invalid --redis-url: {e}"))?;
        Ok(RedisLimiter {
            client,
            script: redis::Script::new(GCRA_LUA),
            connection: Mutex::new(None),
            connecting: AtomicBool::new(false),
            retry_at: Mutex::new(None),
            up: AtomicBool::new(false),
        })
    }

    async fn acquire(
        self: &Arc<Self>,
        digest: &[u8; 32],
        quota: Quota,
        cost: u32,
        force: bool,
    ) -> Option<Result<(), Duration>> {
        let mut connection = self.connection()?;
        let key = format!("scim:ratelimit:{}", hex(&digest[..16]));
        let mut invocation = self.script.key(key);
        invocation
            .arg(quota.interval.as_micros() as u64)
            .arg(quota.tolerance.as_micros() as u64)
            .arg(cost)
            .arg(u8::from(force));
        let answer = tokio::time::timeout(
            REDIS_TIMEOUT,
            invocation.invoke_async::<(i64, i64)>(&mut connection),
        )
        .await;
        match answer {
            Ok(Ok((allowed, wait_micros))) => {
                self.mark_up();
                if allowed == 1 {
                    Some(Ok(()))
                } else {
                    let wait = Duration::from_micros(u64::try_from(wait_micros).unwrap_or(0));
                    Some(Err(wait))
                }
            }
            Ok(Err(e)) => {
                self.mark_down(&e.to_string());
                None
            }
            Err(_) => {
                self.mark_down("timed out");
                None
            }
        }
    }

    /// The connection to use, or `None` (use the local limit) while there is none: a
    /// request never waits for a connection to be made; one is made in the background, at
    /// most one attempt at a time and one per [`REDIS_RETRY_AFTER`] after a failure.
    fn connection(self: &Arc<Self>) -> Option<MultiplexedConnection> {
        if let Some(connection) = self.cached() {
            return Some(connection);
        }
        let now = Instant::now();
        let waiting = self
            .retry_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_some_and(|at| at > now);
        if !waiting && !self.connecting.swap(true, Ordering::AcqRel) {
            let limiter = Arc::clone(self);
            tokio::spawn(async move {
                let connected = tokio::time::timeout(
                    REDIS_TIMEOUT,
                    limiter.client.get_multiplexed_async_connection(),
                )
                .await;
                match connected {
                    Ok(Ok(connection)) => {
                        *limiter.connection.lock().unwrap_or_else(|e| e.into_inner()) =
                            Some(connection);
                    }
                    Ok(Err(e)) => limiter.mark_down(&e.to_string()),
                    Err(_) => limiter.mark_down("connecting timed out"),
                }
                limiter.connecting.store(false, Ordering::Release);
            });
        }
        None
    }

    fn cached(&self) -> Option<MultiplexedConnection> {
        self.connection
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn mark_up(&self) {
        if !self.up.swap(true, Ordering::Relaxed) {
            tracing::info!("rate limit: using the shared budget in Redis");
            metrics::gauge!("scim_rate_limit_redis_up").set(1.0);
        }
    }

    fn mark_down(&self, reason: &str) {
        *self.connection.lock().unwrap_or_else(|e| e.into_inner()) = None;
        *self.retry_at.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(Instant::now() + REDIS_RETRY_AFTER);
        if self.up.swap(false, Ordering::Relaxed) {
            tracing::warn!(
                error = reason,
                "rate limit: Redis unavailable, using this replica's share locally"
            );
        } else {
            tracing::debug!(error = reason, "rate limit: Redis still unavailable");
        }
        metrics::gauge!("scim_rate_limit_redis_up").set(0.0);
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(per_second: u32, burst: u32, replicas: u32) -> RateLimitSettings {
        RateLimitSettings {
            per_second,
            burst,
            replicas,
        }
    }

    #[tokio::test]
    async fn each_token_gets_its_own_budget() {
        let limiter = TokenRateLimiter::new(settings(3, 3, 1), None).unwrap();
        let (a, b) = ([1u8; 32], [2u8; 32]);
        for _ in 0..3 {
            assert!(limiter.check(&a).await.is_ok());
        }
        let refused = limiter.check(&a).await.unwrap_err();
        assert_eq!(refused.status.as_u16(), 429);
        assert_eq!(refused.retry_after, Some(1));
        assert!(
            refused.detail.contains("rate_limited"),
            "{}",
            refused.detail
        );
        assert!(
            limiter.check(&b).await.is_ok(),
            "another token is not affected"
        );
        let off = TokenRateLimiter::new(settings(0, 0, 1), None).unwrap();
        for _ in 0..1000 {
            assert!(off.check(&a).await.is_ok());
        }
    }

    #[tokio::test]
    async fn the_burst_is_at_most_one_seconds_worth() {
        let limiter = TokenRateLimiter::new(settings(2, 10, 1), None).unwrap();
        let b = [2u8; 32];
        for i in 0..2 {
            assert!(limiter.check(&b).await.is_ok(), "burst request {i}");
        }
        assert!(limiter.check(&b).await.is_err());
    }

    #[tokio::test]
    async fn replicas_share_the_rate() {
        let limiter = TokenRateLimiter::new(settings(10, 10, 2), None).unwrap();
        let a = [1u8; 32];
        for i in 0..5 {
            assert!(limiter.check(&a).await.is_ok(), "request {i}");
        }
        assert!(limiter.check(&a).await.is_err(), "half of 10 per replica");
        // a limit set for the token (or its workspace) replaces the default, shared the same way
        let c = [9u8; 32];
        for i in 0..2 {
            assert!(
                limiter.check_limited(&c, Some((4, 4))).await.is_ok(),
                "request {i}"
            );
        }
        assert!(
            limiter.check_limited(&c, Some((4, 4))).await.is_err(),
            "half of 4 per replica"
        );
    }

    #[tokio::test]
    async fn a_bulk_is_charged_per_operation() {
        let limiter = TokenRateLimiter::new(settings(10, 10, 1), None).unwrap();
        let a = [1u8; 32];
        assert!(limiter.check(&a).await.is_ok());
        limiter.charge_limited(&a, None, 29).await;
        let refused = limiter.check(&a).await.unwrap_err();
        // 30 requests' worth at 10/s with a burst of 10: 2.1 s to wait, rounded up.
        assert_eq!(refused.retry_after, Some(3));
    }

    #[test]
    fn gcra_admits_the_rate_over_time() {
        let quota = Quota::new(100, 10).unwrap();
        let start = Instant::now();
        let mut tat = None;
        let mut admitted = 0;
        // 150 requests per second for 5 s, evenly spaced.
        for i in 0..750u32 {
            let now = start + Duration::from_secs(5) * i / 750;
            let (new_tat, decision) = gcra(tat, now, quota, 1, false);
            if decision.is_ok() {
                admitted += 1;
                tat = new_tat;
            }
        }
        assert!((500..=511).contains(&admitted), "{admitted}");
    }

    #[tokio::test]
    async fn redis_down_falls_back_to_the_local_share() {
        // A port nothing listens on: connecting fails fast, the local share applies.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let url = format!("redis://127.0.0.1:{port}");
        let limiter = TokenRateLimiter::new(settings(4, 4, 2), Some(&url)).unwrap();
        let a = [1u8; 32];
        let started = Instant::now();
        assert!(limiter.check(&a).await.is_ok());
        assert!(limiter.check(&a).await.is_ok());
        assert!(limiter.check(&a).await.is_err());
        assert!(
            started.elapsed() < REDIS_TIMEOUT,
            "requests never wait for Redis to connect"
        );
        assert!(TokenRateLimiter::new(settings(4, 4, 1), Some("not a url")).is_err());
    }
}

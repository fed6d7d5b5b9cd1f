//! Bearer authentication: `Authorization: Bearer <token>` → `AuthenticateToken` → workspace.
//!
//! Successful answers are cached for `cache_for_millis` — the directory owns that bound
//! (at most 5 s, less when the token expires sooner) — or less when the operator set a
//! lower `--token-cache-ttl-ms`, keyed by
//! the SHA-256 of the token: the token itself is never stored or logged. Failures are
//! remembered briefly and limited per client address in `auth_limit.rs`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use directory_proto::v1::AuthenticateTokenRequest;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use sha2::{Digest, Sha256};
use tonic::Code;

use crate::directory::DirectoryClient;
use crate::http::directory_error;
use crate::scim::ScimError;

/// The proxies whose `X-Forwarded-For` is believed (`--trusted-proxies`), set once at
/// start-up; unset: none.
pub static TRUSTED_PROXIES: std::sync::OnceLock<Vec<ipnet::IpNet>> = std::sync::OnceLock::new();

tokio::task_local! {
    /// The socket peer of the connection being served (set around each connection).
    pub static PEER_ADDR: std::net::IpAddr;
}

/// The client's address: the socket peer, or — only when the peer is a trusted proxy —
/// the rightmost `X-Forwarded-For` entry that is not a trusted proxy.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: &HeaderMap,
    trusted: &[ipnet::IpNet],
) -> std::net::IpAddr {
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map_while(|entry| entry.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

/// The one client address of a request, for IP allow-lists and for failed-authentication
/// limiting alike: [`client_address`] of the socket peer with the `--trusted-proxies`.
/// `peer` defaults to the connection being served (None outside one).
pub fn request_client_address(
    peer: Option<std::net::IpAddr>,
    headers: &HeaderMap,
) -> Option<std::net::IpAddr> {
    let peer = peer.or_else(|| PEER_ADDR.try_with(|peer| *peer).ok())?;
    let trusted = TRUSTED_PROXIES.get().map(Vec::as_slice).unwrap_or_default();
    Some(client_address(peer, headers, trusted))
}

/// The key of an authentication answer: the SHA-256 of the token and the client address
/// (a token's or workspace's IP allow-list makes the answer depend on both).
pub fn answer_digest(token: &str, client: Option<std::net::IpAddr>) -> TokenDigest {
    let client_text = client.map(|ip| ip.to_string()).unwrap_or_default();
    digest(&format!("{token}\n{client_text}"))
}

/// Entries kept at most; beyond it expired entries are purged, then the cache is cleared.
const CACHE_CAPACITY: usize = 10_000;

pub type TokenDigest = [u8; 32];

pub struct TokenCache {
    ttl: Duration,
    entries: Mutex<HashMap<TokenDigest, CachedWorkspace>>,
    /// Token ids revoked recently (until when they are remembered): an authentication
    /// answered just before the revocation must not re-enter the cache after the eviction.
    revoked: Mutex<HashMap<String, Instant>>,
    /// The rate limit the directory named for a token (requests per second, burst), set
    /// for the token or its workspace; refreshed with every authentication answer.
    limits: Mutex<HashMap<TokenDigest, (u32, u32)>>,
}

/// How long a revoked token id is remembered (longer than any cache entry lives).
const REVOKED_MEMORY: Duration = Duration::from_secs(30);

struct CachedWorkspace {
    workspace_id: String,
    token_id: String,
    expires_at: Instant,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        TokenCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
            revoked: Mutex::new(HashMap::new()),
            limits: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets every cached authentication of `token_id` at once (the directory's
    /// revocation feed calls this); its next request asks the directory again.
    pub fn evict_token(&self, token_id: &str, now: Instant) {
        {
            let mut revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
            revoked.retain(|_, until| *until > now);
            revoked.insert(token_id.to_owned(), now + REVOKED_MEMORY);
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.retain(|_, entry| entry.token_id != token_id);
    }

    fn recently_revoked(&self, token_id: &str, now: Instant) -> bool {
        let revoked = self.revoked.lock().unwrap_or_else(|e| e.into_inner());
        revoked.get(token_id).is_some_and(|until| *until > now)
    }

    /// The rate limit set for this token (or its workspace), when there is one.
    pub fn limit_of(&self, digest: &TokenDigest) -> Option<(u32, u32)> {
        let limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        limits.get(digest).copied()
    }

    fn set_limit(&self, digest: TokenDigest, per_second: u32, burst: u32) {
        let mut limits = self.limits.lock().unwrap_or_else(|e| e.into_inner());
        if per_second == 0 {
            limits.remove(&digest);
            return;
        }
        if limits.len() >= CACHE_CAPACITY && !limits.contains_key(&digest) {
            limits.clear();
        }
        limits.insert(digest, (per_second, burst));
    }

    /// Whether an unexpired answer for this token is cached (it needs no directory call).
    pub fn holds(&self, digest: &TokenDigest, now: Instant) -> bool {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(digest)
            .is_some_and(|entry| entry.expires_at > now)
    }

    fn get(&self, digest: &TokenDigest, now: Instant) -> Option<(String, String)> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(digest) {
            Some(entry) if entry.expires_at > now => {
                Some((entry.workspace_id.clone(), entry.token_id.clone()))
            }
            Some(_) => {
                entries.remove(digest);
                None
            }
            None => None,
        }
    }

    fn insert(
        &self,
        digest: TokenDigest,
        (workspace_id, token_id): (String, String),
        cache_for: Duration,
        now: Instant,
    ) {
        let ttl = self.ttl.min(cache_for);
        if self.recently_revoked(&token_id, now) {
            return;
        }
        let Some(expires_at) = now.checked_add(ttl).filter(|_| !ttl.is_zero()) else {
            return;
        };
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CACHE_CAPACITY && !entries.contains_key(&digest) {
            entries.retain(|_, entry| entry.expires_at > now);
            if entries.len() >= CACHE_CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            digest,
            CachedWorkspace {
                workspace_id,
                token_id,
                expires_at,
            },
        );
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().unwrap().len()
    }
}

pub fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub(crate) fn unauthorized() -> ScimError {
    ScimError::unauthorized("a valid bearer token is required")
}

/// Resolves the request's workspace, or the SCIM error to answer (401 for any token
/// problem; 503/500 when the directory cannot answer).
pub async fn authenticate(
    cache: &TokenCache,
    directory: &DirectoryClient,
    headers: &HeaderMap,
) -> Result<String, ScimError> {
    let token = bearer_token(headers).ok_or_else(unauthorized)?;
    // Cached per token and client address: IP allow-lists (the token's, its workspace's)
    // are checked by the directory, so an answer for one address says nothing about
    // another.
    let client = request_client_address(None, headers);
    let client_text = client.map(|ip| ip.to_string()).unwrap_or_default();
    let answer_key = answer_digest(token, client);
    if let Some((workspace_id, token_id)) = cache.get(&answer_key, Instant::now()) {
        crate::directory::set_actor_token(&token_id);
        return Ok(workspace_id);
    }
    let answer = directory
        .clone()
        .tokens()
        .authenticate_token(AuthenticateTokenRequest {
            token: token.to_owned(),
            client_address: client_text,
        })
        .await;
    match answer {
        Ok(response) => {
            let response = response.into_inner();
            if response.workspace_id.is_empty() {
                return Err(unauthorized());
            }
            let cache_for =
                Duration::from_millis(u64::try_from(response.cache_for_millis).unwrap_or(0));
            // The limit is the token's wherever it is used from: keyed by the token alone
            // (the rate limiter looks it up by `digest(token)`).
            cache.set_limit(
                digest(token),
                response.rate_limit_per_second,
                response.rate_limit_burst,
            );
            cache.insert(
                answer_key,
                (response.workspace_id.clone(), response.token_id.clone()),
                cache_for,
                Instant::now(),
            );
            crate::directory::set_actor_token(&response.token_id);
            Ok(response.workspace_id)
        }
        // A token the directory does not accept.
        Err(status) if matches!(status.code(), Code::InvalidArgument | Code::NotFound) => {
            Err(unauthorized())
        }
        Err(status) => {
            // UNAUTHENTICATED with the directory's ErrorInfo maps to 401: the token. Without
            // it, the directory refused *our* service credential: a 500, logged.
            let err = directory_error(&status);
            if err.status == http::StatusCode::UNAUTHORIZED {
                Err(unauthorized())
            } else {
                Err(err)
            }
        }
    }
}

/// Follows the directory's revocation feed and evicts revoked tokens from the cache at once;
/// reconnects after a second when the stream breaks (the cache bound is the fallback).
pub async fn follow_revocations(
    state: std::sync::Arc<super::AppState>,
    mut events: crate::directory::EventsClient,
) {
    loop {
        let stream = events
            .watch_revoked_tokens(directory_proto::v1::WatchRevokedTokensRequest {})
            .await;
        if let Ok(stream) = stream {
            let mut stream = stream.into_inner();
            while let Ok(Some(revoked)) = stream.message().await {
                state.tokens.evict_token(&revoked.token_id, Instant::now());
                tracing::info!(token_id = %revoked.token_id, "revoked token evicted from the cache");
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn parses_bearer_header() {
        let table: &[(Option<&str>, Option<&str>)] = &[
            (Some("Bearer abc"), Some("abc")),
            (Some("bearer  abc "), Some("abc")),
            (Some("BEARER abc"), Some("abc")),
            (Some("Bearer "), None),
            (Some("Bearer"), None),
            (Some("Basic dXNlcjpwYXNz"), None),
            (Some("non-token"), None),
            (None, None),
        ];
        for (header, want) in table {
            let mut headers = HeaderMap::new();
            if let Some(h) = header {
                headers.insert(AUTHORIZATION, HeaderValue::from_str(h).unwrap());
            }
            assert_eq!(bearer_token(&headers), *want, "{header:?}");
        }
    }

    #[test]
    fn cache_respects_ttl_and_cache_for_and_keys_by_digest() {
        let cache = TokenCache::new(Duration::from_millis(5000));
        let now = Instant::now();
        let d = digest("scim_secret");
        assert_ne!(&d[..], b"scim_secret".as_slice());
        cache.insert(
            d,
            ("w1".into(), "t1".into()),
            Duration::from_millis(100),
            now,
        );
        assert_eq!(
            cache.get(&d, now + Duration::from_millis(50)),
            Some(("w1".into(), "t1".into()))
        );
        assert_eq!(cache.get(&d, now + Duration::from_millis(150)), None);
        assert_eq!(cache.len(), 0, "expired entry is evicted on read");

        cache.insert(d, ("w1".into(), "t1".into()), Duration::from_secs(60), now);
        assert_eq!(
            cache.get(&d, now + Duration::from_millis(4900)),
            Some(("w1".into(), "t1".into()))
        );
        assert_eq!(cache.get(&d, now + Duration::from_millis(5001)), None);

        cache.insert(d, ("w1".into(), "t1".into()), Duration::ZERO, now);
        assert_eq!(cache.get(&d, now), None, "cache_for 0 is not cached");
    }

    #[test]
    fn without_a_local_cap_the_directory_answer_bounds_the_entry() {
        let cache = TokenCache::new(Duration::MAX);
        let now = Instant::now();
        let d = digest("scim_secret");
        cache.insert(
            d,
            ("w1".into(), "t1".into()),
            Duration::from_millis(5000),
            now,
        );
        assert_eq!(
            cache.get(&d, now + Duration::from_millis(4900)),
            Some(("w1".into(), "t1".into()))
        );
        assert_eq!(cache.get(&d, now + Duration::from_millis(5001)), None);
        // an answer too large for the clock is not cached rather than overflowing
        cache.insert(d, ("w1".into(), "t1".into()), Duration::MAX, now);
        assert_eq!(cache.get(&d, now), None);
    }

    #[test]
    fn revoked_tokens_are_evicted_and_not_cached_again() {
        let cache = TokenCache::new(Duration::from_secs(5));
        let now = Instant::now();
        let (a, b) = (digest("scim_a"), digest("scim_b"));
        cache.insert(a, ("w".into(), "ta".into()), Duration::from_secs(5), now);
        cache.insert(b, ("w".into(), "tb".into()), Duration::from_secs(5), now);
        cache.evict_token("ta", now);
        assert_eq!(cache.get(&a, now), None);
        assert_eq!(cache.get(&b, now), Some(("w".into(), "tb".into())));
        // An answer from just before the revocation does not re-enter the cache.
        cache.insert(a, ("w".into(), "ta".into()), Duration::from_secs(5), now);
        assert_eq!(cache.get(&a, now), None);
    }

    #[test]
    fn the_client_address_comes_from_forwarded_for_only_behind_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let headers = |xff: &[&str]| {
            let mut map = HeaderMap::new();
            for value in xff {
                map.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
            }
            map
        };
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let table: &[(&str, &[&str], &str)] = &[
            // untrusted peer: XFF ignored (a client cannot claim an address)
            ("198.51.100.1", &["203.0.113.9"], "198.51.100.1"),
            // trusted peer: the rightmost untrusted entry
            ("10.0.0.5", &["203.0.113.9"], "203.0.113.9"),
            (
                "10.0.0.5",
                &["1.2.3.4, 203.0.113.9, 10.0.0.7"],
                "203.0.113.9",
            ),
            ("10.0.0.5", &["1.2.3.4", "203.0.113.9"], "203.0.113.9"),
            // only proxies: the leftmost; none: the peer
            ("10.0.0.5", &["10.1.1.1, 10.2.2.2"], "10.1.1.1"),
            ("10.0.0.5", &[], "10.0.0.5"),
        ];
        for (peer, xff, want) in table {
            assert_eq!(
                client_address(ip(peer), &headers(xff), &trusted),
                ip(want),
                "{peer} {xff:?}"
            );
        }
    }

    #[test]
    fn cache_is_bounded() {
        let cache = TokenCache::new(Duration::from_secs(5));
        let now = Instant::now();
        for i in 0..(CACHE_CAPACITY + 10) {
            cache.insert(
                digest(&i.to_string()),
                ("w".into(), "t".into()),
                Duration::from_secs(5),
                now,
            );
        }
        assert!(cache.len() <= CACHE_CAPACITY);
    }
}

//! Webhook rules: Standard Webhooks signing (so its published verifiers work unchanged),
//! secrets, endpoint validation, the retry schedule, and which addresses are refused.

use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rand::Rng as _;
use sha2::Sha256;

use super::events::EventType;
use super::{DomainError, DomainResult};

pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh secret: `whsec_` + base64 of 32 random bytes. Shown once, when created.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the base64
/// part of the `whsec_` secret, decoded.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> DomainResult<String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| DomainError::InvalidValue("the webhook secret is not base64".into()))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| DomainError::InvalidValue("the webhook secret is empty".into()))?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The longest URL we keep.
const MAX_URL_LEN: usize = 2048;

/// An endpoint as configured: an absolute http(s) URL and the event types it wants
/// (empty: every type).
pub fn validate_endpoint(url: &str, event_types: &[String]) -> DomainResult<()> {
    let invalid = |m: &str| Err(DomainError::InvalidValue(m.into()));
    if url.len() > MAX_URL_LEN {
        return invalid("the webhook URL is too long");
    }
    let Ok(uri) = url.parse::<http::Uri>() else {
        return invalid("the webhook URL is not a valid URL");
    };
    if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
        return invalid("the webhook URL must be an absolute http or https URL");
    }
    for name in event_types {
        if EventType::parse(name).is_none() {
            return Err(DomainError::InvalidValue(format!(
                "unknown event type {name:?}"
            )));
        }
    }
    Ok(())
}

/// Whether an endpoint subscribed to `types` receives an event of `event_type`.
pub fn wants(types: &[String], event_type: &str) -> bool {
    types.is_empty() || types.iter().any(|t| t == event_type)
}

/// Loopback, private, link-local, unique-local, unspecified, multicast, broadcast and the
/// cloud metadata range: addresses a webhook must not reach (SSRF) unless allowed.
pub fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)) // carrier-grade NAT
                || (a == 198 && (b == 18 || b == 19)) // benchmarking
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local
                || (first & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// Retries stop (the endpoint is marked failed) once the first failure is this old.
pub fn give_up_after() -> Duration {
    Duration::hours(26)
}

/// The first retry's wait in production.
pub const RETRY_BASE: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest wait between two attempts.
const RETRY_CAP_MS: u64 = 3_600_000;

/// The wait before attempt `attempt + 1` after `attempt` consecutive failures: exponential
/// from `base` (5 s in production), capped at 1 h, with ±20 % jitter. With the 26 h limit
/// that is ~35 attempts.
pub fn backoff(attempt: u32, base: std::time::Duration) -> Duration {
    let base_ms = (base.as_millis() as u64).max(1);
    let wait_ms = base_ms.saturating_mul(1u64 << attempt.saturating_sub(1).min(30));
    let capped = wait_ms.min(RETRY_CAP_MS) as f64;
    let jitter = rand::rng().random_range(0.8..1.2);
    Duration::milliseconds((capped * jitter) as i64)
}

/// Whether the endpoint has failed long enough to stop retrying.
pub fn exhausted(failing_since: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now - failing_since >= give_up_after()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_reference() {
        // The test vector of the Standard Webhooks specification's reference libraries.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, id, 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        assert!(new_secret().starts_with(SECRET_PREFIX));
        assert_ne!(new_secret(), new_secret());
    }

    #[test]
    fn endpoints_are_validated() {
        assert!(validate_endpoint("https://hooks.example.com/x", &[]).is_ok());
        assert!(validate_endpoint("ftp://x", &[]).is_err());
        assert!(validate_endpoint("/relative", &[]).is_err());
        assert!(validate_endpoint("not a url", &[]).is_err());
        assert!(validate_endpoint("https://x.example", &["scimUser.provisioned".into()]).is_ok());
        assert!(validate_endpoint("https://x.example", &["nope".into()]).is_err());
        assert!(wants(&[], "anything"));
        assert!(!wants(&["a".into()], "b"));
    }

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_private(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            assert!(!is_private(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_spans_a_day() {
        assert!(backoff(1, RETRY_BASE) <= Duration::seconds(6));
        assert!(backoff(3, RETRY_BASE) >= Duration::seconds(16));
        assert!(backoff(30, RETRY_BASE) <= Duration::minutes(72));
        assert!(backoff(64, RETRY_BASE) <= Duration::minutes(72));
        let mut total = Duration::zero();
        let mut attempt = 1;
        while total < give_up_after() {
            total += backoff(attempt, RETRY_BASE);
            attempt += 1;
        }
        assert!(attempt > 20, "{attempt} attempts before giving up");
        assert!(give_up_after() >= Duration::hours(24));
    }
}

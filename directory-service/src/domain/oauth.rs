//! OAuth 2.0 client credentials (RFC 6749 §4.4): client ids, secrets, access token
//! lifetimes. An access token is a SCIM token (`tokens`) issued to a client.

use chrono::{DateTime, Duration, Utc};

use super::tokens::{hash_token, random_chars};
use super::{DomainError, DomainResult};

const CLIENT_ID_SCHEME: &str = "oc_";
const SECRET_SCHEME: &str = "ocs_";
const LOOKUP_LEN: usize = 12;
const SECRET_LEN: usize = 52;

/// The access token lifetimes an operator may configure (60 minutes to 6 hours).
pub const MIN_ACCESS_TOKEN_LIFETIME: Duration = Duration::minutes(60);
pub const MAX_ACCESS_TOKEN_LIFETIME: Duration = Duration::hours(6);

pub fn mint_client_id() -> String {
    format!("{CLIENT_ID_SCHEME}{}", random_chars(24))
}

pub struct MintedSecret {
    pub prefix: String,
    pub secret: String,
    pub secret_hash: String,
}

pub fn mint_client_secret() -> MintedSecret {
    let prefix = format!("{SECRET_SCHEME}{}", random_chars(LOOKUP_LEN));
    let secret = format!("{prefix}_{}", random_chars(SECRET_LEN));
    let secret_hash = hash_token(&secret);
    MintedSecret {
        prefix,
        secret,
        secret_hash,
    }
}

/// The lookup prefix of a presented client secret, or None when it cannot be one of ours.
pub fn secret_prefix_of(presented: &str) -> Option<&str> {
    let prefix_len = SECRET_SCHEME.len() + LOOKUP_LEN;
    let well_formed = presented.len() == prefix_len + 1 + SECRET_LEN
        && presented.starts_with(SECRET_SCHEME)
        && presented.as_bytes()[prefix_len] == b'_';
    well_formed.then(|| &presented[..prefix_len])
}

pub fn validate_lifetime(seconds: i64) -> DomainResult<Duration> {
    let lifetime = Duration::seconds(seconds);
    if lifetime < MIN_ACCESS_TOKEN_LIFETIME || lifetime > MAX_ACCESS_TOKEN_LIFETIME {
        return Err(DomainError::InvalidValue(
            "the access token lifetime must be between 3600 and 21600 seconds".into(),
        ));
    }
    Ok(lifetime)
}

/// When an access token issued now expires: after its lifetime, never after its client.
pub fn access_token_expiry(
    lifetime: Duration,
    client_expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    let end = now + lifetime;
    client_expires_at.map_or(end, |at| at.min(end))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tokens::hash_matches;

    #[test]
    fn secrets_parse_back_and_verify() {
        let minted = mint_client_secret();
        assert_eq!(
            secret_prefix_of(&minted.secret),
            Some(minted.prefix.as_str())
        );
        assert!(hash_matches(&minted.secret, &minted.secret_hash));
        assert_eq!(secret_prefix_of("ocs_short"), None);
        assert!(mint_client_id().starts_with("oc_"));
    }

    #[test]
    fn lifetimes_are_bounded_and_never_outlive_the_client() {
        assert!(validate_lifetime(3599).is_err());
        assert!(validate_lifetime(21_601).is_err());
        assert_eq!(validate_lifetime(3600).unwrap(), Duration::hours(1));
        let now = Utc::now();
        let soon = now + Duration::seconds(5);
        assert_eq!(
            access_token_expiry(Duration::hours(1), Some(soon), now),
            soon
        );
        assert_eq!(
            access_token_expiry(Duration::hours(1), None, now),
            now + Duration::hours(1)
        );
    }
}

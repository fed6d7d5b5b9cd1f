//! SCIM bearer tokens: `scim_<12-char lookup>_<52-char secret>`.
//!
//! The lookup part is public (stored and listed as the token's prefix, unique) and finds the
//! row; the whole token is verified against a SHA-256 hash. A slow password hash would add
//! nothing: the secret is 52 random Crockford base32 characters (260 bits), so it cannot be
//! guessed or brute-forced from its hash.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{DomainError, DomainResult};

const SCHEME: &str = "scim_";
const LOOKUP_LEN: usize = 12;
const SECRET_LEN: usize = 52;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How long the gateway may cache a positive authentication (the bound: a revoked
/// token must stop working within 5 s).
pub const MAX_AUTH_CACHE: Duration = Duration::seconds(5);

/// A freshly minted token. `plaintext` is shown once and never stored.
pub struct MintedToken {
    pub prefix: String,
    pub plaintext: String,
    pub secret_hash: String,
}

/// `n` random Crockford base32 characters (5 bits each).
pub fn random_chars(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn mint_token() -> MintedToken {
    let prefix = format!("{SCHEME}{}", random_chars(LOOKUP_LEN));
    let plaintext = format!("{prefix}_{}", random_chars(SECRET_LEN));
    let secret_hash = hash_token(&plaintext);
    MintedToken {
        prefix,
        plaintext,
        secret_hash,
    }
}

/// The lookup prefix of a presented token, or None when it cannot be one of ours.
pub fn prefix_of(presented: &str) -> Option<&str> {
    let prefix_len = SCHEME.len() + LOOKUP_LEN;
    let well_formed = presented.len() == prefix_len + 1 + SECRET_LEN
        && presented.starts_with(SCHEME)
        && presented.as_bytes()[prefix_len] == b'_';
    well_formed.then(|| &presented[..prefix_len])
}

pub fn hash_token(plaintext: &str) -> String {
    let digest = Sha256::digest(plaintext.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn hash_matches(presented: &str, stored_hash: &str) -> bool {
    hash_token(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

pub fn validate_token_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::InvalidValue(
            "token name must be 1-200 characters".into(),
        ));
    }
    Ok(name.to_owned())
}

pub fn validate_expiry(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DomainResult<()> {
    match expires {
        Some(at) if at <= now => Err(DomainError::InvalidValue(
            "token expiry must be in the future".into(),
        )),
        _ => Ok(()),
    }
}

/// Whether a stored token may authenticate at `now`.
pub fn is_usable(
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    revoked_at.is_none() && expires_at.is_none_or(|at| at > now)
}

/// How long a positive answer may be cached: at most `MAX_AUTH_CACHE`, never past expiry.
pub fn auth_cache_duration(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Duration {
    match expires_at {
        Some(at) => (at - now).clamp(Duration::zero(), MAX_AUTH_CACHE),
        None => MAX_AUTH_CACHE,
    }
}

/// What a token may do at the gateway. Checked by the directory on every SCIM RPC the
/// gateway makes for the token (`grpc::access`), so a Bulk is checked per operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenScope {
    Full,
    ReadOnly,
    UsersOnly,
    GroupsOnly,
}

/// The resource a SCIM RPC reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopedResource {
    Users,
    Groups,
}

impl TokenScope {
    pub const ALL: [TokenScope; 4] = [
        TokenScope::Full,
        TokenScope::ReadOnly,
        TokenScope::UsersOnly,
        TokenScope::GroupsOnly,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Full => "full",
            TokenScope::ReadOnly => "read-only",
            TokenScope::UsersOnly => "users-only",
            TokenScope::GroupsOnly => "groups-only",
        }
    }

    pub fn parse(text: &str) -> DomainResult<TokenScope> {
        TokenScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == text)
            .ok_or_else(|| {
                DomainError::InvalidValue(format!(
                    "token scope must be full, read-only, users-only or groups-only (got {text:?})"
                ))
            })
    }

    pub fn allows(self, resource: ScopedResource, write: bool) -> bool {
        match self {
            TokenScope::Full => true,
            TokenScope::ReadOnly => !write,
            TokenScope::UsersOnly => resource == ScopedResource::Users,
            TokenScope::GroupsOnly => resource == ScopedResource::Groups,
        }
    }
}

/// A token's IP allow-list: the CIDRs it may be used from. A bare address is a /32 (/128).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllowList(Vec<ipnet::IpNet>);

impl AllowList {
    /// Parses the CIDRs an operator gave; None when the list is empty (any address).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> DomainResult<Option<AllowList>> {
        let mut nets = Vec::new();
        for entry in entries {
            let text = entry.as_ref().trim();
            if text.is_empty() {
                continue;
            }
            let net = text
                .parse::<ipnet::IpNet>()
                .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    DomainError::InvalidValue(format!(
                        "{text:?} is not a CIDR (e.g. 203.0.113.0/24) or an IP address"
                    ))
                })?;
            nets.push(net.trunc());
        }
        if nets.len() > 100 {
            return Err(DomainError::InvalidValue(
                "an allow-list holds at most 100 CIDRs".into(),
            ));
        }
        Ok((!nets.is_empty()).then_some(AllowList(nets)))
    }

    /// The stored form: comma-separated.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn from_stored(stored: &str) -> DomainResult<Option<AllowList>> {
        AllowList::parse(&stored.split(',').collect::<Vec<_>>())
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }

    /// Whether `client` may use the token; an unknown client address never may.
    pub fn allows(&self, client: Option<std::net::IpAddr>) -> bool {
        let Some(client) = client else { return false };
        // An IPv4 client seen through an IPv6 socket (::ffff:a.b.c.d) is that IPv4 address.
        let client = match client {
            std::net::IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(client, std::net::IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|net| net.contains(&client))
    }
}

/// The longest rotation overlap.
pub const MAX_ROTATION_OVERLAP: Duration = Duration::days(30);

/// When a rotated token stops: after the overlap, never later than its own expiry.
pub fn rotation_end(
    expires_at: Option<DateTime<Utc>>,
    overlap_seconds: i64,
    now: DateTime<Utc>,
) -> DomainResult<DateTime<Utc>> {
    if overlap_seconds < 0 || overlap_seconds > MAX_ROTATION_OVERLAP.num_seconds() {
        return Err(DomainError::InvalidValue(
            "the rotation overlap must be between 0 s and 30 days".into(),
        ));
    }
    let end = now + Duration::seconds(overlap_seconds);
    Ok(expires_at.map_or(end, |at| at.min(end)))
}

/// `last_used_at` is refreshed at most this often, so authentication is not a write per
/// request.
pub const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_back_and_verify() {
        let minted = mint_token();
        assert_eq!(minted.plaintext.len(), 5 + 12 + 1 + 52);
        assert_eq!(prefix_of(&minted.plaintext), Some(minted.prefix.as_str()));
        assert!(hash_matches(&minted.plaintext, &minted.secret_hash));
        let mut tampered = minted.plaintext.clone();
        tampered.pop();
        tampered.push('!');
        assert!(!hash_matches(&tampered, &minted.secret_hash));
        assert_ne!(mint_token().plaintext, minted.plaintext);
    }

    #[test]
    fn foreign_strings_have_no_prefix() {
        for s in [
            "",
            "scim_",
            "Bearer x",
            "scim_ABCDEFGHJKMN",
            &"x".repeat(70),
        ] {
            assert_eq!(prefix_of(s), None, "{s:?}");
        }
    }

    #[test]
    fn scopes_allow_what_they_name() {
        use ScopedResource::{Groups, Users};
        let table = [
            (TokenScope::Full, [true, true, true, true]),
            (TokenScope::ReadOnly, [true, false, true, false]),
            (TokenScope::UsersOnly, [true, true, false, false]),
            (TokenScope::GroupsOnly, [false, false, true, true]),
        ];
        for (scope, [user_read, user_write, group_read, group_write]) in table {
            assert_eq!(scope.allows(Users, false), user_read, "{scope:?}");
            assert_eq!(scope.allows(Users, true), user_write, "{scope:?}");
            assert_eq!(scope.allows(Groups, false), group_read, "{scope:?}");
            assert_eq!(scope.allows(Groups, true), group_write, "{scope:?}");
            assert_eq!(TokenScope::parse(scope.as_str()).unwrap(), scope);
        }
        assert!(TokenScope::parse("admin").is_err());
    }

    #[test]
    fn allow_lists_parse_match_and_refuse_unknown_clients() {
        let list = AllowList::parse(&["203.0.113.0/24", " 2001:db8::/32", "198.51.100.7"])
            .unwrap()
            .unwrap();
        assert_eq!(
            list.to_stored(),
            "203.0.113.0/24,2001:db8::/32,198.51.100.7/32"
        );
        assert_eq!(
            AllowList::from_stored(&list.to_stored()).unwrap(),
            Some(list.clone())
        );
        for (ip, allowed) in [
            ("203.0.113.9", true),
            ("203.0.114.1", false),
            ("198.51.100.7", true),
            ("198.51.100.8", false),
            ("2001:db8::1", true),
            ("::ffff:203.0.113.9", true),
            ("127.0.0.1", false),
        ] {
            assert_eq!(list.allows(Some(ip.parse().unwrap())), allowed, "{ip}");
        }
        assert!(!list.allows(None));
        assert_eq!(AllowList::parse::<&str>(&[]).unwrap(), None);
        assert!(AllowList::parse(&["10.0.0.0/33"]).is_err());
        assert!(AllowList::parse(&["example.com"]).is_err());
    }

    #[test]
    fn rotation_never_extends_a_token() {
        let now = Utc::now();
        assert_eq!(
            rotation_end(None, 60, now).unwrap(),
            now + Duration::seconds(60)
        );
        let soon = now + Duration::seconds(10);
        assert_eq!(rotation_end(Some(soon), 60, now).unwrap(), soon);
        assert!(rotation_end(None, -1, now).is_err());
        assert!(rotation_end(None, 31 * 86_400, now).is_err());
    }

    #[test]
    fn usability_and_cache_bounds() {
        let now = Utc::now();
        assert!(is_usable(None, None, now));
        assert!(!is_usable(Some(now), None, now));
        assert!(!is_usable(None, Some(now), now));
        assert!(is_usable(None, Some(now + Duration::seconds(1)), now));
        assert_eq!(auth_cache_duration(None, now), MAX_AUTH_CACHE);
        assert_eq!(
            auth_cache_duration(Some(now + Duration::seconds(2)), now),
            Duration::seconds(2)
        );
        assert_eq!(
            auth_cache_duration(Some(now + Duration::hours(2)), now),
            MAX_AUTH_CACHE
        );
    }
}

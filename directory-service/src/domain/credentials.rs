//! Service credentials: who may call which directory RPC.
//!
//! A credential is `dsc_<12-char lookup>_<52-char secret>`, stored as the lookup prefix and
//! a SHA-256 of the whole (260 random bits: a slow hash would add nothing, see `tokens`).
//! Each has one `Role`; the bootstrap credential from configuration is `Admin`.

use chrono::Duration;

use super::tokens::{hash_token, random_chars};
use super::{DomainError, DomainResult};

const SCHEME: &str = "dsc_";
const LOOKUP_LEN: usize = 12;
const SECRET_LEN: usize = 52;

/// How long a replica may keep using a credential check: a revoked credential stops
/// within this bound on every replica.
pub const MAX_CREDENTIAL_CACHE: Duration = Duration::seconds(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The SCIM gateway: token authentication, SCIM reads and writes of users and groups.
    Gateway,
    /// Internal services: read-only RPCs.
    Reader,
    /// Everything.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Gateway, Role::Reader, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Gateway => "gateway",
            Role::Reader => "reader",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> DomainResult<Role> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| {
                DomainError::InvalidValue(format!(
                    "credential role must be one of gateway, reader, admin (got {text:?})"
                ))
            })
    }
}

pub struct MintedCredential {
    pub prefix: String,
    pub secret: String,
    pub secret_hash: String,
}

pub fn mint_credential() -> MintedCredential {
    let prefix = format!("{SCHEME}{}", random_chars(LOOKUP_LEN));
    let secret = format!("{prefix}_{}", random_chars(SECRET_LEN));
    let secret_hash = hash_token(&secret);
    MintedCredential {
        prefix,
        secret,
        secret_hash,
    }
}

/// The lookup prefix of a presented credential, or None when it cannot be one of ours.
pub fn prefix_of(presented: &str) -> Option<&str> {
    let prefix_len = SCHEME.len() + LOOKUP_LEN;
    let well_formed = presented.len() == prefix_len + 1 + SECRET_LEN
        && presented.starts_with(SCHEME)
        && presented.as_bytes()[prefix_len] == b'_';
    well_formed.then(|| &presented[..prefix_len])
}

pub fn validate_credential_name(name: &str) -> DomainResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(DomainError::InvalidValue(
            "credential name must be 1-200 characters".into(),
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::tokens::hash_matches;

    #[test]
    fn minted_credentials_parse_back_and_verify() {
        let minted = mint_credential();
        assert_eq!(prefix_of(&minted.secret), Some(minted.prefix.as_str()));
        assert!(hash_matches(&minted.secret, &minted.secret_hash));
        assert_eq!(prefix_of("scim_ABCDEFGHJKMN_x"), None);
        assert_eq!(prefix_of(""), None);
    }

    #[test]
    fn roles_round_trip_and_unknown_roles_are_refused() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()).unwrap(), role);
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::parse("Admin").is_err());
    }
}

//! Service credentials: create, list, revoke, and the check every RPC passes through.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use chrono::Utc;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::domain::credentials::{self as rules, MAX_CREDENTIAL_CACHE, MintedCredential, Role};
use crate::domain::tokens::{LAST_USED_RESOLUTION, hash_matches, hash_token};
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db, credentials::Credential};

pub async fn create_credential(
    db: &Db,
    name: &str,
    role: Role,
) -> DomainResult<(Credential, String)> {
    let name = rules::validate_credential_name(name)?;
    let MintedCredential {
        prefix,
        secret,
        secret_hash,
    } = rules::mint_credential();
    let credential = store::credentials::insert(
        db,
        store::credentials::NewCredential {
            name: &name,
            role: role.as_str(),
            prefix: &prefix,
            secret_hash: &secret_hash,
            now: Utc::now(),
        },
    )
    .await?;
    tracing::info!(credential_id = %credential.id, role = role.as_str(), "service credential created");
    Ok((credential, secret))
}

pub async fn list_credentials(db: &Db) -> DomainResult<Vec<Credential>> {
    store::credentials::list(db).await
}

/// Revokes a credential; revoking it again keeps the first revocation time.
pub async fn revoke_credential(
    db: &Db,
    checker: &CredentialChecker,
    id: Uuid,
) -> DomainResult<Credential> {
    let credential = store::credentials::find(db, id).await?;
    let credential = store::credentials::revoke(db, credential, Utc::now()).await?;
    checker.evict(id);
    tracing::info!(credential_id = %id, "service credential revoked");
    Ok(credential)
}

/// Who is calling: the bootstrap credential (no row) or a stored one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub role: Role,
    pub credential_id: Option<Uuid>,
}

/// Checks presented credentials: the bootstrap secret from configuration, or a stored
/// credential looked up by prefix. Positive answers are cached for at most
/// `MAX_CREDENTIAL_CACHE` (so a revocation reaches every replica within it), keyed by the
/// SHA-256 of the secret; failures are not cached.
pub struct CredentialChecker {
    db: Db,
    bootstrap: String,
    configured_gateway: Option<String>,
    cache: Mutex<HashMap<String, (Caller, Instant)>>,
}

/// Cached answers kept at most; beyond it the cache is emptied.
const CACHE_CAPACITY: usize = 1_000;

impl CredentialChecker {
    /// `bootstrap` is the admin credential from configuration; `configured_gateway` an
    /// optional `gateway` one (for deployments that hand the gateway its secret up front).
    pub fn new(db: Db, bootstrap: String, configured_gateway: Option<String>) -> Self {
        CredentialChecker {
            db,
            bootstrap,
            configured_gateway,
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn evict(&self, id: Uuid) {
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (caller, _)| caller.credential_id != Some(id));
    }

    /// The caller behind `presented`, or `Unauthenticated` (unknown, wrong and revoked
    /// credentials are not told apart).
    pub async fn check(&self, presented: &str) -> DomainResult<Caller> {
        if !self.bootstrap.is_empty()
            && bool::from(presented.as_bytes().ct_eq(self.bootstrap.as_bytes()))
        {
            return Ok(Caller {
                role: Role::Admin,
                credential_id: None,
            });
        }
        if let Some(gateway) = &self.configured_gateway
            && !gateway.is_empty()
            && bool::from(presented.as_bytes().ct_eq(gateway.as_bytes()))
        {
            return Ok(Caller {
                role: Role::Gateway,
                credential_id: None,
            });
        }
        let prefix = rules::prefix_of(presented).ok_or(DomainError::Unauthenticated)?;
        let key = hash_token(presented);
        let now = Instant::now();
        {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            match cache.get(&key) {
                Some((caller, until)) if *until > now => return Ok(*caller),
                Some(_) => {
                    cache.remove(&key);
                }
                None => {}
            }
        }
        let credential = store::credentials::find_by_prefix(&self.db, prefix)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        if !hash_matches(presented, &credential.secret_hash) || credential.revoked_at.is_some() {
            return Err(DomainError::Unauthenticated);
        }
        let role = Role::parse(&credential.role).map_err(|_| DomainError::Unauthenticated)?;
        let at = Utc::now();
        if credential
            .last_used_at
            .is_none_or(|last| at - last >= LAST_USED_RESOLUTION)
        {
            store::credentials::touch_last_used(&self.db, credential.id, at).await?;
        }
        let caller = Caller {
            role,
            credential_id: Some(credential.id),
        };
        let ttl = MAX_CREDENTIAL_CACHE.to_std().unwrap_or_default();
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(key, (caller, now + ttl));
        Ok(caller)
    }
}

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::events::EventType;
use crate::domain::tokens::{self as rules, MintedToken, TokenScope};
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db, tokens::Token};

pub async fn issue_token(
    db: &Db,
    workspace_id: Uuid,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    scope: TokenScope,
    allowed_cidrs: &[String],
) -> DomainResult<(Token, String)> {
    let now = Utc::now();
    let name = rules::validate_token_name(name)?;
    let allow_list = rules::AllowList::parse(allowed_cidrs)?;
    rules::validate_expiry(expires_at, now)?;
    let mut write = Write::profile(db, workspace_id).await?;
    let MintedToken {
        prefix,
        plaintext,
        secret_hash,
    } = rules::mint_token();
    let token = store::tokens::insert(
        write.tx(),
        store::tokens::NewToken {
            workspace_id,
            name: &name,
            prefix: &prefix,
            secret_hash: &secret_hash,
            expires_at,
            now,
            scope: scope.as_str(),
            replaces: None,
            allowed_cidrs: allow_list.as_ref().map(rules::AllowList::to_stored),
            oauth_client_id: None,
        },
    )
    .await?;
    write.record(Change::TokenIssued { token_id: token.id });
    write.event(super::events::resource(
        EventType::TokenIssued,
        "token",
        token.id,
        token_json(&token),
    ));
    write.commit().await?;
    Ok((token, plaintext))
}

/// A token as events show it: never its secret or hash.
fn token_json(token: &Token) -> serde_json::Value {
    serde_json::json!({
        "id": token.id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "revoked_at": token.revoked_at,
        "scope": token.scope,
        "replaces": token.replaces,
        "replaced_by": token.replaced_by,
    })
}

/// Issues a successor of token `id` (same name, scope and expiry) and lets the old token
/// work until `overlap_seconds` from now (never past its own expiry). Returns the old
/// token as it is now, the successor and the successor's secret.
pub async fn rotate_token(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    overlap_seconds: i64,
) -> DomainResult<(Token, Token, String)> {
    let now = Utc::now();
    let mut write = Write::profile(db, workspace_id).await?;
    let old = store::tokens::find_in_workspace_for_update(write.tx(), workspace_id, id).await?;
    if !rules::is_usable(old.revoked_at, old.expires_at, now) || old.replaced_by.is_some() {
        write.abandon().await?;
        return Err(DomainError::Conflict(
            "only a token that is neither revoked, expired nor already rotated can be rotated"
                .into(),
        ));
    }
    let until = rules::rotation_end(old.expires_at, overlap_seconds, now)?;
    let MintedToken {
        prefix,
        plaintext,
        secret_hash,
    } = rules::mint_token();
    let successor = store::tokens::insert(
        write.tx(),
        store::tokens::NewToken {
            workspace_id,
            name: &old.name,
            prefix: &prefix,
            secret_hash: &secret_hash,
            expires_at: old.expires_at,
            now,
            scope: &old.scope,
            replaces: Some(old.id),
            allowed_cidrs: old.allowed_cidrs.clone(),
            oauth_client_id: old.oauth_client_id,
        },
    )
    .await?;
    let old = store::tokens::set_replaced(write.tx(), old, successor.id, until).await?;
    write.record(Change::TokenIssued {
        token_id: successor.id,
    });
    write.event(super::events::resource(
        EventType::TokenIssued,
        "token",
        successor.id,
        token_json(&successor),
    ));
    write.commit().await?;
    Ok((old, successor, plaintext))
}

/// Token scopes by token id, cached for at most `MAX_AUTH_CACHE` (a scope never changes
/// after issue; the cache only spares a query per SCIM RPC).
#[derive(Default)]
pub struct TokenScopes {
    cache: std::sync::Mutex<std::collections::HashMap<Uuid, (TokenScope, std::time::Instant)>>,
}

impl TokenScopes {
    pub async fn scope_of(&self, db: &Db, token_id: Uuid) -> DomainResult<TokenScope> {
        let now = std::time::Instant::now();
        if let Some((scope, until)) = self
            .cache
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&token_id)
            && *until > now
        {
            return Ok(*scope);
        }
        let stored = store::tokens::scope_of(db, token_id)
            .await?
            .ok_or(DomainError::Unauthenticated)?;
        let scope = TokenScope::parse(&stored)?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= 10_000 {
            cache.clear();
        }
        let ttl = rules::MAX_AUTH_CACHE.to_std().unwrap_or_default();
        cache.insert(token_id, (scope, now + ttl));
        Ok(scope)
    }
}

pub async fn list_tokens(db: &Db, workspace_id: Uuid) -> DomainResult<Vec<Token>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    store::tokens::list(db, workspace_id).await
}

/// Revokes a token; revoking it again keeps the first revocation time.
pub async fn revoke_token(db: &Db, workspace_id: Uuid, id: Uuid) -> DomainResult<Token> {
    let mut write = Write::profile(db, workspace_id).await?;
    let token = store::tokens::find_in_workspace(write.conn(), workspace_id, id).await?;
    if token.revoked_at.is_some() {
        write.abandon().await?;
        return Ok(token);
    }
    let token = store::tokens::set_revoked(write.tx(), token, Utc::now()).await?;
    write.record(Change::TokenRevoked { token_id: token.id });
    write.event(super::events::resource(
        EventType::TokenRevoked,
        "token",
        token.id,
        token_json(&token),
    ));
    write.commit().await?;
    Ok(token)
}

pub struct Authenticated {
    pub workspace_id: Uuid,
    pub token_id: Uuid,
    pub cache_for: Duration,
}

/// Resolves a presented bearer token. Every failure is the same `Unauthenticated`, so a
/// caller cannot tell an unknown token from a revoked one.
pub async fn authenticate(
    db: &Db,
    presented: &str,
    client: Option<std::net::IpAddr>,
) -> DomainResult<Authenticated> {
    let prefix = rules::prefix_of(presented).ok_or(DomainError::Unauthenticated)?;
    let token = store::tokens::find_by_prefix(db, prefix)
        .await?
        .ok_or(DomainError::Unauthenticated)?;
    let now = Utc::now();
    if !rules::hash_matches(presented, &token.secret_hash)
        || !rules::is_usable(token.revoked_at, token.expires_at, now)
    {
        return Err(DomainError::Unauthenticated);
    }
    // Outside the allow-list: the same answer as a wrong token, revealing nothing.
    if let Some(stored) = &token.allowed_cidrs
        && let Some(list) = rules::AllowList::from_stored(stored)?
        && !list.allows(client)
    {
        return Err(DomainError::Unauthenticated);
    }
    // The workspace's list applies too: a request must satisfy both.
    if let Some(stored) = store::workspace_allow_lists::find(db, token.workspace_id).await?
        && let Some(list) = rules::AllowList::from_stored(&stored)?
        && !list.allows(client)
    {
        return Err(DomainError::Unauthenticated);
    }
    let stale = token
        .last_used_at
        .is_none_or(|at| now - at >= rules::LAST_USED_RESOLUTION);
    if stale {
        // Bookkeeping on the authentication path, outside the write step: it changes no
        // workspace state the rules or events care about.
        store::tokens::touch_last_used(db, token.id, now).await?;
    }
    Ok(Authenticated {
        workspace_id: token.workspace_id,
        token_id: token.id,
        cache_for: rules::auth_cache_duration(token.expires_at, now),
    })
}

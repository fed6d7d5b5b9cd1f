//! OAuth 2.0 clients: create, list, revoke, secrets, and the client credentials exchange.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::events::EventType;
use crate::domain::oauth::{self as rules, MintedSecret};
use crate::domain::tokens::{self as token_rules, MintedToken, TokenScope, hash_matches};
use crate::domain::{DomainError, DomainResult};
use crate::store::{self, Db, oauth::Client, oauth::Secret};

pub async fn create_client(
    db: &Db,
    workspace_id: Uuid,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
) -> DomainResult<(Client, Vec<Secret>, String)> {
    let now = Utc::now();
    let name = token_rules::validate_token_name(name)?;
    token_rules::validate_expiry(expires_at, now)?;
    let write = Write::profile(db, workspace_id).await?;
    let client = store::oauth::insert_client(
        write.tx(),
        workspace_id,
        &name,
        &rules::mint_client_id(),
        expires_at,
        now,
    )
    .await?;
    let MintedSecret {
        prefix,
        secret,
        secret_hash,
    } = rules::mint_client_secret();
    let stored =
        store::oauth::insert_secret(write.tx(), client.id, &prefix, &secret_hash, now).await?;
    write.commit().await?;
    Ok((client, vec![stored], secret))
}

pub async fn list_clients(db: &Db, workspace_id: Uuid) -> DomainResult<Vec<(Client, Vec<Secret>)>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    let mut out = Vec::new();
    for client in store::oauth::list_clients(db, workspace_id).await? {
        let secrets = store::oauth::secrets_of(db, client.id).await?;
        out.push((client, secrets));
    }
    Ok(out)
}

/// Revokes a client and every access token it holds.
pub async fn revoke_client(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<(Client, Vec<Secret>)> {
    let now = Utc::now();
    let mut write = Write::profile(db, workspace_id).await?;
    let mut client = store::oauth::find_client(write.conn(), workspace_id, id).await?;
    if client.revoked_at.is_none() {
        client = store::oauth::revoke_client(write.tx(), client, now).await?;
    }
    // Each access token revoked is a `token.revoked` event: the gateways' revocation feed
    // evicts it from their caches at once.
    for token in store::tokens::revoke_client_tokens(write.tx(), client.id, now).await? {
        write.record(Change::TokenRevoked { token_id: token.id });
        write.event(super::events::resource(
            EventType::TokenRevoked,
            "token",
            token.id,
            serde_json::json!({
                "id": token.id,
                "name": token.name,
                "prefix": token.prefix,
                "revoked_at": token.revoked_at,
            }),
        ));
    }
    let secrets = store::oauth::secrets_of(write.conn(), client.id).await?;
    write.commit().await?;
    Ok((client, secrets))
}

pub async fn add_secret(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<(Client, Vec<Secret>, Secret, String)> {
    let now = Utc::now();
    let write = Write::profile(db, workspace_id).await?;
    let client = store::oauth::find_client(write.conn(), workspace_id, id).await?;
    if client.revoked_at.is_some() {
        write.abandon().await?;
        return Err(DomainError::Conflict("the client is revoked".into()));
    }
    let MintedSecret {
        prefix,
        secret,
        secret_hash,
    } = rules::mint_client_secret();
    let stored =
        store::oauth::insert_secret(write.tx(), client.id, &prefix, &secret_hash, now).await?;
    let secrets = store::oauth::secrets_of(write.conn(), client.id).await?;
    write.commit().await?;
    Ok((client, secrets, stored, secret))
}

pub async fn revoke_secret(
    db: &Db,
    workspace_id: Uuid,
    id: Uuid,
    secret_id: Uuid,
) -> DomainResult<(Client, Vec<Secret>)> {
    let write = Write::profile(db, workspace_id).await?;
    let client = store::oauth::find_client(write.conn(), workspace_id, id).await?;
    store::oauth::revoke_secret(write.tx(), client.id, secret_id, Utc::now()).await?;
    let secrets = store::oauth::secrets_of(write.conn(), client.id).await?;
    write.commit().await?;
    Ok((client, secrets))
}

pub struct AccessToken {
    pub access_token: String,
    pub expires_in: i64,
    pub workspace_id: Uuid,
}

/// Client credentials → a new access token. Every client failure is the same
/// `Unauthenticated` (`invalid_client`); an expired client is `Conflict` (`invalid_grant`).
pub async fn exchange_client_credentials(
    db: &Db,
    client_id: &str,
    client_secret: &str,
    lifetime_seconds: i64,
) -> DomainResult<AccessToken> {
    let lifetime = rules::validate_lifetime(lifetime_seconds)?;
    let now = Utc::now();
    let client = store::oauth::find_client_by_public_id(db, client_id)
        .await?
        .ok_or(DomainError::Unauthenticated)?;
    let prefix = rules::secret_prefix_of(client_secret).ok_or(DomainError::Unauthenticated)?;
    let secret = store::oauth::find_secret_by_prefix(db, prefix)
        .await?
        .ok_or(DomainError::Unauthenticated)?;
    if secret.client_id != client.id
        || secret.revoked_at.is_some()
        || client.revoked_at.is_some()
        || !hash_matches(client_secret, &secret.secret_hash)
    {
        return Err(DomainError::Unauthenticated);
    }
    if client.expires_at.is_some_and(|at| at <= now) {
        return Err(DomainError::Conflict(
            "the client's credentials have expired".into(),
        ));
    }
    let expires_at = rules::access_token_expiry(lifetime, client.expires_at, now);
    let mut write = Write::profile(db, client.workspace_id).await?;
    let MintedToken {
        prefix,
        plaintext,
        secret_hash,
    } = token_rules::mint_token();
    let token = store::tokens::insert(
        write.tx(),
        store::tokens::NewToken {
            workspace_id: client.workspace_id,
            name: &format!("oauth: {}", client.name),
            prefix: &prefix,
            secret_hash: &secret_hash,
            expires_at: Some(expires_at),
            now,
            scope: TokenScope::Full.as_str(),
            replaces: None,
            allowed_cidrs: None,
            oauth_client_id: Some(client.id),
        },
    )
    .await?;
    write.record(Change::TokenIssued { token_id: token.id });
    write.commit().await?;
    Ok(AccessToken {
        access_token: plaintext,
        expires_in: (expires_at - now).num_seconds().max(0),
        workspace_id: client.workspace_id,
    })
}

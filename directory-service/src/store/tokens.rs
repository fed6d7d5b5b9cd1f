use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use uuid::Uuid;

use super::entity::scim_token;
use super::{WriteTx, db_error};
use crate::domain::{DomainError, DomainResult};

pub type Token = scim_token::Model;

pub struct NewToken<'a> {
    pub workspace_id: Uuid,
    pub name: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
    pub scope: &'a str,
    pub replaces: Option<Uuid>,
    pub allowed_cidrs: Option<String>,
    pub oauth_client_id: Option<Uuid>,
}

pub async fn insert(tx: &WriteTx, new: NewToken<'_>) -> DomainResult<Token> {
    let db = tx.conn();
    scim_token::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(new.workspace_id),
        name: Set(new.name.to_owned()),
        prefix: Set(new.prefix.to_owned()),
        secret_hash: Set(new.secret_hash.to_owned()),
        created_at: Set(new.now),
        expires_at: Set(new.expires_at),
        last_used_at: Set(None),
        revoked_at: Set(None),
        scope: Set(new.scope.to_owned()),
        replaces: Set(new.replaces),
        replaced_by: Set(None),
        allowed_cidrs: Set(new.allowed_cidrs),
        oauth_client_id: Set(new.oauth_client_id),
    }
    .insert(db)
    .await
    .map_err(db_error)
}

pub async fn list(db: &impl ConnectionTrait, workspace_id: Uuid) -> DomainResult<Vec<Token>> {
    // OAuth access tokens are the clients' business (`scimctl client list`).
    scim_token::Entity::find()
        .filter(scim_token::Column::WorkspaceId.eq(workspace_id))
        .filter(scim_token::Column::OauthClientId.is_null())
        .order_by_asc(scim_token::Column::Id)
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn find_in_workspace(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<Token> {
    scim_token::Entity::find_by_id(id)
        .filter(scim_token::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("token {id} not found in this workspace")))
}

/// The token, locked until the transaction ends (rotations of one token queue).
pub async fn find_in_workspace_for_update(
    tx: &WriteTx,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<Token> {
    scim_token::Entity::find_by_id(id)
        .filter(scim_token::Column::WorkspaceId.eq(workspace_id))
        .lock_exclusive()
        .one(tx.conn())
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("token {id} not found in this workspace")))
}

pub async fn find_by_prefix(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> DomainResult<Option<Token>> {
    scim_token::Entity::find()
        .filter(scim_token::Column::Prefix.eq(prefix))
        .one(db)
        .await
        .map_err(db_error)
}

pub async fn set_revoked(tx: &WriteTx, token: Token, at: DateTime<Utc>) -> DomainResult<Token> {
    let db = tx.conn();
    let mut active = token.into_active_model();
    active.revoked_at = Set(Some(at));
    active.update(db).await.map_err(db_error)
}

/// Marks `token` as replaced by `successor`, stopping at `until`.
pub async fn set_replaced(
    tx: &WriteTx,
    token: Token,
    successor: Uuid,
    until: DateTime<Utc>,
) -> DomainResult<Token> {
    let db = tx.conn();
    let mut active = token.into_active_model();
    active.replaced_by = Set(Some(successor));
    active.expires_at = Set(Some(until));
    active.update(db).await.map_err(db_error)
}

/// The scope of a token, by id (None when the token does not exist).
pub async fn scope_of(db: &impl ConnectionTrait, id: Uuid) -> DomainResult<Option<String>> {
    Ok(scim_token::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(db_error)?
        .map(|token| token.scope))
}

/// Revokes every unrevoked access token of an OAuth client; returns them as revoked.
pub async fn revoke_client_tokens(
    tx: &WriteTx,
    oauth_client_id: Uuid,
    at: DateTime<Utc>,
) -> DomainResult<Vec<Token>> {
    let live = scim_token::Entity::find()
        .filter(scim_token::Column::OauthClientId.eq(oauth_client_id))
        .filter(scim_token::Column::RevokedAt.is_null())
        .all(tx.conn())
        .await
        .map_err(db_error)?;
    scim_token::Entity::update_many()
        .col_expr(
            scim_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(at),
        )
        .filter(scim_token::Column::OauthClientId.eq(oauth_client_id))
        .filter(scim_token::Column::RevokedAt.is_null())
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(live
        .into_iter()
        .map(|token| Token {
            revoked_at: Some(at),
            ..token
        })
        .collect())
}

pub async fn touch_last_used(
    db: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    scim_token::Entity::update_many()
        .col_expr(
            scim_token::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(at),
        )
        .filter(scim_token::Column::Id.eq(id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

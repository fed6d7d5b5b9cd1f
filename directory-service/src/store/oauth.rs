//! OAuth clients and their secrets.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder, Set,
};
use uuid::Uuid;

use super::entity::{oauth_client, oauth_client_secret};
use super::{WriteTx, db_error};
use crate::domain::{DomainError, DomainResult};

pub type Client = oauth_client::Model;
pub type Secret = oauth_client_secret::Model;

pub async fn insert_client(
    tx: &WriteTx,
    workspace_id: Uuid,
    name: &str,
    client_id: &str,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DomainResult<Client> {
    oauth_client::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(workspace_id),
        name: Set(name.to_owned()),
        client_id: Set(client_id.to_owned()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
    }
    .insert(tx.conn())
    .await
    .map_err(db_error)
}

pub async fn insert_secret(
    tx: &WriteTx,
    client: Uuid,
    prefix: &str,
    secret_hash: &str,
    now: DateTime<Utc>,
) -> DomainResult<Secret> {
    oauth_client_secret::ActiveModel {
        id: Set(Uuid::now_v7()),
        client_id: Set(client),
        prefix: Set(prefix.to_owned()),
        secret_hash: Set(secret_hash.to_owned()),
        created_at: Set(now),
        revoked_at: Set(None),
    }
    .insert(tx.conn())
    .await
    .map_err(db_error)
}

pub async fn list_clients(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
) -> DomainResult<Vec<Client>> {
    oauth_client::Entity::find()
        .filter(oauth_client::Column::WorkspaceId.eq(workspace_id))
        .order_by_asc(oauth_client::Column::Id)
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn secrets_of(db: &impl ConnectionTrait, client: Uuid) -> DomainResult<Vec<Secret>> {
    oauth_client_secret::Entity::find()
        .filter(oauth_client_secret::Column::ClientId.eq(client))
        .order_by_asc(oauth_client_secret::Column::Id)
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn find_client(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    id: Uuid,
) -> DomainResult<Client> {
    oauth_client::Entity::find_by_id(id)
        .filter(oauth_client::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("client {id} not found in this workspace")))
}

pub async fn find_client_by_public_id(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> DomainResult<Option<Client>> {
    oauth_client::Entity::find()
        .filter(oauth_client::Column::ClientId.eq(client_id))
        .one(db)
        .await
        .map_err(db_error)
}

pub async fn find_secret_by_prefix(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> DomainResult<Option<Secret>> {
    oauth_client_secret::Entity::find()
        .filter(oauth_client_secret::Column::Prefix.eq(prefix))
        .one(db)
        .await
        .map_err(db_error)
}

pub async fn revoke_client(
    tx: &WriteTx,
    client: Client,
    at: DateTime<Utc>,
) -> DomainResult<Client> {
    let mut active = client.into_active_model();
    active.revoked_at = Set(Some(at));
    active.update(tx.conn()).await.map_err(db_error)
}

pub async fn revoke_secret(
    tx: &WriteTx,
    client: Uuid,
    secret_id: Uuid,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    let secret = oauth_client_secret::Entity::find_by_id(secret_id)
        .filter(oauth_client_secret::Column::ClientId.eq(client))
        .one(tx.conn())
        .await
        .map_err(db_error)?
        .ok_or_else(|| {
            DomainError::NotFound(format!("secret {secret_id} not found on this client"))
        })?;
    if secret.revoked_at.is_none() {
        let mut active = secret.into_active_model();
        active.revoked_at = Set(Some(at));
        active.update(tx.conn()).await.map_err(db_error)?;
    }
    Ok(())
}

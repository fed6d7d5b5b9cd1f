//! Service credentials (`service_credentials`). Global, not per workspace: each write is
//! one statement, like creating a workspace.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use super::db_error;
use super::entity::service_credential;
use crate::domain::{DomainError, DomainResult};

pub type Credential = service_credential::Model;

pub struct NewCredential<'a> {
    pub name: &'a str,
    pub role: &'a str,
    pub prefix: &'a str,
    pub secret_hash: &'a str,
    pub now: DateTime<Utc>,
}

pub async fn insert(db: &impl ConnectionTrait, new: NewCredential<'_>) -> DomainResult<Credential> {
    service_credential::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(new.name.to_owned()),
        role: Set(new.role.to_owned()),
        prefix: Set(new.prefix.to_owned()),
        secret_hash: Set(new.secret_hash.to_owned()),
        created_at: Set(new.now),
        last_used_at: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(db_error)
}

pub async fn list(db: &impl ConnectionTrait) -> DomainResult<Vec<Credential>> {
    service_credential::Entity::find()
        .order_by_asc(service_credential::Column::Id)
        .all(db)
        .await
        .map_err(db_error)
}

pub async fn find(db: &impl ConnectionTrait, id: Uuid) -> DomainResult<Credential> {
    service_credential::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("credential {id} not found")))
}

pub async fn find_by_prefix(
    db: &impl ConnectionTrait,
    prefix: &str,
) -> DomainResult<Option<Credential>> {
    service_credential::Entity::find()
        .filter(service_credential::Column::Prefix.eq(prefix))
        .one(db)
        .await
        .map_err(db_error)
}

/// Sets `revoked_at` unless already set (one statement, so two revocations keep the first
/// time); returns the row as it is afterwards.
pub async fn revoke(
    db: &impl ConnectionTrait,
    credential: Credential,
    at: DateTime<Utc>,
) -> DomainResult<Credential> {
    if credential.revoked_at.is_some() {
        return Ok(credential);
    }
    let id = credential.id;
    service_credential::Entity::update_many()
        .col_expr(
            service_credential::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(at),
        )
        .filter(service_credential::Column::Id.eq(id))
        .filter(service_credential::Column::RevokedAt.is_null())
        .exec(db)
        .await
        .map_err(db_error)?;
    find(db, id).await
}

pub async fn touch_last_used(
    db: &impl ConnectionTrait,
    id: Uuid,
    at: DateTime<Utc>,
) -> DomainResult<()> {
    service_credential::Entity::update_many()
        .col_expr(
            service_credential::Column::LastUsedAt,
            sea_orm::sea_query::Expr::value(at),
        )
        .filter(service_credential::Column::Id.eq(id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

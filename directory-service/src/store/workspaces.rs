use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set,
    TransactionTrait,
};
use uuid::Uuid;

use super::entity::{group, scim_token, user, workspace};
use super::{WriteTx, db_error};
use crate::domain::{DomainError, DomainResult};

pub type Workspace = workspace::Model;

/// Creates the workspace and its stored counts (no users, no groups) in one transaction.
/// A workspace holds nothing the write step's rules read yet: no `Write` needed.
pub async fn insert(
    db: &super::Db,
    slug: &str,
    display_name: &str,
    now: DateTime<Utc>,
) -> DomainResult<Workspace> {
    let transaction = db.begin().await.map_err(db_error)?;
    let workspace = workspace::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.to_owned()),
        display_name: Set(display_name.to_owned()),
        created_at: Set(now),
        config_version: Set(0),
    }
    .insert(&transaction)
    .await
    .map_err(db_error)?;
    super::workspace_counts::insert_empty(&transaction, workspace.id).await?;
    transaction.commit().await.map_err(db_error)?;
    Ok(workspace)
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: Uuid) -> DomainResult<Workspace> {
    workspace::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("workspace {id} not found")))
}

pub async fn find_by_slug(db: &impl ConnectionTrait, slug: &str) -> DomainResult<Workspace> {
    workspace::Entity::find()
        .filter(workspace::Column::Slug.eq(slug))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("workspace {slug:?} not found")))
}

pub async fn list(db: &impl ConnectionTrait) -> DomainResult<Vec<Workspace>> {
    workspace::Entity::find()
        .order_by_asc(workspace::Column::Slug)
        .all(db)
        .await
        .map_err(db_error)
}

/// Locks the workspace row until the transaction ends (Postgres `FOR NO KEY UPDATE`;
/// SQLite's IMMEDIATE transaction already holds the write lock). Every write that can
/// change a role, a seat or a membership takes it first (`ops::write::Write::workspace`),
/// so workspace-wide rules (last admin, one role per user, seats) are checked against a
/// state no concurrent such write can change. `NO KEY UPDATE` rather than `UPDATE`: rows
/// inserted with a foreign key to the workspace (a user create) take `KEY SHARE` on it
/// and must not wait for the lock.
pub async fn lock(db: &impl ConnectionTrait, id: Uuid) -> DomainResult<Workspace> {
    use sea_orm::QuerySelect as _;
    use sea_orm::sea_query::LockType;
    workspace::Entity::find_by_id(id)
        .lock(LockType::NoKeyUpdate)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| DomainError::NotFound(format!("workspace {id} not found")))
}

/// Marks the workspace's attribute mappings or custom attributes changed (see
/// `ops::workspace_config`), in the changing write's transaction.
pub async fn bump_config_version(tx: &WriteTx, id: Uuid) -> DomainResult<()> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    workspace::Entity::update_many()
        .col_expr(
            workspace::Column::ConfigVersion,
            Expr::col(workspace::Column::ConfigVersion).add(1),
        )
        .filter(workspace::Column::Id.eq(id))
        .exec(tx.conn())
        .await
        .map_err(db_error)?;
    Ok(())
}

/// What [`delete`] removed besides the workspace row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeletedCounts {
    pub users: u64,
    pub groups: u64,
    pub tokens: u64,
}

/// Deletes the workspace row; every table that belongs to a workspace references it with
/// `ON DELETE CASCADE`, so its users, groups, memberships, tokens, mappings and
/// subscriptions go with it. Run inside the caller's transaction.
pub async fn delete(tx: &super::WriteTx, id: Uuid) -> DomainResult<DeletedCounts> {
    use sea_orm::PaginatorTrait as _;
    let db = tx.conn();
    let users = user::Entity::find()
        .filter(user::Column::WorkspaceId.eq(id))
        .count(db)
        .await
        .map_err(db_error)?;
    let groups = group::Entity::find()
        .filter(group::Column::WorkspaceId.eq(id))
        .count(db)
        .await
        .map_err(db_error)?;
    let tokens = scim_token::Entity::find()
        .filter(scim_token::Column::WorkspaceId.eq(id))
        .count(db)
        .await
        .map_err(db_error)?;
    workspace::Entity::delete_by_id(id)
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(DeletedCounts {
        users,
        groups,
        tokens,
    })
}

//! Rate limit settings per workspace and per token (the gateway enforces them).

use chrono::Utc;
use uuid::Uuid;

use super::write::Write;
use crate::domain::DomainResult;
use crate::domain::rate_limits::{self, RateLimit};
use crate::store::{self, Db};

/// Sets a workspace's limit, or a token's (the token must belong to the workspace).
pub async fn set_rate_limit(db: &Db, limit: RateLimit) -> DomainResult<RateLimit> {
    let write = Write::profile(db, limit.workspace_id).await?;
    if let Some(token_id) = limit.token_id {
        store::tokens::find_in_workspace(write.tx().conn(), limit.workspace_id, token_id).await?;
    }
    store::rate_limits::upsert(write.tx(), limit, Utc::now()).await?;
    write.commit().await?;
    Ok(limit)
}

pub async fn list_rate_limits(db: &Db, workspace_id: Uuid) -> DomainResult<Vec<RateLimit>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    store::rate_limits::list(db, workspace_id).await
}

/// Removes a setting; whether there was one.
pub async fn delete_rate_limit(
    db: &Db,
    workspace_id: Uuid,
    token_id: Option<Uuid>,
) -> DomainResult<bool> {
    let write = Write::profile(db, workspace_id).await?;
    let deleted = store::rate_limits::delete(write.tx(), workspace_id, token_id).await?;
    write.commit().await?;
    Ok(deleted)
}

/// The limit that applies to a token (its own, else its workspace's), for the
/// authentication answer.
pub async fn for_token(
    db: &impl store::Conn,
    workspace_id: Uuid,
    token_id: Uuid,
) -> DomainResult<Option<RateLimit>> {
    let settings = store::rate_limits::for_token(db, workspace_id, token_id).await?;
    Ok(rate_limits::applicable(&settings, token_id))
}

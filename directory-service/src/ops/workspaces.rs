use chrono::Utc;
use uuid::Uuid;

use super::write::{Change, Write};
use crate::domain::DomainResult;
use crate::domain::workspaces::{WorkspaceSlug, display_name_or_slug};
use crate::store::{self, Db, workspaces::Workspace};

pub async fn create_workspace(db: &Db, slug: &str, display_name: &str) -> DomainResult<Workspace> {
    let slug = WorkspaceSlug::parse(slug)?;
    let display_name = display_name_or_slug(display_name, &slug);
    store::workspaces::insert(db, slug.as_str(), &display_name, Utc::now()).await
}

pub async fn get_workspace_by_id(db: &Db, id: Uuid) -> DomainResult<Workspace> {
    store::workspaces::find_by_id(db, id).await
}

pub async fn get_workspace_by_slug(db: &Db, slug: &str) -> DomainResult<Workspace> {
    store::workspaces::find_by_slug(db, slug).await
}

pub async fn list_workspaces(db: &Db) -> DomainResult<Vec<Workspace>> {
    store::workspaces::list(db).await
}

/// Deletes a workspace and everything in it, once the caller has repeated its slug.
pub async fn delete_workspace(
    db: &Db,
    id: Uuid,
    confirm_slug: &str,
) -> DomainResult<(Workspace, store::workspaces::DeletedCounts)> {
    let mut write = Write::workspace(db, id).await?;
    let workspace = store::workspaces::find_by_id(write.conn(), id).await?;
    if workspace.slug != confirm_slug {
        write.abandon().await?;
        return Err(crate::domain::DomainError::InvalidValue(format!(
            "confirm_slug must repeat the workspace's slug {:?}",
            workspace.slug
        )));
    }
    let counts = store::workspaces::delete(write.tx(), id).await?;
    write.record(Change::WorkspaceDeleted);
    write.commit().await?;
    Ok((workspace, counts))
}

/// Sets the workspace's IP allow-list (an empty list clears it); the list as stored.
/// Token authentication checks it besides the token's own list.
pub async fn set_allow_list(
    db: &Db,
    workspace_id: Uuid,
    allowed_cidrs: &[String],
) -> DomainResult<Vec<String>> {
    let allow_list = crate::domain::tokens::AllowList::parse(allowed_cidrs)?;
    let write = Write::profile(db, workspace_id).await?;
    match &allow_list {
        Some(list) => {
            store::workspace_allow_lists::upsert(
                write.tx(),
                workspace_id,
                list.to_stored(),
                Utc::now(),
            )
            .await?
        }
        None => store::workspace_allow_lists::delete(write.tx(), workspace_id).await?,
    }
    write.commit().await?;
    Ok(allow_list.map(|list| list.entries()).unwrap_or_default())
}

/// The workspace's IP allow-list; empty: any address.
pub async fn get_allow_list(db: &Db, workspace_id: Uuid) -> DomainResult<Vec<String>> {
    store::workspaces::find_by_id(db, workspace_id).await?;
    let stored = store::workspace_allow_lists::find(db, workspace_id).await?;
    Ok(match stored {
        Some(stored) => crate::domain::tokens::AllowList::from_stored(&stored)?
            .map(|list| list.entries())
            .unwrap_or_default(),
        None => Vec::new(),
    })
}

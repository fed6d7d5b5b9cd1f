//! A workspace's attribute mappings and custom attribute declarations, which every user
//! create and update applies: two queries per write, for tables that change a few times in
//! a workspace's life. They are cached per workspace under the workspace row's
//! `config_version`, which every write that changes either bumps in its own transaction
//! (`Write::commit`). A write reads the version with the workspace row it opens with, so a
//! change committed by any replica is seen by the next write that reads the row.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use uuid::Uuid;

use crate::domain::DomainResult;
use crate::domain::attribute_mappings::AttributeMapping;
use crate::domain::custom_attributes::CustomAttribute;
use crate::store::{self, Conn, workspaces::Workspace};

#[derive(Debug, Default)]
pub struct WorkspaceConfig {
    pub mappings: Vec<AttributeMapping>,
    pub declared: Vec<CustomAttribute>,
}

/// The version a configuration was read at, and what was read.
type Versioned = (i64, Arc<WorkspaceConfig>);

/// By workspace id. Emptied when it passes 10,000 workspaces.
static CACHE: LazyLock<Mutex<HashMap<Uuid, Versioned>>> = LazyLock::new(Default::default);

/// The configuration of `workspace` as of the version its row carries.
pub async fn of(conn: &impl Conn, workspace: &Workspace) -> DomainResult<Arc<WorkspaceConfig>> {
    let cache = || CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((version, config)) = cache().get(&workspace.id)
        && *version == workspace.config_version
    {
        return Ok(config.clone());
    }
    let config = Arc::new(read(conn, workspace.id).await?);
    let mut cache = cache();
    if cache.len() >= 10_000 {
        cache.clear();
    }
    cache.insert(workspace.id, (workspace.config_version, config.clone()));
    Ok(config)
}

/// The configuration as stored now, bypassing the cache (for a write that changes it).
pub async fn read(conn: &impl Conn, workspace_id: Uuid) -> DomainResult<WorkspaceConfig> {
    Ok(WorkspaceConfig {
        mappings: store::attribute_mappings::list(conn, workspace_id).await?,
        declared: super::custom_attributes::declared(conn, workspace_id).await?,
    })
}

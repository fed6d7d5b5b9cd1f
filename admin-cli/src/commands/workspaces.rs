//! `scimctl workspace ...` and the `--workspace <slug-or-id>` resolution shared by the
//! other commands.

use chrono::{DateTime, Utc};
use clap::Subcommand;
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum WorkspaceCommand {
    /// Create a workspace (a tenant)
    Create {
        /// Unique handle: lowercase letters, digits and '-'
        slug: String,
        /// Human-readable name
        #[arg(long)]
        display_name: Option<String>,
    },
    /// List all workspaces
    List,
    /// Delete a workspace with every user, group, token, mapping and subscription in it
    /// (nothing of another workspace). Asks for the slug again unless `--yes` is given.
    Delete {
        /// Workspace slug or id
        workspace: String,
        /// Do not ask: the deletion is meant (for scripts)
        #[arg(long)]
        yes: bool,
    },
    /// Set the workspace's IP allow-list: its tokens (OAuth access tokens too) are accepted
    /// only from these CIDRs, besides each token's own list (a request must satisfy both);
    /// from anywhere else they answer 401. Replaces the previous list
    SetAllowList {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// CIDRs (or addresses), repeated or comma-separated
        #[arg(long = "cidr", value_delimiter = ',', required = true)]
        cidrs: Vec<String>,
    },
    /// Remove the workspace's IP allow-list (any address again)
    ClearAllowList {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
    /// Show the workspace's IP allow-list (empty: any address)
    GetAllowList {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
}

pub async fn run(
    client: &mut Client,
    command: WorkspaceCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        WorkspaceCommand::Create { slug, display_name } => {
            let workspace = client
                .workspaces()
                .create_workspace(v1::CreateWorkspaceRequest {
                    slug: slug.clone(),
                    display_name: display_name.unwrap_or_default(),
                })
                .await
                .rpc_context(|| format!("create workspace {slug:?}"))?;
            output::render_one(format, &WorkspaceView::from(workspace))
        }
        WorkspaceCommand::List => {
            let response = client
                .workspaces()
                .list_workspaces(v1::ListWorkspacesRequest {})
                .await
                .rpc_context(|| "list workspaces".to_owned())?;
            let views: Vec<WorkspaceView> = response
                .workspaces
                .into_iter()
                .map(WorkspaceView::from)
                .collect();
            output::render_list(format, &views)
        }
        WorkspaceCommand::Delete { workspace, yes } => {
            let found = resolve_workspace(client, &workspace).await?;
            if !yes {
                confirm_slug(&found.slug)?;
            }
            let deleted = client
                .workspaces()
                .delete_workspace(v1::DeleteWorkspaceRequest {
                    id: found.id.clone(),
                    confirm_slug: found.slug.clone(),
                })
                .await
                .rpc_context(|| format!("delete workspace {:?}", found.slug))?;
            output::render_one(format, &DeletedWorkspaceView::from(deleted))
        }
        WorkspaceCommand::SetAllowList { workspace, cidrs } => {
            set_allow_list(client, &workspace, cidrs, format).await
        }
        WorkspaceCommand::ClearAllowList { workspace } => {
            set_allow_list(client, &workspace, Vec::new(), format).await
        }
        WorkspaceCommand::GetAllowList { workspace } => {
            let found = resolve_workspace(client, &workspace).await?;
            let list = client
                .workspaces()
                .get_workspace_allow_list(v1::GetWorkspaceAllowListRequest {
                    workspace_id: found.id.clone(),
                })
                .await
                .rpc_context(|| format!("get the allow-list of workspace {:?}", found.slug))?;
            output::render_one(format, &AllowListView::new(&found, list))
        }
    }
}

async fn set_allow_list(
    client: &mut Client,
    workspace: &str,
    cidrs: Vec<String>,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let found = resolve_workspace(client, workspace).await?;
    let list = client
        .workspaces()
        .set_workspace_allow_list(v1::SetWorkspaceAllowListRequest {
            workspace_id: found.id.clone(),
            allowed_cidrs: cidrs,
        })
        .await
        .rpc_context(|| format!("set the allow-list of workspace {:?}", found.slug))?;
    output::render_one(format, &AllowListView::new(&found, list))
}

/// `scimctl workspace set-allow-list|clear-allow-list|get-allow-list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllowListView {
    pub workspace_id: String,
    pub slug: String,
    /// Empty: any address.
    pub allowed_cidrs: Vec<String>,
}

impl AllowListView {
    fn new(workspace: &v1::Workspace, list: v1::WorkspaceAllowList) -> Self {
        Self {
            workspace_id: workspace.id.clone(),
            slug: workspace.slug.clone(),
            allowed_cidrs: list.allowed_cidrs,
        }
    }
}

impl TableRow for AllowListView {
    const HEADERS: &'static [&'static str] = &["workspace_id", "slug", "allowed_cidrs"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.workspace_id.clone(),
            self.slug.clone(),
            if self.allowed_cidrs.is_empty() {
                "any address".to_owned()
            } else {
                self.allowed_cidrs.join(",")
            },
        ]
    }
}

/// `scimctl endpoint`: the one SCIM base URL of this deployment.
pub async fn endpoint(client: &mut Client, format: OutputFormat) -> anyhow::Result<String> {
    let endpoint = client
        .workspaces()
        .get_scim_endpoint(v1::GetScimEndpointRequest {})
        .await
        .rpc_context(|| "get the SCIM endpoint".to_owned())?;
    match format {
        OutputFormat::Json => output::render_json(&serde_json::json!({
            "base_url": endpoint.base_url,
        })),
        OutputFormat::Table => Ok(format!("{}\n", endpoint.base_url)),
    }
}

/// Reads the slug back from the terminal; anything else (or no terminal) aborts.
fn confirm_slug(slug: &str) -> anyhow::Result<()> {
    use std::io::{BufRead as _, IsTerminal as _, Write as _};
    if !std::io::stdin().is_terminal() {
        return Err(crate::UsageError(format!(
            "refusing to delete workspace {slug:?} without confirmation: pass --yes"
        ))
        .into());
    }
    eprint!(
        "This deletes workspace {slug:?} and all its users, groups and tokens.\nType the slug to confirm: "
    );
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    if answer.trim() != slug {
        return Err(crate::UsageError("the slug did not match; nothing was deleted".into()).into());
    }
    Ok(())
}

/// `scimctl workspace delete`: the workspace and what went with it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeletedWorkspaceView {
    #[serde(flatten)]
    pub workspace: WorkspaceView,
    pub users_deleted: i64,
    pub groups_deleted: i64,
    pub tokens_deleted: i64,
}

impl From<v1::DeleteWorkspaceResponse> for DeletedWorkspaceView {
    fn from(response: v1::DeleteWorkspaceResponse) -> Self {
        Self {
            workspace: WorkspaceView::from(response.workspace.unwrap_or_default()),
            users_deleted: response.users_deleted,
            groups_deleted: response.groups_deleted,
            tokens_deleted: response.tokens_deleted,
        }
    }
}

impl TableRow for DeletedWorkspaceView {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "slug",
        "users_deleted",
        "groups_deleted",
        "tokens_deleted",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.workspace.id.clone(),
            self.workspace.slug.clone(),
            self.users_deleted.to_string(),
            self.groups_deleted.to_string(),
            self.tokens_deleted.to_string(),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkspaceView {
    pub id: String,
    pub slug: String,
    pub display_name: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
}

impl From<v1::Workspace> for WorkspaceView {
    fn from(workspace: v1::Workspace) -> Self {
        Self {
            created: output::timestamp(workspace.created.as_ref()),
            id: workspace.id,
            slug: workspace.slug,
            display_name: workspace.display_name,
        }
    }
}

impl TableRow for WorkspaceView {
    const HEADERS: &'static [&'static str] = &["id", "slug", "display_name", "created"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.slug.clone(),
            output::text_cell(Some(&self.display_name)),
            output::timestamp_cell(self.created.as_ref()),
        ]
    }
}

/// What `--workspace` names: an id when it is a UUID, otherwise a slug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WorkspaceRef {
    Id(String),
    Slug(String),
}

impl WorkspaceRef {
    pub fn parse(reference: &str) -> anyhow::Result<Self> {
        let reference = reference.trim();
        if reference.is_empty() {
            anyhow::bail!("--workspace must not be empty");
        }
        Ok(if is_hyphenated_uuid(reference) {
            Self::Id(reference.to_ascii_lowercase())
        } else {
            Self::Slug(reference.to_owned())
        })
    }

    pub fn get_request(&self) -> v1::GetWorkspaceRequest {
        match self {
            Self::Id(id) => v1::GetWorkspaceRequest {
                id: id.clone(),
                slug: String::new(),
            },
            Self::Slug(slug) => v1::GetWorkspaceRequest {
                id: String::new(),
                slug: slug.clone(),
            },
        }
    }
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` in hex digits. Only the hyphenated form counts:
/// a 32-digit slug is a legal slug.
pub(crate) fn is_hyphenated_uuid(text: &str) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == GROUPS.len()
        && groups
            .iter()
            .zip(GROUPS)
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Looks the workspace up (by id or slug) so that a typo fails with NOT_FOUND before any
/// other call, and returns it.
pub async fn resolve_workspace(
    client: &mut Client,
    reference: &str,
) -> anyhow::Result<v1::Workspace> {
    let workspace_ref = WorkspaceRef::parse(reference)?;
    client
        .workspaces()
        .get_workspace(workspace_ref.get_request())
        .await
        .rpc_context(|| format!("look up workspace {reference:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_is_an_id_and_anything_else_a_slug() {
        assert_eq!(
            WorkspaceRef::parse("0190F5A2-7B3C-7D4E-8F60-123456789ABC").unwrap(),
            WorkspaceRef::Id("0190f5a2-7b3c-7d4e-8f60-123456789abc".into())
        );
        assert_eq!(
            WorkspaceRef::parse("acme").unwrap(),
            WorkspaceRef::Slug("acme".into())
        );
        // Simple (unhyphenated) form and near-misses are slugs.
        for slug in [
            "0190f5a27b3c7d4e8f60123456789abc",
            "0190f5a2-7b3c-7d4e-8f60-123456789ab",
            "0190f5a2-7b3c-7d4e-8f60-123456789abg",
            "acme-prod-eu-west-1",
        ] {
            assert_eq!(
                WorkspaceRef::parse(slug).unwrap(),
                WorkspaceRef::Slug(slug.into()),
                "{slug}"
            );
        }
        assert!(WorkspaceRef::parse("  ").is_err());
    }

    #[test]
    fn get_request_sets_exactly_one_field() {
        let by_id = WorkspaceRef::Id("0190f5a2-7b3c-7d4e-8f60-123456789abc".into()).get_request();
        assert_eq!(by_id.id, "0190f5a2-7b3c-7d4e-8f60-123456789abc");
        assert_eq!(by_id.slug, "");
        let by_slug = WorkspaceRef::Slug("acme".into()).get_request();
        assert_eq!(by_slug.id, "");
        assert_eq!(by_slug.slug, "acme");
    }

    fn acme() -> v1::Workspace {
        v1::Workspace {
            id: "0190f5a2-7b3c-7d4e-8f60-123456789abc".into(),
            slug: "acme".into(),
            display_name: "Acme Corp".into(),
            created: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
        }
    }

    #[test]
    fn workspace_json_has_stable_keys() {
        let json = output::render_one(OutputFormat::Json, &WorkspaceView::from(acme())).unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            value,
            serde_json::json!({
                "id": "0190f5a2-7b3c-7d4e-8f60-123456789abc",
                "slug": "acme",
                "display_name": "Acme Corp",
                "created": "2023-11-14T22:13:20Z"
            })
        );
    }

    #[test]
    fn workspace_table_lists_each_workspace() {
        let mut other = acme();
        other.slug = "beta".into();
        other.display_name = String::new();
        other.created = None;
        let views = vec![WorkspaceView::from(acme()), WorkspaceView::from(other)];
        let table = output::render_list(OutputFormat::Table, &views).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("ID "));
        assert!(lines[0].contains("SLUG"));
        assert!(lines[1].contains("acme") && lines[1].contains("Acme Corp"));
        assert!(lines[1].ends_with("2023-11-14T22:13:20Z"));
        assert!(lines[2].contains("beta") && lines[2].ends_with('-'));
    }
}

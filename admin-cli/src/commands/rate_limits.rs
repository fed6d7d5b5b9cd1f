//! `scimctl rate-limit`: requests per second for a workspace or one of its tokens (the
//! gateway applies them; unset, its defaults apply).

use clap::{Args, Subcommand};
use directory_proto::v1::{self, rate_limits_client::RateLimitsClient};
use serde::Serialize;

use crate::client::{Client, CredentialInterceptor, RpcResultExt as _};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum RateLimitCommand {
    /// Set the limit of a workspace, or of one token with --token
    Set(SetArgs),
    /// Show the limits set in a workspace
    Show {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
    /// Remove a workspace's limit, or a token's with --token (the next level applies)
    Delete(ScopeArgs),
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// A token id of the workspace (default: the workspace's own limit)
    #[arg(long)]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    #[command(flatten)]
    pub scope: ScopeArgs,
    /// Requests per second (each Bulk operation counts)
    #[arg(long)]
    pub per_second: u32,
    /// Requests at once, 1 ..= per-second (default: one second's worth)
    #[arg(long)]
    pub burst: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct RateLimitView {
    pub workspace_id: String,
    /// `null` for the workspace's own limit.
    pub token_id: Option<String>,
    pub per_second: u32,
    pub burst: u32,
}

impl From<v1::RateLimit> for RateLimitView {
    fn from(limit: v1::RateLimit) -> Self {
        RateLimitView {
            workspace_id: limit.workspace_id,
            token_id: (!limit.token_id.is_empty()).then_some(limit.token_id),
            per_second: limit.per_second,
            burst: limit.burst,
        }
    }
}

impl TableRow for RateLimitView {
    const HEADERS: &'static [&'static str] = &["SCOPE", "PER SECOND", "BURST"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.token_id
                .as_ref()
                .map_or_else(|| "workspace".to_owned(), |id| format!("token {id}")),
            self.per_second.to_string(),
            self.burst.to_string(),
        ]
    }
}

pub async fn run(
    client: &mut Client,
    directory_url: &str,
    credential: Option<&str>,
    command: RateLimitCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let channel = crate::client::endpoint(directory_url)?
        .connect_timeout(std::time::Duration::from_secs(5))
        .timeout(std::time::Duration::from_secs(30))
        .connect()
        .await?;
    let mut limits =
        RateLimitsClient::with_interceptor(channel, CredentialInterceptor::new(credential)?);
    match command {
        RateLimitCommand::Set(args) => {
            let workspace = resolve_workspace(client, &args.scope.workspace).await?;
            let set = limits
                .set_rate_limit(v1::SetRateLimitRequest {
                    limit: Some(v1::RateLimit {
                        workspace_id: workspace.id,
                        token_id: args.scope.token.clone().unwrap_or_default(),
                        per_second: args.per_second,
                        burst: args.burst.unwrap_or(args.per_second),
                    }),
                })
                .await
                .rpc_context(|| format!("set the rate limit of {:?}", args.scope.workspace))?;
            output::render_one(format, &RateLimitView::from(set))
        }
        RateLimitCommand::Show { workspace } => {
            let found = resolve_workspace(client, &workspace).await?;
            let response = limits
                .list_rate_limits(v1::ListRateLimitsRequest {
                    workspace_id: found.id,
                })
                .await
                .rpc_context(|| format!("list the rate limits of {workspace:?}"))?;
            let views: Vec<RateLimitView> = response.limits.into_iter().map(Into::into).collect();
            output::render_list(format, &views)
        }
        RateLimitCommand::Delete(scope) => {
            let workspace = resolve_workspace(client, &scope.workspace).await?;
            let response = limits
                .delete_rate_limit(v1::DeleteRateLimitRequest {
                    workspace_id: workspace.id,
                    token_id: scope.token.clone().unwrap_or_default(),
                })
                .await
                .rpc_context(|| format!("delete the rate limit of {:?}", scope.workspace))?;
            match format {
                OutputFormat::Json => output::render_json(&serde_json::json!({
                    "deleted": response.deleted,
                })),
                OutputFormat::Table if response.deleted => Ok("rate limit removed\n".to_owned()),
                OutputFormat::Table => Ok("no rate limit was set there\n".to_owned()),
            }
        }
    }
}

//! `scimctl attribute-mapping ...`: per-workspace rules that copy a SCIM value into a
//! profile field, `public_metadata.<key>` or `organization_role`, optionally through a
//! MiniJinja template (`value` and `user` in scope). Applied on every create and update.

use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum AttributeMappingCommand {
    /// Map a SCIM source path to a destination (replaces the destination's mapping)
    Set(SetArgs),
    /// Remove the mapping of a destination
    Delete {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// `public_metadata.<key>`, `organization_role`, or a profile field
        #[arg(long)]
        destination: String,
    },
    /// List the attribute mappings of a workspace
    List {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// SCIM path, e.g. `groups[0].value` or
    /// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department`
    #[arg(long)]
    pub source: String,
    /// `public_metadata.<key>`, `organization_role`, or a profile field (`title`, ...)
    #[arg(long)]
    pub destination: String,
    /// Optional MiniJinja template, e.g. `{{ value | lower }}`
    #[arg(long)]
    pub template: Option<String>,
}

pub async fn run(
    client: &mut Client,
    command: AttributeMappingCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let response = match command {
        AttributeMappingCommand::Set(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            client
                .set_attribute_mapping(v1::SetAttributeMappingRequest {
                    workspace_id: workspace.id,
                    mapping: Some(v1::AttributeMapping {
                        source: args.source.clone(),
                        destination: args.destination.clone(),
                        template: args.template.clone().unwrap_or_default(),
                    }),
                })
                .await
                .rpc_context(|| format!("map {:?} to {:?}", args.source, args.destination))?
        }
        AttributeMappingCommand::Delete {
            workspace,
            destination,
        } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            client
                .delete_attribute_mapping(v1::DeleteAttributeMappingRequest {
                    workspace_id: workspace.id,
                    destination: destination.clone(),
                })
                .await
                .rpc_context(|| format!("delete the attribute mapping to {destination:?}"))?
        }
        AttributeMappingCommand::List { workspace } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            client
                .list_attribute_mappings(v1::ListAttributeMappingsRequest {
                    workspace_id: workspace.id,
                })
                .await
                .rpc_context(|| {
                    format!("list attribute mappings of workspace {:?}", workspace.slug)
                })?
        }
    };
    let views: Vec<AttributeMappingView> = response
        .mappings
        .into_iter()
        .map(AttributeMappingView::from)
        .collect();
    output::render_list(format, &views)
}

/// One mapping. JSON: `{"source": .., "destination": .., "template": ..|null}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AttributeMappingView {
    pub source: String,
    pub destination: String,
    pub template: Option<String>,
}

impl From<v1::AttributeMapping> for AttributeMappingView {
    fn from(m: v1::AttributeMapping) -> Self {
        Self {
            source: m.source,
            destination: m.destination,
            template: Some(m.template).filter(|t| !t.is_empty()),
        }
    }
}

impl TableRow for AttributeMappingView {
    const HEADERS: &'static [&'static str] = &["source", "destination", "template"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.source.clone(),
            self.destination.clone(),
            output::text_cell(self.template.as_deref()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_templates_render_as_absent() {
        let view = AttributeMappingView::from(v1::AttributeMapping {
            source: "title".into(),
            destination: "public_metadata.title".into(),
            template: String::new(),
        });
        assert_eq!(view.template, None);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["template"], serde_json::Value::Null);
        assert_eq!(view.cells()[2], "-");
    }
}

//! `scimctl attribute-mapping ...`: per-workspace rules that copy a SCIM value into a
//! profile field, `public_metadata.<key>` or `organization_role`, optionally through a
//! Liquid template (`value` and `user` in scope). Applied on every create and update of a
//! user and on group pushes that touch it. `import` takes seed 003's JSON verbatim.

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
    /// Set mappings from a JSON file in the shape seed 003 gives:
    /// `{"mapping": {"<source>": "<destination>" | "<template><destination>"}}`, e.g.
    /// `{"mapping": {"groups[0].value": "{{ value | downcase }}.organization_role"}}`
    /// (the destination follows the template's closing braces)
    Import {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// The JSON file (`-` for stdin)
        #[arg(long)]
        file: std::path::PathBuf,
    },
}

/// One entry of an imported mapping file: `source` → `template` + `destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMapping {
    pub source: String,
    pub destination: String,
    pub template: Option<String>,
}

/// Reads seed 003's shape: `{"mapping": {source: value}}` where `value` is a destination,
/// or a Liquid template immediately followed by the destination
/// (`"{{ value | downcase }}.organization_role"`; the `.` after the braces is optional).
pub fn parse_mapping_file(text: &str) -> anyhow::Result<Vec<ImportedMapping>> {
    let document: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| anyhow::anyhow!("the mapping file is not JSON: {e}"))?;
    let Some(entries) = document
        .get("mapping")
        .and_then(serde_json::Value::as_object)
    else {
        anyhow::bail!(
            r#"the mapping file must be an object {{"mapping": {{"<source>": "<destination>"}}}}"#
        );
    };
    if entries.is_empty() {
        anyhow::bail!("the mapping file has no mappings");
    }
    entries
        .iter()
        .map(|(source, value)| {
            let Some(value) = value.as_str() else {
                anyhow::bail!("mapping of {source:?}: the value must be a string");
            };
            let value = value.trim();
            // The template ends at its last closing `}}` or `%}`.
            let template_end = [value.rfind("}}"), value.rfind("%}")]
                .into_iter()
                .flatten()
                .max()
                .map(|i| i + 2);
            let (template, destination) = match template_end {
                Some(end) => (Some(value[..end].to_owned()), &value[end..]),
                None => (None, value),
            };
            let destination = destination.trim();
            let destination = destination.strip_prefix('.').unwrap_or(destination).trim();
            if destination.is_empty() {
                anyhow::bail!(
                    "mapping of {source:?}: no destination after the template (write it after the closing braces, e.g. `}}}}.organization_role`)"
                );
            }
            Ok(ImportedMapping {
                source: source.clone(),
                destination: destination.to_owned(),
                template,
            })
        })
        .collect()
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
    /// Optional Liquid template, e.g. `{{ value | downcase }}`
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
                .attributes()
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
                .attributes()
                .delete_attribute_mapping(v1::DeleteAttributeMappingRequest {
                    workspace_id: workspace.id,
                    destination: destination.clone(),
                })
                .await
                .rpc_context(|| format!("delete the attribute mapping to {destination:?}"))?
        }
        AttributeMappingCommand::Import { workspace, file } => {
            let text = if file.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&file)
                    .map_err(|e| anyhow::anyhow!("read {}: {e}", file.display()))?
            };
            let mappings = parse_mapping_file(&text)?;
            let workspace = resolve_workspace(client, &workspace).await?;
            let mut last = None;
            for (done, mapping) in mappings.iter().enumerate() {
                let response = client
                    .attributes()
                    .set_attribute_mapping(v1::SetAttributeMappingRequest {
                        workspace_id: workspace.id.clone(),
                        mapping: Some(v1::AttributeMapping {
                            source: mapping.source.clone(),
                            destination: mapping.destination.clone(),
                            template: mapping.template.clone().unwrap_or_default(),
                        }),
                    })
                    .await
                    .rpc_context(|| {
                        format!(
                            "map {:?} to {:?} ({done} of {} mappings set before this one)",
                            mapping.source,
                            mapping.destination,
                            mappings.len()
                        )
                    })?;
                last = Some(response);
            }
            last.expect("at least one mapping")
        }
        AttributeMappingCommand::List { workspace } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            client
                .attributes()
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
    fn seed_003_mapping_files_parse_verbatim() {
        let role = r#"{
  "mapping": {
    "groups[0].value": "{{ value | downcase | replace: \"admins\", \"org:admin\" | default: \"org:member\" }}.organization_role"
  }
}"#;
        assert_eq!(
            parse_mapping_file(role).unwrap(),
            [ImportedMapping {
                source: "groups[0].value".into(),
                destination: "organization_role".into(),
                template: Some(
                    r#"{{ value | downcase | replace: "admins", "org:admin" | default: "org:member" }}"#
                        .into()
                ),
            }]
        );
        let metadata = r#"{
"mapping": {
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.department":
"public_metadata.department",
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User.employeeNumber":
"public_metadata.employee_number"
}
}"#;
        let parsed = parse_mapping_file(metadata).unwrap();
        assert_eq!(parsed.len(), 2);
        assert!(parsed.iter().all(|m| m.template.is_none()));
        assert!(
            parsed
                .iter()
                .any(|m| m.destination == "public_metadata.employee_number"
                    && m.source.ends_with("User.employeeNumber"))
        );
        for (bad, says) in [
            ("[]", "must be an object"),
            (r#"{"mapping": {}}"#, "no mappings"),
            (r#"{"mapping": {"title": 3}}"#, "must be a string"),
            (r#"{"mapping": {"title": "{{ value }}"}}"#, "no destination"),
            ("{", "not JSON"),
        ] {
            let message = parse_mapping_file(bad).unwrap_err().to_string();
            assert!(message.contains(says), "{bad}: {message}");
        }
    }

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

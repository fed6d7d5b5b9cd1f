//! `scimctl attribute ...`: custom attributes a workspace declares for its users. Their
//! values travel in the user's extension object under the schema URN.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand, ValueEnum};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum AttributeCommand {
    /// Declare a custom attribute
    Declare(DeclareArgs),
    /// List the custom attributes of a workspace
    List {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
    /// Remove a declaration (stored values stay, unchecked)
    Delete {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// Extension schema URN
        #[arg(long)]
        schema: String,
        /// Attribute name
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AttributeTypeArg {
    String,
    Boolean,
    Integer,
    Decimal,
    DateTime,
}

impl From<AttributeTypeArg> for v1::AttributeType {
    fn from(arg: AttributeTypeArg) -> Self {
        match arg {
            AttributeTypeArg::String => v1::AttributeType::String,
            AttributeTypeArg::Boolean => v1::AttributeType::Boolean,
            AttributeTypeArg::Integer => v1::AttributeType::Integer,
            AttributeTypeArg::Decimal => v1::AttributeType::Decimal,
            AttributeTypeArg::DateTime => v1::AttributeType::DateTime,
        }
    }
}

#[derive(Debug, Args)]
pub struct DeclareArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// Extension schema URN, e.g. urn:acme:params:scim:schemas:extension:acme:2.0:User
    #[arg(long)]
    pub schema: String,
    /// Attribute name, e.g. costCode
    #[arg(long)]
    pub name: String,
    /// Value type
    #[arg(long = "type", value_enum, default_value_t = AttributeTypeArg::String)]
    pub kind: AttributeTypeArg,
    /// The attribute holds a list of values
    #[arg(long)]
    pub multi_valued: bool,
    /// Compare strings exactly in filters (default: case-insensitively)
    #[arg(long)]
    pub case_exact: bool,
    #[arg(long, default_value = "")]
    pub description: String,
}

pub async fn run(
    client: &mut Client,
    command: AttributeCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        AttributeCommand::Declare(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let declared = client
                .attributes()
                .declare_custom_attribute(v1::DeclareCustomAttributeRequest {
                    workspace_id: workspace.id,
                    schema: args.schema.clone(),
                    name: args.name.clone(),
                    r#type: v1::AttributeType::from(args.kind) as i32,
                    multi_valued: args.multi_valued,
                    case_exact: args.case_exact,
                    description: args.description,
                })
                .await
                .rpc_context(|| format!("declare {}:{}", args.schema, args.name))?;
            output::render_one(format, &AttributeView::from(declared))
        }
        AttributeCommand::List { workspace } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let response = client
                .attributes()
                .list_custom_attributes(v1::ListCustomAttributesRequest {
                    workspace_id: workspace.id,
                })
                .await
                .rpc_context(|| format!("list custom attributes of {:?}", workspace.slug))?;
            let views: Vec<AttributeView> = response
                .attributes
                .into_iter()
                .map(AttributeView::from)
                .collect();
            output::render_list(format, &views)
        }
        AttributeCommand::Delete {
            workspace,
            schema,
            name,
        } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            client
                .attributes()
                .delete_custom_attribute(v1::DeleteCustomAttributeRequest {
                    workspace_id: workspace.id,
                    schema: schema.clone(),
                    name: name.clone(),
                })
                .await
                .rpc_context(|| format!("delete {schema}:{name}"))?;
            match format {
                OutputFormat::Json => output::render_json(
                    &serde_json::json!({"deleted": {"schema": schema, "name": name}}),
                ),
                OutputFormat::Table => Ok(format!("deleted {schema}:{name}\n")),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AttributeView {
    pub schema: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub multi_valued: bool,
    pub case_exact: bool,
    pub description: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
}

impl From<v1::CustomAttribute> for AttributeView {
    fn from(a: v1::CustomAttribute) -> Self {
        let kind =
            match v1::AttributeType::try_from(a.r#type).unwrap_or(v1::AttributeType::Unspecified) {
                v1::AttributeType::String => "string",
                v1::AttributeType::Boolean => "boolean",
                v1::AttributeType::Integer => "integer",
                v1::AttributeType::Decimal => "decimal",
                v1::AttributeType::DateTime => "dateTime",
                v1::AttributeType::Unspecified => "unspecified",
            };
        Self {
            created: output::timestamp(a.created.as_ref()),
            schema: a.schema,
            name: a.name,
            kind: kind.to_owned(),
            multi_valued: a.multi_valued,
            case_exact: a.case_exact,
            description: a.description,
        }
    }
}

impl TableRow for AttributeView {
    const HEADERS: &'static [&'static str] = &[
        "schema",
        "name",
        "type",
        "multi_valued",
        "case_exact",
        "created",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.schema.clone(),
            self.name.clone(),
            self.kind.clone(),
            self.multi_valued.to_string(),
            self.case_exact.to_string(),
            output::timestamp_cell(self.created.as_ref()),
        ]
    }
}

//! `scimctl role-mapping ...`: which workspace role an IdP role value or a group name
//! stands for. An IdP role value (`roles[primary eq true].value`, matched exactly) maps to
//! admin, member or a custom role; a group displayName (matched exactly, applied when the
//! group is created) maps to admin or member. The directory validates the role.

use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum RoleMappingCommand {
    /// Map an IdP role value or a group displayName to a role (replaces an existing
    /// mapping of the same value); prints the workspace's mappings
    Set(SetArgs),
    /// Remove the mapping of an IdP role value or a group displayName; prints the
    /// workspace's remaining mappings
    Delete(DeleteArgs),
    /// List the role mappings of a workspace
    List {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
}

/// What is mapped: exactly one of `--idp-role` and `--group`.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
#[group(required = true, multiple = false)]
pub struct SourceArgs {
    /// The IdP role value (`roles[primary eq true].value`), matched exactly
    #[arg(long, value_name = "VALUE")]
    pub idp_role: Option<String>,
    /// The group displayName, matched exactly (applied when the group is created)
    #[arg(long, value_name = "DISPLAY_NAME")]
    pub group: Option<String>,
}

impl SourceArgs {
    /// The wire source and the mapped value.
    pub fn source(&self) -> (v1::RoleMappingSource, &str) {
        match (&self.idp_role, &self.group) {
            (Some(value), _) => (v1::RoleMappingSource::IdpRole, value),
            (None, Some(name)) => (v1::RoleMappingSource::GroupName, name),
            // clap's group makes one of the two required.
            (None, None) => (v1::RoleMappingSource::Unspecified, ""),
        }
    }
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    #[command(flatten)]
    pub source: SourceArgs,
    /// `admin`, `member`, or (IdP role values only) a custom role name
    #[arg(long)]
    pub role: String,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    #[command(flatten)]
    pub source: SourceArgs,
}

pub async fn run(
    client: &mut Client,
    command: RoleMappingCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let response = match command {
        RoleMappingCommand::Set(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let request = set_request(workspace.id, &args);
            let (source, value) = args.source.source();
            client
                .roles()
                .set_role_mapping(request)
                .await
                .rpc_context(|| {
                    format!(
                        "map {} {value:?} to role {:?}",
                        source_name(source as i32),
                        args.role
                    )
                })?
        }
        RoleMappingCommand::Delete(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let request = delete_request(workspace.id, &args);
            let (source, value) = args.source.source();
            client
                .roles()
                .delete_role_mapping(request)
                .await
                .rpc_context(|| {
                    format!(
                        "delete the role mapping of {} {value:?}",
                        source_name(source as i32)
                    )
                })?
        }
        RoleMappingCommand::List { workspace } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            client
                .roles()
                .list_role_mappings(v1::ListRoleMappingsRequest {
                    workspace_id: workspace.id,
                })
                .await
                .rpc_context(|| format!("list role mappings of workspace {:?}", workspace.slug))?
        }
    };
    render_mappings(format, response)
}

pub fn set_request(workspace_id: String, args: &SetArgs) -> v1::SetRoleMappingRequest {
    let (source, value) = args.source.source();
    v1::SetRoleMappingRequest {
        workspace_id,
        mapping: Some(v1::RoleMapping {
            source: source as i32,
            value: value.to_owned(),
            role: args.role.clone(),
        }),
    }
}

pub fn delete_request(workspace_id: String, args: &DeleteArgs) -> v1::DeleteRoleMappingRequest {
    let (source, value) = args.source.source();
    v1::DeleteRoleMappingRequest {
        workspace_id,
        source: source as i32,
        value: value.to_owned(),
    }
}

/// `idp_role`, `group` (`unspecified` for a value this CLI does not know).
pub fn source_name(source: i32) -> &'static str {
    match v1::RoleMappingSource::try_from(source).unwrap_or(v1::RoleMappingSource::Unspecified) {
        v1::RoleMappingSource::IdpRole => "idp_role",
        v1::RoleMappingSource::GroupName => "group",
        v1::RoleMappingSource::Unspecified => "unspecified",
    }
}

/// One mapping. JSON: `{"source": "idp_role"|"group", "value": .., "role": ..}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleMappingView {
    pub source: &'static str,
    pub value: String,
    pub role: String,
}

impl From<v1::RoleMapping> for RoleMappingView {
    fn from(mapping: v1::RoleMapping) -> Self {
        Self {
            source: source_name(mapping.source),
            value: mapping.value,
            role: mapping.role,
        }
    }
}

impl TableRow for RoleMappingView {
    const HEADERS: &'static [&'static str] = &["source", "value", "role"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.source.to_owned(),
            self.value.clone(),
            self.role.clone(),
        ]
    }
}

/// The workspace's mappings: a table, or a JSON array.
pub fn render_mappings(
    format: OutputFormat,
    response: v1::ListRoleMappingsResponse,
) -> anyhow::Result<String> {
    let views: Vec<RoleMappingView> = response
        .mappings
        .into_iter()
        .map(RoleMappingView::from)
        .collect();
    output::render_list(format, &views)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: RoleMappingCommand,
    }

    fn parse(args: &[&str]) -> Result<RoleMappingCommand, clap::Error> {
        TestCli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .map(|cli| cli.command)
    }

    #[test]
    fn set_with_an_idp_role_value() {
        let RoleMappingCommand::Set(args) = parse(&[
            "set",
            "--workspace",
            "acme",
            "--idp-role",
            "Admin",
            "--role",
            "admin",
        ])
        .unwrap() else {
            panic!("expected set");
        };
        assert_eq!(
            set_request("ws-1".into(), &args),
            v1::SetRoleMappingRequest {
                workspace_id: "ws-1".into(),
                mapping: Some(v1::RoleMapping {
                    source: v1::RoleMappingSource::IdpRole as i32,
                    value: "Admin".into(),
                    role: "admin".into(),
                }),
            }
        );
    }

    #[test]
    fn set_with_a_group_name_keeps_the_value_exact() {
        let RoleMappingCommand::Set(args) = parse(&[
            "set",
            "--workspace",
            "acme",
            "--group",
            " Platform Owners",
            "--role",
            "billing",
        ])
        .unwrap() else {
            panic!("expected set");
        };
        let request = set_request("ws-1".into(), &args);
        let mapping = request.mapping.unwrap();
        assert_eq!(mapping.source, v1::RoleMappingSource::GroupName as i32);
        assert_eq!(mapping.value, " Platform Owners");
        // The directory decides which roles a group may map to.
        assert_eq!(mapping.role, "billing");
    }

    #[test]
    fn exactly_one_source_is_required() {
        let both = parse(&[
            "set",
            "--workspace",
            "a",
            "--idp-role",
            "Admin",
            "--group",
            "Admins",
            "--role",
            "admin",
        ]);
        assert_eq!(
            both.err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::ArgumentConflict)
        );
        let neither = parse(&["delete", "--workspace", "a"]);
        assert_eq!(
            neither.err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::MissingRequiredArgument)
        );
        let no_role = parse(&["set", "--workspace", "a", "--idp-role", "Admin"]);
        assert_eq!(
            no_role.err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::MissingRequiredArgument)
        );
    }

    #[test]
    fn delete_and_list_parse() {
        let RoleMappingCommand::Delete(args) =
            parse(&["delete", "--workspace", "acme", "--group", "Admins"]).unwrap()
        else {
            panic!("expected delete");
        };
        assert_eq!(
            delete_request("ws-1".into(), &args),
            v1::DeleteRoleMappingRequest {
                workspace_id: "ws-1".into(),
                source: v1::RoleMappingSource::GroupName as i32,
                value: "Admins".into(),
            }
        );
        assert!(matches!(
            parse(&["list", "--workspace", "acme"]).unwrap(),
            RoleMappingCommand::List { ref workspace } if workspace == "acme"
        ));
    }

    fn mappings() -> v1::ListRoleMappingsResponse {
        v1::ListRoleMappingsResponse {
            mappings: vec![
                v1::RoleMapping {
                    source: v1::RoleMappingSource::IdpRole as i32,
                    value: "Admin".into(),
                    role: "admin".into(),
                },
                v1::RoleMapping {
                    source: v1::RoleMappingSource::GroupName as i32,
                    value: "Platform Owners".into(),
                    role: "member".into(),
                },
                v1::RoleMapping {
                    source: 7,
                    value: "x".into(),
                    role: "billing:read".into(),
                },
            ],
        }
    }

    #[test]
    fn mappings_json_is_an_array_of_source_value_role() {
        let json: serde_json::Value =
            serde_json::from_str(&render_mappings(OutputFormat::Json, mappings()).unwrap())
                .unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"source": "idp_role", "value": "Admin", "role": "admin"},
                {"source": "group", "value": "Platform Owners", "role": "member"},
                {"source": "unspecified", "value": "x", "role": "billing:read"}
            ])
        );
        assert_eq!(
            render_mappings(OutputFormat::Json, v1::ListRoleMappingsResponse::default()).unwrap(),
            "[]\n"
        );
    }

    #[test]
    fn mappings_table() {
        assert_eq!(
            render_mappings(OutputFormat::Table, mappings()).unwrap(),
            "SOURCE       VALUE            ROLE\n\
             idp_role     Admin            admin\n\
             group        Platform Owners  member\n\
             unspecified  x                billing:read\n"
        );
    }
}

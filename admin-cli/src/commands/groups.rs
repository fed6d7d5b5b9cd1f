//! `scimctl group ...`: a workspace's groups with their member counts and what membership
//! means (a workspace role, a subscription's license, or nothing). Members themselves are
//! never loaded: a group may have 100k.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::members::role_name;
use crate::commands::workspaces::{is_hyphenated_uuid, resolve_workspace};
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// List groups: id, displayName, member count, role or license group
    List(ListArgs),
    /// Show one group (by id or exact displayName)
    Show {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// Group id or displayName
        #[arg(long)]
        group: String,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// Only groups whose displayName contains this text (case-insensitive)
    #[arg(long, value_name = "NAME")]
    pub filter: Option<String>,
    /// 1-based index of the first group to show
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
    pub start_index: i64,
    /// Maximum number of groups to show (default: the server's page size)
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub count: Option<i64>,
}

pub async fn run(
    client: &mut Client,
    command: GroupCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        GroupCommand::List(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = client
                .groups()
                .list_groups(list_request(
                    workspace.id,
                    args.filter
                        .as_deref()
                        .map(|name| display_name_filter(v1::CompareOp::Co, name)),
                    args.start_index,
                    args.count,
                ))
                .await
                .rpc_context(|| format!("list groups of workspace {:?}", workspace.slug))?;
            let list = GroupListView {
                total_results: response.total_results,
                start_index: response.start_index,
                groups: response.groups.into_iter().map(GroupView::from).collect(),
            };
            match format {
                OutputFormat::Json => output::render_json(&list),
                OutputFormat::Table => output::render_list(format, &list.groups),
            }
        }
        GroupCommand::Show { workspace, group } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let found = resolve_group(client, &workspace, &group).await?;
            output::render_one(format, &GroupView::from(found))
        }
    }
}

fn list_request(
    workspace_id: String,
    filter: Option<v1::Filter>,
    start_index: i64,
    count: Option<i64>,
) -> v1::ListGroupsRequest {
    v1::ListGroupsRequest {
        workspace_id,
        filter,
        start_index,
        count,
        exclude_members: true,
        sort: None,
        cursor: None,
        include_member_count: true,
    }
}

fn display_name_filter(op: v1::CompareOp, name: &str) -> v1::Filter {
    v1::Filter {
        node: Some(v1::filter::Node::Compare(v1::Comparison {
            path: Some(v1::AttributePath {
                schema: String::new(),
                attribute: "displayName".to_owned(),
                sub_attribute: String::new(),
            }),
            op: op as i32,
            value: Some(v1::FilterValue {
                kind: Some(v1::filter_value::Kind::StringValue(name.to_owned())),
            }),
        })),
    }
}

/// By id when `reference` is a UUID that names a group, else by exact displayName.
async fn resolve_group(
    client: &mut Client,
    workspace: &v1::Workspace,
    reference: &str,
) -> anyhow::Result<v1::Group> {
    if is_hyphenated_uuid(reference) {
        match client
            .groups()
            .get_group(v1::GetGroupRequest {
                workspace_id: workspace.id.clone(),
                id: reference.to_ascii_lowercase(),
                exclude_members: true,
                include_member_count: true,
            })
            .await
        {
            Ok(response) => return Ok(response.into_inner()),
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => {
                return Err(crate::client::RpcError::from(status))
                    .with_context(|| format!("look up group {reference:?}"));
            }
        }
    }
    let mut groups = client
        .groups()
        .list_groups(list_request(
            workspace.id.clone(),
            Some(display_name_filter(v1::CompareOp::Eq, reference)),
            1,
            Some(1),
        ))
        .await
        .rpc_context(|| format!("look up group {reference:?}"))?
        .groups;
    if groups.is_empty() {
        return Err(crate::NotFound(format!(
            "no group with id or displayName {reference:?} in workspace {:?}",
            workspace.slug
        ))
        .into());
    }
    Ok(groups.remove(0))
}

/// A group for admins. `kind` is `admin` or `member` (a role group), `license` (a
/// subscription's license group, `license_subscription_id` names it) or `plain`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupView {
    pub id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub member_count: Option<i64>,
    pub kind: &'static str,
    pub license_subscription_id: Option<String>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
}

impl From<v1::Group> for GroupView {
    fn from(group: v1::Group) -> Self {
        let attributes = group.attributes.unwrap_or_default();
        let license = Some(group.license_subscription_id).filter(|id| !id.is_empty());
        let kind = match (&license, role_name(group.role)) {
            (Some(_), _) => "license",
            (None, "admin") => "admin",
            (None, "member") => "member",
            (None, _) => "plain",
        };
        Self {
            id: group.id,
            display_name: attributes.display_name,
            external_id: attributes.external_id,
            member_count: group.member_count,
            kind,
            license_subscription_id: license,
            created: output::timestamp(group.created.as_ref()),
        }
    }
}

impl TableRow for GroupView {
    const HEADERS: &'static [&'static str] =
        &["id", "display_name", "members", "kind", "subscription"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            output::text_cell(Some(&self.display_name)),
            self.member_count
                .map_or_else(|| "-".to_owned(), |n| n.to_string()),
            self.kind.to_owned(),
            output::text_cell(self.license_subscription_id.as_deref()),
        ]
    }
}

/// One page of groups. JSON: `{"total_results": .., "start_index": .., "groups": [..]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupListView {
    pub total_results: i64,
    pub start_index: i64,
    pub groups: Vec<GroupView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_follows_role_and_license() {
        let group = |role: v1::WorkspaceRole, license: &str| v1::Group {
            role: role as i32,
            license_subscription_id: license.into(),
            member_count: Some(3),
            ..Default::default()
        };
        assert_eq!(
            GroupView::from(group(v1::WorkspaceRole::Admin, "")).kind,
            "admin"
        );
        assert_eq!(
            GroupView::from(group(v1::WorkspaceRole::Member, "")).kind,
            "member"
        );
        assert_eq!(
            GroupView::from(group(v1::WorkspaceRole::None, "")).kind,
            "plain"
        );
        let license = GroupView::from(group(v1::WorkspaceRole::None, "sub_1"));
        assert_eq!(
            (license.kind, license.license_subscription_id.as_deref()),
            ("license", Some("sub_1"))
        );
        assert_eq!(license.cells()[2], "3");
    }
}

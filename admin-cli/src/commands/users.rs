//! `scimctl user ...`: views of a workspace's users, and the import of members who existed
//! before SCIM.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcError, RpcResultExt as _};
use crate::commands::import::{self, ImportArgs};
use crate::commands::members::role_name;
use crate::commands::workspaces::{is_hyphenated_uuid, resolve_workspace};
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// List the users of a workspace
    List(ListArgs),
    /// Show one user as the product sees it: profile, public metadata, organization role,
    /// workspace role, licenses and groups
    Show {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// User id or userName
        #[arg(long)]
        user: String,
    },
    /// Import members who existed before SCIM from a CSV or JSON file (or stdin), so the
    /// IdP links them instead of creating duplicates; a userName already present is
    /// reported as existing. Exits non-zero when any member failed.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// Only the user with this userName (case-insensitive, as in SCIM `userName eq "..."`)
    #[arg(long, value_name = "USER_NAME")]
    pub filter_user_name: Option<String>,
    /// 1-based index of the first user to show
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
    pub start_index: i64,
    /// Maximum number of users to show (default: the server's page size)
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub count: Option<i64>,
}

pub async fn run(
    client: &mut Client,
    command: UserCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        UserCommand::List(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = client
                .users()
                .list_users(list_users_request(workspace.id, &args))
                .await
                .rpc_context(|| format!("list users of workspace {:?}", workspace.slug))?;
            render_user_list(format, &UserListView::from(response))
        }
        UserCommand::Show { workspace, user } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let found = resolve_user(client, &workspace, &user).await?;
            let access = client
                .roles()
                .get_user_access(v1::GetUserAccessRequest {
                    workspace_id: workspace.id,
                    user_id: found.id.clone(),
                })
                .await
                .rpc_context(|| format!("get the access of {user:?}"))?;
            output::render_one(format, &UserDetailView::new(found, access))
        }
        UserCommand::Import(args) => import::run(client, args, format).await,
    }
}

/// `scimctl user show`: the profile with what the directory derives from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserDetailView {
    #[serde(flatten)]
    pub user: UserView,
    pub public_metadata: serde_json::Map<String, serde_json::Value>,
    pub organization_role: Option<String>,
    #[serde(flatten)]
    pub access: AccessFields,
    pub groups: Vec<GroupRefView>,
}

/// The access part of [`UserDetailView`]; `role` is the effective role (none while
/// inactive), `granted_role` a direct grant, `custom_role` what an IdP role value maps to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AccessFields {
    pub role: &'static str,
    /// Where `role` comes from: `role_group`, `direct_grant`, `idp_role_mapping`.
    pub role_sources: Vec<String>,
    pub granted_role: &'static str,
    pub custom_role: Option<String>,
    pub licenses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRefView {
    pub id: String,
    pub display_name: String,
}

impl UserDetailView {
    pub fn new(user: v1::User, access: v1::UserAccess) -> Self {
        let public_metadata = user
            .public_metadata
            .clone()
            .map(directory_proto::json::struct_to_json)
            .unwrap_or_default();
        let organization_role = Some(user.organization_role.clone()).filter(|r| !r.is_empty());
        let groups = user
            .groups
            .iter()
            .map(|group| GroupRefView {
                id: group.value.clone(),
                display_name: group.display.clone(),
            })
            .collect();
        Self {
            user: UserView::from(user),
            public_metadata,
            organization_role,
            access: AccessFields {
                role: role_name(access.role),
                role_sources: access.role_sources,
                granted_role: role_name(access.granted_role),
                custom_role: Some(access.custom_role).filter(|role| !role.is_empty()),
                licenses: access.licenses,
            },
            groups,
        }
    }
}

impl TableRow for UserDetailView {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "user_name",
        "active",
        "role",
        "organization_role",
        "licenses",
        "groups",
    ];
    fn cells(&self) -> Vec<String> {
        let groups: Vec<&str> = self
            .groups
            .iter()
            .map(|group| group.display_name.as_str())
            .collect();
        vec![
            self.user.id.clone(),
            self.user.user_name.clone(),
            self.user.active.to_string(),
            self.access.role.to_owned(),
            output::text_cell(self.organization_role.as_deref()),
            output::text_cell(Some(&self.access.licenses.join(", "))),
            output::text_cell(Some(&groups.join(", "))),
        ]
    }
}

pub fn list_users_request(workspace_id: String, args: &ListArgs) -> v1::ListUsersRequest {
    v1::ListUsersRequest {
        workspace_id,
        filter: args.filter_user_name.as_deref().map(user_name_filter),
        start_index: args.start_index,
        count: args.count,
        sort: None,
        cursor: None,
    }
}

/// `userName eq "<user_name>"` as a typed filter.
pub fn user_name_filter(user_name: &str) -> v1::Filter {
    v1::Filter {
        node: Some(v1::filter::Node::Compare(v1::Comparison {
            path: Some(v1::AttributePath {
                schema: String::new(),
                attribute: "userName".to_owned(),
                sub_attribute: String::new(),
            }),
            op: v1::CompareOp::Eq as i32,
            value: Some(v1::FilterValue {
                kind: Some(v1::filter_value::Kind::StringValue(user_name.to_owned())),
            }),
        })),
    }
}

/// What `--user` names: a user id (when it is a UUID) or else a userName. A UUID that is
/// no user's id is still tried as a userName.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    pub id: Option<String>,
    pub user_name: String,
}

impl UserRef {
    pub fn parse(reference: &str) -> anyhow::Result<Self> {
        let reference = reference.trim();
        if reference.is_empty() {
            anyhow::bail!("--user must not be empty");
        }
        Ok(Self {
            id: is_hyphenated_uuid(reference).then(|| reference.to_ascii_lowercase()),
            user_name: reference.to_owned(),
        })
    }
}

/// Looks a user of `workspace` up by id or userName (`userName eq`, case-insensitive).
pub async fn resolve_user(
    client: &mut Client,
    workspace: &v1::Workspace,
    reference: &str,
) -> anyhow::Result<v1::User> {
    let user_ref = UserRef::parse(reference)?;
    if let Some(id) = &user_ref.id {
        match client
            .users()
            .get_user(v1::GetUserRequest {
                workspace_id: workspace.id.clone(),
                id: id.clone(),
            })
            .await
        {
            Ok(response) => return Ok(response.into_inner()),
            // Not an id after all: it may still be a userName.
            Err(status) if status.code() == tonic::Code::NotFound => {}
            Err(status) => {
                return Err(RpcError::from(status))
                    .with_context(|| format!("look up user {reference:?}"));
            }
        }
    }
    let mut users = client
        .users()
        .list_users(v1::ListUsersRequest {
            workspace_id: workspace.id.clone(),
            filter: Some(user_name_filter(&user_ref.user_name)),
            start_index: 1,
            count: Some(2),
            sort: None,
            cursor: None,
        })
        .await
        .rpc_context(|| format!("look up user {reference:?}"))?
        .users;
    match users.len() {
        1 => Ok(users.remove(0)),
        0 => Err(crate::NotFound(format!(
            "no user with id or userName {:?} in workspace {:?}",
            user_ref.user_name, workspace.slug
        ))
        .into()),
        _ => anyhow::bail!(
            "several users have the userName {:?} in workspace {:?}: pass the user id instead",
            user_ref.user_name,
            workspace.slug
        ),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EmailView {
    pub value: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub primary: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserView {
    pub id: String,
    pub workspace_id: String,
    pub user_name: String,
    pub display_name: Option<String>,
    pub active: bool,
    pub external_id: Option<String>,
    pub emails: Vec<EmailView>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub last_modified: Option<DateTime<Utc>>,
    pub version: i64,
}

impl From<v1::User> for UserView {
    fn from(user: v1::User) -> Self {
        let attributes = user.attributes.unwrap_or_default();
        Self {
            id: user.id,
            workspace_id: user.workspace_id,
            user_name: attributes.user_name,
            display_name: attributes.display_name,
            active: attributes.active != Some(false),
            external_id: attributes.external_id,
            emails: attributes
                .emails
                .into_iter()
                .map(|email| EmailView {
                    value: email.value,
                    kind: email.r#type,
                    primary: email.primary,
                })
                .collect(),
            created: output::timestamp(user.created.as_ref()),
            last_modified: output::timestamp(user.last_modified.as_ref()),
            version: user.version,
        }
    }
}

impl TableRow for UserView {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "user_name",
        "display_name",
        "active",
        "external_id",
        "emails",
    ];
    fn cells(&self) -> Vec<String> {
        let emails: Vec<&str> = self.emails.iter().map(|e| e.value.as_str()).collect();
        vec![
            self.id.clone(),
            self.user_name.clone(),
            output::text_cell(self.display_name.as_deref()),
            self.active.to_string(),
            output::text_cell(self.external_id.as_deref()),
            output::text_cell(Some(&emails.join(", "))),
        ]
    }
}

/// One page of users. JSON: `{"total_results": .., "start_index": .., "users": [..]}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserListView {
    pub total_results: i64,
    pub start_index: i64,
    pub users: Vec<UserView>,
}

impl From<v1::ListUsersResponse> for UserListView {
    fn from(response: v1::ListUsersResponse) -> Self {
        Self {
            total_results: response.total_results,
            start_index: response.start_index,
            users: response.users.into_iter().map(UserView::from).collect(),
        }
    }
}

pub fn render_user_list(format: OutputFormat, list: &UserListView) -> anyhow::Result<String> {
    match format {
        OutputFormat::Json => output::render_json(list),
        OutputFormat::Table => {
            let mut text = output::render_list(format, &list.users)?;
            text.push_str(&page_summary(list));
            Ok(text)
        }
    }
}

fn page_summary(list: &UserListView) -> String {
    let shown = i64::try_from(list.users.len()).unwrap_or(i64::MAX);
    if list.total_results == 0 {
        return "no users\n".to_owned();
    }
    if shown == 0 {
        return format!(
            "{} users in total, none shown from start index {}\n",
            list.total_results, list.start_index
        );
    }
    let first = list.start_index.max(1);
    format!(
        "users {first}-{} of {}\n",
        first.saturating_add(shown - 1),
        list.total_results
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn user(id: &str, user_name: &str, emails: &[&str]) -> v1::User {
        v1::User {
            id: id.into(),
            workspace_id: "ws-1".into(),
            attributes: Some(v1::UserAttributes {
                user_name: user_name.into(),
                display_name: Some(format!("{user_name} display")),
                active: Some(true),
                external_id: None,
                emails: emails
                    .iter()
                    .enumerate()
                    .map(|(index, value)| v1::MultiValue {
                        value: (*value).into(),
                        r#type: Some("work".into()),
                        primary: index == 0,
                        display: None,
                    })
                    .collect(),
                ..Default::default()
            }),
            created: Some(prost_types::Timestamp {
                seconds: 1_735_689_600,
                nanos: 0,
            }),
            last_modified: None,
            version: 3,
            groups: Vec::new(),
            public_metadata: None,
            organization_role: String::new(),
        }
    }

    #[test]
    fn user_name_filter_is_a_typed_eq_comparison() {
        let filter = user_name_filter("bjensen@example.com");
        let Some(v1::filter::Node::Compare(comparison)) = filter.node else {
            panic!("expected a comparison, got {filter:?}");
        };
        let path = comparison.path.unwrap();
        assert_eq!(path.schema, "");
        assert_eq!(path.attribute, "userName");
        assert_eq!(path.sub_attribute, "");
        assert_eq!(comparison.op, v1::CompareOp::Eq as i32);
        assert_eq!(
            comparison.value.unwrap().kind,
            Some(v1::filter_value::Kind::StringValue(
                "bjensen@example.com".into()
            ))
        );
    }

    #[test]
    fn user_ref_is_an_id_candidate_only_when_a_uuid() {
        assert_eq!(
            UserRef::parse(" 0190F5A2-7B3C-7D4E-8F60-123456789ABC ").unwrap(),
            UserRef {
                id: Some("0190f5a2-7b3c-7d4e-8f60-123456789abc".into()),
                user_name: "0190F5A2-7B3C-7D4E-8F60-123456789ABC".into(),
            }
        );
        assert_eq!(
            UserRef::parse("bjensen@example.com").unwrap(),
            UserRef {
                id: None,
                user_name: "bjensen@example.com".into(),
            }
        );
        assert!(UserRef::parse(" ").is_err());
    }

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        args: ListArgs,
    }

    #[test]
    fn request_carries_paging_and_optional_filter() {
        let args = TestCli::parse_from(["t", "--workspace", "acme"]).args;
        let request = list_users_request("ws-1".into(), &args);
        assert_eq!(request.workspace_id, "ws-1");
        assert_eq!(request.filter, None);
        assert_eq!(request.start_index, 1);
        assert_eq!(request.count, None);

        let args = TestCli::parse_from([
            "t",
            "--workspace",
            "acme",
            "--filter-user-name",
            "bjensen",
            "--start-index",
            "11",
            "--count",
            "10",
        ])
        .args;
        let request = list_users_request("ws-1".into(), &args);
        assert_eq!(request.filter, Some(user_name_filter("bjensen")));
        assert_eq!(request.start_index, 11);
        assert_eq!(request.count, Some(10));

        assert!(TestCli::try_parse_from(["t", "--workspace", "a", "--start-index", "0"]).is_err());
        assert!(TestCli::try_parse_from(["t", "--workspace", "a", "--count", "-1"]).is_err());
    }

    fn page() -> UserListView {
        UserListView::from(v1::ListUsersResponse {
            users: vec![
                user(
                    "u-1",
                    "bjensen",
                    &["bjensen@example.com", "babs@home.example"],
                ),
                user("u-2", "jsmith", &[]),
            ],
            total_results: 7,
            start_index: 3,
            next_cursor: String::new(),
        })
    }

    #[test]
    fn user_table_has_the_columns_and_a_page_summary() {
        let table = render_user_list(OutputFormat::Table, &page()).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            [
                "ID",
                "USER_NAME",
                "DISPLAY_NAME",
                "ACTIVE",
                "EXTERNAL_ID",
                "EMAILS"
            ]
        );
        assert!(lines[1].starts_with("u-1"));
        assert!(lines[1].contains("bjensen display"));
        assert!(lines[1].ends_with("bjensen@example.com, babs@home.example"));
        assert!(lines[2].starts_with("u-2"));
        assert!(lines[2].ends_with('-'));
        assert_eq!(lines[3], "users 3-4 of 7");
        assert_eq!(lines.len(), 4);
    }

    #[test]
    fn user_json_includes_total_results_and_users() {
        let json: serde_json::Value =
            serde_json::from_str(&render_user_list(OutputFormat::Json, &page()).unwrap()).unwrap();
        assert_eq!(json["total_results"], 7);
        assert_eq!(json["start_index"], 3);
        assert_eq!(json["users"].as_array().unwrap().len(), 2);
        assert_eq!(
            json["users"][0],
            serde_json::json!({
                "id": "u-1",
                "workspace_id": "ws-1",
                "user_name": "bjensen",
                "display_name": "bjensen display",
                "active": true,
                "external_id": null,
                "emails": [
                    {"value": "bjensen@example.com", "type": "work", "primary": true},
                    {"value": "babs@home.example", "type": "work", "primary": false}
                ],
                "created": "2025-01-01T00:00:00Z",
                "last_modified": null,
                "version": 3
            })
        );
    }

    #[test]
    fn empty_page_summary() {
        let list = UserListView {
            total_results: 5,
            start_index: 10,
            users: Vec::new(),
        };
        assert_eq!(
            page_summary(&list),
            "5 users in total, none shown from start index 10\n"
        );
        let list = UserListView {
            total_results: 0,
            start_index: 1,
            users: Vec::new(),
        };
        assert_eq!(page_summary(&list), "no users\n");
    }
}

//! `scimctl member ...`: workspace roles. Roles come from role groups pushed by the IdP
//! (displayName containing admin or member) and from grants made here; a grant is how
//! another admin is named before the last one leaves the admin group.

use clap::{Args, Subcommand, ValueEnum};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::users::{UserListView, render_user_list, resolve_user};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    /// Grant a role directly, or withdraw the grant with `--role none` (roles from role
    /// groups stay)
    SetRole(SetRoleArgs),
    /// Show a user's effective role and licenses
    Show {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// User id or userName
        #[arg(long)]
        user: String,
    },
    /// List the active admins of a workspace
    Admins(AdminsArgs),
}

#[derive(Debug, Args)]
pub struct SetRoleArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// User id or userName
    #[arg(long)]
    pub user: String,
    /// The role to grant (`none` withdraws the direct grant)
    #[arg(long, value_enum)]
    pub role: RoleArg,
}

#[derive(Debug, Args)]
pub struct AdminsArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// 1-based index of the first admin to show
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
    pub start_index: i64,
    /// Maximum number of admins to show (default: the server's page size)
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub count: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Admin,
    Member,
    None,
}

impl From<RoleArg> for v1::WorkspaceRole {
    fn from(arg: RoleArg) -> Self {
        match arg {
            RoleArg::Admin => v1::WorkspaceRole::Admin,
            RoleArg::Member => v1::WorkspaceRole::Member,
            RoleArg::None => v1::WorkspaceRole::None,
        }
    }
}

pub async fn run(
    client: &mut Client,
    command: MemberCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        MemberCommand::SetRole(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let user = resolve_user(client, &workspace, &args.user).await?;
            let user_name = user_name(&user);
            let access = client
                .roles()
                .set_member_role(v1::SetMemberRoleRequest {
                    workspace_id: workspace.id,
                    user_id: user.id,
                    role: v1::WorkspaceRole::from(args.role) as i32,
                })
                .await
                .rpc_context(|| {
                    format!(
                        "set the role of {:?} to {}",
                        args.user,
                        role_name(v1::WorkspaceRole::from(args.role) as i32)
                    )
                })?;
            output::render_one(format, &UserAccessView::new(access, user_name))
        }
        MemberCommand::Show { workspace, user } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let found = resolve_user(client, &workspace, &user).await?;
            let user_name = user_name(&found);
            let access = client
                .roles()
                .get_user_access(v1::GetUserAccessRequest {
                    workspace_id: workspace.id,
                    user_id: found.id,
                })
                .await
                .rpc_context(|| format!("get the access of {user:?}"))?;
            output::render_one(format, &UserAccessView::new(access, user_name))
        }
        MemberCommand::Admins(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = client
                .roles()
                .list_workspace_admins(admins_request(workspace.id, &args))
                .await
                .rpc_context(|| format!("list admins of workspace {:?}", workspace.slug))?;
            render_user_list(format, &UserListView::from(response))
        }
    }
}

fn user_name(user: &v1::User) -> String {
    user.attributes
        .as_ref()
        .map(|attributes| attributes.user_name.clone())
        .unwrap_or_default()
}

pub fn admins_request(workspace_id: String, args: &AdminsArgs) -> v1::ListWorkspaceAdminsRequest {
    v1::ListWorkspaceAdminsRequest {
        workspace_id,
        start_index: args.start_index,
        count: args.count,
    }
}

/// `admin`, `member`, `none` (`unspecified` for a value this CLI does not know).
pub fn role_name(role: i32) -> &'static str {
    match v1::WorkspaceRole::try_from(role).unwrap_or(v1::WorkspaceRole::Unspecified) {
        v1::WorkspaceRole::Admin => "admin",
        v1::WorkspaceRole::Member => "member",
        v1::WorkspaceRole::None => "none",
        v1::WorkspaceRole::Unspecified => "unspecified",
    }
}

/// A user's access. `role` is the effective role (none while inactive), `granted_role` the
/// direct grant, `custom_role` the custom role an IdP role value maps to (null unless the
/// role is none otherwise); `licenses` are subscription ids held, `waiting_licenses` those
/// the user waits for a seat of (reactivated while every seat was taken).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserAccessView {
    pub user_id: String,
    pub user_name: String,
    pub active: bool,
    pub role: &'static str,
    pub granted_role: &'static str,
    pub custom_role: Option<String>,
    pub licenses: Vec<String>,
    pub waiting_licenses: Vec<String>,
}

impl UserAccessView {
    pub fn new(access: v1::UserAccess, user_name: String) -> Self {
        Self {
            user_id: access.user_id,
            user_name,
            active: access.active,
            role: role_name(access.role),
            granted_role: role_name(access.granted_role),
            custom_role: Some(access.custom_role).filter(|role| !role.is_empty()),
            licenses: access.licenses,
            waiting_licenses: access.waiting_licenses,
        }
    }
}

impl TableRow for UserAccessView {
    const HEADERS: &'static [&'static str] = &[
        "user_id",
        "user_name",
        "active",
        "role",
        "granted_role",
        "custom_role",
        "licenses",
        "waiting_licenses",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.user_id.clone(),
            output::text_cell(Some(&self.user_name)),
            self.active.to_string(),
            self.role.to_owned(),
            self.granted_role.to_owned(),
            output::text_cell(self.custom_role.as_deref()),
            output::text_cell(Some(&self.licenses.join(", "))),
            output::text_cell(Some(&self.waiting_licenses.join(", "))),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: MemberCommand,
    }

    #[test]
    fn set_role_accepts_the_three_roles_only() {
        for (text, role, wire) in [
            ("admin", RoleArg::Admin, v1::WorkspaceRole::Admin),
            ("member", RoleArg::Member, v1::WorkspaceRole::Member),
            ("none", RoleArg::None, v1::WorkspaceRole::None),
        ] {
            let cli = TestCli::parse_from([
                "t",
                "set-role",
                "--workspace",
                "acme",
                "--user",
                "bob@x.test",
                "--role",
                text,
            ]);
            let MemberCommand::SetRole(args) = cli.command else {
                panic!("expected set-role");
            };
            assert_eq!(args.role, role);
            assert_eq!(args.user, "bob@x.test");
            assert_eq!(v1::WorkspaceRole::from(args.role), wire);
        }
        let bad = TestCli::try_parse_from([
            "t",
            "set-role",
            "--workspace",
            "a",
            "--user",
            "u",
            "--role",
            "owner",
        ]);
        assert_eq!(
            bad.err().map(|e| e.kind()),
            Some(clap::error::ErrorKind::InvalidValue)
        );
        assert!(
            TestCli::try_parse_from(["t", "set-role", "--workspace", "a", "--user", "u"]).is_err()
        );
    }

    #[test]
    fn show_and_admins_parse() {
        let cli = TestCli::parse_from(["t", "show", "--workspace", "acme", "--user", "u-1"]);
        assert!(matches!(
            cli.command,
            MemberCommand::Show { ref workspace, ref user } if workspace == "acme" && user == "u-1"
        ));
        let cli = TestCli::parse_from(["t", "admins", "--workspace", "acme", "--count", "5"]);
        let MemberCommand::Admins(args) = cli.command else {
            panic!("expected admins");
        };
        let request = admins_request("ws-1".into(), &args);
        assert_eq!(
            (
                request.workspace_id.as_str(),
                request.start_index,
                request.count
            ),
            ("ws-1", 1, Some(5))
        );
    }

    fn access(active: bool, role: v1::WorkspaceRole, licenses: &[&str]) -> v1::UserAccess {
        v1::UserAccess {
            user_id: "u-1".into(),
            active,
            role: role as i32,
            granted_role: v1::WorkspaceRole::None as i32,
            licenses: licenses.iter().map(|l| (*l).to_owned()).collect(),
            custom_role: String::new(),
            waiting_licenses: Vec::new(),
            role_sources: Vec::new(),
        }
    }

    #[test]
    fn access_json_uses_lowercase_roles() {
        let view = UserAccessView::new(
            access(true, v1::WorkspaceRole::Admin, &["sub_1"]),
            "alice@x.test".into(),
        );
        let json: serde_json::Value =
            serde_json::from_str(&output::render_one(OutputFormat::Json, &view).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "user_id": "u-1",
                "user_name": "alice@x.test",
                "active": true,
                "role": "admin",
                "granted_role": "none",
                "custom_role": null,
                "licenses": ["sub_1"],
                "waiting_licenses": []
            })
        );
        assert_eq!(role_name(v1::WorkspaceRole::Member as i32), "member");
        assert_eq!(role_name(0), "unspecified");
        assert_eq!(role_name(42), "unspecified");
    }

    #[test]
    fn access_table_row() {
        let view = UserAccessView::new(
            access(false, v1::WorkspaceRole::None, &[]),
            "alice@x.test".into(),
        );
        let table = output::render_one(OutputFormat::Table, &view).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            [
                "USER_ID",
                "USER_NAME",
                "ACTIVE",
                "ROLE",
                "GRANTED_ROLE",
                "CUSTOM_ROLE",
                "LICENSES",
                "WAITING_LICENSES"
            ]
        );
        assert_eq!(
            lines[1].split_whitespace().collect::<Vec<_>>(),
            [
                "u-1",
                "alice@x.test",
                "false",
                "none",
                "none",
                "-",
                "-",
                "-"
            ]
        );
        let view = UserAccessView::new(
            access(true, v1::WorkspaceRole::Member, &["sub_1", "sub_2"]),
            "alice@x.test".into(),
        );
        assert_eq!(view.cells()[6], "sub_1, sub_2");
        let view = UserAccessView::new(
            v1::UserAccess {
                custom_role: "billing:read".into(),
                ..access(true, v1::WorkspaceRole::None, &[])
            },
            "alice@x.test".into(),
        );
        assert_eq!(view.custom_role.as_deref(), Some("billing:read"));
        assert_eq!(view.cells()[5], "billing:read");
    }
}

//! `scimctl license ...`: licenses assigned to users directly, next to the license group.
//! A user counts once against the seats however they hold the license; revoking only
//! withdraws the direct assignment (the license group's membership is the IdP's).

use clap::{Args, Subcommand};
use directory_proto::v1;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::subscriptions::SubscriptionView;
use crate::commands::users::resolve_user;
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum LicenseCommand {
    /// Assign a license of a subscription to a user (refused when no seat is free)
    Assign(LicenseArgs),
    /// Withdraw a license assigned directly (license group members keep theirs)
    Revoke(LicenseArgs),
}

#[derive(Debug, Args)]
pub struct LicenseArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// The subscription id
    #[arg(long)]
    pub subscription_id: String,
    /// User id or userName
    #[arg(long)]
    pub user: String,
}

pub async fn run(
    client: &mut Client,
    command: LicenseCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let (assign, args) = match command {
        LicenseCommand::Assign(args) => (true, args),
        LicenseCommand::Revoke(args) => (false, args),
    };
    let workspace = resolve_workspace(client, &args.workspace).await?;
    let user = resolve_user(client, &workspace, &args.user).await?;
    let request = license_request(workspace.id, &args.subscription_id, user.id);
    let subscription = if assign {
        client
            .licenses()
            .assign_license(request)
            .await
            .rpc_context(|| format!("assign {:?} to {:?}", args.subscription_id, args.user))?
    } else {
        client
            .licenses()
            .revoke_license(request)
            .await
            .rpc_context(|| format!("revoke {:?} from {:?}", args.subscription_id, args.user))?
    };
    output::render_one(format, &SubscriptionView::from(subscription))
}

pub fn license_request(
    workspace_id: String,
    subscription_id: &str,
    user_id: String,
) -> v1::LicenseRequest {
    v1::LicenseRequest {
        workspace_id,
        subscription_id: subscription_id.to_owned(),
        user_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: LicenseCommand,
    }

    #[test]
    fn assign_and_revoke_take_the_same_flags() {
        for (verb, assign) in [("assign", true), ("revoke", false)] {
            let cli = TestCli::parse_from([
                "t",
                verb,
                "--workspace",
                "acme",
                "--subscription-id",
                "sub_1",
                "--user",
                "alice@x.test",
            ]);
            let args = match cli.command {
                LicenseCommand::Assign(args) if assign => args,
                LicenseCommand::Revoke(args) if !assign => args,
                other => panic!("{verb} parsed as {other:?}"),
            };
            assert_eq!(args.workspace, "acme");
            assert_eq!(args.subscription_id, "sub_1");
            assert_eq!(args.user, "alice@x.test");
            assert!(
                TestCli::try_parse_from(["t", verb, "--workspace", "a", "--user", "u"]).is_err(),
                "{verb} needs --subscription-id"
            );
        }
    }

    #[test]
    fn request_names_subscription_and_user() {
        assert_eq!(
            license_request("ws-1".into(), "sub_1", "u-1".into()),
            v1::LicenseRequest {
                workspace_id: "ws-1".into(),
                subscription_id: "sub_1".into(),
                user_id: "u-1".into(),
            }
        );
    }
}

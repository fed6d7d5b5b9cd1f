//! `scimctl subscription ...`: a workspace's subscriptions. Each has a license group, the
//! group the IdP pushes with the exact displayName `{plan}-{product}-{subscription_id}`;
//! its active members (and users assigned a license directly) hold a seat.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::users::{UserListView, render_user_list};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

/// Holders fetched per subscription by `subscription list` (the directory's page maximum).
pub const LIST_HOLDERS_COUNT: i64 = 1000;
/// Holders shown in the `subscription list` table cell before it is cut short with `…`.
pub const TABLE_HOLDERS_SHOWN: usize = 10;

#[derive(Debug, Subcommand)]
pub enum SubscriptionCommand {
    /// Create a subscription (prints the license group name to push from the IdP)
    Create(CreateArgs),
    /// List the subscriptions of a workspace with their license group, seats and holders
    List {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
    /// List the users holding a license of a subscription
    Holders(HoldersArgs),
    /// Change the number of seats (never below the current holders; new seats go to
    /// members waiting for one)
    Update {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// The subscription id
        #[arg(long)]
        subscription_id: String,
        /// The new number of seats
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        seats: i64,
    },
    /// Delete a subscription: its holders lose the license, its license group stays as a
    /// plain group
    Delete {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// The subscription id
        #[arg(long)]
        subscription_id: String,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// The vendor's subscription id, e.g. sub_1RqpMYGCs0LNOzY9UszOGJkL
    #[arg(long)]
    pub subscription_id: String,
    /// Plan name, e.g. "Enterprise Plan"
    #[arg(long)]
    pub plan: String,
    /// Product or emulator, e.g. AWS
    #[arg(long)]
    pub product: String,
    /// Number of seats (licenses) the subscription has
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub seats: i64,
}

#[derive(Debug, Args)]
pub struct HoldersArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// The subscription id
    #[arg(long)]
    pub subscription_id: String,
    /// 1-based index of the first holder to show
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
    pub start_index: i64,
    /// Maximum number of holders to show (default: the server's page size)
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
    pub count: Option<i64>,
    /// Show the members waiting for a seat instead (reactivated while every seat was
    /// taken), longest-waiting first: the next freed seat goes to the first
    #[arg(long)]
    pub waiting: bool,
}

pub async fn run(
    client: &mut Client,
    command: SubscriptionCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        SubscriptionCommand::Create(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let subscription = client
                .licenses()
                .create_subscription(create_request(workspace.id, &args))
                .await
                .rpc_context(|| format!("create subscription {:?}", args.subscription_id))?;
            render_created(format, &SubscriptionView::from(subscription))
        }
        SubscriptionCommand::List { workspace } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let response = client
                .licenses()
                .list_subscriptions(v1::ListSubscriptionsRequest {
                    workspace_id: workspace.id.clone(),
                })
                .await
                .rpc_context(|| format!("list subscriptions of workspace {:?}", workspace.slug))?;
            let mut entries = Vec::with_capacity(response.subscriptions.len());
            for subscription in response.subscriptions {
                let holders = client
                    .licenses()
                    .list_subscription_holders(v1::ListSubscriptionHoldersRequest {
                        workspace_id: workspace.id.clone(),
                        subscription_id: subscription.subscription_id.clone(),
                        start_index: 1,
                        count: Some(LIST_HOLDERS_COUNT),
                        waiting: false,
                    })
                    .await
                    .rpc_context(|| {
                        format!(
                            "list holders of subscription {:?}",
                            subscription.subscription_id
                        )
                    })?;
                entries.push(SubscriptionListEntry::new(subscription, holders));
            }
            output::render_list(format, &entries)
        }
        SubscriptionCommand::Update {
            workspace,
            subscription_id,
            seats,
        } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let subscription = client
                .licenses()
                .update_subscription(v1::UpdateSubscriptionRequest {
                    workspace_id: workspace.id,
                    subscription_id: subscription_id.clone(),
                    seats,
                })
                .await
                .rpc_context(|| format!("set the seats of {subscription_id:?} to {seats}"))?;
            output::render_one(format, &SubscriptionView::from(subscription))
        }
        SubscriptionCommand::Delete {
            workspace,
            subscription_id,
        } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let subscription = client
                .licenses()
                .delete_subscription(v1::DeleteSubscriptionRequest {
                    workspace_id: workspace.id,
                    subscription_id: subscription_id.clone(),
                })
                .await
                .rpc_context(|| format!("delete subscription {subscription_id:?}"))?;
            output::render_one(format, &SubscriptionView::from(subscription))
        }
        SubscriptionCommand::Holders(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = client
                .licenses()
                .list_subscription_holders(holders_request(workspace.id, &args))
                .await
                .rpc_context(|| {
                    format!("list holders of subscription {:?}", args.subscription_id)
                })?;
            render_user_list(format, &UserListView::from(response))
        }
    }
}

pub fn create_request(workspace_id: String, args: &CreateArgs) -> v1::CreateSubscriptionRequest {
    v1::CreateSubscriptionRequest {
        workspace_id,
        subscription_id: args.subscription_id.clone(),
        plan: args.plan.clone(),
        product: args.product.clone(),
        seats: args.seats,
    }
}

pub fn holders_request(
    workspace_id: String,
    args: &HoldersArgs,
) -> v1::ListSubscriptionHoldersRequest {
    v1::ListSubscriptionHoldersRequest {
        workspace_id,
        subscription_id: args.subscription_id.clone(),
        start_index: args.start_index,
        count: args.count,
        waiting: args.waiting,
    }
}

/// A subscription: what `create`, `license assign` and `license revoke` print.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionView {
    pub subscription_id: String,
    pub plan: String,
    pub product: String,
    pub seats: i64,
    pub seats_used: i64,
    /// Entitled members waiting for a seat (reactivated while every seat was taken).
    pub seats_waiting: i64,
    /// The exact displayName of the license group the IdP must push.
    pub group_name: String,
    /// The pushed license group, `null` until it exists.
    pub group_id: Option<String>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
}

impl From<v1::Subscription> for SubscriptionView {
    fn from(subscription: v1::Subscription) -> Self {
        Self {
            created: output::timestamp(subscription.created.as_ref()),
            subscription_id: subscription.subscription_id,
            plan: subscription.plan,
            product: subscription.product,
            seats: subscription.seats,
            seats_used: subscription.seats_used,
            seats_waiting: subscription.seats_waiting,
            group_name: subscription.group_name,
            group_id: Some(subscription.group_id).filter(|id| !id.is_empty()),
        }
    }
}

impl SubscriptionView {
    /// `used/total`, e.g. `3/10`, and `(+N waiting)` when members wait for a seat.
    pub fn seats_cell(&self) -> String {
        if self.seats_waiting > 0 {
            format!(
                "{}/{} (+{} waiting)",
                self.seats_used, self.seats, self.seats_waiting
            )
        } else {
            format!("{}/{}", self.seats_used, self.seats)
        }
    }
}

impl TableRow for SubscriptionView {
    const HEADERS: &'static [&'static str] = &[
        "subscription_id",
        "plan",
        "product",
        "seats",
        "group_name",
        "group_id",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.subscription_id.clone(),
            self.plan.clone(),
            self.product.clone(),
            self.seats_cell(),
            self.group_name.clone(),
            output::text_cell(self.group_id.as_deref()),
        ]
    }
}

/// One row of `subscription list`: the subscription and its holders' userNames (at most
/// [`LIST_HOLDERS_COUNT`]; `seats_used` is the full count).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubscriptionListEntry {
    #[serde(flatten)]
    pub subscription: SubscriptionView,
    pub holders: Vec<String>,
}

impl SubscriptionListEntry {
    pub fn new(subscription: v1::Subscription, holders: v1::ListUsersResponse) -> Self {
        Self {
            subscription: SubscriptionView::from(subscription),
            holders: holders
                .users
                .into_iter()
                .map(|user| user.attributes.unwrap_or_default().user_name)
                .collect(),
        }
    }

    /// The first [`TABLE_HOLDERS_SHOWN`] holders, comma-separated, `…` when there are more.
    pub fn holders_cell(&self) -> String {
        let shown: Vec<&str> = self
            .holders
            .iter()
            .take(TABLE_HOLDERS_SHOWN)
            .map(String::as_str)
            .collect();
        let mut cell = shown.join(", ");
        let total = usize::try_from(self.subscription.seats_used)
            .unwrap_or(0)
            .max(self.holders.len());
        if total > shown.len() {
            if !cell.is_empty() {
                cell.push_str(", ");
            }
            cell.push('…');
        }
        output::text_cell(Some(&cell))
    }
}

impl TableRow for SubscriptionListEntry {
    const HEADERS: &'static [&'static str] = &[
        "subscription_id",
        "plan",
        "product",
        "seats",
        "group_name",
        "group_id",
        "holders",
    ];
    fn cells(&self) -> Vec<String> {
        let mut cells = self.subscription.cells();
        cells.push(self.holders_cell());
        cells
    }
}

/// The subscription, and in table mode the group the IdP has to push.
pub fn render_created(format: OutputFormat, view: &SubscriptionView) -> anyhow::Result<String> {
    let mut text = output::render_one(format, view)?;
    if format == OutputFormat::Table {
        text.push_str(&format!(
            "\nPush a group with the displayName {:?} from the IdP: its active members hold a license.\n",
            view.group_name
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: SubscriptionCommand,
    }

    fn subscription(seats_used: i64, group_id: &str) -> v1::Subscription {
        v1::Subscription {
            workspace_id: "ws-1".into(),
            subscription_id: "sub_1RqpMYGCs0LNOzY9UszOGJkL".into(),
            plan: "Enterprise Plan".into(),
            product: "AWS".into(),
            seats: 10,
            seats_used,
            group_name: "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL".into(),
            group_id: group_id.into(),
            seats_waiting: 0,
            created: Some(prost_types::Timestamp {
                seconds: 1_735_689_600,
                nanos: 0,
            }),
        }
    }

    fn holders(names: &[&str]) -> v1::ListUsersResponse {
        v1::ListUsersResponse {
            users: names
                .iter()
                .enumerate()
                .map(|(index, name)| v1::User {
                    id: format!("u-{index}"),
                    attributes: Some(v1::UserAttributes {
                        user_name: (*name).into(),
                        ..Default::default()
                    }),
                    ..Default::default()
                })
                .collect(),
            total_results: i64::try_from(names.len()).unwrap(),
            start_index: 1,
            next_cursor: String::new(),
        }
    }

    #[test]
    fn create_parses_every_flag_into_the_request() {
        let cli = TestCli::parse_from([
            "t",
            "create",
            "--workspace",
            "acme",
            "--subscription-id",
            "sub_1",
            "--plan",
            "Enterprise Plan",
            "--product",
            "AWS",
            "--seats",
            "25",
        ]);
        let SubscriptionCommand::Create(args) = cli.command else {
            panic!("expected create");
        };
        assert_eq!(args.workspace, "acme");
        assert_eq!(
            create_request("ws-1".into(), &args),
            v1::CreateSubscriptionRequest {
                workspace_id: "ws-1".into(),
                subscription_id: "sub_1".into(),
                plan: "Enterprise Plan".into(),
                product: "AWS".into(),
                seats: 25,
            }
        );
        for bad in [
            vec!["t", "create", "--workspace", "a", "--subscription-id", "s"],
            vec![
                "t",
                "create",
                "--workspace",
                "a",
                "--subscription-id",
                "s",
                "--plan",
                "p",
                "--product",
                "x",
                "--seats",
                "-1",
            ],
        ] {
            assert!(TestCli::try_parse_from(bad).is_err());
        }
    }

    #[test]
    fn holders_parses_paging() {
        let cli = TestCli::parse_from([
            "t",
            "holders",
            "--workspace",
            "acme",
            "--subscription-id",
            "sub_1",
        ]);
        let SubscriptionCommand::Holders(args) = cli.command else {
            panic!("expected holders");
        };
        let request = holders_request("ws-1".into(), &args);
        assert_eq!(request.subscription_id, "sub_1");
        assert_eq!(request.start_index, 1);
        assert_eq!(request.count, None);

        let cli = TestCli::parse_from([
            "t",
            "holders",
            "--workspace",
            "acme",
            "--subscription-id",
            "sub_1",
            "--start-index",
            "5",
            "--count",
            "20",
        ]);
        let SubscriptionCommand::Holders(args) = cli.command else {
            panic!("expected holders");
        };
        let request = holders_request("ws-1".into(), &args);
        assert_eq!((request.start_index, request.count), (5, Some(20)));
        assert!(
            TestCli::try_parse_from([
                "t",
                "holders",
                "--workspace",
                "a",
                "--subscription-id",
                "s",
                "--start-index",
                "0"
            ])
            .is_err()
        );
    }

    #[test]
    fn subscription_json_has_stable_keys_and_null_group_id() {
        let json: serde_json::Value = serde_json::from_str(
            &output::render_one(
                OutputFormat::Json,
                &SubscriptionView::from(subscription(0, "")),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "subscription_id": "sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "plan": "Enterprise Plan",
                "product": "AWS",
                "seats": 10,
                "seats_used": 0,
                "seats_waiting": 0,
                "group_name": "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "group_id": null,
                "created": "2025-01-01T00:00:00Z"
            })
        );
    }

    #[test]
    fn created_table_names_the_group_to_push() {
        let view = SubscriptionView::from(subscription(0, ""));
        let table = render_created(OutputFormat::Table, &view).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            [
                "SUBSCRIPTION_ID",
                "PLAN",
                "PRODUCT",
                "SEATS",
                "GROUP_NAME",
                "GROUP_ID"
            ]
        );
        assert!(lines[1].contains("0/10"));
        assert!(lines[1].ends_with('-'), "no group yet: {}", lines[1]);
        assert!(table.contains(
            "displayName \"Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL\" from the IdP"
        ));
        // JSON is the object alone.
        let json = render_created(OutputFormat::Json, &view).unwrap();
        assert!(serde_json::from_str::<serde_json::Value>(&json).is_ok());
    }

    #[test]
    fn list_json_includes_holders() {
        let entries = vec![SubscriptionListEntry::new(
            subscription(2, "g-1"),
            holders(&["alice@x.test", "bob@x.test"]),
        )];
        let json: serde_json::Value =
            serde_json::from_str(&output::render_list(OutputFormat::Json, &entries).unwrap())
                .unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "subscription_id": "sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "plan": "Enterprise Plan",
                "product": "AWS",
                "seats": 10,
                "seats_used": 2,
                "seats_waiting": 0,
                "group_name": "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "group_id": "g-1",
                "created": "2025-01-01T00:00:00Z",
                "holders": ["alice@x.test", "bob@x.test"]
            }])
        );
    }

    #[test]
    fn list_table_shows_seats_used_of_total_and_holders() {
        let entries = vec![
            SubscriptionListEntry::new(
                subscription(2, "g-1"),
                holders(&["alice@x.test", "bob@x.test"]),
            ),
            SubscriptionListEntry::new(subscription(0, ""), holders(&[])),
        ];
        let table = output::render_list(OutputFormat::Table, &entries).unwrap();
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            [
                "SUBSCRIPTION_ID",
                "PLAN",
                "PRODUCT",
                "SEATS",
                "GROUP_NAME",
                "GROUP_ID",
                "HOLDERS"
            ]
        );
        let columns = |line: &str| -> Vec<String> {
            line.split("  ")
                .map(str::trim)
                .filter(|cell| !cell.is_empty())
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(
            columns(lines[1]),
            [
                "sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "Enterprise Plan",
                "AWS",
                "2/10",
                "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "g-1",
                "alice@x.test, bob@x.test"
            ]
        );
        assert_eq!(
            columns(lines[2]),
            [
                "sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "Enterprise Plan",
                "AWS",
                "0/10",
                "Enterprise Plan-AWS-sub_1RqpMYGCs0LNOzY9UszOGJkL",
                "-",
                "-"
            ]
        );
    }

    #[test]
    fn holders_cell_is_cut_after_ten() {
        let names: Vec<String> = (1..=12).map(|n| format!("u{n}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let entry = SubscriptionListEntry::new(subscription(12, "g"), holders(&names));
        assert_eq!(entry.holders.len(), 12, "JSON keeps them all");
        assert_eq!(
            entry.holders_cell(),
            "u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, …"
        );
        let exactly_ten = SubscriptionListEntry::new(subscription(10, "g"), holders(&names[..10]));
        assert!(exactly_ten.holders_cell().ends_with("u10"));
        // More holders than were fetched are marked too.
        let partial = SubscriptionListEntry::new(subscription(1500, "g"), holders(&names[..3]));
        assert_eq!(partial.holders_cell(), "u1, u2, u3, …");
    }
}

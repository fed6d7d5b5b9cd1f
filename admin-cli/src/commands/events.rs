//! `scimctl events ...`, `scimctl audit ...` and `scimctl webhook ...`: the event stream,
//! the audit log (the same events, filtered, with their before/after changes) and webhook
//! endpoints. Only `webhook create` ever shows a webhook secret, once.

use std::io::Write as _;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;
use serde_json::Value;

use crate::client::{Client, Events, RpcResultExt as _};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// List events after a sequence number, oldest first
    List(ListArgs),
    /// Print events as they happen (after replaying those after --after); one JSON
    /// object per line with --output json
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// Only events with a greater sequence number
    #[arg(long, default_value_t = 0)]
    pub after: i64,
    /// At most this many events (the directory caps it at 1000)
    #[arg(long, default_value_t = 100)]
    pub limit: i64,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// Replay from after this sequence number (default: only new events)
    #[arg(long)]
    pub after: Option<i64>,
    /// Stop after this many events
    #[arg(long)]
    pub count: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Who changed what: events with their actor and changed attributes
    List(AuditListArgs),
}

#[derive(Debug, Args)]
pub struct AuditListArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// Only events at or after this time (RFC 3339)
    #[arg(long, value_parser = parse_rfc3339)]
    pub since: Option<DateTime<Utc>>,
    /// Only changes by this actor (a token id, or `scimctl`)
    #[arg(long)]
    pub actor: Option<String>,
    /// Only changes of this resource (a user, group, token or webhook id)
    #[arg(long)]
    pub resource: Option<String>,
    /// At most this many entries
    #[arg(long, default_value_t = 1000)]
    pub limit: i64,
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Create an endpoint (its signing secret is printed once)
    Create(CreateArgs),
    /// List the endpoints of a workspace and their delivery state
    List {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
    /// Delete an endpoint
    Delete(EndpointArgs),
    /// Enable an endpoint; a failed one resumes where it stopped
    Enable(EndpointArgs),
    /// Disable an endpoint (events are kept and delivered when it is enabled again)
    Disable(EndpointArgs),
    /// Every delivery attempt of an endpoint: status, latency, error
    Deliveries(EndpointArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// The receiver's URL (http or https)
    #[arg(long)]
    pub url: String,
    /// An event type to deliver (repeatable; default: every type)
    #[arg(long = "event", value_name = "TYPE")]
    pub events: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EndpointArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// The endpoint's id
    #[arg(long)]
    pub id: String,
}

fn parse_rfc3339(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// An event as printed: `sequence`, `type`, `id`, `occurred_at`, `actor`, `data`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventView {
    pub sequence: i64,
    #[serde(rename = "type")]
    pub event_type: String,
    pub id: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub occurred_at: Option<DateTime<Utc>>,
    pub actor: ActorView,
    pub resource_type: String,
    pub resource_id: String,
    pub data: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub changes: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActorView {
    pub kind: String,
    pub id: String,
    pub name: String,
}

impl From<v1::Event> for EventView {
    fn from(e: v1::Event) -> Self {
        let actor = e.actor.unwrap_or_default();
        EventView {
            sequence: e.sequence,
            event_type: e.r#type,
            id: e.id,
            occurred_at: output::timestamp(e.occurred_at.as_ref()),
            actor: ActorView {
                kind: actor.kind,
                id: actor.id,
                name: actor.name,
            },
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            data: serde_json::from_str(&e.data_json).unwrap_or(Value::Null),
            changes: serde_json::from_str(&e.changes_json).unwrap_or(Value::Null),
        }
    }
}

impl TableRow for EventView {
    const HEADERS: &'static [&'static str] =
        &["sequence", "type", "resource", "actor", "occurred at"];

    fn cells(&self) -> Vec<String> {
        let actor = match (self.actor.name.as_str(), self.actor.id.as_str()) {
            ("", id) => format!("{}:{id}", self.actor.kind),
            (name, _) => format!("{}:{name}", self.actor.kind),
        };
        vec![
            self.sequence.to_string(),
            self.event_type.clone(),
            format!("{}/{}", self.resource_type, self.resource_id),
            actor,
            output::timestamp_cell(self.occurred_at.as_ref()),
        ]
    }
}

/// A webhook endpoint without its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WebhookView {
    pub id: String,
    pub workspace_id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub failed: bool,
    pub cursor: i64,
    pub attempts: i32,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
}

impl From<v1::Webhook> for WebhookView {
    fn from(w: v1::Webhook) -> Self {
        WebhookView {
            next_attempt_at: output::timestamp(w.next_attempt_at.as_ref()),
            created: output::timestamp(w.created.as_ref()),
            id: w.id,
            workspace_id: w.workspace_id,
            url: w.url,
            event_types: w.event_types,
            enabled: w.enabled,
            failed: w.failed,
            cursor: w.cursor,
            attempts: w.attempts,
            last_error: w.last_error,
        }
    }
}

impl TableRow for WebhookView {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "url",
        "events",
        "enabled",
        "state",
        "cursor",
        "last error",
    ];

    fn cells(&self) -> Vec<String> {
        let events = if self.event_types.is_empty() {
            "*".to_owned()
        } else {
            self.event_types.join(",")
        };
        let state = if self.failed {
            "failed"
        } else if self.attempts > 0 {
            "retrying"
        } else {
            "ok"
        };
        vec![
            self.id.clone(),
            self.url.clone(),
            events,
            self.enabled.to_string(),
            state.to_owned(),
            self.cursor.to_string(),
            output::text_cell(Some(&self.last_error)),
        ]
    }
}

/// `webhook create`: the endpoint and, this once, its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreatedWebhookView {
    #[serde(flatten)]
    pub webhook: WebhookView,
    pub secret: String,
}

impl TableRow for CreatedWebhookView {
    const HEADERS: &'static [&'static str] = &["id", "url", "secret"];

    fn cells(&self) -> Vec<String> {
        vec![
            self.webhook.id.clone(),
            self.webhook.url.clone(),
            self.secret.clone(),
        ]
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeliveryView {
    pub event_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub attempt: i32,
    /// HTTP status; absent when no response came.
    pub status: Option<i32>,
    pub latency_ms: i64,
    pub error: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub attempted_at: Option<DateTime<Utc>>,
}

impl From<v1::WebhookDelivery> for DeliveryView {
    fn from(d: v1::WebhookDelivery) -> Self {
        DeliveryView {
            attempted_at: output::timestamp(d.attempted_at.as_ref()),
            event_id: d.event_id,
            sequence: d.sequence,
            event_type: d.event_type,
            attempt: d.attempt,
            status: Some(d.status).filter(|s| *s != 0),
            latency_ms: d.latency_ms,
            error: d.error,
        }
    }
}

impl TableRow for DeliveryView {
    const HEADERS: &'static [&'static str] = &[
        "sequence",
        "type",
        "attempt",
        "status",
        "latency ms",
        "error",
        "at",
    ];

    fn cells(&self) -> Vec<String> {
        vec![
            self.sequence.to_string(),
            self.event_type.clone(),
            self.attempt.to_string(),
            self.status.map_or_else(|| "-".into(), |s| s.to_string()),
            self.latency_ms.to_string(),
            output::text_cell(Some(&self.error)),
            output::timestamp_cell(self.attempted_at.as_ref()),
        ]
    }
}

pub async fn run_events(
    client: &mut Client,
    events: &mut Events,
    command: EventCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        EventCommand::List(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = events
                .list_events(v1::ListEventsRequest {
                    workspace_id: workspace.id,
                    after_sequence: args.after,
                    limit: args.limit,
                    ..Default::default()
                })
                .await
                .rpc_context(|| format!("list events of workspace {:?}", workspace.slug))?;
            let views: Vec<EventView> = response.events.into_iter().map(Into::into).collect();
            output::render_list(format, &views)
        }
        EventCommand::Tail(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let after = match args.after {
                Some(after) => after,
                None => last_sequence(events, &workspace.id).await?,
            };
            let mut stream = events
                .watch_events(v1::WatchEventsRequest {
                    workspace_id: workspace.id,
                    after_sequence: after,
                })
                .await
                .rpc_context(|| format!("watch events of workspace {:?}", workspace.slug))?;
            let mut printed = 0u64;
            let mut stdout = std::io::stdout();
            if format == OutputFormat::Table {
                writeln!(stdout, "{}", EventView::HEADERS.join("\t").to_uppercase())?;
            }
            while args.count.is_none_or(|count| printed < count) {
                let Some(event) = stream
                    .message()
                    .await
                    .map_err(crate::client::RpcError::from)
                    .context("the event stream broke")?
                else {
                    break;
                };
                let view = EventView::from(event);
                match format {
                    OutputFormat::Json => writeln!(stdout, "{}", serde_json::to_string(&view)?)?,
                    OutputFormat::Table => writeln!(stdout, "{}", view.cells().join("\t"))?,
                }
                stdout.flush()?;
                printed += 1;
            }
            Ok(String::new())
        }
    }
}

/// The workspace's last sequence number, so that `tail` starts with new events.
async fn last_sequence(events: &mut Events, workspace_id: &str) -> anyhow::Result<i64> {
    let mut after = 0;
    loop {
        let page = events
            .list_events(v1::ListEventsRequest {
                workspace_id: workspace_id.to_owned(),
                after_sequence: after,
                limit: 1000,
                ..Default::default()
            })
            .await
            .rpc_context(|| "find the last event".to_owned())?;
        match page.events.last() {
            Some(last) => after = last.sequence,
            None => return Ok(after),
        }
    }
}

pub async fn run_audit(
    client: &mut Client,
    events: &mut Events,
    command: AuditCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let AuditCommand::List(args) = command;
    let workspace = resolve_workspace(client, &args.workspace).await?;
    let response = events
        .list_events(v1::ListEventsRequest {
            workspace_id: workspace.id,
            after_sequence: 0,
            limit: args.limit,
            since: args.since.map(|t| prost_types::Timestamp {
                seconds: t.timestamp(),
                nanos: t.timestamp_subsec_nanos() as i32,
            }),
            actor_id: args.actor.unwrap_or_default(),
            resource_id: args.resource.unwrap_or_default(),
            types: Vec::new(),
        })
        .await
        .rpc_context(|| format!("list the audit log of workspace {:?}", workspace.slug))?;
    let views: Vec<EventView> = response.events.into_iter().map(Into::into).collect();
    output::render_list(format, &views)
}

pub async fn run_webhook(
    client: &mut Client,
    events: &mut Events,
    command: WebhookCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        WebhookCommand::Create(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = events
                .create_webhook(v1::CreateWebhookRequest {
                    workspace_id: workspace.id,
                    url: args.url.clone(),
                    event_types: args.events,
                })
                .await
                .rpc_context(|| format!("create webhook {:?}", args.url))?;
            let view = CreatedWebhookView {
                webhook: response.webhook.unwrap_or_default().into(),
                secret: response.secret,
            };
            output::render_one(format, &view)
        }
        WebhookCommand::List { workspace } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let response = events
                .list_webhooks(v1::ListWebhooksRequest {
                    workspace_id: workspace.id,
                })
                .await
                .rpc_context(|| format!("list webhooks of workspace {:?}", workspace.slug))?;
            let views: Vec<WebhookView> = response.webhooks.into_iter().map(Into::into).collect();
            output::render_list(format, &views)
        }
        WebhookCommand::Delete(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            events
                .delete_webhook(v1::WebhookRequest {
                    workspace_id: workspace.id,
                    id: args.id.clone(),
                })
                .await
                .rpc_context(|| format!("delete webhook {:?}", args.id))?;
            match format {
                OutputFormat::Json => output::render_json(&serde_json::json!({
                    "id": args.id,
                    "deleted": true,
                })),
                OutputFormat::Table => Ok(format!("deleted webhook {}\n", args.id)),
            }
        }
        WebhookCommand::Enable(args) => set_enabled(client, events, args, true, format).await,
        WebhookCommand::Disable(args) => set_enabled(client, events, args, false, format).await,
        WebhookCommand::Deliveries(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = events
                .list_webhook_deliveries(v1::WebhookRequest {
                    workspace_id: workspace.id,
                    id: args.id.clone(),
                })
                .await
                .rpc_context(|| format!("list deliveries of webhook {:?}", args.id))?;
            let views: Vec<DeliveryView> =
                response.deliveries.into_iter().map(Into::into).collect();
            output::render_list(format, &views)
        }
    }
}

async fn set_enabled(
    client: &mut Client,
    events: &mut Events,
    args: EndpointArgs,
    enabled: bool,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let workspace = resolve_workspace(client, &args.workspace).await?;
    let webhook = events
        .set_webhook_enabled(v1::SetWebhookEnabledRequest {
            workspace_id: workspace.id,
            id: args.id.clone(),
            enabled,
        })
        .await
        .rpc_context(|| {
            let verb = if enabled { "enable" } else { "disable" };
            format!("{verb} webhook {:?}", args.id)
        })?;
    output::render_one(format, &WebhookView::from(webhook))
}

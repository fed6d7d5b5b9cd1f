//! `scimctl requests list|show`: the request log, newest first. Bodies are shown as the
//! gateway recorded them: secrets redacted as `***`, cut at its cap.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;
use serde_json::Value;

use crate::client::{Client, RpcResultExt as _, connect_request_log};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum RequestCommand {
    /// The requests of a workspace, newest first
    List(ListArgs),
    /// One request with its (redacted) bodies
    Show {
        /// The request's id (from `requests list`)
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// Only requests answered with this HTTP status
    #[arg(long)]
    pub status: Option<u16>,
    /// Only requests received at or after this time (RFC 3339)
    #[arg(long, value_parser = parse_rfc3339)]
    pub since: Option<DateTime<Utc>>,
    /// At most this many requests (the directory caps a page at 1000)
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Continue after this request id (the last one of the previous page)
    #[arg(long)]
    pub cursor: Option<String>,
}

fn parse_rfc3339(raw: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

/// A request as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestView {
    pub id: String,
    pub workspace_id: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub received_at: Option<DateTime<Utc>>,
    pub method: String,
    pub path: String,
    pub query: String,
    pub status: u32,
    pub scim_type: String,
    pub latency_ms: f64,
    pub token_id: String,
    pub trace_id: String,
    pub request_id: String,
    /// The JSON body (redacted); a string when it was cut at the cap.
    pub request_body: Value,
    pub response_body: Value,
    pub request_body_truncated: bool,
    pub response_body_truncated: bool,
}

fn body(text: String) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&text).unwrap_or(Value::String(text))
}

impl From<v1::RequestRecord> for RequestView {
    fn from(r: v1::RequestRecord) -> Self {
        RequestView {
            received_at: output::timestamp(r.received_at.as_ref()),
            id: r.id,
            workspace_id: r.workspace_id,
            method: r.method,
            path: r.path,
            query: r.query,
            status: r.status,
            scim_type: r.scim_type,
            latency_ms: r.latency_micros as f64 / 1000.0,
            token_id: r.token_id,
            trace_id: r.trace_id,
            request_id: r.request_id,
            request_body: body(r.request_body),
            response_body: body(r.response_body),
            request_body_truncated: r.request_body_truncated,
            response_body_truncated: r.response_body_truncated,
        }
    }
}

impl TableRow for RequestView {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "received at",
        "method",
        "path",
        "status",
        "scimType",
        "latency ms",
    ];

    fn cells(&self) -> Vec<String> {
        let path = if self.query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, self.query)
        };
        vec![
            self.id.clone(),
            output::timestamp_cell(self.received_at.as_ref()),
            self.method.clone(),
            path,
            self.status.to_string(),
            output::text_cell(Some(&self.scim_type)),
            format!("{:.1}", self.latency_ms),
        ]
    }
}

pub async fn run(
    client: &mut Client,
    directory_url: &str,
    credential: Option<&str>,
    command: RequestCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let mut log = connect_request_log(directory_url, credential).await?;
    match command {
        RequestCommand::List(args) => {
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = log
                .list_requests(v1::ListRequestsRequest {
                    workspace_id: workspace.id,
                    status: args.status.map(u32::from).unwrap_or(0),
                    since: args.since.map(|t| prost_types::Timestamp {
                        seconds: t.timestamp(),
                        nanos: t.timestamp_subsec_nanos() as i32,
                    }),
                    limit: args.limit,
                    cursor: args.cursor.unwrap_or_default(),
                })
                .await
                .rpc_context(|| format!("list the requests of workspace {:?}", workspace.slug))?;
            let views: Vec<RequestView> = response.records.into_iter().map(Into::into).collect();
            output::render_list(format, &views)
        }
        RequestCommand::Show { id } => {
            let record = log
                .get_request(v1::GetRequestRequest { id: id.clone() })
                .await
                .rpc_context(|| format!("show request {id}"))?;
            let view = RequestView::from(record);
            match format {
                OutputFormat::Json => output::render_json(&view),
                OutputFormat::Table => {
                    let mut text = output::render_table(RequestView::HEADERS, &[view.cells()]);
                    for (name, value) in [
                        ("request body", &view.request_body),
                        ("response body", &view.response_body),
                    ] {
                        text.push_str(&format!(
                            "\n{name}:\n{}\n",
                            serde_json::to_string_pretty(value)?
                        ));
                    }
                    Ok(text)
                }
            }
        }
    }
}

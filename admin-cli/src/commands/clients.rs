//! `scimctl client ...`: OAuth 2.0 clients of a workspace (client credentials grant, for
//! IdPs such as Microsoft Entra). Secrets are shown once, when created.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Subcommand;
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, OAuthClients, RpcResultExt as _};
use crate::commands::tokens::{expiry, parse_duration, to_proto_timestamp};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Create a client (prints client_id and client_secret; the secret is shown once)
    Create {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// A name to recognise the client by (e.g. the IdP)
        #[arg(long)]
        name: String,
        /// Lifetime of the client, e.g. 180d; access tokens never outlive it
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
    },
    /// List the clients of a workspace and their secrets (never shows secrets)
    List {
        #[arg(long)]
        workspace: String,
    },
    /// Revoke a client: its secrets and access tokens stop working within 5 s
    Revoke {
        #[arg(long)]
        workspace: String,
        #[arg(value_name = "CLIENT")]
        id: String,
    },
    /// Manage a client's secrets (several at once, for rotation)
    #[command(subcommand)]
    Secret(SecretCommand),
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Add a secret (shown once)
    Add {
        #[arg(long)]
        workspace: String,
        #[arg(value_name = "CLIENT")]
        id: String,
    },
    /// Revoke one secret
    Revoke {
        #[arg(long)]
        workspace: String,
        #[arg(value_name = "CLIENT")]
        id: String,
        #[arg(value_name = "SECRET_ID")]
        secret_id: String,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct SecretView {
    pub id: String,
    pub prefix: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub revoked: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ClientView {
    pub id: String,
    pub name: String,
    pub client_id: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub expires: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub revoked: Option<DateTime<Utc>>,
    pub secrets: Vec<SecretView>,
}

fn secret_view(s: v1::OAuthClientSecret) -> SecretView {
    SecretView {
        created: output::timestamp(s.created.as_ref()),
        revoked: output::timestamp(s.revoked.as_ref()),
        id: s.id,
        prefix: s.prefix,
    }
}

fn client_view(c: v1::OAuthClient) -> ClientView {
    ClientView {
        created: output::timestamp(c.created.as_ref()),
        expires: output::timestamp(c.expires.as_ref()),
        revoked: output::timestamp(c.revoked.as_ref()),
        id: c.id,
        name: c.name,
        client_id: c.client_id,
        secrets: c.secrets.into_iter().map(secret_view).collect(),
    }
}

impl TableRow for ClientView {
    const HEADERS: &'static [&'static str] =
        &["id", "name", "client_id", "expires", "revoked", "secrets"];
    fn cells(&self) -> Vec<String> {
        let live = self.secrets.iter().filter(|s| s.revoked.is_none()).count();
        vec![
            self.id.clone(),
            self.name.clone(),
            self.client_id.clone(),
            output::timestamp_cell(self.expires.as_ref()),
            output::timestamp_cell(self.revoked.as_ref()),
            live.to_string(),
        ]
    }
}

fn with_secret(format: OutputFormat, client: ClientView, secret: String) -> anyhow::Result<String> {
    #[derive(Serialize)]
    struct Created {
        #[serde(flatten)]
        client: ClientView,
        client_secret: String,
    }
    let client_id = client.client_id.clone();
    match format {
        OutputFormat::Json => output::render_json(&Created {
            client,
            client_secret: secret,
        }),
        OutputFormat::Table => Ok(format!(
            "client_id: {client_id}\nclient_secret: {secret}\n\nThis is the only time the secret is shown: store it now (the directory keeps only a hash).\n"
        )),
    }
}

pub async fn run(
    directory: &mut Client,
    clients: &mut OAuthClients,
    command: ClientCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        ClientCommand::Create {
            workspace,
            name,
            expires_in,
        } => {
            let expires = expiry(expires_in, None, Utc::now())?;
            let workspace = resolve_workspace(directory, &workspace).await?;
            let created = clients
                .create_client(v1::CreateClientRequest {
                    workspace_id: workspace.id,
                    name: name.clone(),
                    expires: expires.map(to_proto_timestamp),
                })
                .await
                .rpc_context(|| format!("create client {name:?}"))?;
            let client = created.client.context("the directory returned no client")?;
            with_secret(format, client_view(client), created.client_secret)
        }
        ClientCommand::List { workspace } => {
            let workspace = resolve_workspace(directory, &workspace).await?;
            let listed = clients
                .list_clients(v1::ListClientsRequest {
                    workspace_id: workspace.id,
                })
                .await
                .rpc_context(|| "list clients".to_owned())?;
            let views: Vec<ClientView> = listed.clients.into_iter().map(client_view).collect();
            output::render_list(format, &views)
        }
        ClientCommand::Revoke { workspace, id } => {
            let workspace = resolve_workspace(directory, &workspace).await?;
            let revoked = clients
                .revoke_client(v1::ClientRef {
                    workspace_id: workspace.id,
                    id: id.clone(),
                })
                .await
                .rpc_context(|| format!("revoke client {id:?}"))?;
            output::render_one(format, &client_view(revoked))
        }
        ClientCommand::Secret(SecretCommand::Add { workspace, id }) => {
            let workspace = resolve_workspace(directory, &workspace).await?;
            let added = clients
                .add_client_secret(v1::ClientRef {
                    workspace_id: workspace.id,
                    id: id.clone(),
                })
                .await
                .rpc_context(|| format!("add a secret to client {id:?}"))?;
            let client = added.client.context("the directory returned no client")?;
            with_secret(format, client_view(client), added.client_secret)
        }
        ClientCommand::Secret(SecretCommand::Revoke {
            workspace,
            id,
            secret_id,
        }) => {
            let workspace = resolve_workspace(directory, &workspace).await?;
            let client = clients
                .revoke_client_secret(v1::RevokeClientSecretRequest {
                    workspace_id: workspace.id,
                    id: id.clone(),
                    secret_id: secret_id.clone(),
                })
                .await
                .rpc_context(|| format!("revoke secret {secret_id:?}"))?;
            output::render_one(format, &client_view(client))
        }
    }
}

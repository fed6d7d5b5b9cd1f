//! `scimctl credential ...`: the directory's service credentials, one per caller, each
//! with a role (`gateway`, `reader`, `admin`). Only `create` shows a secret, once.

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::{Subcommand, ValueEnum};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Credentials, RpcResultExt as _};
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Create a credential (the secret is printed once)
    Create {
        /// A unique name, e.g. the component using it
        #[arg(long)]
        name: String,
        /// gateway: SCIM token authentication and user/group reads and writes;
        /// reader: read-only RPCs; admin: everything
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// List credentials (never shows secrets)
    List,
    /// Revoke a credential (every directory replica refuses it within 5 s)
    Revoke {
        /// Id of the credential to revoke
        #[arg(value_name = "CREDENTIAL_ID")]
        credential_id: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Gateway,
    Reader,
    Admin,
}

impl From<RoleArg> for v1::CredentialRole {
    fn from(role: RoleArg) -> Self {
        match role {
            RoleArg::Gateway => v1::CredentialRole::Gateway,
            RoleArg::Reader => v1::CredentialRole::Reader,
            RoleArg::Admin => v1::CredentialRole::Admin,
        }
    }
}

pub async fn run(
    client: &mut Credentials,
    command: CredentialCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        CredentialCommand::Create { name, role } => {
            let response = client
                .create_credential(v1::CreateCredentialRequest {
                    name: name.clone(),
                    role: v1::CredentialRole::from(role) as i32,
                })
                .await
                .rpc_context(|| format!("create credential {name:?}"))?;
            let details = response
                .credential
                .context("the directory created a credential but did not describe it")?;
            let created = CreatedCredentialView {
                details: CredentialView::from(details),
                secret: response.secret,
            };
            match format {
                OutputFormat::Json => output::render_json(&created),
                OutputFormat::Table => {
                    let mut text = output::render_one(format, &created.details)?;
                    text.push_str(&format!(
                        "\nsecret: {}\n\nThis is the only time the secret is shown: store it now (the directory keeps only a hash).\n",
                        created.secret
                    ));
                    Ok(text)
                }
            }
        }
        CredentialCommand::List => {
            let response = client
                .list_credentials(v1::ListCredentialsRequest {})
                .await
                .rpc_context(|| "list credentials".to_owned())?;
            let views: Vec<CredentialView> = response
                .credentials
                .into_iter()
                .map(CredentialView::from)
                .collect();
            output::render_list(format, &views)
        }
        CredentialCommand::Revoke { credential_id } => {
            let revoked = client
                .revoke_credential(v1::RevokeCredentialRequest {
                    id: credential_id.clone(),
                })
                .await
                .rpc_context(|| format!("revoke credential {credential_id:?}"))?;
            output::render_one(format, &CredentialView::from(revoked))
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CredentialView {
    pub id: String,
    pub name: String,
    pub role: String,
    pub prefix: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub last_used: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub revoked: Option<DateTime<Utc>>,
}

impl From<v1::Credential> for CredentialView {
    fn from(c: v1::Credential) -> Self {
        let role = match v1::CredentialRole::try_from(c.role) {
            Ok(v1::CredentialRole::Gateway) => "gateway",
            Ok(v1::CredentialRole::Reader) => "reader",
            Ok(v1::CredentialRole::Admin) => "admin",
            _ => "unknown",
        };
        Self {
            created: output::timestamp(c.created.as_ref()),
            last_used: output::timestamp(c.last_used.as_ref()),
            revoked: output::timestamp(c.revoked.as_ref()),
            id: c.id,
            name: c.name,
            role: role.to_owned(),
            prefix: c.prefix,
        }
    }
}

impl TableRow for CredentialView {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "name",
        "role",
        "prefix",
        "created",
        "last_used",
        "revoked",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.name.clone(),
            self.role.clone(),
            self.prefix.clone(),
            output::timestamp_cell(self.created.as_ref()),
            output::timestamp_cell(self.last_used.as_ref()),
            output::timestamp_cell(self.revoked.as_ref()),
        ]
    }
}

/// The result of `create`: the credential plus `secret`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CreatedCredentialView {
    #[serde(flatten)]
    pub details: CredentialView,
    pub secret: String,
}

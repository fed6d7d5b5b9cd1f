//! `scimctl`: the admin CLI of the SCIM provisioning service. Talks to the directory over
//! gRPC only (never to a database), and `scimctl up` runs the whole local stack.

pub mod client;
pub mod commands;
pub mod output;

use std::io::Write as _;

use clap::{Args, Parser, Subcommand};

use crate::commands::attribute_mappings::AttributeMappingCommand;
use crate::commands::attributes::AttributeCommand;
use crate::commands::clients::ClientCommand;
use crate::commands::credentials::CredentialCommand;
use crate::commands::events::{AuditCommand, EventCommand, WebhookCommand};
use crate::commands::groups::GroupCommand;
use crate::commands::licenses::LicenseCommand;
use crate::commands::members::MemberCommand;
use crate::commands::role_mappings::RoleMappingCommand;
use crate::commands::subscriptions::SubscriptionCommand;
use crate::commands::tokens::TokenCommand;
use crate::commands::up::UpArgs;
use crate::commands::users::UserCommand;
use crate::commands::workspaces::WorkspaceCommand;
use crate::output::OutputFormat;

#[derive(Debug, Parser)]
#[command(name = "scimctl", version, about = "Administer the SCIM directory")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// gRPC URL of the directory service
    #[arg(
        long,
        env = "DIRECTORY_URL",
        default_value = "http://127.0.0.1:50051",
        global = true
    )]
    pub directory_url: String,
    /// Internal service credential, sent as `x-directory-credential` on every call
    #[arg(
        long,
        env = "DIRECTORY_CREDENTIAL",
        hide_env_values = true,
        global = true
    )]
    pub credential: Option<String>,
    /// PEM CA certificates of the directory's TLS certificate (`--directory-url https://…`)
    #[arg(long, env = "DIRECTORY_TLS_CA_FILE", global = true)]
    pub ca_file: Option<std::path::PathBuf>,
    /// PEM client certificate for a directory that requires mutual TLS
    #[arg(long, env = "DIRECTORY_TLS_CLIENT_CERT_FILE", global = true)]
    pub client_cert_file: Option<std::path::PathBuf>,
    /// PEM private key of --client-cert-file
    #[arg(long, env = "DIRECTORY_TLS_CLIENT_KEY_FILE", global = true)]
    pub client_key_file: Option<std::path::PathBuf>,
    /// Output format
    #[arg(
        long,
        env = "SCIMCTL_OUTPUT",
        value_enum,
        default_value_t = OutputFormat::Table,
        global = true
    )]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage workspaces (tenants)
    #[command(subcommand, alias = "workspaces")]
    Workspace(WorkspaceCommand),
    /// Manage SCIM bearer tokens
    #[command(subcommand, alias = "tokens")]
    Token(TokenCommand),
    /// Inspect users; import members who existed before SCIM
    #[command(subcommand, alias = "users")]
    User(UserCommand),
    /// Inspect groups: member counts, role and license groups
    #[command(subcommand, alias = "groups")]
    Group(GroupCommand),
    /// Manage custom user attributes (extension schemas) of a workspace
    #[command(subcommand, alias = "attributes")]
    Attribute(AttributeCommand),
    /// Manage subscriptions and see their license groups, seats and holders
    #[command(subcommand, alias = "subscriptions")]
    Subscription(SubscriptionCommand),
    /// Assign or revoke licenses of a subscription directly
    #[command(subcommand, alias = "licenses")]
    License(LicenseCommand),
    /// Workspace roles: grant a role, show a user's access, list admins
    #[command(subcommand, alias = "members")]
    Member(MemberCommand),
    /// Map IdP role values and group names to workspace roles
    #[command(subcommand, alias = "role-mappings")]
    RoleMapping(RoleMappingCommand),
    /// Map SCIM values into profile fields, public metadata or the organization role
    #[command(subcommand, alias = "attribute-mappings")]
    AttributeMapping(AttributeMappingCommand),
    /// Print the SCIM base URL to give IdP admins (the directory's --public-base-url)
    Endpoint,
    /// The workspace's events: list them, or follow them live
    #[command(subcommand, alias = "event")]
    Events(EventCommand),
    /// The audit log: who changed what, with before/after values
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Webhook endpoints (Standard Webhooks signatures) and their deliveries
    #[command(subcommand, alias = "webhooks")]
    Webhook(WebhookCommand),
    /// The request log: every SCIM request the gateways served (bodies redacted)
    #[command(subcommand, alias = "request")]
    Requests(commands::requests::RequestCommand),
    /// Rate limits per workspace and per token (the gateway's defaults apply otherwise)
    #[command(subcommand, alias = "rate-limits")]
    RateLimit(crate::commands::rate_limits::RateLimitCommand),
    /// Manage OAuth 2.0 clients of a workspace (client credentials for IdPs)
    #[command(subcommand, alias = "clients")]
    Client(ClientCommand),
    /// Manage the directory's service credentials (one per caller, each with a role)
    #[command(subcommand, alias = "credentials")]
    Credential(CredentialCommand),
    /// Run directory-service and scim-gateway locally, with a workspace and a token
    Up(UpArgs),
    /// Print shell completions: `scimctl completions bash > /etc/bash_completion.d/scimctl`
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Exit codes scripts can branch on (documented in the README).
pub mod exit_code {
    /// Any other failure.
    pub const FAILURE: u8 = 1;
    /// The command line or a value in it is wrong (clap's own usage errors exit 2 too).
    pub const USAGE: u8 = 2;
    /// The workspace, user, group, token or subscription named does not exist.
    pub const NOT_FOUND: u8 = 3;
    /// The directory refused the change: it already exists, or a workspace rule forbids it.
    pub const CONFLICT: u8 = 4;
    /// The directory cannot be reached or is not ready; retrying later may succeed.
    pub const UNAVAILABLE: u8 = 5;
    /// The credential is missing, wrong, or not allowed to do this.
    pub const DENIED: u8 = 6;
}

/// A lookup the CLI made itself found nothing (exit code [`exit_code::NOT_FOUND`]).
#[derive(Debug)]
pub struct NotFound(pub String);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotFound {}

/// The command line asked for something this CLI will not do as given (exit code
/// [`exit_code::USAGE`]).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The exit code for a failed command, from the first typed cause in its chain.
pub fn exit_code_of(error: &anyhow::Error) -> u8 {
    use tonic::Code;
    for cause in error.chain() {
        if cause.is::<NotFound>() {
            return exit_code::NOT_FOUND;
        }
        if cause.is::<UsageError>() {
            return exit_code::USAGE;
        }
        if let Some(rpc) = cause.downcast_ref::<client::RpcError>() {
            return match rpc.code() {
                Code::NotFound => exit_code::NOT_FOUND,
                Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => {
                    exit_code::CONFLICT
                }
                Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => {
                    exit_code::UNAVAILABLE
                }
                Code::Unauthenticated | Code::PermissionDenied => exit_code::DENIED,
                Code::InvalidArgument | Code::OutOfRange => exit_code::USAGE,
                _ => exit_code::FAILURE,
            };
        }
        if cause.is::<tonic::transport::Error>() {
            return exit_code::UNAVAILABLE;
        }
    }
    exit_code::FAILURE
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let Cli { global, command } = cli;
    let credential = global
        .credential
        .as_deref()
        .filter(|credential| !credential.is_empty());
    let format = global.output;
    client::use_tls(
        global.ca_file.as_deref(),
        global.client_cert_file.as_deref(),
        global.client_key_file.as_deref(),
    )?;
    let text = match command {
        Command::Up(args) => return commands::up::run(args, credential, format).await,
        Command::Token(TokenCommand::Rotate {
            workspace,
            token_id,
            overlap,
        }) => {
            let (channel, interceptor) =
                client::connect_channel(&global.directory_url, credential).await?;
            let mut directory = directory_proto::DirectoryClient::with_interceptor(
                channel.clone(),
                interceptor.clone(),
            );
            let mut rotation =
                directory_proto::v1::token_rotation_client::TokenRotationClient::with_interceptor(
                    channel,
                    interceptor,
                );
            commands::tokens::rotate(
                &mut directory,
                &mut rotation,
                workspace,
                token_id,
                overlap,
                format,
            )
            .await
            .map_err(|error| explain_missing_credential(error, credential.is_none()))?
        }
        Command::Client(command) => {
            let (channel, interceptor) =
                client::connect_channel(&global.directory_url, credential).await?;
            let mut directory = directory_proto::DirectoryClient::with_interceptor(
                channel.clone(),
                interceptor.clone(),
            );
            let mut clients =
                directory_proto::v1::o_auth_clients_client::OAuthClientsClient::with_interceptor(
                    channel,
                    interceptor,
                );
            commands::clients::run(&mut directory, &mut clients, command, format)
                .await
                .map_err(|error| explain_missing_credential(error, credential.is_none()))?
        }
        Command::Credential(command) => {
            let mut client = client::connect_credentials(&global.directory_url, credential).await?;
            commands::credentials::run(&mut client, command, format)
                .await
                .map_err(|error| explain_missing_credential(error, credential.is_none()))?
        }
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut <Cli as clap::CommandFactory>::command(),
                "scimctl",
                &mut script,
            );
            String::from_utf8(script)?
        }
        command => {
            let (mut client, mut events) =
                client::connect_with_events(&global.directory_url, credential).await?;
            let result = match command {
                Command::Events(command) => {
                    commands::events::run_events(&mut client, &mut events, command, format).await
                }
                Command::Audit(command) => {
                    commands::events::run_audit(&mut client, &mut events, command, format).await
                }
                Command::Webhook(command) => {
                    commands::events::run_webhook(&mut client, &mut events, command, format).await
                }
                Command::Requests(command) => {
                    commands::requests::run(
                        &mut client,
                        &global.directory_url,
                        credential,
                        command,
                        format,
                    )
                    .await
                }
                Command::RateLimit(command) => {
                    commands::rate_limits::run(
                        &mut client,
                        &global.directory_url,
                        credential,
                        command,
                        format,
                    )
                    .await
                }
                Command::Workspace(command) => {
                    commands::workspaces::run(&mut client, command, format).await
                }
                Command::Token(command) => {
                    commands::tokens::run(&mut client, command, format).await
                }
                Command::User(command) => commands::users::run(&mut client, command, format).await,
                Command::Group(command) => {
                    commands::groups::run(&mut client, command, format).await
                }
                Command::Attribute(command) => {
                    commands::attributes::run(&mut client, command, format).await
                }
                Command::Subscription(command) => {
                    commands::subscriptions::run(&mut client, command, format).await
                }
                Command::License(command) => {
                    commands::licenses::run(&mut client, command, format).await
                }
                Command::Member(command) => {
                    commands::members::run(&mut client, command, format).await
                }
                Command::RoleMapping(command) => {
                    commands::role_mappings::run(&mut client, command, format).await
                }
                Command::AttributeMapping(command) => {
                    commands::attribute_mappings::run(&mut client, command, format).await
                }
                Command::Endpoint => commands::workspaces::endpoint(&mut client, format).await,
                Command::Up(_)
                | Command::Completions { .. }
                | Command::Credential(_)
                | Command::Client(_) => {
                    unreachable!("handled above")
                }
            };
            result
                .map_err(|error| explain_missing_credential(error, credential.is_none()))
                .map_err(print_partial_output)?
        }
    };
    write_stdout(&text)
}

/// A command that failed after producing its results (see [`output::FailedAfterOutput`]):
/// prints them, then reports the failure.
fn print_partial_output(error: anyhow::Error) -> anyhow::Error {
    match error.downcast::<output::FailedAfterOutput>() {
        Ok(failed) => match write_stdout(&failed.stdout) {
            Ok(()) => anyhow::anyhow!(failed.message),
            Err(error) => error,
        },
        Err(error) => error,
    }
}

/// UNAUTHENTICATED without a credential almost always means the flag was forgotten.
fn explain_missing_credential(error: anyhow::Error, credential_missing: bool) -> anyhow::Error {
    let unauthenticated = error
        .downcast_ref::<client::RpcError>()
        .is_some_and(|rpc| rpc.code() == tonic::Code::Unauthenticated);
    if unauthenticated && credential_missing {
        anyhow::anyhow!(
            "{}\nhint: no credential was given; pass --credential or set DIRECTORY_CREDENTIAL",
            error_message(&error)
        )
    } else {
        error
    }
}

/// The error and its causes joined by `: `, without the repetitions transport errors
/// bring (`tcp connect error: tcp connect error: ...`).
pub fn error_message(error: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// A closed pipe (`scimctl ... | head`) is not an error.
fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        result => Ok(result?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn global_flags_work_after_the_subcommand() {
        let cli = Cli::try_parse_from([
            "scimctl",
            "token",
            "list",
            "--workspace",
            "acme",
            "--output",
            "json",
            "--directory-url",
            "http://10.0.0.1:50051",
            "--credential",
            "s3cret",
        ])
        .unwrap();
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert_eq!(cli.global.directory_url, "http://10.0.0.1:50051");
        assert_eq!(cli.global.credential.as_deref(), Some("s3cret"));
        assert!(matches!(
            cli.command,
            Command::Token(TokenCommand::List { ref workspace }) if workspace == "acme"
        ));
    }

    #[test]
    fn token_issue_parses_expiry_and_rejects_both_forms() {
        let cli = Cli::try_parse_from([
            "scimctl",
            "token",
            "issue",
            "--workspace",
            "acme",
            "--name",
            "okta",
            "--expires-in",
            "30d",
        ])
        .unwrap();
        let Command::Token(TokenCommand::Issue(args)) = cli.command else {
            panic!("expected token issue");
        };
        assert_eq!(
            args.expires_in,
            Some(std::time::Duration::from_secs(30 * 86_400))
        );
        assert_eq!(args.expires_at, None);

        let both = Cli::try_parse_from([
            "scimctl",
            "token",
            "issue",
            "--workspace",
            "acme",
            "--name",
            "okta",
            "--expires-in",
            "30d",
            "--expires-at",
            "2030-01-01T00:00:00Z",
        ]);
        assert_eq!(
            both.unwrap_err().kind(),
            clap::error::ErrorKind::ArgumentConflict
        );
        let bad = Cli::try_parse_from([
            "scimctl",
            "token",
            "issue",
            "--workspace",
            "a",
            "--name",
            "n",
            "--expires-in",
            "soon",
        ]);
        assert_eq!(
            bad.unwrap_err().kind(),
            clap::error::ErrorKind::ValueValidation
        );
    }

    #[test]
    fn up_defaults() {
        let cli = Cli::try_parse_from(["scimctl", "up"]).unwrap();
        let Command::Up(args) = cli.command else {
            panic!("expected up");
        };
        assert_eq!(args.data_dir, std::path::PathBuf::from("./data"));
        assert_eq!(args.directory_listen, "127.0.0.1:50051");
        assert_eq!(args.gateway_listen, "127.0.0.1:8080");
        assert_eq!(args.workspace, "default");
        assert_eq!(args.bin_dir, None);
    }

    #[test]
    fn plural_aliases_and_revoke_positional() {
        let cli = Cli::try_parse_from([
            "scimctl",
            "tokens",
            "revoke",
            "--workspace",
            "acme",
            "tok-1",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Token(TokenCommand::Revoke { ref token_id, .. }) if token_id == "tok-1"
        ));
        let cli = Cli::try_parse_from([
            "scimctl",
            "workspace",
            "create",
            "acme",
            "--display-name",
            "Acme Corp",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Workspace(WorkspaceCommand::Create { ref slug, ref display_name })
                if slug == "acme" && display_name.as_deref() == Some("Acme Corp")
        ));
    }

    #[test]
    fn event_audit_and_webhook_commands_are_wired() {
        use crate::commands::events::{AuditCommand, EventCommand, WebhookCommand};
        let cli = Cli::try_parse_from([
            "scimctl",
            "webhook",
            "create",
            "--workspace",
            "acme",
            "--url",
            "https://h.example/x",
            "--event",
            "scimUser.provisioned",
            "--event",
            "scimUser.deprovisioned",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Webhook(WebhookCommand::Create(ref args))
                if args.url == "https://h.example/x" && args.events.len() == 2
        ));
        let cli = Cli::try_parse_from([
            "scimctl",
            "webhooks",
            "deliveries",
            "--workspace",
            "acme",
            "--id",
            "w1",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Webhook(WebhookCommand::Deliveries(ref args)) if args.id == "w1"
        ));
        let cli = Cli::try_parse_from([
            "scimctl",
            "events",
            "list",
            "--workspace",
            "acme",
            "--after",
            "7",
            "--limit",
            "3",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Events(EventCommand::List(ref args)) if args.after == 7 && args.limit == 3
        ));
        let cli = Cli::try_parse_from([
            "scimctl",
            "audit",
            "list",
            "--workspace",
            "acme",
            "--since",
            "2026-01-01T00:00:00Z",
            "--actor",
            "scimctl",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Audit(AuditCommand::List(ref args))
                if args.since.is_some() && args.actor.as_deref() == Some("scimctl")
        ));
        assert!(
            Cli::try_parse_from([
                "scimctl",
                "audit",
                "list",
                "--workspace",
                "a",
                "--since",
                "yesterday"
            ])
            .is_err()
        );
    }

    #[test]
    fn license_and_role_commands_are_wired() {
        let cli = Cli::try_parse_from([
            "scimctl",
            "subscriptions",
            "list",
            "--workspace",
            "acme",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert!(matches!(
            cli.command,
            Command::Subscription(SubscriptionCommand::List { ref workspace }) if workspace == "acme"
        ));
        let cli = Cli::try_parse_from([
            "scimctl",
            "license",
            "revoke",
            "--workspace",
            "acme",
            "--subscription-id",
            "sub_1",
            "--user",
            "alice@x.test",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::License(LicenseCommand::Revoke(ref args)) if args.user == "alice@x.test"
        ));
        let cli =
            Cli::try_parse_from(["scimctl", "member", "admins", "--workspace", "acme"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Member(MemberCommand::Admins(ref args)) if args.workspace == "acme"
        ));
    }

    #[test]
    fn role_mapping_and_user_import_are_wired() {
        use crate::commands::import::ImportFormat;
        use crate::commands::role_mappings::RoleMappingCommand;
        use crate::commands::users::UserCommand;
        let cli = Cli::try_parse_from([
            "scimctl",
            "role-mapping",
            "set",
            "--workspace",
            "acme",
            "--idp-role",
            "Admin",
            "--role",
            "admin",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::RoleMapping(RoleMappingCommand::Set(ref args))
                if args.source.idp_role.as_deref() == Some("Admin") && args.role == "admin"
        ));
        let cli = Cli::try_parse_from([
            "scimctl",
            "role-mappings",
            "list",
            "--workspace",
            "acme",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.global.output, OutputFormat::Json);
        assert!(matches!(
            cli.command,
            Command::RoleMapping(RoleMappingCommand::List { ref workspace }) if workspace == "acme"
        ));
        let cli = Cli::try_parse_from([
            "scimctl",
            "user",
            "import",
            "--workspace",
            "acme",
            "--file",
            "-",
            "--format",
            "csv",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::User(UserCommand::Import(ref args))
                if args.file.as_os_str() == "-" && args.format == Some(ImportFormat::Csv)
        ));
    }

    #[test]
    fn partly_failed_command_reports_its_message() {
        let error = anyhow::Error::from(output::FailedAfterOutput {
            stdout: String::new(),
            message: "1 of 3 members could not be imported".into(),
        });
        assert_eq!(
            error_message(&print_partial_output(error)),
            "1 of 3 members could not be imported"
        );
        let other = print_partial_output(anyhow::anyhow!("list workspaces"));
        assert_eq!(error_message(&other), "list workspaces");
    }

    #[test]
    fn conflict_from_the_directory_keeps_code_and_reason() {
        use anyhow::Context as _;
        use tonic_types::StatusExt as _;
        let status = tonic::Status::with_error_details(
            tonic::Code::FailedPrecondition,
            "Cannot remove the last workspace admin: assign another admin first, then retry",
            tonic_types::ErrorDetails::with_error_info("CONFLICT", "directory.v1", []),
        );
        let error = Err::<(), _>(client::RpcError::from(status))
            .context("set the role of \"bob\" to none")
            .unwrap_err();
        assert_eq!(
            error_message(&explain_missing_credential(error, false)),
            "set the role of \"bob\" to none: Cannot remove the last workspace admin: \
             assign another admin first, then retry (grpc status FAILED_PRECONDITION, reason CONFLICT)"
        );
    }

    #[test]
    fn unauthenticated_without_credential_gets_a_hint() {
        use anyhow::Context as _;
        let error = || {
            Err::<(), _>(client::RpcError::from(tonic::Status::unauthenticated(
                "missing credential",
            )))
            .context("list workspaces")
            .unwrap_err()
        };
        assert_eq!(
            error_message(&explain_missing_credential(error(), true)),
            "list workspaces: missing credential (grpc status UNAUTHENTICATED)\n\
             hint: no credential was given; pass --credential or set DIRECTORY_CREDENTIAL"
        );
        assert_eq!(
            error_message(&explain_missing_credential(error(), false)),
            "list workspaces: missing credential (grpc status UNAUTHENTICATED)"
        );
    }

    #[test]
    fn exit_codes_follow_the_failure_kind() {
        use anyhow::Context as _;
        let rpc = |code| {
            Err::<(), _>(client::RpcError::from(tonic::Status::new(code, "x")))
                .context("do something")
                .unwrap_err()
        };
        assert_eq!(
            exit_code_of(&rpc(tonic::Code::NotFound)),
            exit_code::NOT_FOUND
        );
        assert_eq!(
            exit_code_of(&rpc(tonic::Code::AlreadyExists)),
            exit_code::CONFLICT
        );
        assert_eq!(
            exit_code_of(&rpc(tonic::Code::FailedPrecondition)),
            exit_code::CONFLICT
        );
        assert_eq!(
            exit_code_of(&rpc(tonic::Code::Unavailable)),
            exit_code::UNAVAILABLE
        );
        assert_eq!(
            exit_code_of(&rpc(tonic::Code::Unauthenticated)),
            exit_code::DENIED
        );
        assert_eq!(
            exit_code_of(&rpc(tonic::Code::InvalidArgument)),
            exit_code::USAGE
        );
        assert_eq!(
            exit_code_of(&rpc(tonic::Code::Internal)),
            exit_code::FAILURE
        );
        let missing = anyhow::Error::from(NotFound("no user".into())).context("show user");
        assert_eq!(exit_code_of(&missing), exit_code::NOT_FOUND);
        assert_eq!(exit_code_of(&anyhow::anyhow!("other")), exit_code::FAILURE);
    }

    #[test]
    fn completions_are_generated_for_each_shell() {
        for shell in ["bash", "zsh", "fish"] {
            let cli = Cli::try_parse_from(["scimctl", "completions", shell]).unwrap();
            assert!(matches!(cli.command, Command::Completions { .. }));
        }
        assert!(Cli::try_parse_from(["scimctl", "completions", "cmd"]).is_err());
    }

    #[test]
    fn error_message_drops_repeated_causes() {
        let error = anyhow::anyhow!("Connection refused (os error 111)")
            .context("tcp connect error")
            .context("tcp connect error")
            .context("transport error")
            .context("cannot connect to the directory at http://127.0.0.1:1");
        assert_eq!(
            error_message(&error),
            "cannot connect to the directory at http://127.0.0.1:1: transport error: \
             tcp connect error: Connection refused (os error 111)"
        );
    }
}

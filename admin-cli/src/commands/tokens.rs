//! `scimctl token ...`: SCIM bearer tokens of a workspace. Only `issue` ever shows a secret,
//! once; the directory keeps just a hash.

use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, TimeDelta, Utc};
use clap::{Args, Subcommand};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _, TokenRotation};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a new bearer token (the secret is printed once)
    Issue(IssueArgs),
    /// List the tokens of a workspace (never shows secrets)
    List {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
    },
    /// Rotate a token: issue its successor (secret printed once); the old token keeps
    /// working for the overlap, then answers 401
    Rotate {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// Id of the token to rotate
        #[arg(value_name = "TOKEN_ID")]
        token_id: String,
        /// How long the old token keeps working, e.g. 24h, 30m, 10s (0s: stops at once)
        #[arg(long, value_parser = parse_overlap, default_value = "24h")]
        overlap: Duration,
    },
    /// Revoke a token
    Revoke {
        /// Workspace slug or id
        #[arg(long)]
        workspace: String,
        /// Id of the token to revoke
        #[arg(value_name = "TOKEN_ID")]
        token_id: String,
    },
}

#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// A name to recognise the token by (e.g. the IdP using it)
    #[arg(long)]
    pub name: String,
    /// Lifetime, e.g. 30d, 12h, 90m, 45s (units may be combined: 1d12h)
    #[arg(long, value_parser = parse_duration, conflicts_with = "expires_at")]
    pub expires_in: Option<Duration>,
    /// Absolute expiry, RFC 3339 (e.g. 2030-01-01T00:00:00Z)
    #[arg(long, value_parser = parse_rfc3339)]
    pub expires_at: Option<DateTime<Utc>>,
    /// What the token may do: full, read-only, users-only, groups-only
    #[arg(long, value_enum, default_value = "full")]
    pub scope: ScopeArg,
    /// IP allow-list: CIDRs (or addresses) the token may be used from, comma-separated;
    /// from anywhere else it answers 401. Default: any address
    #[arg(long = "allow-cidr", value_delimiter = ',')]
    pub allowed_cidrs: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ScopeArg {
    Full,
    ReadOnly,
    UsersOnly,
    GroupsOnly,
}

impl From<ScopeArg> for v1::TokenScope {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::Full => v1::TokenScope::Full,
            ScopeArg::ReadOnly => v1::TokenScope::ReadOnly,
            ScopeArg::UsersOnly => v1::TokenScope::UsersOnly,
            ScopeArg::GroupsOnly => v1::TokenScope::GroupsOnly,
        }
    }
}

fn scope_name(scope: i32) -> &'static str {
    match v1::TokenScope::try_from(scope) {
        Ok(v1::TokenScope::ReadOnly) => "read-only",
        Ok(v1::TokenScope::UsersOnly) => "users-only",
        Ok(v1::TokenScope::GroupsOnly) => "groups-only",
        _ => "full",
    }
}

/// Like `parse_duration`, and `0s` is allowed.
fn parse_overlap(text: &str) -> Result<Duration, String> {
    if text.trim().trim_end_matches(['s', 'm', 'h', 'd', 'w']) == "0" {
        return Ok(Duration::ZERO);
    }
    parse_duration(text)
}

pub async fn run(
    client: &mut Client,
    command: TokenCommand,
    format: OutputFormat,
) -> anyhow::Result<String> {
    match command {
        TokenCommand::Issue(args) => {
            let expires = expiry(args.expires_in, args.expires_at, Utc::now())?;
            let workspace = resolve_workspace(client, &args.workspace).await?;
            let response = client
                .tokens()
                .issue_token(v1::IssueTokenRequest {
                    workspace_id: workspace.id,
                    name: args.name.clone(),
                    expires: expires.map(to_proto_timestamp),
                    scope: v1::TokenScope::from(args.scope) as i32,
                    allowed_cidrs: args.allowed_cidrs.clone(),
                })
                .await
                .rpc_context(|| format!("issue token {:?}", args.name))?;
            render_issued(format, IssuedTokenView::try_from(response)?)
        }
        TokenCommand::List { workspace } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let response = client
                .tokens()
                .list_tokens(v1::ListTokensRequest {
                    workspace_id: workspace.id,
                })
                .await
                .rpc_context(|| format!("list tokens of workspace {:?}", workspace.slug))?;
            let views: Vec<TokenView> = response.tokens.into_iter().map(TokenView::from).collect();
            output::render_list(format, &views)
        }
        TokenCommand::Rotate { .. } => {
            unreachable!("scimctl runs `token rotate` through tokens::rotate")
        }
        TokenCommand::Revoke {
            workspace,
            token_id,
        } => {
            let workspace = resolve_workspace(client, &workspace).await?;
            let token = client
                .tokens()
                .revoke_token(v1::RevokeTokenRequest {
                    workspace_id: workspace.id,
                    id: token_id.clone(),
                })
                .await
                .rpc_context(|| format!("revoke token {token_id:?}"))?;
            output::render_one(format, &TokenView::from(token))
        }
    }
}

/// `scimctl token rotate`: the successor (secret shown once) and when the old one stops.
pub async fn rotate(
    client: &mut Client,
    rotation: &mut TokenRotation,
    workspace: String,
    token_id: String,
    overlap: Duration,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let workspace = resolve_workspace(client, &workspace).await?;
    let response = rotation
        .rotate_token(v1::RotateTokenRequest {
            workspace_id: workspace.id,
            id: token_id.clone(),
            overlap_seconds: i64::try_from(overlap.as_secs()).context("--overlap is too long")?,
        })
        .await
        .rpc_context(|| format!("rotate token {token_id:?}"))?;
    let previous = TokenView::from(
        response
            .previous
            .context("the directory rotated a token but did not describe it")?,
    );
    let issued = IssuedTokenView::try_from(v1::IssueTokenResponse {
        token: response.token,
        plaintext: response.plaintext,
    })?;
    match format {
        OutputFormat::Json => output::render_json(&serde_json::json!({
            "previous": previous,
            "token": issued,
        })),
        OutputFormat::Table => {
            let mut text = format!(
                "token {} stops at {}\n\n",
                previous.id,
                output::timestamp_cell(previous.expires.as_ref())
            );
            text.push_str(&render_issued(format, issued)?);
            Ok(text)
        }
    }
}

/// A token without any secret: what `list` and `revoke` print.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenView {
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    pub prefix: String,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub created: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub expires: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub last_used: Option<DateTime<Utc>>,
    #[serde(serialize_with = "output::serialize_timestamp")]
    pub revoked: Option<DateTime<Utc>>,
    pub scope: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub allowed_cidrs: Vec<String>,
    /// Rotation: the token this one replaced / the one that replaced it (this one then
    /// stops at `expires`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub replaces: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub replaced_by: String,
}

impl From<v1::Token> for TokenView {
    fn from(token: v1::Token) -> Self {
        Self {
            created: output::timestamp(token.created.as_ref()),
            expires: output::timestamp(token.expires.as_ref()),
            last_used: output::timestamp(token.last_used.as_ref()),
            revoked: output::timestamp(token.revoked.as_ref()),
            scope: scope_name(token.scope).to_owned(),
            allowed_cidrs: token.allowed_cidrs,
            replaces: token.replaces,
            replaced_by: token.replaced_by,
            id: token.id,
            workspace_id: token.workspace_id,
            name: token.name,
            prefix: token.prefix,
        }
    }
}

impl TableRow for TokenView {
    const HEADERS: &'static [&'static str] = &[
        "id",
        "name",
        "prefix",
        "created",
        "expires",
        "last_used",
        "revoked",
        "scope",
        "replaced_by",
    ];
    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.name.clone(),
            self.prefix.clone(),
            output::timestamp_cell(self.created.as_ref()),
            output::timestamp_cell(self.expires.as_ref()),
            output::timestamp_cell(self.last_used.as_ref()),
            output::timestamp_cell(self.revoked.as_ref()),
            self.scope.clone(),
            output::text_cell(
                Some(&self.replaced_by)
                    .filter(|r| !r.is_empty())
                    .map(|r| r.as_str()),
            ),
        ]
    }
}

/// The result of `issue`: the token's fields plus `token`, the plaintext secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IssuedTokenView {
    #[serde(flatten)]
    pub details: TokenView,
    pub token: String,
}

impl TryFrom<v1::IssueTokenResponse> for IssuedTokenView {
    type Error = anyhow::Error;
    fn try_from(response: v1::IssueTokenResponse) -> anyhow::Result<Self> {
        let token = response
            .token
            .context("the directory issued a token but did not describe it")?;
        anyhow::ensure!(
            !response.plaintext.is_empty(),
            "the directory issued a token but returned no secret"
        );
        Ok(Self {
            details: TokenView::from(token),
            token: response.plaintext,
        })
    }
}

pub fn render_issued(format: OutputFormat, issued: IssuedTokenView) -> anyhow::Result<String> {
    match format {
        OutputFormat::Json => output::render_json(&issued),
        OutputFormat::Table => {
            let mut text = output::render_one(format, &issued.details)?;
            text.push_str(&format!(
                "\ntoken: {}\n\nThis is the only time the token is shown: store it now (the directory keeps only a hash).\n",
                issued.token
            ));
            Ok(text)
        }
    }
}

/// `30d`, `12h`, `90m`, `45s`, `2w`, or combinations such as `1d12h`. Must be positive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let invalid = || format!("invalid duration {text:?}: expected e.g. 30d, 12h, 90m or 45s");
    let mut total: u64 = 0;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| format!("invalid duration {text:?}: missing unit (s, m, h, d or w)"))?;
        if digits_end == 0 {
            return Err(invalid());
        }
        let amount: u64 = rest[..digits_end].parse().map_err(|_| invalid())?;
        let mut unit_chars = rest[digits_end..].chars();
        let unit_seconds: u64 = match unit_chars.next() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3_600,
            Some('d') => 86_400,
            Some('w') => 604_800,
            _ => return Err(invalid()),
        };
        total = amount
            .checked_mul(unit_seconds)
            .and_then(|seconds| total.checked_add(seconds))
            .ok_or_else(|| format!("duration {text:?} is too long"))?;
        rest = unit_chars.as_str();
    }
    if total == 0 {
        return Err(format!("duration {text:?} must be longer than zero"));
    }
    Ok(Duration::from_secs(total))
}

pub fn parse_rfc3339(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            format!("invalid RFC 3339 timestamp {text:?} ({e}); expected e.g. 2030-01-01T00:00:00Z")
        })
}

/// The absolute expiry to request, if any.
pub fn expiry(
    expires_in: Option<Duration>,
    expires_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    match (expires_in, expires_at) {
        (Some(_), Some(_)) => anyhow::bail!("use either --expires-in or --expires-at, not both"),
        (Some(lifetime), None) => {
            let lifetime = TimeDelta::from_std(lifetime).context("--expires-in is too long")?;
            let at = now
                .checked_add_signed(lifetime)
                .context("--expires-in is too long")?;
            Ok(Some(at))
        }
        (None, at) => Ok(at),
    }
}

pub fn to_proto_timestamp(at: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.timestamp(),
        // Always below 2e9 (leap seconds included), so it fits.
        nanos: i32::try_from(at.timestamp_subsec_nanos()).unwrap_or(999_999_999),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_every_unit() {
        assert_eq!(parse_duration("45s"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3_600)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        assert_eq!(
            parse_duration("1d12h30m"),
            Ok(Duration::from_secs(86_400 + 12 * 3_600 + 30 * 60))
        );
    }

    #[test]
    fn bad_durations_are_rejected_with_a_reason() {
        for text in ["", "30", "d", "30x", "-5m", "1.5h", "h1", "30 d"] {
            assert!(parse_duration(text).is_err(), "{text:?} should be rejected");
        }
        assert!(parse_duration("30").unwrap_err().contains("missing unit"));
        assert!(
            parse_duration("0s")
                .unwrap_err()
                .contains("longer than zero")
        );
        assert!(parse_duration("99999999999999999999w").is_err());
        assert!(
            parse_duration("9999999999999999w")
                .unwrap_err()
                .contains("too long")
        );
    }

    #[test]
    fn expiry_from_lifetime_or_absolute_time() {
        let now = parse_rfc3339("2025-01-01T00:00:00Z").unwrap();
        assert_eq!(expiry(None, None, now).unwrap(), None);
        assert_eq!(
            expiry(Some(Duration::from_secs(30 * 86_400)), None, now).unwrap(),
            Some(parse_rfc3339("2025-01-31T00:00:00Z").unwrap())
        );
        let at = parse_rfc3339("2030-06-01T12:00:00+02:00").unwrap();
        assert_eq!(at, parse_rfc3339("2030-06-01T10:00:00Z").unwrap());
        assert_eq!(expiry(None, Some(at), now).unwrap(), Some(at));
        assert!(expiry(Some(Duration::from_secs(1)), Some(at), now).is_err());
        assert!(expiry(Some(Duration::from_secs(u64::MAX / 2)), None, now).is_err());
        assert!(parse_rfc3339("tomorrow").is_err());
    }

    #[test]
    fn proto_timestamp_keeps_seconds_and_nanos() {
        let at = parse_rfc3339("2025-01-01T00:00:01.25Z").unwrap();
        assert_eq!(
            to_proto_timestamp(at),
            prost_types::Timestamp {
                seconds: 1_735_689_601,
                nanos: 250_000_000
            }
        );
    }

    fn token() -> v1::Token {
        v1::Token {
            id: "tok-1".into(),
            workspace_id: "ws-1".into(),
            name: "okta".into(),
            prefix: "scim_7KQ2M4XD9B0A".into(),
            created: Some(prost_types::Timestamp {
                seconds: 1_735_689_600,
                nanos: 0,
            }),
            expires: None,
            last_used: None,
            revoked: None,
            ..Default::default()
        }
    }

    #[test]
    fn token_list_columns_and_json_keys() {
        let views = vec![TokenView::from(token())];
        let table = output::render_list(OutputFormat::Table, &views).unwrap();
        let mut lines = table.lines();
        let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            header,
            [
                "ID",
                "NAME",
                "PREFIX",
                "CREATED",
                "EXPIRES",
                "LAST_USED",
                "REVOKED",
                "SCOPE",
                "REPLACED_BY"
            ]
        );
        let row: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
        assert_eq!(
            row,
            [
                "tok-1",
                "okta",
                "scim_7KQ2M4XD9B0A",
                "2025-01-01T00:00:00Z",
                "-",
                "-",
                "-",
                "full",
                "-"
            ]
        );

        let json: serde_json::Value =
            serde_json::from_str(&output::render_list(OutputFormat::Json, &views).unwrap())
                .unwrap();
        assert_eq!(
            json,
            serde_json::json!([{
                "id": "tok-1",
                "workspace_id": "ws-1",
                "name": "okta",
                "prefix": "scim_7KQ2M4XD9B0A",
                "created": "2025-01-01T00:00:00Z",
                "expires": null,
                "last_used": null,
                "revoked": null,
                "scope": "full"
            }])
        );
    }

    #[test]
    fn issued_token_shows_the_secret_once_in_both_formats() {
        let response = v1::IssueTokenResponse {
            token: Some(token()),
            plaintext: "scim_7KQ2M4XD9B0A_secretpart".into(),
        };
        let issued = IssuedTokenView::try_from(response).unwrap();

        let json: serde_json::Value =
            serde_json::from_str(&render_issued(OutputFormat::Json, issued.clone()).unwrap())
                .unwrap();
        assert_eq!(json["token"], "scim_7KQ2M4XD9B0A_secretpart");
        assert_eq!(json["id"], "tok-1");
        assert_eq!(json["prefix"], "scim_7KQ2M4XD9B0A");

        let table = render_issued(OutputFormat::Table, issued).unwrap();
        assert_eq!(table.matches("scim_7KQ2M4XD9B0A_secretpart").count(), 1);
        assert!(table.contains("\ntoken: scim_7KQ2M4XD9B0A_secretpart\n"));
        assert!(table.contains("only time the token is shown"));
    }

    #[test]
    fn issue_response_without_secret_is_an_error() {
        let response = v1::IssueTokenResponse {
            token: Some(token()),
            plaintext: String::new(),
        };
        assert!(IssuedTokenView::try_from(response).is_err());
        let response = v1::IssueTokenResponse {
            token: None,
            plaintext: "x".into(),
        };
        assert!(IssuedTokenView::try_from(response).is_err());
    }
}

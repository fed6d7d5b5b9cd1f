//! `scimctl user import`: brings in members who existed before SCIM, from a CSV or JSON
//! file, so that an IdP's later `userName eq "..."` lookup finds and links them instead of
//! creating duplicates. Each member is imported on its own (a failed row does not stop the
//! others); a userName that is already taken is reported as existing, so importing the same
//! file again is safe.
//!
//! The whole file is read and checked before the first RPC: a file that does not parse, or
//! lacks the userName column, imports nothing.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, ValueEnum};
use directory_proto::v1;
use serde::Serialize;

use crate::client::{Client, RpcResultExt as _};
use crate::commands::workspaces::resolve_workspace;
use crate::output::{self, OutputFormat, TableRow};

/// Members sent per ImportUsers call.
pub const BATCH_SIZE: usize = 500;

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Workspace slug or id
    #[arg(long)]
    pub workspace: String,
    /// The members to import: a CSV or JSON file, or `-` for stdin. Columns (CSV header,
    /// any case) or keys (JSON array of objects): userName (required), givenName,
    /// familyName, displayName, email (a primary work email), externalId, active
    /// (default true)
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub file: PathBuf,
    /// File format [default: from the extension (.csv, .json), else json]
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Csv,
    Json,
}

/// Where the members come from: `--file -` is stdin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    Stdin,
    File(&'a Path),
}

impl<'a> Input<'a> {
    pub fn from_arg(path: &'a Path) -> Self {
        if path.as_os_str() == "-" {
            Input::Stdin
        } else {
            Input::File(path)
        }
    }

    fn name(&self) -> String {
        match self {
            Input::Stdin => "stdin".to_owned(),
            Input::File(path) => path.display().to_string(),
        }
    }

    fn read(&self) -> anyhow::Result<Vec<u8>> {
        let mut bytes = Vec::new();
        match self {
            Input::Stdin => {
                std::io::stdin().lock().read_to_end(&mut bytes)?;
            }
            Input::File(path) => bytes = std::fs::read(path)?,
        }
        Ok(bytes)
    }
}

/// `--format`, else the file extension (`.csv`, `.json`, any case), else JSON (stdin too).
pub fn detect_format(input: Input<'_>, explicit: Option<ImportFormat>) -> ImportFormat {
    if let Some(format) = explicit {
        return format;
    }
    let extension = match input {
        Input::File(path) => path.extension().and_then(|e| e.to_str()),
        Input::Stdin => None,
    };
    match extension {
        Some(e) if e.eq_ignore_ascii_case("csv") => ImportFormat::Csv,
        _ => ImportFormat::Json,
    }
}

/// One member as read from the file. Blank optional values are absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_name: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub external_id: Option<String>,
    pub active: bool,
}

impl Member {
    fn new() -> Self {
        Self {
            user_name: String::new(),
            given_name: None,
            family_name: None,
            display_name: None,
            email: None,
            external_id: None,
            active: true,
        }
    }

    /// What the directory stores: `email` becomes the primary work email.
    pub fn into_attributes(self) -> v1::UserAttributes {
        let name = (self.given_name.is_some() || self.family_name.is_some()).then(|| v1::Name {
            given_name: self.given_name,
            family_name: self.family_name,
            ..Default::default()
        });
        v1::UserAttributes {
            user_name: self.user_name,
            external_id: self.external_id,
            name,
            display_name: self.display_name,
            active: Some(self.active),
            emails: self
                .email
                .map(|value| v1::MultiValue {
                    value,
                    r#type: Some("work".to_owned()),
                    primary: true,
                    display: None,
                })
                .into_iter()
                .collect(),
            ..Default::default()
        }
    }

    fn set(&mut self, field: Field, value: &str) -> Result<(), String> {
        let value = value.trim();
        let text = || Some(value.to_owned()).filter(|v| !v.is_empty());
        match field {
            Field::UserName => self.user_name = value.to_owned(),
            Field::GivenName => self.given_name = text(),
            Field::FamilyName => self.family_name = text(),
            Field::DisplayName => self.display_name = text(),
            Field::Email => self.email = text(),
            Field::ExternalId => self.external_id = text(),
            Field::Active => self.active = parse_active(value)?,
        }
        Ok(())
    }
}

/// The columns (CSV) and keys (JSON) an import file may have, matched case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    UserName,
    GivenName,
    FamilyName,
    DisplayName,
    Email,
    ExternalId,
    Active,
}

const FIELDS: [(&str, Field); 7] = [
    ("userName", Field::UserName),
    ("givenName", Field::GivenName),
    ("familyName", Field::FamilyName),
    ("displayName", Field::DisplayName),
    ("email", Field::Email),
    ("externalId", Field::ExternalId),
    ("active", Field::Active),
];

impl Field {
    fn parse(name: &str) -> Option<Self> {
        FIELDS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name.trim()))
            .map(|(_, field)| *field)
    }

    fn name(self) -> &'static str {
        FIELDS
            .iter()
            .find(|(_, field)| *field == self)
            .map_or("", |(name, _)| name)
    }
}

fn accepted_names() -> String {
    FIELDS
        .iter()
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `true`/`false` (also `yes`/`no`, `1`/`0`), any case; blank means true.
fn parse_active(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        _ => Err(format!(
            "active must be true or false, not {:?}",
            value.trim()
        )),
    }
}

/// Reads and checks the whole input; nothing is sent before this succeeds.
pub fn read_members(input: Input<'_>, format: ImportFormat) -> anyhow::Result<Vec<Member>> {
    let context = || format!("read members from {}", input.name());
    let bytes = input.read().with_context(context)?;
    let text = String::from_utf8(bytes)
        .map_err(|_| anyhow::anyhow!("the file is not UTF-8 text"))
        .with_context(context)?;
    parse_members(&text, format).with_context(context)
}

pub fn parse_members(text: &str, format: ImportFormat) -> anyhow::Result<Vec<Member>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        bail!("the file is empty");
    }
    match format {
        ImportFormat::Csv => parse_csv(text),
        ImportFormat::Json => parse_json(text),
    }
}

/// A header row naming the columns, then one member per record. A blank userName is sent
/// as is (the directory reports that row as failed).
fn parse_csv(text: &str) -> anyhow::Result<Vec<Member>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers = reader.headers().context("invalid CSV header")?.clone();
    let mut columns = Vec::with_capacity(headers.len());
    for header in &headers {
        let field = Field::parse(header).ok_or_else(|| {
            anyhow::anyhow!(
                "unknown column {header:?} in the header row (accepted, in any case: {})",
                accepted_names()
            )
        })?;
        if columns.contains(&field) {
            bail!("column {} appears twice in the header row", field.name());
        }
        columns.push(field);
    }
    if !columns.contains(&Field::UserName) {
        bail!(
            "the header row has no userName column (found: {}; accepted, in any case: {})",
            headers.iter().collect::<Vec<_>>().join(", "),
            accepted_names()
        );
    }
    let mut members = Vec::new();
    for record in reader.records() {
        let record = record.map_err(csv_error)?;
        let line = record.position().map_or(0, csv::Position::line);
        let mut member = Member::new();
        for (field, value) in columns.iter().zip(record.iter()) {
            member
                .set(*field, value)
                .map_err(|error| anyhow::anyhow!("line {line}: {error}"))?;
        }
        members.push(member);
    }
    Ok(members)
}

/// A row with too few or too many cells names its line and the header's width.
fn csv_error(error: csv::Error) -> anyhow::Error {
    match error.kind() {
        csv::ErrorKind::UnequalLengths {
            pos,
            expected_len,
            len,
        } => anyhow::anyhow!(
            "line {}: {}, but the header row has {}",
            pos.as_ref().map_or(0, csv::Position::line),
            plural(*len, "cell"),
            plural(*expected_len, "column")
        ),
        _ => anyhow::Error::new(error).context("invalid CSV"),
    }
}

fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

/// An array of objects with the same names as keys (any case); null means absent.
fn parse_json(text: &str) -> anyhow::Result<Vec<Member>> {
    let value: serde_json::Value = serde_json::from_str(text).context("invalid JSON")?;
    let serde_json::Value::Array(items) = value else {
        bail!("expected a JSON array of member objects");
    };
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            json_member(item).map_err(|error| anyhow::anyhow!("member {}: {error}", index + 1))
        })
        .collect()
}

fn json_member(item: serde_json::Value) -> Result<Member, String> {
    let serde_json::Value::Object(object) = item else {
        return Err("expected an object".to_owned());
    };
    let mut member = Member::new();
    let mut seen = Vec::new();
    for (key, value) in object {
        let field = Field::parse(&key).ok_or_else(|| {
            format!(
                "unknown attribute {key:?} (accepted, in any case: {})",
                accepted_names()
            )
        })?;
        if seen.contains(&field) {
            return Err(format!("{} is given twice", field.name()));
        }
        seen.push(field);
        match (field, value) {
            (Field::UserName, serde_json::Value::String(text)) => member.set(field, &text)?,
            (Field::UserName, _) => return Err("userName must be a string".to_owned()),
            (_, serde_json::Value::Null) => {}
            (Field::Active, serde_json::Value::Bool(active)) => member.active = active,
            (_, serde_json::Value::String(text)) => member.set(field, &text)?,
            (Field::Active, _) => return Err("active must be true or false".to_owned()),
            (_, _) => return Err(format!("{} must be a string", field.name())),
        }
    }
    if !seen.contains(&Field::UserName) {
        return Err("userName is required".to_owned());
    }
    Ok(member)
}

pub async fn run(
    client: &mut Client,
    args: ImportArgs,
    format: OutputFormat,
) -> anyhow::Result<String> {
    let input = Input::from_arg(&args.file);
    let members = read_members(input, detect_format(input, args.format))?;
    let workspace = resolve_workspace(client, &args.workspace).await?;
    let total = members.len();
    let mut report = ImportReport::default();
    let mut rest: Vec<v1::UserAttributes> =
        members.into_iter().map(Member::into_attributes).collect();
    while !rest.is_empty() {
        let batch: Vec<v1::UserAttributes> = rest.drain(..rest.len().min(BATCH_SIZE)).collect();
        let first = report.results.len();
        let count = batch.len();
        let response = client
            .users()
            .import_users(v1::ImportUsersRequest {
                workspace_id: workspace.id.clone(),
                users: batch,
            })
            .await
            .rpc_context(|| batch_context(&workspace.slug, first, count, total, &report))?;
        report.add(response);
    }
    let text = render_report(format, &report)?;
    if report.failed > 0 {
        return Err(output::FailedAfterOutput {
            stdout: text,
            message: format!("{} of {total} members could not be imported", report.failed),
        }
        .into());
    }
    Ok(text)
}

/// Names the failed batch and what the earlier ones did, which stays done.
fn batch_context(
    slug: &str,
    first: usize,
    count: usize,
    total: usize,
    done: &ImportReport,
) -> String {
    let what = format!(
        "import members {}-{} of {total} into workspace {slug:?}",
        first + 1,
        first + count
    );
    if first == 0 {
        return what;
    }
    format!(
        "{what} (members 1-{first} were imported: {}; importing the file again is safe)",
        done.summary()
    )
}

/// JSON: `{"created": N, "existing": N, "failed": N, "results": [..]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ImportReport {
    pub created: i64,
    pub existing: i64,
    pub failed: i64,
    pub results: Vec<ImportResultView>,
}

impl ImportReport {
    /// Adds one batch's answer; results keep the order of the file.
    pub fn add(&mut self, response: v1::ImportUsersResponse) {
        self.created += response.created;
        self.existing += response.existing;
        self.failed += response.failed;
        let first = self.results.len();
        self.results.extend(
            response
                .results
                .into_iter()
                .enumerate()
                .map(|(index, result)| ImportResultView::new(first + index + 1, result)),
        );
    }

    pub fn summary(&self) -> String {
        format!(
            "created {}, existing {}, failed {}",
            self.created, self.existing, self.failed
        )
    }
}

/// One member's outcome. `row` is the member's position in the file (1 = the first
/// member; a CSV header does not count); `id` is null when the row failed, `error` null
/// unless it failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportResultView {
    pub row: usize,
    pub user_name: String,
    pub outcome: &'static str,
    pub id: Option<String>,
    pub error: Option<String>,
}

impl ImportResultView {
    pub fn new(row: usize, result: v1::ImportResult) -> Self {
        Self {
            row,
            user_name: result.user_name,
            outcome: outcome_name(result.outcome),
            id: Some(result.id).filter(|id| !id.is_empty()),
            error: Some(result.error).filter(|error| !error.is_empty()),
        }
    }
}

/// `created`, `existing`, `failed` (`unspecified` for a value this CLI does not know).
pub fn outcome_name(outcome: i32) -> &'static str {
    match v1::ImportOutcome::try_from(outcome).unwrap_or(v1::ImportOutcome::Unspecified) {
        v1::ImportOutcome::Created => "created",
        v1::ImportOutcome::Existing => "existing",
        v1::ImportOutcome::Failed => "failed",
        v1::ImportOutcome::Unspecified => "unspecified",
    }
}

impl TableRow for ImportResultView {
    const HEADERS: &'static [&'static str] = &["row", "user_name", "outcome", "id", "error"];
    fn cells(&self) -> Vec<String> {
        vec![
            self.row.to_string(),
            output::text_cell(Some(&self.user_name)),
            self.outcome.to_owned(),
            output::text_cell(self.id.as_deref()),
            output::text_cell(self.error.as_deref()),
        ]
    }
}

/// A table with one row per member and a summary line, or one JSON object.
pub fn render_report(format: OutputFormat, report: &ImportReport) -> anyhow::Result<String> {
    match format {
        OutputFormat::Json => output::render_json(report),
        OutputFormat::Table => {
            let mut text = output::render_list(format, &report.results)?;
            text.push_str(&report.summary());
            text.push('\n');
            Ok(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn member(user_name: &str) -> Member {
        Member {
            user_name: user_name.to_owned(),
            ..Member::new()
        }
    }

    fn error_of(text: &str, format: ImportFormat) -> String {
        format!("{:#}", parse_members(text, format).unwrap_err())
    }

    #[test]
    fn csv_header_is_case_insensitive_and_blank_cells_are_absent() {
        let csv = "\u{feff}USERNAME, GivenName ,familyname,DisplayName,EMAIL,externalID,Active\n\
                   alice@x.test,Alice,Smith,Alice Smith,alice@mail.test,E-1,true\n\
                   \" bob@x.test \",,,,,,FALSE\n\
                   ,Carol,,,,,\n";
        let members = parse_members(csv, ImportFormat::Csv).unwrap();
        assert_eq!(
            members,
            [
                Member {
                    user_name: "alice@x.test".into(),
                    given_name: Some("Alice".into()),
                    family_name: Some("Smith".into()),
                    display_name: Some("Alice Smith".into()),
                    email: Some("alice@mail.test".into()),
                    external_id: Some("E-1".into()),
                    active: true,
                },
                Member {
                    active: false,
                    ..member("bob@x.test")
                },
                // Sent as is: the directory reports the blank userName as a failed row.
                Member {
                    given_name: Some("Carol".into()),
                    ..member("")
                },
            ]
        );
    }

    #[test]
    fn csv_with_only_some_columns_and_quoted_commas() {
        let csv = "email,userName\r\n\"a@mail.test\",\"Doe, Jane\"\r\n\r\n";
        assert_eq!(
            parse_members(csv, ImportFormat::Csv).unwrap(),
            [Member {
                email: Some("a@mail.test".into()),
                ..member("Doe, Jane")
            }]
        );
        assert_eq!(parse_members("userName\n", ImportFormat::Csv).unwrap(), []);
    }

    #[test]
    fn csv_without_user_name_column_is_refused() {
        let error = error_of("email,givenName\na@x.test,A\n", ImportFormat::Csv);
        assert!(
            error.starts_with("the header row has no userName column (found: email, givenName;"),
            "{error}"
        );
    }

    #[test]
    fn csv_unknown_or_repeated_columns_are_refused() {
        let error = error_of("userName,mail\na,b\n", ImportFormat::Csv);
        assert!(
            error.starts_with("unknown column \"mail\" in the header row (accepted, in any case: userName, givenName,"),
            "{error}"
        );
        let error = error_of("userName,Email,EMAIL\na,b,c\n", ImportFormat::Csv);
        assert_eq!(error, "column email appears twice in the header row");
    }

    #[test]
    fn csv_bad_rows_name_their_line() {
        let error = error_of("userName,active\na,true\nb,maybe\n", ImportFormat::Csv);
        assert_eq!(error, "line 3: active must be true or false, not \"maybe\"");
        let error = error_of("userName,email\na,b\nc\n", ImportFormat::Csv);
        assert_eq!(error, "line 3: 1 cell, but the header row has 2 columns");
        let error = error_of("userName\na\nb,c,d\n", ImportFormat::Csv);
        assert_eq!(error, "line 3: 3 cells, but the header row has 1 column");
    }

    #[test]
    fn active_values() {
        for (text, active) in [
            ("", true),
            ("TRUE", true),
            ("yes", true),
            ("1", true),
            ("False", false),
            ("no", false),
            ("0", false),
        ] {
            assert_eq!(parse_active(text), Ok(active), "{text}");
        }
        assert!(parse_active("maybe").is_err());
    }

    #[test]
    fn json_members_with_any_key_case_and_nulls() {
        let json = r#"[
            {"userName": "alice@x.test", "givenName": "Alice", "FamilyName": "Smith",
             "displayName": "Alice Smith", "email": "alice@mail.test", "externalId": "E-1"},
            {"username": " bob@x.test ", "active": false, "email": null, "givenName": " "},
            {"userName": "", "active": "true"}
        ]"#;
        assert_eq!(
            parse_members(json, ImportFormat::Json).unwrap(),
            [
                Member {
                    user_name: "alice@x.test".into(),
                    given_name: Some("Alice".into()),
                    family_name: Some("Smith".into()),
                    display_name: Some("Alice Smith".into()),
                    email: Some("alice@mail.test".into()),
                    external_id: Some("E-1".into()),
                    active: true,
                },
                Member {
                    active: false,
                    ..member("bob@x.test")
                },
                member(""),
            ]
        );
        assert_eq!(parse_members("[]", ImportFormat::Json).unwrap(), []);
    }

    #[test]
    fn json_bad_input_is_refused_with_the_member_number() {
        for (json, expected) in [
            (
                r#"{"userName": "a"}"#,
                "expected a JSON array of member objects",
            ),
            (
                r#"[{"userName": "a"}, "b"]"#,
                "member 2: expected an object",
            ),
            (
                r#"[{"email": "a@x.test"}]"#,
                "member 1: userName is required",
            ),
            (
                r#"[{"userName": null}]"#,
                "member 1: userName must be a string",
            ),
            (
                r#"[{"userName": "a", "userName ": "b"}]"#,
                "member 1: userName is given twice",
            ),
            (
                r#"[{"userName": "a", "active": 1}]"#,
                "member 1: active must be true or false",
            ),
            (
                r#"[{"userName": "a", "email": ["x"]}]"#,
                "member 1: email must be a string",
            ),
        ] {
            assert_eq!(error_of(json, ImportFormat::Json), expected, "{json}");
        }
        let error = error_of(r#"[{"userName": "a", "emails": []}]"#, ImportFormat::Json);
        assert!(
            error.starts_with("member 1: unknown attribute \"emails\" (accepted, in any case:"),
            "{error}"
        );
        let error = error_of("[{\"userName\": \"a\",}]", ImportFormat::Json);
        assert!(error.starts_with("invalid JSON: "), "{error}");
        assert_eq!(error_of(" \n", ImportFormat::Json), "the file is empty");
        assert_eq!(error_of("\u{feff}", ImportFormat::Csv), "the file is empty");
    }

    #[test]
    fn attributes_sent_to_the_directory() {
        let attributes = Member {
            user_name: "alice@x.test".into(),
            given_name: Some("Alice".into()),
            family_name: None,
            display_name: Some("Alice Smith".into()),
            email: Some("alice@mail.test".into()),
            external_id: Some("E-1".into()),
            active: false,
        }
        .into_attributes();
        assert_eq!(
            attributes,
            v1::UserAttributes {
                user_name: "alice@x.test".into(),
                external_id: Some("E-1".into()),
                name: Some(v1::Name {
                    given_name: Some("Alice".into()),
                    ..Default::default()
                }),
                display_name: Some("Alice Smith".into()),
                active: Some(false),
                emails: vec![v1::MultiValue {
                    value: "alice@mail.test".into(),
                    r#type: Some("work".into()),
                    primary: true,
                    display: None,
                }],
                ..Default::default()
            }
        );
        let bare = member("bob").into_attributes();
        assert_eq!(bare.name, None);
        assert_eq!(bare.emails, []);
        assert_eq!(bare.active, Some(true));
    }

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        args: ImportArgs,
    }

    fn args(argv: &[&str]) -> ImportArgs {
        TestCli::parse_from(std::iter::once("t").chain(argv.iter().copied())).args
    }

    #[test]
    fn format_from_flag_extension_or_json() {
        let format = |argv: &[&str]| {
            let args = args(argv);
            detect_format(Input::from_arg(&args.file), args.format)
        };
        assert_eq!(
            format(&["--workspace", "a", "--file", "m.csv"]),
            ImportFormat::Csv
        );
        assert_eq!(
            format(&["--workspace", "a", "--file", "M.CSV"]),
            ImportFormat::Csv
        );
        assert_eq!(
            format(&["--workspace", "a", "--file", "m.json"]),
            ImportFormat::Json
        );
        assert_eq!(
            format(&["--workspace", "a", "--file", "members"]),
            ImportFormat::Json
        );
        assert_eq!(
            format(&["--workspace", "a", "--file", "-"]),
            ImportFormat::Json
        );
        assert_eq!(
            format(&["--workspace", "a", "--file", "-", "--format", "csv"]),
            ImportFormat::Csv
        );
        assert_eq!(
            format(&["--workspace", "a", "--file", "m.csv", "--format", "json"]),
            ImportFormat::Json
        );
        assert!(
            TestCli::try_parse_from(["t", "--workspace", "a", "--file", "m", "--format", "xml"])
                .is_err()
        );
        assert!(TestCli::try_parse_from(["t", "--workspace", "a"]).is_err());
    }

    #[test]
    fn dash_is_stdin_and_anything_else_a_file() {
        assert_eq!(Input::from_arg(Path::new("-")), Input::Stdin);
        assert_eq!(Input::from_arg(Path::new("-")).name(), "stdin");
        assert_eq!(
            Input::from_arg(Path::new("./-")),
            Input::File(Path::new("./-"))
        );
        assert_eq!(
            Input::from_arg(Path::new("members.csv")),
            Input::File(Path::new("members.csv"))
        );
    }

    #[test]
    fn unreadable_file_names_the_path() {
        let path =
            std::env::temp_dir().join(format!("scimctl-import-missing-{}.csv", std::process::id()));
        let error = read_members(Input::File(&path), ImportFormat::Csv).unwrap_err();
        let message = format!("{error:#}");
        assert!(
            message.starts_with(&format!("read members from {}: ", path.display())),
            "{message}"
        );
    }

    #[test]
    fn read_members_from_a_file() {
        let path = std::env::temp_dir().join(format!(
            "scimctl-import-unit-{}-{:?}.csv",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, "userName,email\nalice,alice@mail.test\n").unwrap();
        let members = read_members(Input::File(&path), ImportFormat::Csv);
        std::fs::write(&path, b"userName\n\xff\xfe\n").unwrap();
        let not_utf8 = read_members(Input::File(&path), ImportFormat::Csv);
        let _ = std::fs::remove_file(&path);
        assert_eq!(
            members.unwrap(),
            [Member {
                email: Some("alice@mail.test".into()),
                ..member("alice")
            }]
        );
        assert!(format!("{:#}", not_utf8.unwrap_err()).ends_with(": the file is not UTF-8 text"));
    }

    fn result(
        user_name: &str,
        outcome: v1::ImportOutcome,
        id: &str,
        error: &str,
    ) -> v1::ImportResult {
        v1::ImportResult {
            user_name: user_name.into(),
            id: id.into(),
            outcome: outcome as i32,
            error: error.into(),
        }
    }

    fn report() -> ImportReport {
        let mut report = ImportReport::default();
        report.add(v1::ImportUsersResponse {
            results: vec![
                result("alice@x.test", v1::ImportOutcome::Created, "u-1", ""),
                result("", v1::ImportOutcome::Failed, "", "userName is required"),
            ],
            created: 1,
            existing: 0,
            failed: 1,
        });
        report.add(v1::ImportUsersResponse {
            results: vec![result("bob@x.test", v1::ImportOutcome::Existing, "u-2", "")],
            created: 0,
            existing: 1,
            failed: 0,
        });
        report
    }

    #[test]
    fn report_json_has_counts_and_results_in_file_order() {
        let json: serde_json::Value =
            serde_json::from_str(&render_report(OutputFormat::Json, &report()).unwrap()).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "created": 1,
                "existing": 1,
                "failed": 1,
                "results": [
                    {"row": 1, "user_name": "alice@x.test", "outcome": "created", "id": "u-1", "error": null},
                    {"row": 2, "user_name": "", "outcome": "failed", "id": null, "error": "userName is required"},
                    {"row": 3, "user_name": "bob@x.test", "outcome": "existing", "id": "u-2", "error": null}
                ]
            })
        );
    }

    #[test]
    fn report_table_ends_with_the_summary() {
        assert_eq!(
            render_report(OutputFormat::Table, &report()).unwrap(),
            "ROW  USER_NAME     OUTCOME   ID   ERROR\n\
             1    alice@x.test  created   u-1  -\n\
             2    -             failed    -    userName is required\n\
             3    bob@x.test    existing  u-2  -\n\
             created 1, existing 1, failed 1\n"
        );
        assert_eq!(
            render_report(OutputFormat::Table, &ImportReport::default()).unwrap(),
            "ROW  USER_NAME  OUTCOME  ID  ERROR\ncreated 0, existing 0, failed 0\n"
        );
        assert_eq!(outcome_name(0), "unspecified");
        assert_eq!(outcome_name(9), "unspecified");
    }

    #[test]
    fn a_failed_batch_says_what_earlier_batches_did() {
        assert_eq!(
            batch_context("acme", 0, 500, 1200, &ImportReport::default()),
            "import members 1-500 of 1200 into workspace \"acme\""
        );
        assert_eq!(
            batch_context("acme", 500, 500, 1200, &report()),
            "import members 501-1000 of 1200 into workspace \"acme\" (members 1-500 were \
             imported: created 1, existing 1, failed 1; importing the file again is safe)"
        );
    }
}

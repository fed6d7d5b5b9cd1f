//! Harness for the end-to-end tests: starts the real `directory-service` and
//! `scim-gateway` binaries on port 0 against a fresh PostgreSQL database, and talks to
//! them with a real HTTP client, the generated gRPC client and the real `scimctl`.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use directory_proto::v1 as pb;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

pub const SCIM_JSON: &str = "application/scim+json";

/// Directory of the workspace's built binaries (`target/<profile>`): the test executable
/// lives in `target/<profile>/deps`.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .to_path_buf()
}

pub fn bin(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(
        path.exists(),
        "{} is missing: run `cargo build --workspace --bins` first (./scripts/test.sh does)",
        path.display()
    );
    path
}

/// A fresh, empty PostgreSQL database on the server named by TEST_DATABASE_URL.
pub async fn fresh_postgres_database() -> anyhow::Result<String> {
    let server = std::env::var("TEST_DATABASE_URL").context(
        "TEST_DATABASE_URL is not set: run ./scripts/test.sh, which starts a throwaway Postgres",
    )?;
    let name = format!("e2e_{}", uuid::Uuid::new_v4().simple());
    let admin = Database::connect(database_url(&server, "postgres")).await?;
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await?;
    Ok(database_url(&server, &name))
}

/// `postgres://user@host:port[/db][?params]` with the database replaced by `name`.
pub fn database_url(server: &str, name: &str) -> String {
    let (without_query, query) = server.split_once('?').unwrap_or((server, ""));
    let scheme_end = without_query.find("://").map_or(0, |i| i + 3);
    let authority_end = without_query[scheme_end..]
        .find('/')
        .map_or(without_query.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &without_query[..authority_end]);
    if !query.is_empty() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// A child process that is killed when dropped; its stderr is kept for failure messages.
pub struct Process {
    child: Child,
    pub addr: String,
    /// The admin listener's address when the process printed `METRICS <addr>`.
    pub metrics_addr: Option<String>,
    stderr: Arc<Mutex<String>>,
}

impl Process {
    /// Spawns `command` and waits for its `LISTENING <addr>` line on stdout.
    pub fn spawn(mut command: Command) -> anyhow::Result<Self> {
        command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = command
            .spawn()
            .with_context(|| format!("spawning {command:?}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("stderr piped");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let stdout = child.stdout.take().expect("stdout piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut metrics_addr = None;
            for line in lines.by_ref().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("METRICS ") {
                    metrics_addr = Some(addr.trim().to_owned());
                }
                if let Some(addr) = line.strip_prefix("LISTENING ") {
                    let _ = tx.send((addr.trim().to_owned(), metrics_addr.take()));
                    break;
                }
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        match rx.recv_timeout(Duration::from_secs(60)) {
            Ok((addr, metrics_addr)) => Ok(Self {
                child,
                addr,
                metrics_addr,
                stderr,
            }),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                std::thread::sleep(Duration::from_millis(100));
                bail!(
                    "{command:?} never printed LISTENING; stderr:\n{}",
                    stderr.lock().unwrap()
                )
            }
        }
    }

    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `timeout` for the process to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub type Directory = directory_proto::DirectoryClient<CredentialInterceptor>;

#[derive(Clone)]
pub struct CredentialInterceptor(pub String);

impl tonic::service::Interceptor for CredentialInterceptor {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert(
            directory_proto::CREDENTIAL_METADATA_KEY,
            self.0
                .parse()
                .map_err(|_| tonic::Status::internal("bad credential"))?,
        );
        Ok(req)
    }
}

/// The whole system: directory on a fresh Postgres database, gateway in front of it, one
/// workspace and a SCIM token for it.
pub struct Stack {
    pub database_url: String,
    pub credential: String,
    pub directory: Process,
    pub gateway: Process,
    pub workspace_id: String,
    pub token: String,
    pub token_id: String,
    http: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

/// A test database on the shared server of `TEST_DATABASE_URL` is dropped with its stack:
/// a developer's server otherwise keeps thousands of them (tens of GB). SQLite files are
/// (the directory `start_sqlite` made) are removed the same way.
impl Drop for Stack {
    fn drop(&mut self) {
        let url = self.database_url.clone();
        if let Some(path) = url.strip_prefix("sqlite://") {
            // Only the directory `start_sqlite` made for this stack.
            let path = std::path::Path::new(path.split('?').next().unwrap_or(path));
            if let Some(dir) = path.parent().filter(|dir| {
                dir.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("e2e-sqlite-"))
            }) {
                let _ = std::fs::remove_dir_all(dir);
            }
            return;
        }
        let (Ok(server), Some(name)) = (
            std::env::var("TEST_DATABASE_URL"),
            url.split('?')
                .next()
                .and_then(|u| u.rsplit('/').next())
                .filter(|name| name.starts_with("e2e_"))
                .map(str::to_owned),
        ) else {
            return;
        };
        // Drop runs inside the test's runtime: a thread with its own runtime may block.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let admin = Database::connect(database_url(&server, "postgres"))
                    .await
                    .ok()?;
                admin
                    .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .await
                    .ok()
            })
        })
        .join();
    }
}

pub struct Response {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: Value,
    pub raw: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A gateway in front of the directory at `directory_addr`. The per-token rate limit is
/// raised far above the product's default and the failed-authentication limit is off, so
/// that feature tests are never throttled; tests of the limits set
/// `GATEWAY_RATE_LIMIT_PER_TOKEN`, `GATEWAY_AUTH_FAILURES_PER_MINUTE` (and friends) in `env`.
pub fn spawn_gateway(
    directory_addr: &str,
    credential: &str,
    env: &[(&str, &str)],
) -> anyhow::Result<Process> {
    let mut cmd = Command::new(bin("scim-gateway"));
    cmd.args([
        "--listen",
        "127.0.0.1:0",
        "--directory-url",
        &format!("http://{directory_addr}"),
    ])
    .env("DIRECTORY_CREDENTIAL", credential)
    .env("RUST_LOG", "warn")
    .env("GATEWAY_RATE_LIMIT_PER_TOKEN", "100000")
    .env("GATEWAY_RATE_LIMIT_BURST", "100000")
    .env("GATEWAY_AUTH_FAILURES_PER_MINUTE", "0")
    .envs(env.iter().copied());
    Process::spawn(cmd)
}

impl Stack {
    /// Another gateway in front of this stack's directory (e.g. two replicas sharing Redis).
    pub fn spawn_gateway(&self, env: &[(&str, &str)]) -> anyhow::Result<Process> {
        spawn_gateway(&self.directory.addr, &self.credential, env)
    }

    pub async fn start() -> anyhow::Result<Self> {
        let database_url = fresh_postgres_database().await?;
        Self::start_on(database_url).await
    }

    /// The stack on the embedded SQLite default (a fresh database file under the system
    /// temp directory), as `scimctl up` runs it.
    pub async fn start_sqlite() -> anyhow::Result<Self> {
        let dir =
            std::env::temp_dir().join(format!("e2e-sqlite-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        Self::start_on(format!("sqlite://{}/directory.db?mode=rwc", dir.display())).await
    }

    pub async fn start_on(database_url: String) -> anyhow::Result<Self> {
        Self::start_with_env(database_url, &[]).await
    }

    /// Starts the stack with extra environment for both processes (e.g. OTLP settings).
    pub async fn start_with_env(
        database_url: String,
        env: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let credential = format!("test-credential-{}", uuid::Uuid::new_v4().simple());
        let mut cmd = Command::new(bin("directory-service"));
        cmd.args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &database_url,
        ])
        .env("DIRECTORY_CREDENTIAL", &credential)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied());
        let directory = Process::spawn(cmd)?;
        let gateway = spawn_gateway(&directory.addr, &credential, env)?;
        let mut stack = Self {
            database_url,
            credential,
            directory,
            gateway,
            workspace_id: String::new(),
            token: String::new(),
            token_id: String::new(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        };
        let workspace = stack.new_workspace("acme").await?;
        let (token_id, token) = stack.issue_token(&workspace, "e2e").await?;
        stack.workspace_id = workspace;
        stack.token = token;
        stack.token_id = token_id;
        Ok(stack)
    }

    pub async fn grpc(&self) -> anyhow::Result<Directory> {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", self.directory.addr))?
                .connect()
                .await?;
        Ok(directory_proto::DirectoryClient::with_interceptor(
            channel,
            CredentialInterceptor(self.credential.clone()),
        ))
    }

    /// A Directory client that presents `credential` instead of the bootstrap one.
    pub async fn grpc_as(&self, credential: &str) -> anyhow::Result<Directory> {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", self.directory.addr))?
                .connect()
                .await?;
        Ok(directory_proto::DirectoryClient::with_interceptor(
            channel,
            CredentialInterceptor(credential.to_owned()),
        ))
    }

    pub async fn new_workspace(&self, slug: &str) -> anyhow::Result<String> {
        let ws = self
            .grpc()
            .await?
            .workspaces()
            .create_workspace(pb::CreateWorkspaceRequest {
                slug: slug.into(),
                display_name: String::new(),
            })
            .await?
            .into_inner();
        Ok(ws.id)
    }

    /// Returns (token id, plaintext).
    pub async fn issue_token(
        &self,
        workspace_id: &str,
        name: &str,
    ) -> anyhow::Result<(String, String)> {
        let issued = self
            .grpc()
            .await?
            .tokens()
            .issue_token(pb::IssueTokenRequest {
                workspace_id: workspace_id.into(),
                name: name.into(),
                expires: None,
                ..Default::default()
            })
            .await?
            .into_inner();
        Ok((
            issued.token.ok_or_else(|| anyhow!("no token"))?.id,
            issued.plaintext,
        ))
    }

    pub fn base_url(&self) -> String {
        format!("http://{}/scim/v2", self.gateway.addr)
    }

    /// A SCIM request with this stack's token.
    pub async fn scim(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let token = self.token.clone();
        self.request(
            method,
            path,
            body.map(|b| b.to_string()),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await
    }

    /// A raw request: `path` is relative to the SCIM base URL; headers as given. A body is
    /// sent as application/scim+json unless a content-type header is given.
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Response {
        let url = format!("{}{}", self.base_url(), path);
        self.request_url(method, &url, body, headers).await
    }

    /// A raw request to a path of the gateway outside the SCIM base URL (e.g.
    /// `/oauth/token`).
    pub async fn request_root(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Response {
        let url = format!("http://{}{}", self.gateway.addr, path);
        self.request_url(method, &url, body, headers).await
    }

    async fn request_url(
        &self,
        method: &str,
        url: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut builder = http::Request::builder().method(method).uri(url);
        let has_content_type = headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("content-type"));
        if body.is_some() && !has_content_type {
            builder = builder.header("content-type", SCIM_JSON);
        }
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("request");
        let response = tokio::time::timeout(Duration::from_secs(30), self.http.request(request))
            .await
            .expect("gateway answered within 30 s")
            .expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&raw).unwrap_or(Value::Null)
        };
        Response {
            status,
            headers,
            body,
            raw,
        }
    }

    /// A raw request sent exactly as given: unlike [`Stack::request`], no Content-Type is
    /// added for a body.
    pub async fn request_as_given(
        &self,
        method: &str,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut builder =
            http::Request::builder()
                .method(method)
                .uri(format!("{}{}", self.base_url(), path));
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("request");
        let response = tokio::time::timeout(Duration::from_secs(30), self.http.request(request))
            .await
            .expect("gateway answered within 30 s")
            .expect("HTTP request");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
            raw,
        }
    }

    /// Runs the real `scimctl` against this stack's directory.
    pub fn scimctl(&self, args: &[&str]) -> std::process::Output {
        Command::new(bin("scimctl"))
            .args(args)
            .env("DIRECTORY_URL", format!("http://{}", self.directory.addr))
            .env("DIRECTORY_CREDENTIAL", &self.credential)
            .output()
            .expect("run scimctl")
    }
}

impl Stack {
    /// POSTs a user with this userName (and a work email) and returns its id.
    pub async fn create_user(&self, user_name: &str) -> String {
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "emails": [{"value": user_name, "type": "work", "primary": true}],
            "active": true
        });
        let created = self.scim("POST", "/Users", Some(body)).await;
        assert_eq!(
            created.status, 201,
            "create user {user_name}: {}",
            created.raw
        );
        created.body["id"].as_str().expect("id").to_owned()
    }

    /// POSTs a group with these member ids and returns its id.
    pub async fn create_group(&self, display_name: &str, members: &[&str]) -> String {
        let members: Vec<Value> = members
            .iter()
            .map(|m| serde_json::json!({"value": m}))
            .collect();
        let body = serde_json::json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": display_name,
            "members": members
        });
        let created = self.scim("POST", "/Groups", Some(body)).await;
        assert_eq!(
            created.status, 201,
            "create group {display_name}: {}",
            created.raw
        );
        created.body["id"].as_str().expect("id").to_owned()
    }

    /// Adds `count` users to each of `groups` straight in the database (PostgreSQL):
    /// copies of `template`'s row with new ids and the userNames
    /// `member<n><padding>@<domain>` (`padding` characters of `x`), and the workspace's
    /// stored user count raised to match. Creating them through the API would take minutes.
    pub async fn seed_members(
        &self,
        template: &str,
        groups: &[String],
        count: usize,
        domain: &str,
        padding: usize,
    ) {
        let db = Database::connect(&self.database_url).await.unwrap();
        let backend = db.get_database_backend();
        let columns: Vec<String> = db
            .query_all_raw(sea_orm::Statement::from_string(
                backend,
                "SELECT column_name FROM information_schema.columns \
                 WHERE table_name = 'users' ORDER BY ordinal_position",
            ))
            .await
            .unwrap()
            .iter()
            .map(|row| row.try_get::<String>("", "column_name").unwrap())
            .collect();
        let select: Vec<String> = columns
            .iter()
            .map(|column| match column.as_str() {
                "id" => "gen_random_uuid()".to_owned(),
                "user_name" | "user_name_key" => {
                    format!("'member' || s.i || repeat('x', {padding}) || '@{domain}'")
                }
                "external_id" => "NULL".to_owned(),
                other => format!("t.\"{other}\""),
            })
            .collect();
        let quoted: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
        db.execute_unprepared(&format!(
            "INSERT INTO users ({}) SELECT {} FROM users t \
             CROSS JOIN generate_series(1, {count}) AS s(i) WHERE t.id = '{template}'",
            quoted.join(", "),
            select.join(", "),
        ))
        .await
        .unwrap();
        db.execute_unprepared(&format!(
            "UPDATE workspace_counts SET users = users + {count} \
             WHERE workspace_id = (SELECT workspace_id FROM users WHERE id = '{template}')"
        ))
        .await
        .unwrap();
        for group in groups {
            db.execute_unprepared(&format!(
                "INSERT INTO group_members (group_id, user_id, workspace_id, created_at) \
                 SELECT '{group}', u.id, u.workspace_id, now() FROM users u \
                 WHERE u.user_name LIKE 'member%@{domain}'"
            ))
            .await
            .unwrap();
        }
    }

    /// The member ids of a group, sorted, read back with GET.
    pub async fn member_ids(&self, group_id: &str) -> Vec<String> {
        let group = self.scim("GET", &format!("/Groups/{group_id}"), None).await;
        assert_eq!(group.status, 200, "{}", group.raw);
        let mut ids: Vec<String> = group.body["members"]
            .as_array()
            .map(|m| {
                m.iter()
                    .map(|m| m["value"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids
    }
}

/// A PatchOp body.
pub fn patch(operations: Value) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations
    })
}

/// Percent-encodes a filter for a query string.
pub fn q(filter: &str) -> String {
    let mut out = String::new();
    for b in filter.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Asserts a SCIM error response (RFC 7644 §3.12) and returns its detail.
#[track_caller]
pub fn assert_scim_error(response: &Response, status: u16, scim_type: Option<&str>) -> String {
    assert_eq!(response.status, status, "status; body: {}", response.raw);
    assert_eq!(
        response.body["schemas"],
        serde_json::json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "error schema; body: {}",
        response.raw
    );
    assert_eq!(
        response.body["status"],
        Value::String(status.to_string()),
        "status as a string"
    );
    match scim_type {
        Some(t) => assert_eq!(
            response.body["scimType"], t,
            "scimType; body: {}",
            response.raw
        ),
        None => assert!(
            response.body.get("scimType").is_none_or(Value::is_null),
            "no scimType; body: {}",
            response.raw
        ),
    }
    response.body["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// Runs `async fn $name(stack: Stack)` as two tests, `$name::postgres` and `$name::sqlite`:
/// on a fresh PostgreSQL database and on the embedded SQLite default.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn postgres() {
                    super::$name($crate::Stack::start().await.unwrap()).await
                }
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::Stack::start_sqlite().await.unwrap()).await
                }
            }
        )*
    };
}

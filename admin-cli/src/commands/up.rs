//! `scimctl up`: the one-command local stack. Starts `directory-service` (SQLite in
//! `--data-dir`), makes sure the workspace exists, issues a bootstrap SCIM token, starts
//! `scim-gateway`, prints how to use them, and stops both on Ctrl-C/SIGTERM or when either
//! one exits.
//!
//! Children run in their own process group, so a Ctrl-C in the terminal reaches only
//! scimctl, which then stops the gateway before the directory (SIGTERM, then SIGKILL after
//! a grace period). Their stderr is forwarded to ours line by line and the last lines are
//! kept for error messages; their stdout is read for the `LISTENING <ip:port>` line and
//! then drained (forwarded to our stderr, so stdout stays ours).

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, anyhow, bail};
use chrono::{DateTime, SecondsFormat, Utc};
use clap::Args;
use directory_proto::v1;
use serde::Serialize;
use tokio::io::{AsyncBufReadExt as _, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdout, Command};
use tokio::task::JoinHandle;

use crate::client::{self, Client, RpcError, RpcResultExt as _};
use crate::output::{self, OutputFormat};

const DIRECTORY_BIN: &str = "directory-service";
const GATEWAY_BIN: &str = "scim-gateway";
/// How long a child may take to print its `LISTENING` line.
const LISTENING_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a child may take to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long to wait for a child's output to be fully forwarded after it exited.
const OUTPUT_FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
const STDERR_TAIL_LINES: usize = 20;

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where the directory keeps its SQLite database (created if missing)
    #[arg(long, default_value = "./data")]
    pub data_dir: PathBuf,
    /// Listen address of the directory's gRPC server (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub directory_listen: String,
    /// Listen address of the SCIM gateway (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub gateway_listen: String,
    /// Slug of the workspace to create (if missing) and issue the bootstrap token for
    #[arg(long, default_value = "default")]
    pub workspace: String,
    /// Directory holding the directory-service and scim-gateway binaries [default: the one
    /// holding scimctl]
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

/// What the running stack offers; printed as text or as one JSON object.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackInfo {
    pub scim_base_url: String,
    pub bearer_token: String,
    pub token_id: String,
    pub workspace_id: String,
    pub workspace_slug: String,
    pub directory_url: String,
    pub directory_credential: String,
    pub data_dir: String,
    pub database_url: String,
    /// This scimctl executable, so the printed commands work before it is on PATH.
    pub scimctl: String,
}

pub async fn run(
    args: UpArgs,
    credential: Option<&str>,
    format: OutputFormat,
) -> anyhow::Result<()> {
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => default_bin_dir()?,
    };
    let directory_bin = locate_binary(&bin_dir, DIRECTORY_BIN)?;
    let gateway_bin = locate_binary(&bin_dir, GATEWAY_BIN)?;
    std::fs::create_dir_all(&args.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            args.data_dir.display()
        )
    })?;
    let credential = credential.map_or_else(generate_credential, str::to_owned);
    // Installed before any child exists, so an early Ctrl-C is ours to handle.
    let mut signals = ShutdownSignals::install()?;

    // Dropping the startup future on a signal kills any child it started (kill_on_drop).
    let stack = tokio::select! {
        biased;
        signal = signals.recv() => bail!("{signal} received during startup; stopped"),
        stack = start_stack(&args, &directory_bin, &gateway_bin, &credential) => stack?,
    };

    let text = match format {
        OutputFormat::Table => render_banner(&stack.info),
        OutputFormat::Json => output::render_json(&stack.info)?,
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    drop(stdout);

    supervise(stack, &mut signals).await
}

struct Stack {
    directory: ChildProcess,
    gateway: ChildProcess,
    info: StackInfo,
}

async fn start_stack(
    args: &UpArgs,
    directory_bin: &Path,
    gateway_bin: &Path,
    credential: &str,
) -> anyhow::Result<Stack> {
    let database_url = sqlite_database_url(&args.data_dir);
    let mut directory_args = vec![
        "serve".to_owned(),
        "--listen".to_owned(),
        args.directory_listen.clone(),
        "--database-url".to_owned(),
        database_url.clone(),
    ];
    if let Some(public_url) = public_base_url(&args.gateway_listen) {
        directory_args.extend(["--public-base-url".to_owned(), public_url]);
    }
    let directory_args: Vec<&str> = directory_args.iter().map(String::as_str).collect();
    let mut directory =
        ChildProcess::spawn(DIRECTORY_BIN, directory_bin, &directory_args, credential)?;
    let directory_addr = match directory.wait_listening(LISTENING_TIMEOUT).await {
        Ok(addr) => addr,
        Err(error) => {
            directory.stop().await;
            return Err(error);
        }
    };
    let directory_url = format!("http://{}", dialable(directory_addr));

    match bootstrap_and_start_gateway(args, gateway_bin, credential, &directory_url).await {
        Ok((gateway, bootstrap)) => {
            let gateway_url = format!("http://{}", dialable(bootstrap.gateway_addr));
            let info = StackInfo {
                scim_base_url: format!("{gateway_url}/scim/v2"),
                bearer_token: bootstrap.token,
                token_id: bootstrap.token_id,
                workspace_id: bootstrap.workspace.id,
                workspace_slug: bootstrap.workspace.slug,
                directory_url,
                directory_credential: credential.to_owned(),
                data_dir: args.data_dir.display().to_string(),
                database_url,
                scimctl: std::env::current_exe()
                    .map(|exe| exe.display().to_string())
                    .unwrap_or_else(|_| "scimctl".to_owned()),
            };
            Ok(Stack {
                directory,
                gateway,
                info,
            })
        }
        Err(error) => {
            directory.stop().await;
            Err(error)
        }
    }
}

struct Bootstrap {
    workspace: v1::Workspace,
    token: String,
    token_id: String,
    gateway_addr: SocketAddr,
}

async fn bootstrap_and_start_gateway(
    args: &UpArgs,
    gateway_bin: &Path,
    credential: &str,
    directory_url: &str,
) -> anyhow::Result<(ChildProcess, Bootstrap)> {
    let mut client = client::connect(directory_url, Some(credential)).await?;
    let workspace = ensure_workspace(&mut client, &args.workspace).await?;
    let token_name = bootstrap_token_name(Utc::now());
    let issued = client
        .tokens()
        .issue_token(v1::IssueTokenRequest {
            workspace_id: workspace.id.clone(),
            name: token_name.clone(),
            expires: None,
            ..Default::default()
        })
        .await
        .rpc_context(|| format!("issue token {token_name:?}"))?;
    anyhow::ensure!(
        !issued.plaintext.is_empty(),
        "the directory issued a token but returned no secret"
    );

    let mut gateway = ChildProcess::spawn(
        GATEWAY_BIN,
        gateway_bin,
        &[
            "--listen",
            &args.gateway_listen,
            "--directory-url",
            directory_url,
        ],
        credential,
    )?;
    let gateway_addr = match gateway.wait_listening(LISTENING_TIMEOUT).await {
        Ok(addr) => addr,
        Err(error) => {
            gateway.stop().await;
            return Err(error);
        }
    };
    Ok((
        gateway,
        Bootstrap {
            workspace,
            token: issued.plaintext,
            token_id: issued.token.map(|t| t.id).unwrap_or_default(),
            gateway_addr,
        },
    ))
}

/// Gets the workspace by slug, creating it when the directory says NOT_FOUND.
async fn ensure_workspace(client: &mut Client, slug: &str) -> anyhow::Result<v1::Workspace> {
    let lookup = v1::GetWorkspaceRequest {
        id: String::new(),
        slug: slug.to_owned(),
    };
    match client.workspaces().get_workspace(lookup.clone()).await {
        Ok(response) => return Ok(response.into_inner()),
        Err(status) if status.code() == tonic::Code::NotFound => {}
        Err(status) => {
            return Err(RpcError::from(status))
                .with_context(|| format!("look up workspace {slug:?}"));
        }
    }
    let created = client
        .workspaces()
        .create_workspace(v1::CreateWorkspaceRequest {
            slug: slug.to_owned(),
            display_name: slug.to_owned(),
        })
        .await;
    match created {
        Ok(response) => {
            eprintln!("scimctl: created workspace {slug:?}");
            Ok(response.into_inner())
        }
        // Someone else created it in between: use theirs.
        Err(status) if status.code() == tonic::Code::AlreadyExists => client
            .workspaces()
            .get_workspace(lookup)
            .await
            .rpc_context(|| format!("look up workspace {slug:?}")),
        Err(status) => {
            Err(RpcError::from(status)).with_context(|| format!("create workspace {slug:?}"))
        }
    }
}

async fn supervise(mut stack: Stack, signals: &mut ShutdownSignals) -> anyhow::Result<()> {
    let unexpected_exit = tokio::select! {
        signal = signals.recv() => {
            eprintln!("scimctl: {signal} received, stopping");
            None
        }
        status = stack.gateway.child.wait() => Some((GATEWAY_BIN, status)),
        status = stack.directory.child.wait() => Some((DIRECTORY_BIN, status)),
    };
    // The gateway depends on the directory: stop it first.
    stack.gateway.stop().await;
    stack.directory.stop().await;
    match unexpected_exit {
        None => {
            eprintln!("scimctl: stopped");
            Ok(())
        }
        Some((name, status)) => {
            let status = match status {
                Ok(status) => status.to_string(),
                Err(error) => format!("cannot get its exit status: {error}"),
            };
            bail!("{name} exited unexpectedly ({status}); see its log above")
        }
    }
}

// ------------------------------------------------------------------ child processes

/// What a child last wrote to stderr, for error messages.
#[derive(Debug, Default)]
struct StderrTail {
    lines: VecDeque<String>,
    /// The first line that looks like the reason a Rust program failed (`Error: ..` from a
    /// `main` returning `Err`, or a panic message): with RUST_BACKTRACE set it is followed
    /// by far more lines than the tail keeps.
    failure: Option<String>,
}

impl StderrTail {
    fn push(&mut self, line: String) {
        if self.failure.is_none() && is_failure_line(&line) {
            self.failure = Some(line.clone());
        }
        if self.lines.len() == STDERR_TAIL_LINES {
            self.lines.pop_front();
        }
        self.lines.push_back(line);
    }

    /// Formatted to follow an error message.
    fn describe(&self, name: &str) -> String {
        let mut text = String::new();
        if let Some(failure) = &self.failure {
            text.push_str(&format!("\n{name} reported: {failure}"));
        }
        if self.lines.is_empty() {
            text.push_str(&format!("\n({name} wrote nothing to stderr)"));
        } else {
            text.push_str(&format!("\nlast lines of {name}'s stderr:"));
            for line in &self.lines {
                text.push_str("\n  ");
                text.push_str(line);
            }
        }
        text
    }
}

fn is_failure_line(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("Error: ") || line.starts_with("error: ") || line.contains("panicked at")
}

type Tail = Arc<Mutex<StderrTail>>;

struct ChildProcess {
    name: &'static str,
    child: Child,
    stdout: Option<ChildStdout>,
    stdout_task: Option<JoinHandle<()>>,
    stderr_task: Option<JoinHandle<()>>,
    stderr_tail: Tail,
}

impl ChildProcess {
    fn spawn(
        name: &'static str,
        program: &Path,
        args: &[&str],
        credential: &str,
    ) -> anyhow::Result<Self> {
        let mut command = Command::new(program);
        command
            .args(args)
            .env("DIRECTORY_CREDENTIAL", credential)
            // The local stack's webhook receivers live on this machine.
            .env("DIRECTORY_WEBHOOK_ALLOW_PRIVATE", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command
            .spawn()
            .with_context(|| format!("cannot start {name} ({})", program.display()))?;
        let stdout = child.stdout.take().context("child stdout is not piped")?;
        let stderr = child.stderr.take().context("child stderr is not piped")?;
        let stderr_tail = Tail::default();
        let stderr_task = tokio::spawn(forward_lines(
            BufReader::new(stderr),
            Some(stderr_tail.clone()),
        ));
        Ok(Self {
            name,
            child,
            stdout: Some(stdout),
            stdout_task: None,
            stderr_task: Some(stderr_task),
            stderr_tail,
        })
    }

    /// Reads stdout until `LISTENING <ip:port>`, then keeps draining it in the background.
    async fn wait_listening(&mut self, timeout: Duration) -> anyhow::Result<SocketAddr> {
        let name = self.name;
        let stdout = self.stdout.take().context("stdout already consumed")?;
        let mut reader = BufReader::new(stdout);
        let search = async {
            let mut line = Vec::new();
            loop {
                line.clear();
                if reader.read_until(b'\n', &mut line).await? == 0 {
                    return Ok::<_, std::io::Error>(None);
                }
                let text = String::from_utf8_lossy(&line);
                match parse_listening_line(&text) {
                    Some(parsed) => return Ok(Some(parsed)),
                    None => write_stderr(&line),
                }
            }
        };
        match tokio::time::timeout(timeout, search).await {
            Ok(Ok(Some(Ok(addr)))) => {
                self.stdout_task = Some(tokio::spawn(forward_lines(reader, None)));
                eprintln!("scimctl: {name} listening on {addr}");
                Ok(addr)
            }
            Ok(Ok(Some(Err(malformed)))) => Err(anyhow!("{name}: {malformed}")),
            Ok(Ok(None)) => {
                let exit = match tokio::time::timeout(OUTPUT_FLUSH_TIMEOUT, self.child.wait()).await
                {
                    Ok(Ok(status)) => format!("exited ({status})"),
                    Ok(Err(error)) => format!("failed ({error})"),
                    Err(_) => "closed its stdout".to_owned(),
                };
                let tail = self.stderr_tail_text().await;
                Err(anyhow!(
                    "{name} {exit} before printing its LISTENING line{tail}"
                ))
            }
            Ok(Err(error)) => {
                Err(anyhow!(error).context(format!("cannot read the stdout of {name}")))
            }
            Err(_) => {
                let tail = self.stderr_tail_text().await;
                Err(anyhow!(
                    "{name} did not print its LISTENING line within {} s{tail}",
                    timeout.as_secs()
                ))
            }
        }
    }

    /// The last lines the child wrote to stderr, formatted for an error message.
    async fn stderr_tail_text(&mut self) -> String {
        // Once the child is gone, wait for its last lines to arrive.
        if matches!(self.child.try_wait(), Ok(Some(_)))
            && let Some(task) = self.stderr_task.take()
        {
            let _ = tokio::time::timeout(OUTPUT_FLUSH_TIMEOUT, task).await;
        }
        self.stderr_tail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .describe(self.name)
    }

    /// SIGTERM, wait up to [`STOP_GRACE`], then SIGKILL. Returns the exit status if known.
    async fn stop(&mut self) -> Option<ExitStatus> {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                send_terminate(&mut self.child);
                match tokio::time::timeout(STOP_GRACE, self.child.wait()).await {
                    Ok(result) => result.ok(),
                    Err(_) => {
                        eprintln!(
                            "scimctl: {} did not stop within {} s, killing it",
                            self.name,
                            STOP_GRACE.as_secs()
                        );
                        let _ = self.child.kill().await;
                        self.child.try_wait().ok().flatten()
                    }
                }
            }
        };
        // Let the last log lines through before we print anything else or exit.
        for task in [self.stdout_task.take(), self.stderr_task.take()]
            .into_iter()
            .flatten()
        {
            let _ = tokio::time::timeout(OUTPUT_FLUSH_TIMEOUT, task).await;
        }
        status
    }
}

/// Copies lines to our stderr; keeps the last [`STDERR_TAIL_LINES`] in `tail` if given.
async fn forward_lines<R: AsyncRead + Unpin>(mut reader: BufReader<R>, tail: Option<Tail>) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        write_stderr(&line);
        if let Some(tail) = &tail {
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            tail.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(text);
        }
    }
}

/// Best effort: losing a child's log line must not stop the stack.
fn write_stderr(line: &[u8]) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(line);
    if !line.ends_with(b"\n") {
        let _ = stderr.write_all(b"\n");
    }
}

#[cfg(unix)]
fn send_terminate(child: &mut Child) {
    let Some(pid) = child.id().and_then(|pid| libc::pid_t::try_from(pid).ok()) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions. `id()` is Some only while the
    // child has not been reaped, so the pid still names our child (possibly a zombie).
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
}

#[cfg(not(unix))]
fn send_terminate(child: &mut Child) {
    let _ = child.start_kill();
}

#[cfg(unix)]
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
    hangup: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
            hangup: signal(SignalKind::hangup()).context("cannot handle SIGHUP")?,
        })
    }

    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.hangup.recv() => "SIGHUP",
        }
    }
}

#[cfg(not(unix))]
struct ShutdownSignals;

#[cfg(not(unix))]
impl ShutdownSignals {
    fn install() -> anyhow::Result<Self> {
        Ok(Self)
    }

    async fn recv(&mut self) -> &'static str {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

// ------------------------------------------------------------------ pure helpers

/// `LISTENING 127.0.0.1:50051` → the address. `None` for any other line; `Some(Err)` for
/// a `LISTENING` line whose address does not parse.
pub fn parse_listening_line(line: &str) -> Option<Result<SocketAddr, String>> {
    let line = line.trim();
    let rest = line.strip_prefix("LISTENING")?;
    if !rest.is_empty() && !rest.starts_with(char::is_whitespace) {
        return None;
    }
    Some(
        rest.trim()
            .parse()
            .map_err(|_| format!("malformed line {line:?}: expected `LISTENING <ip:port>`")),
    )
}

/// A listener bound to 0.0.0.0 or [::] is reached through loopback.
/// The gateway's URL for `GetScimEndpoint`, when its port is fixed in advance (a port of
/// 0 is only known once the gateway listens, after the directory has started).
pub fn public_base_url(gateway_listen: &str) -> Option<String> {
    let addr: SocketAddr = gateway_listen.parse().ok()?;
    (addr.port() != 0).then(|| format!("http://{}", dialable(addr)))
}

pub fn dialable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), addr.port())
        }
        _ => addr,
    }
}

pub fn sqlite_database_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("directory.db").display()
    )
}

pub fn bootstrap_token_name(now: DateTime<Utc>) -> String {
    format!(
        "bootstrap {}",
        now.to_rfc3339_opts(SecondsFormat::Secs, true)
    )
}

/// 32 random bytes, hex-encoded (64 characters, safe in metadata, env and shells).
pub fn generate_credential() -> String {
    let bytes: [u8; 32] = rand::random();
    hex_encode(&bytes)
}

fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn default_bin_dir() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the scimctl executable")?;
    exe.parent()
        .map(Path::to_path_buf)
        .with_context(|| format!("{} has no parent directory", exe.display()))
}

pub fn locate_binary(bin_dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let path = bin_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.is_file() {
        Ok(path)
    } else {
        bail!(
            "cannot find the {name} binary at {}: build it with `cargo build --workspace --bins`, or pass --bin-dir <directory holding it>",
            path.display()
        )
    }
}

/// Quotes for POSIX shells when needed.
pub fn shell_quote(text: &str) -> String {
    let safe = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if safe {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

pub fn render_banner(info: &StackInfo) -> String {
    let users_url = format!("{}/Users", info.scim_base_url);
    let authorization = format!("Authorization: Bearer {}", info.bearer_token);
    let header = if shell_quote(&info.bearer_token) == info.bearer_token {
        format!("\"{authorization}\"")
    } else {
        shell_quote(&authorization)
    };
    format!(
        "\
The local SCIM stack is running.

  SCIM base URL    {base}
  Bearer token     {token}
                   (workspace {slug}; shown only now, the directory keeps just a hash)
  Directory URL    {directory}
  Data directory   {data_dir}

To use scimctl with this directory from another shell:

  export DIRECTORY_URL={directory_q}
  export DIRECTORY_CREDENTIAL={credential_q}
  {scimctl_q} token list --workspace {slug_q}

(`cargo install --path admin-cli` puts scimctl on PATH.)

Try the SCIM API:

  curl -H {header} {users_q}

Press Ctrl-C to stop.
",
        base = info.scim_base_url,
        token = info.bearer_token,
        slug = info.workspace_slug,
        directory = info.directory_url,
        data_dir = info.data_dir,
        directory_q = shell_quote(&info.directory_url),
        credential_q = shell_quote(&info.directory_credential),
        slug_q = shell_quote(&info.workspace_slug),
        scimctl_q = shell_quote(&info.scimctl),
        users_q = shell_quote(&users_url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_base_url_from_a_fixed_gateway_port() {
        assert_eq!(
            public_base_url("0.0.0.0:8080").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(public_base_url("127.0.0.1:0"), None);
        assert_eq!(public_base_url("not an address"), None);
    }

    #[test]
    fn listening_line_parsing() {
        assert_eq!(
            parse_listening_line("LISTENING 127.0.0.1:50051\n"),
            Some(Ok("127.0.0.1:50051".parse().unwrap()))
        );
        assert_eq!(
            parse_listening_line("LISTENING [::1]:8080"),
            Some(Ok("[::1]:8080".parse().unwrap()))
        );
        assert_eq!(parse_listening_line("starting directory"), None);
        assert_eq!(parse_listening_line("LISTENINGS 1.2.3.4:5"), None);
        assert_eq!(parse_listening_line(""), None);
        assert!(matches!(
            parse_listening_line("LISTENING localhost:50051"),
            Some(Err(message)) if message.contains("LISTENING <ip:port>")
        ));
        assert!(matches!(parse_listening_line("LISTENING"), Some(Err(_))));
    }

    #[test]
    fn unspecified_addresses_are_dialed_on_loopback() {
        assert_eq!(
            dialable("0.0.0.0:8080".parse().unwrap()),
            "127.0.0.1:8080".parse().unwrap()
        );
        assert_eq!(
            dialable("[::]:8080".parse().unwrap()),
            "[::1]:8080".parse().unwrap()
        );
        assert_eq!(
            dialable("10.1.2.3:8080".parse().unwrap()),
            "10.1.2.3:8080".parse().unwrap()
        );
    }

    #[test]
    fn database_url_points_into_the_data_dir() {
        assert_eq!(
            sqlite_database_url(Path::new("./data")),
            "sqlite://./data/directory.db?mode=rwc"
        );
        assert_eq!(
            sqlite_database_url(Path::new("/var/lib/scim")),
            "sqlite:///var/lib/scim/directory.db?mode=rwc"
        );
    }

    #[test]
    fn bootstrap_token_is_named_after_the_utc_time() {
        let now = DateTime::parse_from_rfc3339("2025-03-04T05:06:07.89+01:00")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(bootstrap_token_name(now), "bootstrap 2025-03-04T04:06:07Z");
    }

    #[test]
    fn credentials_are_64_hex_digits_and_differ() {
        let first = generate_credential();
        let second = generate_credential();
        assert_eq!(first.len(), 64);
        assert!(
            first
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        assert_ne!(first, second);
        assert_eq!(hex_encode(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(
            shell_quote("http://127.0.0.1:8080/scim/v2"),
            "http://127.0.0.1:8080/scim/v2"
        );
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$HOME"), "'$HOME'");
        assert_eq!(shell_quote(""), "''");
    }

    fn unique_temp_dir(label: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "scimctl-{label}-{}-{}",
            std::process::id(),
            hex_encode(&rand::random::<[u8; 8]>())
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn missing_binary_error_names_the_build_command() {
        let dir = unique_temp_dir("bins");
        let error = locate_binary(&dir, "directory-service")
            .unwrap_err()
            .to_string();
        assert!(error.contains("cargo build --workspace --bins"), "{error}");
        assert!(error.contains("directory-service"), "{error}");

        let path = dir.join(format!("directory-service{}", std::env::consts::EXE_SUFFIX));
        std::fs::write(&path, b"").unwrap();
        assert_eq!(locate_binary(&dir, "directory-service").unwrap(), path);
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn info() -> StackInfo {
        StackInfo {
            scim_base_url: "http://127.0.0.1:8080/scim/v2".into(),
            bearer_token: "scim_ABCDEF_123".into(),
            token_id: "tok-1".into(),
            workspace_id: "ws-1".into(),
            workspace_slug: "default".into(),
            directory_url: "http://127.0.0.1:50051".into(),
            directory_credential: "c0ffee".into(),
            data_dir: "./data".into(),
            database_url: "sqlite://./data/directory.db?mode=rwc".into(),
            scimctl: "target/debug/scimctl".into(),
        }
    }

    #[test]
    fn banner_has_everything_needed_to_use_the_stack() {
        let banner = render_banner(&info());
        assert!(banner.contains("SCIM base URL    http://127.0.0.1:8080/scim/v2\n"));
        assert!(banner.contains("Bearer token     scim_ABCDEF_123\n"));
        assert!(banner.contains("\n  export DIRECTORY_URL=http://127.0.0.1:50051\n"));
        assert!(banner.contains("\n  export DIRECTORY_CREDENTIAL=c0ffee\n"));
        assert!(banner.contains("\n  target/debug/scimctl token list --workspace default\n"));
        assert!(banner.contains(
            "\n  curl -H \"Authorization: Bearer scim_ABCDEF_123\" http://127.0.0.1:8080/scim/v2/Users\n"
        ));
    }

    #[test]
    fn banner_quotes_unusual_secrets() {
        let mut info = info();
        info.directory_credential = "my secret$".into();
        info.bearer_token = "tok en".into();
        let banner = render_banner(&info);
        assert!(banner.contains("export DIRECTORY_CREDENTIAL='my secret$'\n"));
        assert!(banner.contains("curl -H 'Authorization: Bearer tok en' "));
    }

    #[test]
    fn stack_info_json_keys() {
        let json: serde_json::Value =
            serde_json::from_str(&output::render_json(&info()).unwrap()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            [
                "bearer_token",
                "data_dir",
                "database_url",
                "directory_credential",
                "directory_url",
                "scim_base_url",
                "scimctl",
                "token_id",
                "workspace_id",
                "workspace_slug"
            ]
        );
    }

    #[test]
    fn stderr_tail_keeps_the_last_lines_and_the_first_failure() {
        let mut tail = StderrTail::default();
        assert_eq!(tail.describe("x"), "\n(x wrote nothing to stderr)");
        tail.push("starting".into());
        tail.push("Error: Address already in use (os error 98)".into());
        for frame in 0..30 {
            tail.push(format!("  {frame}: frame"));
        }
        tail.push("Error: a later one".into());
        let text = tail.describe("x");
        assert!(text.starts_with("\nx reported: Error: Address already in use (os error 98)\n"));
        assert!(text.contains("\nlast lines of x's stderr:\n"));
        assert_eq!(text.matches("\n  ").count(), STDERR_TAIL_LINES);
        assert!(text.ends_with("\n  Error: a later one"));
        assert!(!text.contains("starting"));
    }

    #[test]
    fn failure_lines() {
        assert!(is_failure_line("Error: cannot open database"));
        assert!(is_failure_line("error: invalid value for --listen"));
        assert!(is_failure_line(
            "thread 'main' panicked at src/main.rs:3:5:"
        ));
        assert!(!is_failure_line("INFO directory listening"));
    }

    // Real child processes through /bin/sh: the same plumbing `up` uses for the services.
    #[cfg(unix)]
    mod processes {
        use super::*;

        fn sh(script: &str) -> ChildProcess {
            ChildProcess::spawn(
                "fake-service",
                Path::new("/bin/sh"),
                &["-c", script],
                "cred-1",
            )
            .unwrap()
        }

        #[tokio::test]
        async fn reads_the_listening_line_and_passes_the_credential() {
            let mut child = sh(
                r#"echo booting; if [ "$DIRECTORY_CREDENTIAL" = cred-1 ]; then echo "LISTENING 127.0.0.1:4321"; else echo "LISTENING 127.0.0.1:1"; fi; echo more; sleep 30"#,
            );
            let addr = child.wait_listening(Duration::from_secs(10)).await.unwrap();
            assert_eq!(addr, "127.0.0.1:4321".parse().unwrap());
            let status = child.stop().await.unwrap();
            assert!(!status.success());
            use std::os::unix::process::ExitStatusExt as _;
            assert_eq!(status.signal(), Some(libc::SIGTERM));
        }

        #[tokio::test]
        async fn early_exit_reports_status_and_stderr_tail() {
            let mut child = sh("echo 'Error: cannot open database' >&2; exit 3");
            let error = child
                .wait_listening(Duration::from_secs(10))
                .await
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("fake-service exited (exit status: 3)"),
                "{error}"
            );
            assert!(
                error.contains("before printing its LISTENING line"),
                "{error}"
            );
            assert!(
                error.contains("\nfake-service reported: Error: cannot open database\n"),
                "{error}"
            );
            assert!(error.contains("\n  Error: cannot open database"), "{error}");
        }

        #[tokio::test]
        async fn silence_times_out_with_stderr_tail() {
            let mut child = sh("echo 'still migrating' >&2; sleep 30");
            let error = child
                .wait_listening(Duration::from_millis(1500))
                .await
                .unwrap_err()
                .to_string();
            assert!(
                error.contains("did not print its LISTENING line"),
                "{error}"
            );
            assert!(error.contains("still migrating"), "{error}");
            assert!(child.stop().await.is_some());
        }

        #[tokio::test]
        async fn malformed_listening_line_fails_fast() {
            let mut child = sh("echo 'LISTENING somewhere'; sleep 30");
            let error = child
                .wait_listening(Duration::from_secs(10))
                .await
                .unwrap_err()
                .to_string();
            assert!(error.contains("malformed line"), "{error}");
            child.stop().await;
        }

        #[tokio::test]
        async fn stop_lets_the_child_handle_sigterm() {
            let mut child =
                sh("trap 'exit 7' TERM; echo 'LISTENING 127.0.0.1:1'; while :; do sleep 0.1; done");
            child.wait_listening(Duration::from_secs(10)).await.unwrap();
            let status = child.stop().await.unwrap();
            assert_eq!(status.code(), Some(7));
        }
    }
}

//! The scenarios, in the order of issue #14, and the stacks they run on.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use directory_proto::v1 as pb;
use http::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::Args;
use crate::load::{self, Budget, Operation, Outcome, Rng, Step};
use crate::postgres::{PgbenchResult, Postgres};
use crate::procs::{self, MachineSample, ProcSample, Server};
use crate::report::{self, Row, Yardstick};
use crate::seed::{self, SeedUsers, seeded_external_id, seeded_user_id, seeded_user_name};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const BULK_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// Most operations in one Bulk request (the gateway's default `bulk.maxOperations`).
const BULK_OPERATIONS_PER_REQUEST: u64 = 1000;
#[derive(Clone)]
struct Credential(String);

impl tonic::service::Interceptor for Credential {
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

type Directory = directory_proto::DirectoryClient<Credential>;

/// A directory and a gateway in front of it.
struct Stack {
    directory: Server,
    gateway: Server,
    credential: String,
}

impl Stack {
    fn start(
        args: &Args,
        database_url: &str,
        work_dir: &Path,
        label: &str,
    ) -> anyhow::Result<Self> {
        let credential = format!("bench-{}", Uuid::new_v4().simple());
        let mut command = Command::new(binary(args, "directory-service")?);
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .env("DIRECTORY_CREDENTIAL", &credential)
            .env("RUST_LOG", "warn");
        let directory = Server::spawn(
            &format!("{label} directory"),
            command,
            &work_dir.join(format!("{label}-directory.log")),
        )?;
        let mut command = Command::new(binary(args, "scim-gateway")?);
        command
            .args(["--listen", "127.0.0.1:0", "--directory-url"])
            .arg(format!("http://{}", directory.addr))
            // The benchmark measures throughput, not the per-token limit.
            .args(["--rate-limit-per-token", "0"])
            .env("DIRECTORY_CREDENTIAL", &credential)
            .env("RUST_LOG", "warn");
        let gateway = Server::spawn(
            &format!("{label} gateway"),
            command,
            &work_dir.join(format!("{label}-gateway.log")),
        )?;
        Ok(Self {
            directory,
            gateway,
            credential,
        })
    }

    /// Peak RSS (VmHWM) of both processes since they started.
    fn print_peaks(&self) {
        for server in [&self.directory, &self.gateway] {
            match server.sample() {
                Ok(sample) => println!(
                    "{}: peak RSS {:.0} MiB, {:.1} CPU s in all",
                    server.name,
                    sample.peak_rss_kib as f64 / 1024.0,
                    sample.cpu_seconds
                ),
                Err(_) => println!("{} is gone; its log: {}", server.name, server.log.display()),
            }
        }
    }

    async fn grpc(&self) -> anyhow::Result<Directory> {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", self.directory.addr))?
                .tcp_nodelay(true)
                .connect()
                .await
                .context("connect to the directory")?;
        Ok(directory_proto::DirectoryClient::with_interceptor(
            channel,
            Credential(self.credential.clone()),
        ))
    }
}

fn binary(args: &Args, name: &str) -> anyhow::Result<PathBuf> {
    let path = args.bin_dir.join(name);
    if !path.exists() {
        bail!(
            "{} not found: build with `cargo build --release --workspace --bins` or pass --bin-dir",
            path.display()
        );
    }
    Ok(path)
}

/// Creates a workspace and a token for it; returns (workspace id, token).
async fn workspace_with_token(
    directory: &mut Directory,
    slug: &str,
) -> anyhow::Result<(String, Arc<str>)> {
    let workspace = directory
        .workspaces()
        .create_workspace(pb::CreateWorkspaceRequest {
            slug: slug.into(),
            display_name: String::new(),
        })
        .await
        .with_context(|| format!("create workspace {slug}"))?
        .into_inner();
    let issued = directory
        .tokens()
        .issue_token(pb::IssueTokenRequest {
            workspace_id: workspace.id.clone(),
            name: "bench".into(),
            expires: None,
            ..Default::default()
        })
        .await
        .context("issue token")?
        .into_inner();
    Ok((workspace.id, Arc::from(issued.plaintext)))
}

fn user_json(user_name: &str, external_id: &str, display_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "externalId": external_id,
        "name": {"givenName": "Bench", "familyName": "Family"},
        "displayName": display_name,
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "title": "Engineer",
        "active": true
    })
}

/// A SCIM filter as a query parameter value.
fn filter_param(filter: &str) -> String {
    let mut encoded = String::with_capacity(filter.len() + 16);
    for c in filter.chars() {
        match c {
            ' ' => encoded.push_str("%20"),
            '"' => encoded.push_str("%22"),
            '+' => encoded.push_str("%2B"),
            '&' => encoded.push_str("%26"),
            '#' => encoded.push_str("%23"),
            c => encoded.push(c),
        }
    }
    encoded
}

fn user_name_filter(user_name: &str) -> String {
    format!(
        "/Users?filter={}",
        filter_param(&format!("userName eq \"{user_name}\""))
    )
}

fn patch(operations: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": operations})
}

/// One request sent outside the measured loops (setup); fails unless `expect` answers.
async fn setup_request(addr: std::net::SocketAddr, step: Step) -> anyhow::Result<Value> {
    let client = load::http_client();
    let answer = load::send(&client, addr, &step).await?;
    if !step.expect.contains(&answer.status) {
        bail!(
            "{} {} answered {}: {}",
            step.method,
            step.path,
            answer.status,
            String::from_utf8_lossy(&answer.body)
        );
    }
    Ok(serde_json::from_slice(&answer.body).unwrap_or(Value::Null))
}

fn id_of(value: &Value) -> anyhow::Result<String> {
    value["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no id in {value}"))
}

/// Measures scenarios on one stack and collects their rows.
struct Bench<'a> {
    args: &'a Args,
    work_dir: PathBuf,
    pgbench_select: Option<PgbenchResult>,
    pgbench_insert: Option<PgbenchResult>,
    rows: Vec<Row>,
    failures: usize,
}

struct Measured {
    outcome: Outcome,
}

impl Bench<'_> {
    fn budget(&self) -> Budget {
        Budget {
            clients: self.args.clients,
            duration: self.args.duration(),
            max_operations_per_client: self.args.max_operations_per_client,
        }
    }

    /// Runs one scenario and records its row. `tolerate_errors`: a known failure to record,
    /// not one that fails the run.
    #[allow(clippy::too_many_arguments)]
    async fn measure(
        &mut self,
        stack: &Stack,
        name: &str,
        yardstick: Yardstick,
        budget: Budget,
        operation: Operation,
        collect_ids: bool,
        tolerate_errors: bool,
    ) -> Option<Measured> {
        if !self.args.wants(name) {
            return None;
        }
        let perf = match &self.args.perf {
            Some(wanted) if wanted == name => Some(Perf::start(stack, &self.work_dir, name)),
            _ => None,
        };
        let usage = Usage::start(stack);
        let outcome = load::run(stack.gateway.addr, budget, operation, collect_ids).await;
        let mut row = Row::new(name, &outcome);
        usage.finish(stack, &mut row).await;
        if let Some(perf) = perf {
            match perf.and_then(Perf::stop) {
                Ok(path) => row.note = format!("perf data: {}", path.display()),
                Err(error) => row.note = format!("perf failed: {error:#}"),
            }
        }
        self.record(row, &outcome, yardstick, tolerate_errors);
        Some(Measured { outcome })
    }

    fn record(&mut self, mut row: Row, outcome: &Outcome, yardstick: Yardstick, tolerate: bool) {
        let base = match yardstick {
            Yardstick::Select => self.pgbench_select,
            Yardstick::Insert => self.pgbench_insert,
            Yardstick::None => None,
        };
        if let Some(base) = base {
            row.ratio = Some((row.per_second / base.tps, yardstick));
        }
        if let Some(error) = &outcome.first_error {
            if !row.note.is_empty() {
                row.note.push_str("; ");
            }
            let error: String = error.chars().take(160).collect();
            row.note.push_str(&format!("first error: {error}"));
        }
        if outcome.errors > 0 && !tolerate {
            self.failures += 1;
        }
        if outcome.operations() == 0 {
            self.failures += 1;
            row.note.push_str(" (no operation ran)");
        }
        println!("{}", report::format_row(&row));
        self.rows.push(row);
    }
}

/// `perf record` of the directory process during one scenario.
struct Perf {
    child: std::process::Child,
    output: PathBuf,
}

impl Perf {
    fn start(stack: &Stack, work_dir: &Path, scenario: &str) -> anyhow::Result<Self> {
        let output = work_dir.join(format!("perf-{scenario}.data"));
        let child = Command::new("perf")
            .args(["record", "-F", "997", "-g", "-o"])
            .arg(&output)
            .args(["-p", &stack.directory.pid().to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .context("run perf (is it installed?)")?;
        // Give perf a moment to attach before the load starts.
        std::thread::sleep(Duration::from_millis(500));
        Ok(Self { child, output })
    }

    fn stop(mut self) -> anyhow::Result<PathBuf> {
        // SIGINT makes perf write its data and exit; it is our own child, by its pid.
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(self.child.id() as libc::pid_t, libc::SIGINT);
        }
        self.child.wait()?;
        Ok(self.output)
    }
}

/// CPU and RSS of the stack's two processes while a scenario runs.
struct Usage {
    directory: ProcSample,
    gateway: ProcSample,
    machine: MachineSample,
    stop: Arc<AtomicBool>,
    sampler: tokio::task::JoinHandle<(u64, u64)>,
}

impl Usage {
    fn start(stack: &Stack) -> Self {
        let pids = (stack.directory.pid(), stack.gateway.pid());
        let stop = Arc::new(AtomicBool::new(false));
        let sampler = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let (mut directory, mut gateway) = (0, 0);
                loop {
                    if let Ok(s) = ProcSample::of(pids.0) {
                        directory = directory.max(s.rss_kib);
                    }
                    if let Ok(s) = ProcSample::of(pids.1) {
                        gateway = gateway.max(s.rss_kib);
                    }
                    if stop.load(Ordering::Relaxed) {
                        return (directory, gateway);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        Self {
            directory: stack.directory.sample().unwrap_or_default(),
            gateway: stack.gateway.sample().unwrap_or_default(),
            machine: MachineSample::now(),
            stop,
            sampler,
        }
    }

    async fn finish(self, stack: &Stack, row: &mut Row) {
        let machine = MachineSample::now();
        let directory = stack.directory.sample().unwrap_or_default();
        let gateway = stack.gateway.sample().unwrap_or_default();
        self.stop.store(true, Ordering::Relaxed);
        let (directory_rss, gateway_rss) = self.sampler.await.unwrap_or((0, 0));
        row.directory_cpu_seconds = directory.cpu_seconds - self.directory.cpu_seconds;
        row.gateway_cpu_seconds = gateway.cpu_seconds - self.gateway.cpu_seconds;
        row.directory_max_rss_mib = directory_rss.max(directory.rss_kib) as f64 / 1024.0;
        row.gateway_max_rss_mib = gateway_rss.max(gateway.rss_kib) as f64 / 1024.0;
        row.machine_busy_percent = self.machine.busy_percent_until(&machine);
        row.load_average = procs::load_average();
    }
}

/// Runs everything; returns how many scenarios failed unexpectedly.
pub async fn run_all(args: &Args) -> anyhow::Result<usize> {
    let tag = Uuid::new_v4().simple().to_string()[..8].to_owned();
    let (work_dir, temporary) = match &args.work_dir {
        Some(dir) => (dir.clone(), false),
        None => (std::env::temp_dir().join(format!("scim-bench-{tag}")), true),
    };
    std::fs::create_dir_all(&work_dir)?;
    let pg = Postgres::new(&args.database_url, args.pg_bin_dir.clone())?;
    let scim_database = format!("scim_bench_{tag}");
    let pgbench_database = format!("pgbench_{tag}");

    let result = run_with_databases(
        args,
        &pg,
        &tag,
        &work_dir,
        &scim_database,
        &pgbench_database,
    )
    .await;

    if args.keep_databases {
        eprintln!("kept databases {scim_database} and {pgbench_database}");
    } else {
        for database in [&scim_database, &pgbench_database] {
            if let Err(error) = pg.drop_database(database) {
                eprintln!("could not drop {database}: {error:#}");
            }
        }
    }
    if temporary && result.is_ok() && args.perf.is_none() {
        let _ = std::fs::remove_dir_all(&work_dir);
    } else {
        eprintln!("logs are in {}", work_dir.display());
    }
    result
}

async fn run_with_databases(
    args: &Args,
    pg: &Postgres,
    tag: &str,
    work_dir: &Path,
    scim_database: &str,
    pgbench_database: &str,
) -> anyhow::Result<usize> {
    let postgres_version = pg.sql("postgres", "SHOW server_version")?;
    println!(
        "# scim-bench: {} clients, {} s per scenario, {} users, groups of {:?}, {} cores, load average {:.1} at start, PostgreSQL {postgres_version}{}",
        args.clients,
        args.seconds,
        args.users,
        args.group_sizes,
        procs::cpu_count(),
        procs::load_average(),
        if args.smoke { " (smoke)" } else { "" }
    );

    let mut bench = Bench {
        args,
        work_dir: work_dir.to_owned(),
        pgbench_select: None,
        pgbench_insert: None,
        rows: Vec::new(),
        failures: 0,
    };

    // The yardstick first, on the same cluster and at the same concurrency.
    pg.create_database(pgbench_database)?;
    pg.init_pgbench(pgbench_database, args.pgbench_scale)?;
    let select = pg.select_by_primary_key(pgbench_database, args.clients, args.duration())?;
    let insert = pg.one_row_insert(pgbench_database, args.clients, args.duration(), work_dir)?;
    println!(
        "pgbench SELECT by primary key (-S, scale {}): {:.0} tps, {:.3} ms average, {} transactions",
        args.pgbench_scale, select.tps, select.latency_ms, select.transactions
    );
    println!(
        "pgbench one-row INSERT transaction: {:.0} tps, {:.3} ms average, {} transactions",
        insert.tps, insert.latency_ms, insert.transactions
    );
    bench.pgbench_select = Some(select);
    bench.pgbench_insert = Some(insert);
    pg.drop_database(pgbench_database)?;

    if args.wants_postgres() {
        pg.create_database(scim_database)?;
        let stack = Stack::start(args, &pg.database_url(scim_database), work_dir, "postgres")?;
        postgres_scenarios(&mut bench, &stack, pg, scim_database, tag).await?;
        stack.print_peaks();
    }
    let sqlite_scenarios_wanted = [
        "sqlite_create_user",
        "sqlite_get_user_by_id",
        "sqlite_patch_user_profile",
        "sqlite_tenant_b_reads_beside_tenant_a_writes",
    ]
    .iter()
    .any(|name| args.wants(name));
    if !args.no_sqlite && sqlite_scenarios_wanted {
        let file = work_dir.join("bench.db");
        let _ = std::fs::remove_file(&file);
        let url = format!("sqlite://{}?mode=rwc", file.display());
        let stack = Stack::start(args, &url, work_dir, "sqlite")?;
        sqlite_scenarios(&mut bench, &stack, tag).await?;
        stack.print_peaks();
    }

    println!();
    println!(
        "pgbench SELECT by primary key: {:.0} tps; one-row INSERT: {:.0} tps ({} clients)",
        select.tps, insert.tps, args.clients
    );
    println!("load average at the end: {:.1}", procs::load_average());
    println!();
    println!("{}", report::HEADER);
    for row in &bench.rows {
        println!("{}", report::format_row(row));
    }
    Ok(bench.failures)
}

async fn postgres_scenarios(
    bench: &mut Bench<'_>,
    stack: &Stack,
    pg: &Postgres,
    database: &str,
    tag: &str,
) -> anyhow::Result<()> {
    let args = bench.args;
    let addr = stack.gateway.addr;
    let mut directory = stack.grpc().await?;
    let (workspace, token) = workspace_with_token(&mut directory, &format!("bench-{tag}")).await?;

    let largest_group = args.group_sizes.iter().copied().max().unwrap_or(0);
    let users = args.users.max(largest_group + 200);
    // Seed: a template user through the API, then copies of it straight into the tables.
    let template = setup_request(
        addr,
        Step::send(
            &token,
            Method::POST,
            "/Users".into(),
            user_json("template@bench.test", "ext-template", "Template User"),
        ),
    )
    .await?;
    let template_id = id_of(&template)?;
    let started = Instant::now();
    SeedUsers {
        template_user_id: &template_id,
        workspaces_sql: format!("SELECT '{workspace}'::uuid AS ws, 1::bigint AS k"),
        per_workspace: users,
        first: 1,
        workspace_count: 1,
    }
    .run(pg, database)?;
    println!("seeded {users} users in {:.1?}", started.elapsed());
    // A seeded user answers like one created through the API.
    setup_request(
        addr,
        Step::get(&token, format!("/Users/{}", seeded_user_id(users))),
    )
    .await
    .context("read back a seeded user")?;
    // ...and is counted: an unfiltered list answers the workspace's stored count.
    let listed = setup_request(addr, Step::get(&token, "/Users?count=1".into())).await?;
    if listed["totalResults"].as_u64() != Some(users + 1) {
        bail!(
            "GET /Users answered totalResults {} after seeding {users} users and the template",
            listed["totalResults"]
        );
    }

    let mut groups = Vec::new();
    for &size in &args.group_sizes {
        let group = setup_request(
            addr,
            Step::send(
                &token,
                Method::POST,
                "/Groups".into(),
                json!({"schemas": [GROUP_SCHEMA], "displayName": format!("bench-group-{size}")}),
            ),
        )
        .await?;
        let group_id = id_of(&group)?;
        let started = Instant::now();
        seed::seed_members(pg, database, &workspace, &group_id, 1, size)?;
        println!(
            "seeded a group of {size} members in {:.1?}",
            started.elapsed()
        );
        groups.push((size, group_id));
    }

    println!("{}", report::HEADER);
    let budget = bench.budget();
    let salt = 0x5eed;

    // Reads at 1M users.
    {
        let token = token.clone();
        let op: Operation = Arc::new(move |c, i| {
            let n = 1 + Rng::for_operation(salt, c, i).below(users);
            vec![Step::get(&token, format!("/Users/{}", seeded_user_id(n)))]
        });
        bench
            .measure(
                stack,
                "get_user_by_id",
                Yardstick::Select,
                budget,
                op,
                false,
                false,
            )
            .await;
    }
    {
        let token = token.clone();
        let op: Operation = Arc::new(move |c, i| {
            let n = 1 + Rng::for_operation(salt, c, i).below(users);
            vec![Step::get(&token, user_name_filter(&seeded_user_name(n)))]
        });
        bench
            .measure(
                stack,
                "filter_user_name_eq",
                Yardstick::Select,
                budget,
                op,
                false,
                false,
            )
            .await;
    }
    {
        let token = token.clone();
        let op: Operation = Arc::new(move |c, i| {
            let n = 1 + Rng::for_operation(salt, c, i).below(users);
            let filter = format!("externalId eq \"{}\"", seeded_external_id(n));
            vec![Step::get(
                &token,
                format!("/Users?filter={}", filter_param(&filter)),
            )]
        });
        bench
            .measure(
                stack,
                "filter_external_id_eq",
                Yardstick::Select,
                budget,
                op,
                false,
                false,
            )
            .await;
    }

    // Writes.
    {
        let token = token.clone();
        let tag = tag.to_owned();
        let op: Operation = Arc::new(move |c, i| {
            let name = format!("created-{tag}-{c}-{i}@bench.test");
            vec![Step::send(
                &token,
                Method::POST,
                "/Users".into(),
                user_json(&name, &format!("created-{tag}-{c}-{i}"), "Created User"),
            )]
        });
        bench
            .measure(
                stack,
                "create_user",
                Yardstick::Insert,
                budget,
                op,
                false,
                false,
            )
            .await;
    }
    {
        let token = token.clone();
        let op: Operation = Arc::new(move |c, i| {
            let n = 1 + Rng::for_operation(salt + 1, c, i).below(users);
            // Entra's profile update: capitalised op names, one path per attribute.
            vec![Step::send(
                &token,
                Method::PATCH,
                format!("/Users/{}", seeded_user_id(n)),
                patch(json!([
                    {"op": "Replace", "path": "displayName", "value": format!("Renamed {c}-{i}")},
                    {"op": "Replace", "path": "title", "value": format!("Title {i}")}
                ])),
            )]
        });
        bench
            .measure(
                stack,
                "patch_user_profile",
                Yardstick::Insert,
                budget,
                op,
                false,
                false,
            )
            .await;
    }
    {
        let token = token.clone();
        let op: Operation = Arc::new(move |c, i| {
            // Each pair of operations deactivates a user, then reactivates it (Okta's PATCH).
            let n = 1 + Rng::for_operation(salt + 2, c, i / 2).below(users);
            let active = i % 2 == 1;
            vec![Step::send(
                &token,
                Method::PATCH,
                format!("/Users/{}", seeded_user_id(n)),
                patch(json!([{"op": "replace", "value": {"active": active}}])),
            )]
        });
        bench
            .measure(
                stack,
                "deactivate_reactivate",
                Yardstick::Insert,
                budget,
                op,
                false,
                false,
            )
            .await;
    }

    // Membership changes: users outside every group, a private range per client.
    let free_users = users.saturating_sub(largest_group + 100);
    let pool = (free_users / args.clients.max(1) as u64).clamp(1, 500);
    for (size, group_id) in &groups {
        let token = token.clone();
        let group_id = group_id.clone();
        let op: Operation = Arc::new(move |c, i| {
            let n = largest_group + 1 + c as u64 * pool + (i / 2) % pool;
            let user = seeded_user_id(n);
            let operation = if i % 2 == 0 {
                json!([{"op": "add", "path": "members", "value": [{"value": user.to_string()}]}])
            } else {
                json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}])
            };
            vec![Step::send(
                &token,
                Method::PATCH,
                format!("/Groups/{group_id}"),
                patch(operation),
            )]
        });
        bench
            .measure(
                stack,
                &format!("members_add_remove_group_of_{size}"),
                Yardstick::Insert,
                budget,
                op,
                false,
                false,
            )
            .await;
    }

    // Reads of the largest group without its members.
    if let Some((size, group_id)) = groups.iter().max_by_key(|(size, _)| *size).cloned() {
        {
            let token = token.clone();
            let group_id = group_id.clone();
            let op: Operation = Arc::new(move |_, _| {
                vec![Step::get(
                    &token,
                    format!("/Groups/{group_id}?excludedAttributes=members"),
                )]
            });
            bench
                .measure(
                    stack,
                    &format!("get_group_excluding_members_{size}"),
                    Yardstick::Select,
                    budget,
                    op,
                    false,
                    false,
                )
                .await;
        }
        {
            let token = token.clone();
            let op: Operation = Arc::new(move |_, _| {
                let filter = format!("displayName eq \"bench-group-{size}\"");
                vec![Step::get(
                    &token,
                    format!(
                        "/Groups?filter={}&excludedAttributes=members",
                        filter_param(&filter)
                    ),
                )]
            });
            bench
                .measure(
                    stack,
                    &format!("filter_group_display_name_with_{size}_members"),
                    Yardstick::Select,
                    budget,
                    op,
                    false,
                    false,
                )
                .await;
        }
    }

    // Cursor paging over the big workspace: the first page and the last one.
    {
        let token = token.clone();
        let op: Operation =
            Arc::new(move |_, _| vec![Step::get(&token, "/Users?cursor=&count=100".into())]);
        bench
            .measure(
                stack,
                "cursor_first_page",
                Yardstick::Select,
                budget,
                op,
                false,
                false,
            )
            .await;
    }
    {
        let token = token.clone();
        let cursor = seeded_user_id(users - 100).simple().to_string();
        let op: Operation = Arc::new(move |_, _| {
            vec![Step::get(
                &token,
                format!("/Users?cursor={cursor}&count=100"),
            )]
        });
        bench
            .measure(
                stack,
                "cursor_last_page",
                Yardstick::Select,
                budget,
                op,
                false,
                false,
            )
            .await;
    }

    bulk_onboarding(bench, stack, pg, database, &mut directory, tag).await?;

    // The full read of the largest group (bounded: three reads by one client).
    if let Some((size, group_id)) = groups.iter().max_by_key(|(size, _)| *size).cloned() {
        let token = token.clone();
        let op: Operation =
            Arc::new(move |_, _| vec![Step::get(&token, format!("/Groups/{group_id}"))]);
        let budget = Budget {
            clients: 1,
            duration: Duration::from_secs(60),
            max_operations_per_client: 3,
        };
        if let Some(measured) = bench
            .measure(
                stack,
                &format!("get_group_full_{size}"),
                Yardstick::None,
                budget,
                op,
                false,
                // Streamed since GroupMembers.StreamGroupMembers: any error is a failure.
                false,
            )
            .await
        {
            let ok = measured.outcome.operations() - measured.outcome.errors;
            if let Some(row) = bench.rows.last_mut() {
                row.note = format!(
                    "{ok} of {} answered 200, {} response bytes in all; {}",
                    measured.outcome.operations(),
                    measured.outcome.bytes,
                    row.note
                );
            }
        }
    }

    mixed_okta(
        bench,
        stack,
        pg,
        database,
        &mut directory,
        &template_id,
        users,
        tag,
    )
    .await?;
    Ok(())
}

async fn bulk_onboarding(
    bench: &mut Bench<'_>,
    stack: &Stack,
    pg: &Postgres,
    database: &str,
    directory: &mut Directory,
    tag: &str,
) -> anyhow::Result<()> {
    let args = bench.args;
    let name = format!("bulk_onboard_{}_users", args.bulk_users);
    if !args.wants(&name) || args.bulk_users == 0 {
        return Ok(());
    }
    let (workspace, token) = workspace_with_token(directory, &format!("bench-{tag}-bulk")).await?;
    let total = args.bulk_users;
    let requests = total.div_ceil(BULK_OPERATIONS_PER_REQUEST);
    let clients = (args.clients as u64).min(requests) as usize;
    let tag = tag.to_owned();
    let op: Operation = Arc::new(move |c, i| {
        let request = c as u64 + clients as u64 * i;
        if request >= requests {
            return Vec::new();
        }
        let first = request * BULK_OPERATIONS_PER_REQUEST;
        let last = (first + BULK_OPERATIONS_PER_REQUEST).min(total);
        let operations: Vec<Value> = (first..last)
            .map(|j| {
                let name = format!("onboard-{tag}-{j}@bench.test");
                json!({
                    "method": "POST",
                    "path": "/Users",
                    "bulkId": format!("u{j}"),
                    "data": user_json(&name, &format!("onboard-{tag}-{j}"), "Onboarded User")
                })
            })
            .collect();
        vec![Step::send(
            &token,
            Method::POST,
            "/Bulk".into(),
            json!({"schemas": [BULK_SCHEMA], "Operations": operations}),
        )]
    });
    let budget = Budget {
        clients,
        duration: Duration::from_secs(600),
        max_operations_per_client: requests.div_ceil(clients as u64),
    };
    let usage = Usage::start(stack);
    let outcome = load::run(stack.gateway.addr, budget, op, false).await;
    let mut row = Row::new(&name, &outcome);
    usage.finish(stack, &mut row).await;
    // Bulk answers 200 even when operations inside fail: count the rows.
    let created: u64 = pg
        .sql(
            database,
            &format!("SELECT count(*) FROM users WHERE workspace_id = '{workspace}'"),
        )?
        .parse()?;
    let mut outcome = outcome;
    row.note = format!(
        "{created} of {total} users created in {:.2} s = {:.0} users/s ({} requests of ≤ {} operations, {clients} clients)",
        outcome.elapsed.as_secs_f64(),
        created as f64 / outcome.elapsed.as_secs_f64().max(1e-9),
        requests,
        BULK_OPERATIONS_PER_REQUEST
    );
    if created != total {
        outcome.errors += 1;
        row.errors += 1;
    }
    bench.record(row, &outcome, Yardstick::None, false);
    Ok(())
}

#[allow(clippy::too_many_arguments)]
async fn mixed_okta(
    bench: &mut Bench<'_>,
    stack: &Stack,
    pg: &Postgres,
    database: &str,
    directory: &mut Directory,
    template_id: &str,
    seeded_so_far: u64,
    tag: &str,
) -> anyhow::Result<()> {
    let args = bench.args;
    let workspaces = args.workspaces.max(1);
    let name = format!("mixed_okta_{workspaces}_workspaces");
    if !args.wants(&name) {
        return Ok(());
    }
    let started = Instant::now();
    let mut tokens = Vec::with_capacity(workspaces as usize);
    for k in 1..=workspaces {
        let (_, token) = workspace_with_token(directory, &format!("bench-{tag}-m{k:06}")).await?;
        tokens.push(token);
    }
    let per = args.users_per_workspace.max(1);
    let first = seeded_so_far + 1;
    SeedUsers {
        template_user_id: template_id,
        workspaces_sql: format!(
            "SELECT id AS ws, row_number() OVER (ORDER BY slug) AS k FROM workspaces \
             WHERE slug LIKE 'bench-{tag}-m%'"
        ),
        per_workspace: per,
        first,
        workspace_count: workspaces,
    }
    .run(pg, database)?;
    println!(
        "mixed workload: {workspaces} workspaces with a token and {per} users each, set up in {:.1?}",
        started.elapsed()
    );
    let tokens = Arc::new(tokens);
    let tag = tag.to_owned();
    let op: Operation = Arc::new(move |c, i| {
        let mut rng = Rng::for_operation(0x0c7a, c, i);
        let k = rng.below(workspaces);
        let token = &tokens[k as usize];
        let n = first + k * per + rng.below(per);
        match rng.below(100) {
            // Okta's "is this user already here" before creating or updating.
            0..35 => vec![Step::get(token, user_name_filter(&seeded_user_name(n)))],
            35..55 => vec![Step::get(token, format!("/Users/{}", seeded_user_id(n)))],
            // Create: look the userName up (nothing), then POST.
            55..70 => {
                let name = format!("mixed-{tag}-{c}-{i}@bench.test");
                vec![
                    Step::get(token, user_name_filter(&name)),
                    Step::send(
                        token,
                        Method::POST,
                        "/Users".into(),
                        user_json(&name, &format!("mixed-{tag}-{c}-{i}"), "Mixed User"),
                    ),
                ]
            }
            // App Integration Wizard apps update with a full PUT.
            70..90 => {
                let name = seeded_user_name(n);
                vec![Step::send(
                    token,
                    Method::PUT,
                    format!("/Users/{}", seeded_user_id(n)),
                    user_json(&name, &seeded_external_id(n), &format!("Updated {c}-{i}")),
                )]
            }
            // Import: groups, and the connector test's first page of users.
            90..95 => vec![Step::get(token, "/Groups?startIndex=1&count=100".into())],
            _ => vec![Step::get(token, "/Users?startIndex=1&count=2".into())],
        }
    });
    let budget = bench.budget();
    bench
        .measure(stack, &name, Yardstick::None, budget, op, false, false)
        .await;
    if let Some(row) = bench.rows.last_mut()
        && row.scenario == name
    {
        let note = "35% userName filter, 20% GET by id, 15% lookup+POST (one op), 20% PUT, 10% list pages; a random workspace (token) per op";
        row.note = if row.note.is_empty() {
            note.into()
        } else {
            format!("{note}; {}", row.note)
        };
    }
    Ok(())
}

async fn sqlite_scenarios(bench: &mut Bench<'_>, stack: &Stack, tag: &str) -> anyhow::Result<()> {
    let args = bench.args;
    let addr = stack.gateway.addr;
    let mut directory = stack.grpc().await?;
    let (_, token) = workspace_with_token(&mut directory, &format!("bench-{tag}-lite")).await?;
    let budget = bench.budget();

    let created = {
        let token = token.clone();
        let tag = tag.to_owned();
        let op: Operation = Arc::new(move |c, i| {
            let name = format!("lite-{tag}-{c}-{i}@bench.test");
            vec![Step::send(
                &token,
                Method::POST,
                "/Users".into(),
                user_json(&name, &format!("lite-{tag}-{c}-{i}"), "SQLite User"),
            )]
        });
        bench
            .measure(
                stack,
                "sqlite_create_user",
                Yardstick::Insert,
                budget,
                op,
                true,
                false,
            )
            .await
    };
    // Reads and updates need users: those just created, or a few made now.
    let mut ids = created.map(|m| m.outcome.ids).unwrap_or_default();
    if ids.is_empty() {
        for j in 0..100 {
            let name = format!("lite-seed-{tag}-{j}@bench.test");
            let user = setup_request(
                addr,
                Step::send(
                    &token,
                    Method::POST,
                    "/Users".into(),
                    user_json(&name, &name, "SQLite User"),
                ),
            )
            .await?;
            ids.push(id_of(&user)?);
        }
    }
    let ids = Arc::new(ids);
    {
        let token = token.clone();
        let ids = ids.clone();
        let op: Operation = Arc::new(move |c, i| {
            let id = &ids[Rng::for_operation(7, c, i).below(ids.len() as u64) as usize];
            vec![Step::get(&token, format!("/Users/{id}"))]
        });
        bench
            .measure(
                stack,
                "sqlite_get_user_by_id",
                Yardstick::Select,
                budget,
                op,
                false,
                false,
            )
            .await;
    }
    {
        let token = token.clone();
        let ids = ids.clone();
        let op: Operation = Arc::new(move |c, i| {
            let id = &ids[Rng::for_operation(8, c, i).below(ids.len() as u64) as usize];
            vec![Step::send(
                &token,
                Method::PATCH,
                format!("/Users/{id}"),
                patch(json!([
                    {"op": "Replace", "path": "displayName", "value": format!("Renamed {c}-{i}")},
                    {"op": "Replace", "path": "title", "value": format!("Title {i}")}
                ])),
            )]
        });
        bench
            .measure(
                stack,
                "sqlite_patch_user_profile",
                Yardstick::Insert,
                budget,
                op,
                false,
                false,
            )
            .await;
    }

    // One tenant writes as fast as it can while another one reads.
    let name = "sqlite_tenant_b_reads_beside_tenant_a_writes";
    if args.wants(name) && args.clients >= 2 {
        let (_, writer_token) =
            workspace_with_token(&mut directory, &format!("bench-{tag}-lite-a")).await?;
        let writers = args.clients / 2;
        let readers = args.clients - writers;
        let reader_token = token.clone();
        let read: Operation = {
            let ids = ids.clone();
            Arc::new(move |c, i| {
                let id = &ids[Rng::for_operation(9, c, i).below(ids.len() as u64) as usize];
                vec![Step::get(&reader_token, format!("/Users/{id}"))]
            })
        };
        let tag = tag.to_owned();
        let write: Operation = Arc::new(move |c, i| {
            let name = format!("lite-a-{tag}-{c}-{i}@bench.test");
            vec![Step::send(
                &writer_token,
                Method::POST,
                "/Users".into(),
                user_json(&name, &name, "Tenant A User"),
            )]
        });
        let usage = Usage::start(stack);
        let (read_outcome, write_outcome) = tokio::join!(
            load::run(
                addr,
                Budget {
                    clients: readers,
                    ..budget
                },
                read,
                false
            ),
            load::run(
                addr,
                Budget {
                    clients: writers,
                    ..budget
                },
                write,
                false
            ),
        );
        let mut reads = Row::new(name, &read_outcome);
        usage.finish(stack, &mut reads).await;
        let mut writes = Row::new(
            "sqlite_tenant_a_writes_beside_tenant_b_reads",
            &write_outcome,
        );
        writes.directory_cpu_seconds = reads.directory_cpu_seconds;
        writes.gateway_cpu_seconds = reads.gateway_cpu_seconds;
        writes.directory_max_rss_mib = reads.directory_max_rss_mib;
        writes.gateway_max_rss_mib = reads.gateway_max_rss_mib;
        writes.machine_busy_percent = reads.machine_busy_percent;
        writes.load_average = reads.load_average;
        reads.note = format!(
            "{readers} readers of workspace B beside {writers} writers of workspace A (CPU and RSS are for both rows together); target: reader max ≤ 100 ms"
        );
        writes.note = "creates in workspace A, run at the same time as the row above".into();
        bench.record(writes, &write_outcome, Yardstick::Insert, false);
        bench.record(reads, &read_outcome, Yardstick::Select, false);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_are_percent_encoded_for_the_query_string() {
        assert_eq!(
            user_name_filter("a+b@x.test"),
            "/Users?filter=userName%20eq%20%22a%2Bb@x.test%22"
        );
    }
}

//! `scim-bench`: starts the real `directory-service` and `scim-gateway` binaries on
//! PostgreSQL (and then on SQLite), seeds straight into the tables, drives SCIM HTTP load
//! at a fixed concurrency for a bounded time per scenario, and prints per scenario ops/s,
//! latency quantiles, errors, CPU and RSS of each server process, and the ratio to pgbench
//! measured on the same cluster in the same run. See BENCHMARKS.md.
//!
//! Everything talks to 127.0.0.1 only; every load loop is bounded in count and time.

mod load;
mod postgres;
mod procs;
mod report;
mod scenarios;
mod seed;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(name = "scim-bench", about = "SCIM load benchmark against pgbench")]
pub struct Args {
    /// PostgreSQL server to use, without a database name (postgres://user@127.0.0.1:port).
    /// The bench creates its own databases and drops them at the end.
    #[arg(long, env = "DATABASE_URL")]
    pub database_url: String,
    /// Where the release binaries are.
    #[arg(long, default_value = "target/release")]
    pub bin_dir: PathBuf,
    /// Directory of psql/pgbench (default: the highest /usr/lib/postgresql/*/bin, else PATH).
    #[arg(long)]
    pub pg_bin_dir: Option<PathBuf>,
    /// Concurrent HTTP clients (and pgbench clients).
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Seconds of load per scenario (and per pgbench run).
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Most operations one client runs in one scenario.
    #[arg(long, default_value_t = 200_000)]
    pub max_operations_per_client: u64,
    /// Users in the big workspace.
    #[arg(long, default_value_t = 1_000_000)]
    pub users: u64,
    /// Member counts of the groups for the membership scenarios; the largest one is also
    /// the group that is read.
    #[arg(long, value_delimiter = ',', default_value = "10,1000,100000")]
    pub group_sizes: Vec<u64>,
    /// Users created by the Bulk onboarding scenario (1,000 per request).
    #[arg(long, default_value_t = 10_000)]
    pub bulk_users: u64,
    /// Workspaces (one token each) in the mixed Okta-like workload.
    #[arg(long, default_value_t = 1000)]
    pub workspaces: u64,
    /// Users seeded per workspace of the mixed workload.
    #[arg(long, default_value_t = 20)]
    pub users_per_workspace: u64,
    /// pgbench scale (100,000 accounts per unit).
    #[arg(long, default_value_t = 10)]
    pub pgbench_scale: u32,
    /// Run only the scenarios whose name contains one of these (comma separated).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip the SQLite scenarios.
    #[arg(long)]
    pub no_sqlite: bool,
    /// A few seconds on tiny data: every scenario once, fails on any unexpected error.
    #[arg(long)]
    pub smoke: bool,
    /// Keep the bench databases (default: dropped at the end).
    #[arg(long)]
    pub keep_databases: bool,
    /// Record the directory with `perf record` while this scenario runs (the data stays in
    /// the work dir as perf-<scenario>.data; read it with `perf report -i`).
    #[arg(long)]
    pub perf: Option<String>,
    /// Where logs and the SQLite file go (default: a new temp dir, removed at the end).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
}

impl Args {
    fn apply_smoke(&mut self) {
        if !self.smoke {
            return;
        }
        self.seconds = 1;
        self.users = 3000;
        self.group_sizes = vec![10, 100, 1000];
        self.bulk_users = 50;
        self.workspaces = 5;
        self.users_per_workspace = 10;
        self.pgbench_scale = 1;
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs(self.seconds.max(1))
    }

    pub fn wants(&self, scenario: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| scenario.contains(o.as_str()))
    }

    /// Whether any PostgreSQL scenario is asked for (all SQLite ones start with `sqlite`).
    pub fn wants_postgres(&self) -> bool {
        self.only.is_empty() || self.only.iter().any(|o| !o.starts_with("sqlite"))
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    args.apply_smoke();
    let failures = scenarios::run_all(&args).await?;
    if failures > 0 {
        anyhow::bail!("{failures} scenario(s) had unexpected errors");
    }
    Ok(())
}

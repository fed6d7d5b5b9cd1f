//! `psql` for setup and seeding, `pgbench` for the yardstick.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// The PostgreSQL client tools and the server they talk to.
pub struct Postgres {
    /// `postgres://user@host:port` without a database name
    pub server_url: String,
    bin_dir: Option<PathBuf>,
}

/// What one pgbench run measured.
#[derive(Clone, Copy, Debug)]
pub struct PgbenchResult {
    pub tps: f64,
    pub latency_ms: f64,
    pub transactions: u64,
}

impl Postgres {
    pub fn new(server_url: &str, bin_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let server_url = server_url.trim_end_matches('/').to_owned();
        let after_scheme = server_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .ok_or_else(|| anyhow!("{server_url:?} is not a postgres:// URL"))?;
        if after_scheme.contains('/') {
            bail!("give the server URL without a database name (postgres://user@host:port)");
        }
        let bin_dir = bin_dir.or_else(find_bin_dir);
        Ok(Self {
            server_url,
            bin_dir,
        })
    }

    pub fn database_url(&self, database: &str) -> String {
        format!("{}/{database}", self.server_url)
    }

    fn tool(&self, name: &str) -> Command {
        match &self.bin_dir {
            Some(dir) if dir.join(name).exists() => Command::new(dir.join(name)),
            _ => Command::new(name),
        }
    }

    /// Runs SQL in `database` and returns psql's unaligned, tuples-only output.
    pub fn sql(&self, database: &str, sql: &str) -> anyhow::Result<String> {
        let output = self
            .tool("psql")
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"])
            .arg(self.database_url(database))
            .args(["-c", sql])
            .output()
            .context("run psql (install postgresql-client or pass --pg-bin-dir)")?;
        if !output.status.success() {
            let shown: String = sql.chars().take(400).collect();
            bail!(
                "psql failed on {shown:?}: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    pub fn create_database(&self, name: &str) -> anyhow::Result<()> {
        self.sql("postgres", &format!("CREATE DATABASE \"{name}\""))?;
        Ok(())
    }

    pub fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        self.sql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        )?;
        Ok(())
    }

    /// `pgbench -i` at `scale` (100,000 accounts per unit), plus a table for one-row inserts.
    pub fn init_pgbench(&self, database: &str, scale: u32) -> anyhow::Result<()> {
        let output = self
            .tool("pgbench")
            .args(["-i", "-q", "-s", &scale.to_string()])
            .arg(self.database_url(database))
            .output()
            .context("run pgbench (install postgresql-contrib or pass --pg-bin-dir)")?;
        if !output.status.success() {
            bail!(
                "pgbench -i failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        self.sql(
            database,
            "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, payload text NOT NULL, \
             created_at timestamptz NOT NULL DEFAULT now())",
        )?;
        Ok(())
    }

    /// pgbench's built-in SELECT by primary key (`-S`).
    pub fn select_by_primary_key(
        &self,
        database: &str,
        clients: usize,
        duration: Duration,
    ) -> anyhow::Result<PgbenchResult> {
        self.run_pgbench(database, clients, duration, &["-S"])
    }

    /// One transaction per one-row INSERT (autocommit), into a table with a bigserial key.
    pub fn one_row_insert(
        &self,
        database: &str,
        clients: usize,
        duration: Duration,
        work_dir: &Path,
    ) -> anyhow::Result<PgbenchResult> {
        let script = work_dir.join("insert.sql");
        std::fs::write(
            &script,
            "INSERT INTO bench_insert (payload) VALUES ('a row of about forty bytes of payload');\n",
        )?;
        let script = script.to_string_lossy().into_owned();
        self.run_pgbench(database, clients, duration, &["-f", &script])
    }

    fn run_pgbench(
        &self,
        database: &str,
        clients: usize,
        duration: Duration,
        workload: &[&str],
    ) -> anyhow::Result<PgbenchResult> {
        // Prepared statements: the directory's driver (sqlx) caches prepared statements too.
        let output = self
            .tool("pgbench")
            .args(["-n", "-M", "prepared"])
            .args(["-c", &clients.to_string()])
            .args(["-j", &clients.min(2).to_string()])
            .args(["-T", &duration.as_secs().max(1).to_string()])
            .args(workload)
            .arg(self.database_url(database))
            .output()
            .context("run pgbench")?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            bail!(
                "pgbench failed: {}{}",
                stdout.trim(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        parse_pgbench(&stdout).ok_or_else(|| anyhow!("unexpected pgbench output:\n{stdout}"))
    }
}

fn parse_pgbench(output: &str) -> Option<PgbenchResult> {
    let number_after = |prefix: &str| -> Option<f64> {
        output.lines().find_map(|line| {
            line.trim()
                .strip_prefix(prefix)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|v| v.parse().ok())
        })
    };
    Some(PgbenchResult {
        tps: number_after("tps =")?,
        latency_ms: number_after("latency average =")?,
        transactions: number_after("number of transactions actually processed:")? as u64,
    })
}

/// The highest installed PostgreSQL's bin directory (Debian layout), if any.
fn find_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| bin.join("pgbench").exists())
        .collect();
    dirs.sort();
    dirs.pop().map(|(_, bin)| bin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tps_and_latency_from_pgbench_output() {
        let output = "transaction type: <builtin: select only>\n\
            scaling factor: 10\n\
            number of clients: 8\n\
            number of transactions actually processed: 487000\n\
            latency average = 0.164 ms\n\
            initial connection time = 12.3 ms\n\
            tps = 48700.123456 (without initial connection time)\n";
        let result = parse_pgbench(output).unwrap();
        assert_eq!(result.transactions, 487_000);
        assert!((result.tps - 48_700.123_456).abs() < 1e-6);
        assert!((result.latency_ms - 0.164).abs() < 1e-9);
        assert!(parse_pgbench("pgbench: error").is_none());
    }
}

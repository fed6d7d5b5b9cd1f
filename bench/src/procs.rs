//! The server processes under test, and what `/proc` says about them and the machine.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

/// A spawned server binary; killed (by its own pid) when dropped.
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    pub log: PathBuf,
    child: Child,
}

impl Server {
    /// Spawns `command`, sends its stderr to `log` and waits for its `LISTENING <addr>`
    /// line on stdout (the directory runs its migrations first).
    pub fn spawn(name: &str, mut command: Command, log: &Path) -> anyhow::Result<Self> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(File::create(log).with_context(|| format!("create {}", log.display()))?);
        let mut child = command
            .spawn()
            .with_context(|| format!("spawn {command:?}"))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (sender, receiver) = mpsc::channel();
        // Keeps draining stdout after the first line so the server never blocks on a pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("LISTENING ") {
                    let _ = sender.send(addr.trim().to_owned());
                }
            }
        });
        let mut server = Self {
            name: name.to_owned(),
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.to_owned(),
            child,
        };
        match receiver.recv_timeout(Duration::from_secs(180)) {
            Ok(addr) => {
                server.addr = addr
                    .parse()
                    .with_context(|| format!("{name} address {addr:?}"))?;
                Ok(server)
            }
            Err(_) => {
                let stderr = std::fs::read_to_string(log).unwrap_or_default();
                bail!("{name} never printed LISTENING; its log:\n{stderr}")
            }
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn sample(&self) -> anyhow::Result<ProcSample> {
        ProcSample::of(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time and memory of one process at one moment.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcSample {
    /// user + system CPU seconds since the process started
    pub cpu_seconds: f64,
    pub rss_kib: u64,
    /// peak RSS since the process started (VmHWM)
    pub peak_rss_kib: u64,
}

impl ProcSample {
    pub fn of(pid: u32) -> anyhow::Result<Self> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .with_context(|| format!("process {pid} is gone"))?;
        // The command name may contain spaces and parentheses: fields start after the last ')'.
        let fields: Vec<&str> = stat
            .rsplit_once(')')
            .ok_or_else(|| anyhow!("unexpected /proc/{pid}/stat"))?
            .1
            .split_whitespace()
            .collect();
        // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
        let ticks = |i: usize| -> anyhow::Result<f64> {
            Ok(fields
                .get(i)
                .ok_or_else(|| anyhow!("short /proc/{pid}/stat"))?
                .parse::<u64>()? as f64)
        };
        let cpu_seconds = (ticks(11)? + ticks(12)?) / clock_ticks_per_second();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        Ok(Self {
            cpu_seconds,
            rss_kib: kib("VmRSS:"),
            peak_rss_kib: kib("VmHWM:"),
        })
    }
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// Whole-machine CPU counters (`/proc/stat`), to show how busy the machine was.
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineSample {
    busy_ticks: u64,
    total_ticks: u64,
}

impl MachineSample {
    pub fn now() -> Self {
        let Ok(stat) = std::fs::read_to_string("/proc/stat") else {
            return Self::default();
        };
        let Some(cpu) = stat.lines().next() else {
            return Self::default();
        };
        let values: Vec<u64> = cpu
            .split_whitespace()
            .skip(1)
            .filter_map(|v| v.parse().ok())
            .collect();
        let total: u64 = values.iter().take(8).sum();
        // idle and iowait
        let idle = values.get(3).copied().unwrap_or(0) + values.get(4).copied().unwrap_or(0);
        Self {
            busy_ticks: total - idle,
            total_ticks: total,
        }
    }

    /// Share of all cores that was busy between `self` and `later`, in percent.
    pub fn busy_percent_until(&self, later: &MachineSample) -> f64 {
        let total = later.total_ticks.saturating_sub(self.total_ticks);
        if total == 0 {
            return 0.0;
        }
        100.0 * later.busy_ticks.saturating_sub(self.busy_ticks) as f64 / total as f64
    }
}

/// The 1-minute load average.
pub fn load_average() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

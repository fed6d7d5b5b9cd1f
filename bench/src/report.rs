//! The result table (Markdown, so it can be pasted into BENCHMARKS.md).

use crate::load::Outcome;

/// What a scenario is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Yardstick {
    /// pgbench SELECT by primary key
    Select,
    /// pgbench one-row INSERT transaction
    Insert,
    None,
}

pub struct Row {
    pub scenario: String,
    pub operations: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub errors: u64,
    pub ratio: Option<(f64, Yardstick)>,
    pub directory_cpu_seconds: f64,
    pub gateway_cpu_seconds: f64,
    pub directory_max_rss_mib: f64,
    pub gateway_max_rss_mib: f64,
    pub machine_busy_percent: f64,
    pub load_average: f64,
    pub note: String,
}

impl Row {
    pub fn new(scenario: &str, outcome: &Outcome) -> Self {
        Self {
            scenario: scenario.to_owned(),
            operations: outcome.operations(),
            per_second: outcome.per_second(),
            p50_ms: outcome.quantile_ms(0.50),
            p99_ms: outcome.quantile_ms(0.99),
            max_ms: outcome.quantile_ms(1.0),
            errors: outcome.errors,
            ratio: None,
            directory_cpu_seconds: 0.0,
            gateway_cpu_seconds: 0.0,
            directory_max_rss_mib: 0.0,
            gateway_max_rss_mib: 0.0,
            machine_busy_percent: 0.0,
            load_average: 0.0,
            note: String::new(),
        }
    }

    /// Directory CPU per successful operation, in microseconds.
    pub fn directory_cpu_us_per_op(&self) -> f64 {
        let ok = self.operations.saturating_sub(self.errors);
        if ok == 0 {
            return 0.0;
        }
        self.directory_cpu_seconds * 1e6 / ok as f64
    }
}

pub const HEADER: &str = "| scenario | ops | ops/s | p50 ms | p99 ms | max ms | errors | × pgbench | directory CPU µs/op | directory CPU s | gateway CPU s | directory RSS MiB (max) | gateway RSS MiB (max) | machine busy % | load avg | note |\n\
|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|";

pub fn format_row(row: &Row) -> String {
    let ratio = match row.ratio {
        Some((r, Yardstick::Select)) => format!("{r:.3} (SELECT)"),
        Some((r, Yardstick::Insert)) => format!("{r:.3} (INSERT)"),
        _ => "—".into(),
    };
    format!(
        "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {:.0} | {:.0} | {:.1} | {} |",
        row.scenario,
        row.operations,
        row.per_second,
        row.p50_ms,
        row.p99_ms,
        row.max_ms,
        row.errors,
        ratio,
        row.directory_cpu_us_per_op(),
        row.directory_cpu_seconds,
        row.gateway_cpu_seconds,
        row.directory_max_rss_mib,
        row.gateway_max_rss_mib,
        row.machine_busy_percent,
        row.load_average,
        row.note.replace('|', "\\|").replace('\n', " ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_shows_the_ratio_and_cpu_per_operation() {
        let outcome = Outcome {
            latencies_us: vec![1000, 2000, 3000, 4000],
            errors: 0,
            elapsed: std::time::Duration::from_secs(2),
            ..Default::default()
        };
        let mut row = Row::new("get_user_by_id", &outcome);
        row.ratio = Some((0.05, Yardstick::Select));
        row.directory_cpu_seconds = 0.001;
        let line = format_row(&row);
        assert!(line.starts_with(
            "| get_user_by_id | 4 | 2 | 2.00 | 4.00 | 4.00 | 0 | 0.050 (SELECT) | 250 |"
        ));
        assert_eq!(
            line.matches('|').count(),
            HEADER.lines().next().unwrap().matches('|').count()
        );
    }
}

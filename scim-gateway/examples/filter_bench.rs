//! Parses long filters and prints how long each took: a guard against super-linear parsing
//! (a 1 MiB `.search` body is the largest filter a client can send).
//!
//!     cargo run --release -p scim-gateway --example filter_bench

use std::time::Instant;

fn main() {
    for repeats in [1_000usize, 10_000, 100_000] {
        let filter = "a eq 1 or ".repeat(repeats) + "a eq 1";
        let started = Instant::now();
        let parsed = scim_gateway::scim::filter::parse_filter(&filter);
        println!(
            "{:>8} comparisons ({:>8} bytes): {:>10.3} ms, ok={}",
            repeats + 1,
            filter.len(),
            started.elapsed().as_secs_f64() * 1000.0,
            parsed.is_ok()
        );
    }
}

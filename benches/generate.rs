//! Generator throughput and peak memory.
//!
//! Two runs, each in a fresh temporary folder:
//! 1. billing only (`--no-metrics`) at the scale that writes about 10 million billing rows
//!    (30 days; `ROWS_PER_DAY_PER_SCALE` billing rows per day and scale unit);
//! 2. billing and per-minute metrics at the scale that writes about 10 million rows in all
//!    (7 days; metrics dominate).
//!
//! For each: rows written, wall seconds, rows per second, and the peak resident set
//! (`VmHWM` from `/proc/self/status`, reset before each run through
//! `/proc/self/clear_refs`), which must not grow with scale beyond the catalog. Run:
//! `cargo bench --bench generate`. Without `--bench` (as `cargo test --benches` runs it)
//! both runs are tiny. `BURNRATE_GEN_ROWS` overrides the 10 million target.

use std::time::Instant;

use burnrate_ingest::generate::{Config, ROWS_PER_DAY_PER_SCALE, generate};

#[path = "common/rss.rs"]
mod rss;
use rss::{reset_peak, status_kb};

fn run(name: &str, days: u32, scale: u32, metrics: bool) {
    let dir = std::env::temp_dir().join(format!("burnrate-genbench-{}-{name}", std::process::id()));
    let mut cfg = Config::new(&dir, days, scale, 42);
    cfg.metrics = metrics;
    let reset = reset_peak();
    let before = status_kb("VmRSS:").unwrap_or(0);
    let t = Instant::now();
    let summary = match generate(&cfg) {
        Ok(s) => s,
        Err(e) => panic!("generate {name}: {e}"),
    };
    let secs = t.elapsed().as_secs_f64();
    let peak = status_kb("VmHWM:").unwrap_or(0);
    let rows = summary.billing_rows + summary.metric_rows;
    let bytes: u64 = summary
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(dir.join("data").join(&f.path)).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{name:<18} {days:>4} {scale:>6} {:>11} {:>11} {:>8.1} {:>12.0} {:>9.1} {:>10.1}{}",
        summary.billing_rows,
        summary.metric_rows,
        secs,
        rows as f64 / secs.max(1e-9),
        bytes as f64 / 1e6,
        peak as f64 / 1024.0,
        if reset {
            String::new()
        } else {
            format!(
                " (peak not reset; RSS before {:.1} MB)",
                before as f64 / 1024.0
            )
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn main() {
    let benching = std::env::args().any(|a| a == "--bench");
    let target: u64 = std::env::var("BURNRATE_GEN_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let (per_billing, per_metric) = ROWS_PER_DAY_PER_SCALE;
    println!(
        "{:<18} {:>4} {:>6} {:>11} {:>11} {:>8} {:>12} {:>9} {:>10}",
        "run", "days", "scale", "billing", "metrics", "seconds", "rows/s", "MB out", "peak MB"
    );
    if benching {
        let billing_scale = (target / (per_billing * 30)).max(1) as u32;
        run("billing only", 30, billing_scale, false);
        let all_scale = (target / ((per_billing + per_metric) * 7)).max(1) as u32;
        run("billing+metrics", 7, all_scale, true);
    } else {
        run("billing only", 2, 1, false);
        run("billing+metrics", 1, 1, true);
    }
}

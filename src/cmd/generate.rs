//! `burnrate generate --out DIR --days N --scale S --seed K`: writes synthetic billing
//! exports in each provider's native format, per-minute metrics, and `truth.json` (the
//! ground truth the files must normalize to). See `burnrate_ingest::generate`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use burnrate_ingest::generate::{Config, ROWS_PER_DAY_PER_SCALE, generate};
use chrono::NaiveDate;
use clap::Args;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Folder to write into (created if missing; files of the same names are rewritten).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Days to generate, from --start.
    #[arg(long, default_value_t = 7, value_name = "N")]
    days: u32,
    /// Copies of the catalog's resources. Each day and scale unit writes about 1,200
    /// billing rows and 27,000 metric rows.
    #[arg(long, default_value_t = 1, value_name = "S")]
    scale: u32,
    /// Seed: the same seed writes the same files.
    #[arg(long, default_value_t = 42, value_name = "K")]
    seed: u64,
    /// First UTC day (YYYY-MM-DD).
    #[arg(
        long,
        default_value = "2024-03-01",
        value_name = "DATE",
        value_parser = super::utc_day
    )]
    start: NaiveDate,
    /// Skip the per-minute metrics (billing files and truth only).
    #[arg(long)]
    no_metrics: bool,
    /// generate writes files only: the global `--data-dir` and `--config` do not apply.
    /// These stand in for them here (a subcommand's own argument keeps clap from adding
    /// the global one), so `generate --help` does not list them; given anyway (a script
    /// that passes `--data-dir` to every command), they are ignored.
    #[arg(long = "data-dir", hide = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[arg(long = "config", hide = true, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: GenerateArgs) -> Result<std::process::ExitCode> {
    anyhow::ensure!(args.days > 0, "--days must be at least 1");
    anyhow::ensure!(args.scale > 0, "--scale must be at least 1");
    let cfg = Config {
        out: args.out.clone(),
        start: args.start,
        days: args.days,
        scale: args.scale,
        seed: args.seed,
        metrics: !args.no_metrics,
    };
    let (per_billing, per_metric) = ROWS_PER_DAY_PER_SCALE;
    eprintln!(
        "generating {} day(s) from {} at scale {} (seed {}): about {} billing and {} metric rows",
        cfg.days,
        cfg.start,
        cfg.scale,
        cfg.seed,
        per_billing * u64::from(cfg.days) * u64::from(cfg.scale),
        if cfg.metrics {
            per_metric * u64::from(cfg.days) * u64::from(cfg.scale)
        } else {
            0
        }
    );
    let t = Instant::now();
    let summary =
        generate(&cfg).with_context(|| format!("generating into {}", cfg.out.display()))?;
    println!(
        "{:<10} {:<32} {:<18} {:>10}  path",
        "provider", "format", "view", "rows"
    );
    for f in &summary.files {
        println!(
            "{:<10} {:<32} {:<18} {:>10}  {}",
            f.provider, f.format, f.view, f.rows, f.path
        );
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "\n{} billing rows, {} metric rows in {} files under {} ({:.1} s)\nground truth: {}\nread them with: burnrate ingest {}",
        summary.billing_rows,
        summary.metric_rows,
        summary.files.len(),
        cfg.out.join("data").display(),
        secs,
        summary.manifest.display(),
        cfg.out.join("data").display()
    );
    Ok(std::process::ExitCode::SUCCESS)
}

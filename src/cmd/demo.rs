//! `burnrate demo`: a month of multi-cloud AI billing and metrics, generated, run through
//! the whole pipeline into the embedded store, and served, in one command. It then keeps
//! running like `burnrate run` on the generated folder, so files dropped in are picked up.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use burnrate::engine::Engine;
use burnrate::stores::EmbeddedReader;
use burnrate_api::AppState;
use burnrate_ingest::Options;
use burnrate_ingest::generate::{Config as GenerateConfig, generate};
use chrono::{Datelike, Days, Months, NaiveDate};
use clap::Args;

use burnrate::config::Config;

use super::live::{Live, start_webhooks};
use super::run::{Seen, Source, watch};
use super::serve::{bind, spawn_background, stop_flag};

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to serve the API.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080", value_parser = super::listen_addr)]
    listen: SocketAddr,
    /// Days of data to generate.
    #[arg(long, default_value_t = 30, value_name = "N")]
    days: u32,
    /// First UTC day generated.
    #[arg(
        long,
        default_value = "2024-03-01",
        value_name = "DATE",
        value_parser = super::utc_day
    )]
    start: NaiveDate,
    /// Timely worker threads for the pipeline.
    #[arg(value_parser = super::at_least_one, long, default_value_t = 1, value_name = "N")]
    workers: usize,
    /// Generate, ingest, print the instructions, and exit instead of serving.
    #[arg(long)]
    no_serve: bool,
}

pub fn run(args: DemoArgs, data_dir: &Path, config: &Config) -> Result<std::process::ExitCode> {
    anyhow::ensure!(args.days > 0, "--days must be at least 1");
    let listener = (!args.no_serve).then(|| bind(args.listen)).transpose()?;
    let gen_dir = data_dir.join("demo-input");
    let input = gen_dir.join("data");
    let truth = gen_dir.join("truth.json");
    // A store there without the demo's data is someone's own (BURNRATE_DATA_DIR set for
    // real exports): the generated bills would be mixed into it for good.
    anyhow::ensure!(
        truth.exists() || !data_dir.join(burnrate_sink::embedded::FILE_NAME).exists(),
        "{} holds a store that is not the demo's (it has no demo-input/truth.json); the \
         demo would add its generated bills to it. Pass another --data-dir, such as \
         --data-dir burnrate-demo",
        data_dir.display()
    );
    if truth.exists() {
        same_demo(&truth, &args)?;
        eprintln!("using the demo data already in {}", gen_dir.display());
    } else {
        eprintln!(
            "generating {} days of multi-cloud AI billing and metrics into {} ...",
            args.days,
            gen_dir.display()
        );
        let t = Instant::now();
        let mut cfg = GenerateConfig::new(&gen_dir, args.days, 1, 42);
        cfg.start = args.start;
        let summary = generate(&cfg).context("generating the demo data")?;
        eprintln!(
            "  {} billing rows and {} metric rows in {:.1} s",
            summary.billing_rows,
            summary.metric_rows,
            t.elapsed().as_secs_f64()
        );
    }
    let mut engine = Engine::start_with(data_dir, args.workers, config.recommendations.clone())
        .with_context(|| format!("opening the data directory {}", data_dir.display()))?;
    eprintln!("running the pipeline over {} ...", input.display());
    let source = Source::Folder(input.clone());
    let t = Instant::now();
    let mut seen = Seen::default();
    let stop = stop_flag();
    if !args.no_serve {
        start_webhooks(&engine, config, &stop)?;
    }
    watch(
        &mut engine,
        &source,
        &Options::default(),
        &mut seen,
        0,
        true,
        &mut Live::none(stop.clone()),
    )?;
    eprintln!(
        "  stored in {} ({:.1} s)",
        data_dir.display(),
        t.elapsed().as_secs_f64()
    );

    // The whole billing months the data covers: monthly charges (fees, tax) are spread
    // over every day of their month, past the last generated usage day.
    let last = args
        .start
        .checked_add_days(Days::new(u64::from(args.days) - 1))
        .unwrap_or(args.start);
    let from = args.start.with_day(1).unwrap_or(args.start);
    let to = last
        .with_day(1)
        .and_then(|d| d.checked_add_months(Months::new(1)))
        .and_then(|d| d.pred_opt())
        .unwrap_or(last);
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "burnrate".into());
    let mut live = Live::none(stop.clone());
    let base = match listener {
        None => format!("http://{}", args.listen),
        Some(listener) => {
            let (l, pushes) = Live::with_pushes(stop.clone());
            live = l;
            let state =
                AppState::new(Arc::new(EmbeddedReader(engine.store()))).with_metrics_ingest(pushes);
            format!("http://{}", spawn_background(listener, state)?)
        }
    };
    println!(
        "\nburnrate demo: {days} days of AWS, Azure, GCP and OCI AI spend, billed {from} to {to}.\n\
         \n\
         {open}:\n  \
         {base}/api/v1/ai-costs/summary?start_date={from}&end_date={to}\n  \
         {base}/api/v1/ai-costs/summary?start_date={from}&end_date={to}&scope=all&cost_type=effective\n  \
         {base}/api/v1/ai-costs/trends?start_date={from}&end_date={to}&granularity=weekly\n  \
         {base}/api/v1/ai-costs/summary?start_date={from}&end_date={to}&cloud_provider=aws&cloud_provider=gcp\n  \
         {base}/api/v1/recommendations\n  \
         {base}/api/v1/openapi.json\n\
         \n\
         Or, in another terminal:\n  \
         {exe} --data-dir {dir} summary --from {from} --to {to} --scope all --format table\n\
         \n\
         The generator's own totals are in {truth}.",
        days = args.days,
        open = if args.no_serve {
            format!(
                "Nothing is serving (--no-serve); `{exe} --data-dir {} serve --listen {}` answers these",
                data_dir.display(),
                args.listen
            )
        } else {
            "Open or curl".to_string()
        },
        dir = data_dir.display(),
        truth = gen_dir.join("truth.json").display(),
    );
    if args.no_serve {
        engine.close()?;
        return Ok(std::process::ExitCode::SUCCESS);
    }
    println!(
        "\nServing; files dropped into {} are picked up. Ctrl-C stops.",
        input.display()
    );
    watch(
        &mut engine,
        &source,
        &Options::default(),
        &mut seen,
        2,
        false,
        &mut live,
    )?;
    engine.close()?;
    Ok(std::process::ExitCode::SUCCESS)
}

/// Demo data already in the data directory is used again only if it is what was asked
/// for: the printed links and the store hold its dates, not the new flags'.
fn same_demo(truth: &Path, args: &DemoArgs) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Generator {
        days: u32,
        start: NaiveDate,
    }
    #[derive(serde::Deserialize)]
    struct Truth {
        generator: Generator,
    }
    let text =
        std::fs::read_to_string(truth).with_context(|| format!("reading {}", truth.display()))?;
    let had: Truth = serde_json::from_str(&text).with_context(|| {
        format!(
            "reading the demo's generator settings in {}",
            truth.display()
        )
    })?;
    let had = had.generator;
    if (had.days, had.start) != (args.days, args.start) {
        anyhow::bail!(
            "the demo data in {} covers {} days from {}, not the {} days from {} asked for; \
             run `burnrate demo --days {} --start {}` to use it, or pass another --data-dir \
             for new data",
            truth.parent().unwrap_or(truth).display(),
            had.days,
            had.start,
            args.days,
            args.start,
            had.days,
            had.start
        );
    }
    Ok(())
}

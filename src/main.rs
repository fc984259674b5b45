//! # burnrate
//!
//! The one binary: clap subcommands over the library crates. It owns composition (the
//! embedded pipeline in `engine`), configuration and presentation (progress, tables, exit
//! codes) and nothing else; every rule about bills lives in the library crates. `anyhow`
//! is used here only.

mod cmd;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Normalizing a bill allocates a few short strings per row; mimalloc roughly halves what
/// the system allocator costs for that pattern (measured in `benches/ingest.rs`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Minute-by-minute cost of AI workloads across AWS, Azure and GCP.
#[derive(Debug, Parser)]
#[command(name = "burnrate", version, about, long_about = None)]
struct Cli {
    /// The embedded store's directory (`ingest`, `run` and `demo` create it when missing;
    /// `summary` and `serve` need one that holds a store).
    #[arg(
        long,
        global = true,
        env = "BURNRATE_DATA_DIR",
        default_value = "burnrate-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    /// A TOML config file (recommendation thresholds, webhooks); every key can also be set
    /// as `BURNRATE_<SECTION>__<KEY>`. Without one, the documented defaults apply.
    #[arg(long, global = true, env = "BURNRATE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read billing exports and metrics files into the store, and report what was read.
    Ingest(cmd::ingest::IngestArgs),
    /// Generate a month of multi-cloud AI billing and metrics, run the pipeline on it and
    /// serve the API: the whole product in one command.
    Demo(cmd::demo::DemoArgs),
    /// Run the pipeline on a folder of exports, keep picking up new files dropped in, and
    /// serve the API.
    Run(cmd::run::RunArgs),
    /// Serve the HTTP API (cost summary, trends, per-resource costs, recommendations,
    /// webhook dead letters, health, metrics, OpenAPI) over the store, read-only.
    Serve(cmd::serve::ServeArgs),
    /// Print the cost summary (the same JSON as GET /api/v1/ai-costs/summary).
    Summary(cmd::summary::SummaryArgs),
    /// List the recommendations (the same JSON as GET /api/v1/recommendations).
    Recommendations(cmd::recommendations::RecommendationsArgs),
    /// Write synthetic billing exports (AWS, Azure, GCP, FOCUS) and per-minute metrics in
    /// their native formats, with a ground-truth manifest.
    Generate(cmd::generate::GenerateArgs),
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("BURNRATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // No colour codes in a log file or a container's captured output.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // Every command checks the configuration, even one that reads none of it: a typo is
    // reported wherever the file is passed, not only by the commands that use it.
    let result = burnrate::config::Config::load(cli.config.as_deref()).and_then(|config| match cli
        .command
    {
        Command::Ingest(args) => cmd::ingest::run(args, &cli.data_dir, &config),
        Command::Serve(args) => cmd::serve::run(args, &cli.data_dir),
        Command::Summary(args) => cmd::summary::run(args, &cli.data_dir),
        Command::Recommendations(args) => cmd::recommendations::run(args, &cli.data_dir),
        Command::Run(args) => cmd::run::run(args, &cli.data_dir, &config),
        Command::Demo(args) => cmd::demo::run(args, &cli.data_dir, &config),
        Command::Generate(args) => cmd::generate::run(args),
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            std::process::ExitCode::from(2)
        }
    }
}

/// An error and its causes, joined by `: ` as `{:#}` does, leaving out a cause that the
/// message before it already ends with (errors that print their source and also return
/// it as `source()`, so the OS error is not said twice).
fn error_text(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if out.ends_with(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}

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
    /// The embedded store's directory (created when missing).
    #[arg(
        long,
        global = true,
        env = "BURNRATE_DATA_DIR",
        default_value = "burnrate-data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read billing exports and metrics files into the store, and report what was read.
    Ingest(cmd::ingest::IngestArgs),
    /// Run the pipeline on a folder of exports, and keep picking up new files dropped in.
    Run(cmd::run::RunArgs),
    /// Print the cost summary (the same JSON as GET /api/v1/ai-costs/summary).
    Summary(cmd::summary::SummaryArgs),
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
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ingest(args) => cmd::ingest::run(args, &cli.data_dir),
        Command::Summary(args) => cmd::summary::run(args, &cli.data_dir),
        Command::Run(args) => cmd::run::run(args, &cli.data_dir),
        Command::Generate(args) => cmd::generate::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

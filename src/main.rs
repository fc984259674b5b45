//! # burnrate
//!
//! The one binary: clap subcommands over the library crates. It owns composition and
//! presentation (progress, tables, exit codes) and nothing else; every rule about bills
//! lives in `burnrate-ingest` and `burnrate-schemas`. `anyhow` is used here only.

mod cmd;

/// Normalizing a bill allocates a few short strings per row; mimalloc roughly halves what
/// the system allocator costs for that pattern (measured in `benches/ingest.rs`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};

/// Minute-by-minute cost of AI workloads across AWS, Azure and GCP.
#[derive(Debug, Parser)]
#[command(name = "burnrate", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read billing exports and metrics files, detect their formats, and report what was read.
    Ingest(cmd::ingest::IngestArgs),
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
        Command::Ingest(args) => cmd::ingest::run(args),
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

//! `burnrate summary --from DATE --to DATE`: the cost summary of the stored rollups, as the
//! summary endpoint's JSON or as a table.

use std::path::Path;

use anyhow::{Result, bail};
use burnrate_api::{CostQuery, CostType, Scope, Summary, summarize};
use burnrate_sink::EmbeddedStore;
use chrono::NaiveDate;
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// First UTC day, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    from: NaiveDate,
    /// Last UTC day, inclusive (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    to: NaiveDate,
    /// AI workloads only (default), or all spend.
    #[arg(long, value_enum, default_value_t = ScopeArg::Ai)]
    scope: ScopeArg,
    /// Billed (cash) or effective (amortized) cost.
    #[arg(long, value_enum, default_value_t = CostTypeArg::Billed)]
    cost_type: CostTypeArg,
    /// Only these providers (aws, azure, gcp, oci, other); repeatable.
    #[arg(long = "provider", value_name = "CODE")]
    providers: Vec<String>,
    /// Only these services (code or name); repeatable.
    #[arg(long = "service", value_name = "SERVICE")]
    services: Vec<String>,
    /// Only these accounts; repeatable.
    #[arg(long = "account", value_name = "ID")]
    accounts: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScopeArg {
    Ai,
    All,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CostTypeArg {
    Billed,
    Effective,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

pub fn run(args: SummaryArgs, data_dir: &Path) -> Result<std::process::ExitCode> {
    if args.to < args.from {
        bail!("--to {} is before --from {}", args.to, args.from);
    }
    let store = EmbeddedStore::open_read_only(data_dir)?;
    let (from, to) = (args.from, args.to);
    let rows = store.daily_cost(|k| k.day >= from && k.day <= to)?;
    let query = CostQuery {
        start: args.from,
        end: args.to,
        providers: args.providers,
        services: args.services,
        accounts: args.accounts,
        scope: match args.scope {
            ScopeArg::Ai => Scope::Ai,
            ScopeArg::All => Scope::All,
        },
        cost_type: match args.cost_type {
            CostTypeArg::Billed => CostType::Billed,
            CostTypeArg::Effective => CostType::Effective,
        },
    };
    let summary = summarize(&rows, &query);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&summary)?),
        Format::Table => print_table(&summary),
    }
    Ok(std::process::ExitCode::SUCCESS)
}

fn print_table(s: &Summary) {
    println!(
        "{} cost, {} to {} ({})",
        match s.cost_type {
            CostType::Billed => "billed",
            CostType::Effective => "effective",
        },
        s.period_start,
        s.period_end,
        match s.scope {
            Scope::Ai => "AI workloads",
            Scope::All => "all spend",
        }
    );
    match (&s.total_cost, &s.currency, &s.totals_by_currency) {
        (Some(t), Some(c), _) => println!("total: {t} {c}"),
        (_, _, Some(by)) => {
            for (c, t) in by {
                println!("total: {t} {c}");
            }
        }
        _ => println!("total: 0"),
    }
    for (title, list) in [
        ("provider", &s.breakdown_by_provider),
        ("service", &s.breakdown_by_service),
        ("category", &s.breakdown_by_category),
    ] {
        println!("\nby {title}:");
        for b in list {
            println!("  {:<44} {:>20} {}", b.name, b.cost.to_string(), b.currency);
        }
    }
}

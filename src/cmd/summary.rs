//! `burnrate summary`: the cost summary of the stored rollups, as the summary endpoint's
//! JSON or as a table.
//!
//! It reads through the same `Store` adapter, the same defaults and validation
//! (`burnrate_api::params`) and the same function (`summary_from_store`) as
//! `GET /api/v1/ai-costs/summary`, so for the same parameters it prints the same document.
//! The flags also answer to the endpoint's parameter names (`--start-date`,
//! `--cloud-provider`, ...).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Result, anyhow, bail};
use burnrate::stores::EmbeddedReader;
use burnrate_api::params::{date_range, provider_codes, today_utc};
use burnrate_api::summary::summary_from_store;
use burnrate_api::{CostQuery, CostType, Scope, Summary};
use chrono::NaiveDate;
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct SummaryArgs {
    /// First UTC day, inclusive (YYYY-MM-DD). Default: --to minus 29 days.
    #[arg(long, alias = "start-date", value_name = "DATE", value_parser = super::utc_day)]
    from: Option<NaiveDate>,
    /// Last UTC day, inclusive (YYYY-MM-DD). Default: today (UTC).
    #[arg(long, alias = "end-date", value_name = "DATE", value_parser = super::utc_day)]
    to: Option<NaiveDate>,
    /// AI workloads only (default), or all spend.
    #[arg(long, value_enum, default_value_t = ScopeArg::Ai)]
    scope: ScopeArg,
    /// Billed (cash) or effective (amortized) cost.
    #[arg(long, value_enum, default_value_t = CostTypeArg::Billed)]
    cost_type: CostTypeArg,
    /// Only these providers (aws, azure, gcp, oci, other); repeatable.
    #[arg(
        long = "provider",
        alias = "cloud-provider",
        value_name = "CODE",
        value_parser = super::provider_code
    )]
    providers: Vec<String>,
    /// Only these services (code or name); repeatable.
    #[arg(long = "service", alias = "service-type", value_name = "SERVICE")]
    services: Vec<String>,
    /// Only these accounts; repeatable.
    #[arg(long = "account", alias = "account-id", value_name = "ID")]
    accounts: Vec<String>,
    /// JSON (what the summary endpoint answers) or a table to read.
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
    if let Some(from) = args.from {
        match args.to {
            Some(to) if to < from => bail!("--to {to} is before --from {from}"),
            None if today_utc() < from => bail!(
                "--from {from} is after today ({}, the default --to); pass --to as well",
                today_utc()
            ),
            _ => {}
        }
    }
    let (start, end) =
        date_range(args.from, args.to, today_utc()).map_err(|e| anyhow!(e.0.detail))?;
    let query = CostQuery {
        start,
        end,
        providers: provider_codes(args.providers).map_err(|e| anyhow!(e.0.detail))?,
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
    let store = EmbeddedReader::open_existing(data_dir)?;
    let summary = summary_from_store(&store, &query)?;
    if summary.breakdown_by_provider.is_empty() {
        // The document stays as the endpoint's; the hint goes to stderr.
        let mut hint = empty_hint(&query, store.day_span(query.start, query.end)?, data_dir);
        if !query.services.is_empty() {
            // A service name mistyped or guessed: name the ones there are.
            let others = CostQuery {
                services: Vec::new(),
                ..query.clone()
            };
            let there = summary_from_store(&store, &others)?;
            hint.push_str(&services_hint(&there));
        }
        eprintln!("{hint}");
    }
    let text = match args.format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&summary)?),
        Format::Table => table(&summary),
    };
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Why a summary is empty, and what to pass instead: the days the store holds (`span`,
/// first and last), or that it holds none.
fn empty_hint(
    q: &CostQuery,
    span: Option<(NaiveDate, NaiveDate, bool)>,
    data_dir: &Path,
) -> String {
    let (start, end) = (q.start, q.end);
    match span {
        None => format!(
            "hint: the store in {} holds no cost rows yet; read your exports first \
             (`burnrate ingest PATH` or `burnrate run --input DIR`)",
            data_dir.display()
        ),
        Some((first, last, _)) if last < start || first > end => format!(
            "hint: no cost rows from {start} to {end}; the store holds UTC days {first} to \
             {last}: pass --from {first} --to {last}"
        ),
        // Days on both sides, none inside: a gap, not the filters.
        Some((first, last, false)) => format!(
            "hint: the store holds no cost rows from {start} to {end} (a gap in the UTC days \
             {first} to {last} it holds): pass --from/--to to choose others"
        ),
        Some((first, last, true)) => format!(
            "hint: no cost rows from {start} to {end} match --scope/--provider/--service/\
             --account (--scope all counts all spend); the store holds UTC days {first} to \
             {last}: pass --from/--to to choose others"
        ),
    }
}

/// The services the other filters select, for a `--service` that matched none (names as
/// `--service` takes them, in any case; the first 20).
fn services_hint(there: &Summary) -> String {
    let mut names: Vec<&str> = there
        .breakdown_by_service
        .iter()
        .map(|b| b.name.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.is_empty() {
        return String::new();
    }
    let more = names.len().saturating_sub(20);
    names.truncate(20);
    let mut out = format!(
        "\nhint: --service takes a service name or code (any case); the services there are: {}",
        names.join(", ")
    );
    if more > 0 {
        let _ = write!(out, " and {more} more");
    }
    out
}

fn table(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
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
        (Some(t), Some(c), _) => {
            let _ = writeln!(out, "total: {t} {c}");
        }
        (_, _, Some(by)) => {
            for (c, t) in by {
                let _ = writeln!(out, "total: {t} {c}");
            }
        }
        _ => {
            let _ = writeln!(out, "total: 0");
        }
    }
    let lists = [
        ("provider", &s.breakdown_by_provider),
        ("service", &s.breakdown_by_service),
        ("category", &s.breakdown_by_category),
    ];
    // Columns as wide as their longest entry (a service name can pass 44 characters).
    let entries = || lists.iter().flat_map(|(_, l)| l.iter());
    let name_w = entries()
        .map(|b| b.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(44);
    let cost_w = entries()
        .map(|b| b.cost.to_string().len())
        .max()
        .unwrap_or(0)
        .max(20);
    for (title, list) in lists {
        let _ = writeln!(out, "\nby {title}:");
        for b in list {
            let _ = writeln!(
                out,
                "  {:<name_w$} {:>cost_w$} {}",
                b.name,
                b.cost.to_string(),
                b.currency
            );
        }
    }
    out
}

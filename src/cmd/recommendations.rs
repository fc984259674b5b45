//! `burnrate recommendations`: the recommendation list of the store, as the list
//! endpoint's JSON or as a table.
//!
//! The flags become the endpoint's query parameters and go through the same parser
//! (`RecommendationQuery::parse`, `Page::parse`) and the same selection (`select`) as
//! `GET /api/v1/recommendations`, so for the same parameters it prints the same document
//! and refuses the same values with the same words.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Result, anyhow};
use burnrate::stores::EmbeddedReader;
use burnrate_api::Store;
use burnrate_api::params::{Page, RawParams};
use burnrate_api::recommendations::{RecommendationList, RecommendationQuery, select};
use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct RecommendationsArgs {
    /// Only these providers (aws, azure, gcp, oci, other); repeatable.
    #[arg(long = "provider", alias = "cloud-provider", value_name = "CODE")]
    providers: Vec<String>,
    /// Only these types (rightsize, purchase_commitment, schedule, autoscale,
    /// decommission, scale_to_zero); repeatable.
    #[arg(long = "type", alias = "recommendation-type", value_name = "TYPE")]
    types: Vec<String>,
    /// Only these priorities (low, medium, high); repeatable.
    #[arg(long = "priority", value_name = "PRIORITY")]
    priorities: Vec<String>,
    /// Only these statuses (pending, accepted, rejected, implemented, dismissed);
    /// repeatable.
    #[arg(long = "status", value_name = "STATUS")]
    statuses: Vec<String>,
    /// active (default), withdrawn, expired or all; repeatable.
    #[arg(long = "state", value_name = "STATE")]
    states: Vec<String>,
    /// Only those saving at least this much a month, in their own currency.
    #[arg(long, value_name = "AMOUNT", allow_hyphen_values = true)]
    min_savings: Option<String>,
    /// At most this many (1 to 1000; default 100).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    limit: Option<String>,
    /// Skip this many (the previous page's next_offset).
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    offset: Option<String>,
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Json,
    Table,
}

impl RecommendationsArgs {
    /// The flags as the endpoint's query parameters.
    fn params(self) -> (RawParams, Format) {
        let mut pairs = Vec::new();
        let mut add = |name: &str, values: Vec<String>| {
            pairs.extend(values.into_iter().map(|v| (name.to_string(), v)));
        };
        add("cloud_provider", self.providers);
        add("recommendation_type", self.types);
        add("priority", self.priorities);
        add("status", self.statuses);
        add("state", self.states);
        add("min_savings", self.min_savings.into_iter().collect());
        add("limit", self.limit.into_iter().collect());
        add("offset", self.offset.into_iter().collect());
        (RawParams::from_pairs(pairs), self.format)
    }
}

/// The endpoint's parameter names as this command's flags, for error messages: the
/// names that are no plain words anywhere, the others where a message names its
/// parameter (`limit must be ...`, `state may be given once`).
fn flag_words(detail: &str) -> String {
    let detail = [
        ("cloud_provider", "--provider"),
        ("recommendation_type", "--type"),
        ("min_savings", "--min-savings"),
    ]
    .iter()
    .fold(detail.to_string(), |d, (param, flag)| {
        d.replace(param, flag)
    });
    for param in ["limit", "offset", "state", "status", "priority"] {
        for verb in [" must ", " may "] {
            if let Some(rest) = detail.strip_prefix(&format!("{param}{verb}")) {
                return format!("--{param}{verb}{rest}");
            }
        }
    }
    detail
}

pub fn run(args: RecommendationsArgs, data_dir: &Path) -> Result<std::process::ExitCode> {
    let (params, format) = args.params();
    let usage = |e: burnrate_api::AppError| anyhow!(flag_words(&e.0.detail));
    let query = RecommendationQuery::parse(&params).map_err(usage)?;
    let page = Page::parse(&params).map_err(usage)?;
    let store = EmbeddedReader::open_existing(data_dir)?;
    let stored = store.recommendations()?;
    let count = stored.len();
    let list = select(stored, &query, page);
    if list.total_count == 0 {
        // The document stays as the endpoint's; the hint goes to stderr.
        eprintln!("{}", empty_hint(count));
    }
    let text = match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&list)?),
        Format::Table => table(&list),
    };
    // A reader that stops early (`| head`) is not an error.
    match std::io::stdout().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => return Err(e.into()),
        _ => {}
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// Why the list is empty, given how many recommendations the store holds in all.
fn empty_hint(stored: usize) -> String {
    if stored == 0 {
        "hint: the store holds no recommendations yet; they come from per-minute metrics \
         (metrics files read by `burnrate ingest` or `run`, or POST /api/v1/metrics) of \
         resources the bills name, with enough coverage of the window (see the README's \
         Recommendations)"
            .to_string()
    } else {
        format!(
            "hint: none of the {stored} stored recommendations match; --state is active \
             unless given (--state all lists withdrawn and expired ones too)"
        )
    }
}

fn table(list: &RecommendationList) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<22} {:<6} {:<20} {:<8} {:<11} {:>14} {:<4} resource",
        "id", "cloud", "type", "priority", "status", "savings/month", ""
    );
    for r in &list.recommendations {
        let f = &r.finding;
        let _ = writeln!(
            out,
            "{:<22} {:<6} {:<20} {:<8} {:<11} {:>14} {:<4} {}",
            r.id,
            f.provider.code(),
            f.kind.code(),
            f.priority.code(),
            r.status.code(),
            f.estimated_monthly_savings.to_string(),
            f.currency,
            f.resource_id
        );
    }
    let shown = list.recommendations.len();
    let _ = write!(out, "{shown} of {}", list.total_count);
    if let Some(next) = list.next_offset {
        let _ = write!(out, " (next page: --offset {next})");
    }
    let _ = writeln!(out);
    for (currency, total) in &list.total_monthly_savings_by_currency {
        let _ = writeln!(out, "savings/month, all selected: {total} {currency}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every refused flag is named as a flag, as `--min-savings` always was.
    #[test]
    fn refusals_name_the_flags() {
        let refusal = |pairs: &[(&str, &str)]| {
            let params = RawParams::from_pairs(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
            let e = match RecommendationQuery::parse(&params) {
                Err(e) => e,
                Ok(_) => Page::parse(&params).expect_err("refused"),
            };
            flag_words(&e.0.detail)
        };
        assert!(refusal(&[("limit", "0")]).starts_with("--limit must be"));
        assert!(refusal(&[("offset", "x")]).starts_with("--offset must be"));
        assert!(refusal(&[("state", "bogus")]).starts_with("--state must be one of"));
        assert!(refusal(&[("status", "bogus")]).starts_with("--status must be one of"));
        assert!(refusal(&[("priority", "x")]).starts_with("--priority must be one of"));
        assert!(refusal(&[("min_savings", "x")]).starts_with("--min-savings must be"));
        assert!(
            refusal(&[("limit", "1"), ("limit", "2")]).starts_with("--limit may be given once")
        );
    }
}

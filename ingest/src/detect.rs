//! Format detection: from the bytes at the start of a file, and then from its header.
//!
//! Detection never trusts the file name. Gzip is recognized by its magic bytes, Parquet by
//! `PAR1`, JSON by its first character; everything else is tried as CSV and recognized by
//! header names, asking each source in turn (`sniff`). A file no source claims is an
//! `UnknownFormat` error that says what was seen.

use std::fmt;

use serde::Serialize;

use crate::table::Header;
use crate::{aws_cur, azure_cost, focus, gcp_billing, metrics, oci_cost};

/// A recognized input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Format {
    /// AWS legacy CUR, `lineItem/UnblendedCost` style headers.
    AwsCurLegacy,
    /// AWS legacy CUR in Athena / Parquet snake_case (`line_item_unblended_cost`).
    AwsCurAthena,
    /// AWS CUR 2.0 (Data Exports), snake_case with `product` / `resource_tags` maps.
    AwsCur2,
    /// An AWS CUR `-Manifest.json`, read together with the report files it lists.
    AwsCurManifest,
    /// Azure Cost Management export, EA column set (either spelling).
    AzureEa,
    /// Azure Cost Management export, MCA camelCase column set.
    AzureMca,
    /// Azure pay-as-you-go / legacy usage export.
    AzurePayg,
    /// GCP BigQuery billing export as newline-delimited JSON.
    GcpBillingJsonl,
    /// GCP BigQuery billing export flattened to CSV (`service.description`, ...).
    GcpBillingCsv,
    /// FOCUS 1.0 / 1.1 / 1.2, any provider.
    Focus,
    /// Oracle Cloud native cost report.
    OciCost,
    /// Per-minute inference metrics as CSV.
    MetricsCsv,
    /// Per-minute inference metrics as JSON lines.
    MetricsJsonl,
    /// Prometheus text exposition (vLLM, TGI, Triton, DCGM exporters).
    Prometheus,
    /// CloudWatch `GetMetricData` JSON or Metric Streams JSON lines.
    CloudWatchJson,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::AwsCurLegacy => "AWS CUR (legacy)",
            Format::AwsCurAthena => "AWS CUR (Athena snake_case)",
            Format::AwsCur2 => "AWS CUR 2.0",
            Format::AwsCurManifest => "AWS CUR manifest",
            Format::AzureEa => "Azure cost export (EA)",
            Format::AzureMca => "Azure cost export (MCA)",
            Format::AzurePayg => "Azure cost export (pay-as-you-go)",
            Format::GcpBillingJsonl => "GCP billing export (JSON lines)",
            Format::GcpBillingCsv => "GCP billing export (flat CSV)",
            Format::Focus => "FOCUS",
            Format::OciCost => "OCI cost report",
            Format::MetricsCsv => "inference metrics (CSV)",
            Format::MetricsJsonl => "inference metrics (JSON lines)",
            Format::Prometheus => "Prometheus exposition",
            Format::CloudWatchJson => "CloudWatch metrics (JSON)",
        })
    }
}

/// How the bytes were packaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Container {
    Plain,
    Gzip,
    Parquet,
}

/// A tabular header's format, asking each source in a fixed order. FOCUS goes first: a
/// provider's FOCUS export (Azure's carries `x_` columns of its own) is FOCUS, not native.
pub fn sniff_table(header: &Header) -> Option<Format> {
    focus::sniff(header)
        .or_else(|| aws_cur::sniff(header))
        .or_else(|| oci_cost::sniff(header))
        .or_else(|| gcp_billing::sniff(header))
        .or_else(|| azure_cost::sniff(header))
        .or_else(|| metrics::sniff(header))
}

/// The format of a JSON document or JSON-lines file from its first value.
pub fn sniff_json(first: &serde_json::Value) -> Option<Format> {
    aws_cur::sniff_json(first)
        .or_else(|| gcp_billing::sniff_json(first))
        .or_else(|| metrics::sniff_json(first))
}

/// Whether text looks like a Prometheus exposition.
pub fn looks_like_prometheus(prefix: &str) -> bool {
    metrics::looks_like_prometheus(prefix)
}

/// What an "unknown format" error says of a text file that is neither JSON nor a
/// Prometheus exposition: its CSV header, when its first line reads as one, or else
/// plainly its first line (a YAML or INI file, notes, a single word), not calling it CSV.
/// `prefix` is the file's first bytes (after any decompression).
pub fn describe_text(prefix: &[u8], header: Option<&Header>) -> String {
    let first_line = first_line(prefix);
    if first_line.contains('\0') || first_line.contains('\u{fffd}') {
        return format!("binary, not text: first bytes {}", shown(&first_line, 24));
    }
    match header {
        Some(h) if h.names().len() > 1 && !looks_like_config(&first_line) => describe_header(h),
        _ => format!("first line {}", shown(&first_line, 80)),
    }
}

/// The first line of `prefix` (a byte order mark and leading blank lines left out).
fn first_line(prefix: &[u8]) -> String {
    let text = String::from_utf8_lossy(prefix);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.lines().next().unwrap_or("").trim_end().to_string()
}

/// At most `max` characters of `s`, quoted, control characters escaped.
fn shown(s: &str, max: usize) -> String {
    let n = s.chars().count();
    let cut: String = s.chars().take(max).collect();
    if n > max {
        format!("{cut:?}... ({n} characters)")
    } else {
        format!("{cut:?}")
    }
}

/// Whether a first line holding commas is a configuration or markup line rather than a
/// CSV header: a YAML document start, mapping key (`key: value`) or sequence item, a
/// comment, an INI section, an XML or HTML tag.
fn looks_like_config(line: &str) -> bool {
    let t = line.trim_start();
    if t.starts_with("---")
        || t.starts_with('#')
        || t.starts_with("- ")
        || t.starts_with('<')
        || (t.starts_with('[') && t.trim_end().ends_with(']'))
    {
        return true;
    }
    // `key:` followed by a space or the line end, the key one bare word.
    t.split_once(':').is_some_and(|(key, rest)| {
        !key.is_empty()
            && key
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
            && (rest.is_empty() || rest.starts_with([' ', '\t']))
    })
}

/// A short description of a header for "unknown format" errors.
pub fn describe_header(header: &Header) -> String {
    let names = header.names();
    let shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
    let more = if names.len() > 6 {
        format!(", ... ({} columns)", names.len())
    } else {
        String::new()
    };
    format!("CSV header starts {}{}", shown.join(", "), more)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn described(text: &str) -> String {
        let header = crate::table::sniff_csv_header(text.as_bytes());
        describe_text(text.as_bytes(), header.as_ref())
    }

    #[test]
    fn text_that_is_not_csv_is_described_by_its_first_line() {
        // YAML: a mapping key, also with commas in its value (two CSV fields).
        assert_eq!(
            described("address: 1.2.3.4\nport: 80\n"),
            "first line \"address: 1.2.3.4\""
        );
        assert_eq!(described("tags: [a, b]\n"), "first line \"tags: [a, b]\"");
        assert_eq!(described("\u{feff}\n---\nkey: v\n"), "first line \"---\"");
        assert_eq!(
            described("[server]\nhost = a, b\n"),
            "first line \"[server]\""
        );
        // One word: one CSV field is no header of any export.
        assert_eq!(described("hello\n"), "first line \"hello\"");
        // A long line is cut at 80 characters, and its length given.
        let long = "x".repeat(100);
        assert_eq!(
            described(&format!("{long}\n")),
            format!("first line \"{}\"... (100 characters)", "x".repeat(80))
        );
        assert_eq!(
            described("PK\u{3}\u{4}\0\0junk\n"),
            "binary, not text: first bytes \"PK\\u{3}\\u{4}\\0\\0junk\""
        );
    }

    #[test]
    fn a_csv_header_is_still_described_as_one() {
        assert_eq!(described("a,b,c\n1,2,3\n"), "CSV header starts a, b, c");
        assert_eq!(
            described("k1,k2,k3,k4,k5,k6,k7\n"),
            "CSV header starts k1, k2, k3, k4, k5, k6, ... (7 columns)"
        );
    }
}

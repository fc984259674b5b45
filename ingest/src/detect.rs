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

//! Pure row → `MetricSample` logic for the per-minute CSV and JSON-lines forms.

use burnrate_schemas::{MAX_UTILIZATION_PCT, MetricSample, Provider, RowRef};
use chrono::{DateTime, Utc};

use super::columns::MetricColumns;
use crate::error::RowError;
use crate::table::{Col, Row};
use crate::value;
/// The start of the UTC minute `t` falls in.
pub fn truncate_to_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    let secs = t.timestamp().div_euclid(60) * 60;
    DateTime::from_timestamp(secs, 0).unwrap_or(t)
}

/// A time as the metric forms write it: any form `value::timestamp` reads, or Unix epoch
/// seconds (a number from 10^9, i.e. 2001), or epoch milliseconds (from 10^11, which as
/// seconds would be past the year 5000). Smaller numbers are left to `value::timestamp`,
/// which reads `YYYYMMDD`.
pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = text.trim();
    let epoch = t
        .bytes()
        .all(|b| b.is_ascii_digit() || b == b'.')
        .then(|| t.parse::<f64>().ok())
        .flatten()
        .filter(|n| *n >= 1e9);
    if let Some(n) = epoch {
        let ms = if n >= 1e11 { n } else { n * 1000.0 };
        return DateTime::from_timestamp_millis(ms.round() as i64)
            .ok_or_else(|| format!("time out of range: {t:?}"));
    }
    value::timestamp(t)?.ok_or_else(|| "the time is empty".to_string())
}

/// The provider named by a free-text cell. Unknown names are `Other`, not an error: the
/// provider is context, not a measurement.
pub fn provider_from_text(text: &str) -> Provider {
    let t = text.to_ascii_lowercase();
    if ["aws", "amazon", "sagemaker", "bedrock"]
        .iter()
        .any(|w| t.contains(w))
    {
        Provider::Aws
    } else if ["azure", "microsoft"].iter().any(|w| t.contains(w)) {
        Provider::Azure
    } else if ["gcp", "google", "vertex"].iter().any(|w| t.contains(w)) {
        Provider::Gcp
    } else if ["oci", "oracle"].iter().any(|w| t.contains(w)) {
        Provider::Oci
    } else {
        Provider::Other
    }
}

/// True when the sample measured anything at all.
pub fn has_measurement(s: &MetricSample) -> bool {
    [
        s.replicas,
        s.requests,
        s.errors,
        s.input_tokens,
        s.output_tokens,
        s.latency_p50_ms,
        s.latency_p95_ms,
        s.gpu_utilization_pct,
        s.gpu_memory_utilization_pct,
        s.cpu_utilization_pct,
        s.memory_utilization_pct,
    ]
    .iter()
    .any(Option::is_some)
}

fn count(row: &Row<'_>, col: Col) -> Result<Option<f64>, RowError> {
    match row.float(col)? {
        Some(v) if v < 0.0 => Err(row.error(col, format!("a count cannot be negative: {v}"))),
        v => Ok(v),
    }
}

fn latency(row: &Row<'_>, col: Col) -> Result<Option<f64>, RowError> {
    match row.float(col)? {
        Some(v) if v < 0.0 => Err(row.error(col, format!("a latency cannot be negative: {v}"))),
        v => Ok(v),
    }
}

fn percent(row: &Row<'_>, col: Col) -> Result<Option<f64>, RowError> {
    match row.float(col)? {
        Some(v) if !(0.0..=MAX_UTILIZATION_PCT).contains(&v) => Err(row.error(
            col,
            format!("utilization {v} is outside 0..={MAX_UTILIZATION_PCT} percent"),
        )),
        v => Ok(v),
    }
}

/// One row of the per-minute form. `Ok(None)` when the row measures nothing (a minute
/// with no data has no sample). Empty cells are `None`, never 0.
pub fn sample(
    row: &Row<'_>,
    cols: &MetricColumns,
    row_ref: RowRef,
) -> Result<Option<MetricSample>, RowError> {
    let resource = row.required_text(cols.resource, "the resource id")?;
    let time = row.required_text(cols.timestamp, "the timestamp")?;
    let at = parse_time(time).map_err(|r| row.error(cols.timestamp, r))?;
    let mut s = MetricSample::empty(resource.to_string(), truncate_to_minute(at), row_ref);
    s.provider = row.text(cols.provider).map(provider_from_text);
    s.model = row.string(cols.model);
    s.accelerator = row.string(cols.accelerator);
    s.replicas = count(row, cols.replicas)?;
    s.requests = count(row, cols.requests)?;
    s.errors = count(row, cols.errors)?;
    s.input_tokens = count(row, cols.input_tokens)?;
    s.output_tokens = count(row, cols.output_tokens)?;
    s.latency_p50_ms = latency(row, cols.latency_p50_ms)?;
    s.latency_p95_ms = latency(row, cols.latency_p95_ms)?;
    s.gpu_utilization_pct = percent(row, cols.gpu_utilization_pct)?;
    s.gpu_memory_utilization_pct = percent(row, cols.gpu_memory_utilization_pct)?;
    s.cpu_utilization_pct = percent(row, cols.cpu_utilization_pct)?;
    s.memory_utilization_pct = percent(row, cols.memory_utilization_pct)?;
    Ok(has_measurement(&s).then_some(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Header;
    use csv::StringRecord;

    fn run(header: &str, cells: &str) -> Result<Option<MetricSample>, RowError> {
        let header = Header::new(header.split(','));
        let record = StringRecord::from(cells.split(',').collect::<Vec<_>>());
        let row = Row {
            record: &record,
            header: &header,
            file: "m.csv",
            number: 4,
        };
        let cols = MetricColumns::resolve(&header);
        sample(
            &row,
            &cols,
            RowRef {
                file: "m.csv".into(),
                row: 4,
            },
        )
    }

    const H: &str = "timestamp,endpoint_id,accelerator,requests,gpu_utilization_pct,latency_p95_ms";

    #[test]
    fn empty_is_none_and_zero_is_zero() {
        let s = run(H, "2024-03-05T10:00:42Z,ep-a,none,0,,")
            .expect("ok")
            .expect("sample");
        assert_eq!(s.resource_id, "ep-a");
        assert_eq!(s.minute.to_rfc3339(), "2024-03-05T10:00:00+00:00");
        assert_eq!(s.requests, Some(0.0));
        assert_eq!(s.gpu_utilization_pct, None);
        assert_eq!(s.latency_p95_ms, None);
        assert!(s.is_cpu_only());
    }

    #[test]
    fn aliases_and_epoch_times() {
        let s = run(
            "Minute,EndpointName,Invocations,GPUUtilization,provider",
            "1709632800000,ep-b,12,250,AWS",
        )
        .expect("ok")
        .expect("sample");
        assert_eq!(s.minute.to_rfc3339(), "2024-03-05T10:00:00+00:00");
        assert_eq!(s.requests, Some(12.0));
        assert_eq!(s.gpu_utilization_pct, Some(250.0), "4 GPUs may read 250 %");
        assert_eq!(s.provider, Some(Provider::Aws));
        let t = run("time,endpoint,requests", "1709632860,ep-b,1")
            .expect("ok")
            .expect("sample");
        assert_eq!(t.minute.to_rfc3339(), "2024-03-05T10:01:00+00:00");
    }

    #[test]
    fn bad_values_name_their_column() {
        let e = run(H, "2024-03-05T10:00:00Z,ep-a,l4,-3,50,").expect_err("negative");
        assert_eq!(e.column.as_deref(), Some("requests"));
        assert_eq!(e.row, 4);
        // 100 per core or device over at most 256 of them: 25,600.
        let e = run(H, "2024-03-05T10:00:00Z,ep-a,l4,3,25601,").expect_err("too high");
        assert_eq!(e.column.as_deref(), Some("gpu_utilization_pct"));
        let e = run(H, "yesterday,ep-a,l4,3,50,").expect_err("time");
        assert_eq!(e.column.as_deref(), Some("timestamp"));
        let e = run(H, "2024-03-05T10:00:00Z,,l4,3,50,").expect_err("resource");
        assert_eq!(e.column.as_deref(), Some("endpoint_id"));
        let e = run(H, "2024-03-05T10:00:00Z,ep-a,l4,3,50,-1").expect_err("latency");
        assert_eq!(e.column.as_deref(), Some("latency_p95_ms"));
    }

    #[test]
    fn a_row_that_measures_nothing_has_no_sample() {
        assert_eq!(run(H, "2024-03-05T10:00:00Z,ep-a,l4,,,"), Ok(None));
    }
}

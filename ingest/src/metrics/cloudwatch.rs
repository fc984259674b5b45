//! CloudWatch metrics of SageMaker endpoints: `GetMetricData` JSON and Metric Streams JSON
//! lines. See the conventions in `mod.rs`. Every value becomes a point keyed by (endpoint,
//! minute, variant, measure); points are buffered per file (a repeat of a key replaces the
//! earlier point: Metric Streams deliver at least once) and folded into one sample per
//! endpoint and minute, sorted by (endpoint, minute).

use std::collections::BTreeMap;

use burnrate_schemas::{MetricSample, Provider, RowRef};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::normalize::{parse_time, truncate_to_minute};
use crate::error::RowError;
use crate::report::Out;

/// What a CloudWatch metric (with its statistic) measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Measure {
    Requests,
    Errors4xx,
    Errors5xx,
    /// `ModelLatency` Average: stands in for the median when no p50 is given.
    LatencyMean,
    LatencyP50,
    LatencyP95,
    Cpu,
    Memory,
    Gpu,
    GpuMemory,
}

/// Namespaces whose metrics are read.
pub const NAMESPACES: [&str; 2] = ["AWS/SageMaker", "/aws/sagemaker/Endpoints"];

/// The metric names read (the rest are skipped).
pub const METRICS: [&str; 8] = [
    "Invocations",
    "Invocation4XXErrors",
    "Invocation5XXErrors",
    "ModelLatency",
    "CPUUtilization",
    "MemoryUtilization",
    "GPUUtilization",
    "GPUMemoryUtilization",
];

/// The measure of a metric and statistic, or why it is not used. A missing statistic is
/// the one the metric is meant to be read with (Sum for counts, Average otherwise).
pub fn measure(metric: &str, stat: Option<&str>) -> Result<Measure, String> {
    let stat = stat.map(str::to_ascii_lowercase);
    let stat = stat.as_deref();
    let sum = matches!(stat, None | Some("sum"));
    let avg = matches!(stat, None | Some("average") | Some("avg"));
    let m = match metric {
        "Invocations" if sum => Measure::Requests,
        "Invocation4XXErrors" if sum => Measure::Errors4xx,
        "Invocation5XXErrors" if sum => Measure::Errors5xx,
        "ModelLatency" if avg => Measure::LatencyMean,
        "ModelLatency" if stat == Some("p50") => Measure::LatencyP50,
        "ModelLatency" if stat == Some("p95") => Measure::LatencyP95,
        "CPUUtilization" if avg => Measure::Cpu,
        "MemoryUtilization" if avg => Measure::Memory,
        "GPUUtilization" if avg => Measure::Gpu,
        "GPUMemoryUtilization" if avg => Measure::GpuMemory,
        m if METRICS.contains(&m) => {
            return Err(format!(
                "CloudWatch {m} with statistic {} is not used",
                stat.unwrap_or("?")
            ));
        }
        _ => return Err("CloudWatch metric not used".into()),
    };
    Ok(m)
}

/// Milliseconds per unit of a latency metric. CloudWatch's SageMaker latencies are in
/// microseconds; Metric Streams say so in `unit`, `GetMetricData` does not.
fn latency_ms_per_unit(unit: Option<&str>) -> f64 {
    match unit {
        Some("Milliseconds") => 1.0,
        Some("Seconds") => 1000.0,
        _ => 0.001,
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Mean {
    sum: f64,
    n: u32,
}

#[derive(Debug, Default)]
struct Group {
    counts: [Option<f64>; 3],
    means: BTreeMap<Measure, Mean>,
    row: u64,
}

/// (endpoint, minute, variant, measure): the identity of one point.
type PointKey = (String, DateTime<Utc>, String, Measure);

/// Points of one file, before they are folded into samples. Values carry their row.
#[derive(Debug, Default)]
pub struct Points {
    map: BTreeMap<PointKey, (f64, u64)>,
}

impl Points {
    pub fn put(
        &mut self,
        endpoint: &str,
        variant: &str,
        at: DateTime<Utc>,
        m: Measure,
        v: f64,
        row: u64,
    ) {
        self.map.insert(
            (
                endpoint.to_string(),
                truncate_to_minute(at),
                variant.to_string(),
                m,
            ),
            (v, row),
        );
    }

    /// One sample per endpoint and minute. Variants of one endpoint are folded: counts
    /// add, percentages and latencies are the mean of the variants' values.
    pub fn into_samples(self, file: &str) -> Vec<MetricSample> {
        let mut groups: BTreeMap<(String, DateTime<Utc>), Group> = BTreeMap::new();
        for ((endpoint, minute, _variant, m), (v, row)) in self.map {
            let g = groups.entry((endpoint, minute)).or_insert_with(|| Group {
                row,
                ..Group::default()
            });
            g.row = g.row.min(row);
            let count_slot = match m {
                Measure::Requests => Some(0),
                Measure::Errors4xx => Some(1),
                Measure::Errors5xx => Some(2),
                _ => None,
            };
            match count_slot {
                Some(i) => g.counts[i] = Some(g.counts[i].unwrap_or(0.0) + v),
                None => {
                    let mean = g.means.entry(m).or_default();
                    mean.sum += v;
                    mean.n += 1;
                }
            }
        }
        groups
            .into_iter()
            .map(|((endpoint, minute), g)| {
                let mean = |m: Measure| {
                    g.means
                        .get(&m)
                        .filter(|x| x.n > 0)
                        .map(|x| x.sum / f64::from(x.n))
                };
                let mut s = MetricSample::empty(
                    endpoint,
                    minute,
                    RowRef {
                        file: file.to_string(),
                        row: g.row,
                    },
                );
                s.provider = Some(Provider::Aws);
                s.requests = g.counts[0];
                s.errors = match (g.counts[1], g.counts[2]) {
                    (None, None) => None,
                    (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
                };
                s.latency_p50_ms = mean(Measure::LatencyP50).or(mean(Measure::LatencyMean));
                s.latency_p95_ms = mean(Measure::LatencyP95);
                s.cpu_utilization_pct = mean(Measure::Cpu);
                s.memory_utilization_pct = mean(Measure::Memory);
                s.gpu_utilization_pct = mean(Measure::Gpu);
                s.gpu_memory_utilization_pct = mean(Measure::GpuMemory);
                s
            })
            .collect()
    }
}

fn row_error(file: &str, row: u64, column: &str, reason: impl Into<String>) -> RowError {
    RowError {
        file: file.to_string(),
        row,
        column: Some(column.to_string()),
        reason: reason.into(),
    }
}

/// A CloudWatch time: ISO text, or epoch seconds/milliseconds as a number or text.
fn time_of(v: &Value) -> Result<DateTime<Utc>, String> {
    match v {
        Value::String(s) => parse_time(s),
        Value::Number(n) => parse_time(&n.to_string()),
        other => Err(format!("not a time: {other}")),
    }
}

/// A measured value: finite and not negative (counts, latencies and percentages all are).
fn checked(v: f64, what: &str) -> Result<f64, String> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!(
            "{what} must be a finite number not below 0, got {v}"
        ))
    }
}

/// The parts of a `GetMetricData` label: endpoint, variant, metric, statistic.
pub fn parse_label(label: &str) -> Option<(&str, &str, &str, Option<&str>)> {
    let tokens: Vec<&str> = label.split_whitespace().collect();
    let at = tokens.iter().rposition(|t| METRICS.contains(t))?;
    let stat = match tokens.len() - at {
        1 => None,
        2 => Some(tokens[at + 1]),
        _ => return None,
    };
    match at {
        1 => Some((tokens[0], "", tokens[1], stat)),
        2 => Some((tokens[0], tokens[1], tokens[2], stat)),
        _ => None,
    }
}

/// Reads a `GetMetricData` response (or an array of paged responses). Rows are data
/// points, numbered in file order; a result that cannot be read at all counts as one row.
pub fn read_get_metric_data(doc: &Value, file: &str, points: &mut Points, out: &mut Out<'_>) {
    let pages: Vec<&Value> = match doc {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut row = 0u64;
    for page in pages {
        let Some(results) = page.get("MetricDataResults").and_then(Value::as_array) else {
            row += 1;
            out.report.rows_read += 1;
            out.reject(row_error(
                file,
                row,
                "MetricDataResults",
                "no MetricDataResults array",
            ));
            continue;
        };
        for (i, r) in results.iter().enumerate() {
            let where_ = |field: &str| format!("MetricDataResults[{i}].{field}");
            let times = r.get("Timestamps").and_then(Value::as_array);
            let values = r.get("Values").and_then(Value::as_array);
            let (Some(times), Some(values)) = (times, values) else {
                row += 1;
                out.report.rows_read += 1;
                out.reject(row_error(
                    file,
                    row,
                    &where_("Values"),
                    "Timestamps and Values must be arrays",
                ));
                continue;
            };
            if times.len() != values.len() {
                row += 1;
                out.report.rows_read += 1;
                out.reject(row_error(
                    file,
                    row,
                    &where_("Values"),
                    format!("{} Timestamps but {} Values", times.len(), values.len()),
                ));
                continue;
            }
            let status = r
                .get("StatusCode")
                .and_then(Value::as_str)
                .unwrap_or("Complete");
            let label = r
                .get("Label")
                .and_then(Value::as_str)
                .filter(|l| !l.trim().is_empty());
            let parsed = label.map(|l| (l, parse_label(l)));
            let first_row = row + 1;
            let rows = times.len().max(1) as u64;
            row += rows;
            out.report.rows_read += rows;
            let skip_all = |out: &mut Out<'_>, why: &str| {
                for _ in 0..rows {
                    out.skip(why);
                }
            };
            if matches!(status, "InternalError" | "Forbidden") {
                skip_all(out, "CloudWatch result with an error StatusCode (no data)");
                continue;
            }
            if times.is_empty() {
                skip_all(out, "CloudWatch result with no data points");
                continue;
            }
            let (endpoint, variant, metric, stat) = match parsed {
                Some((_, Some(p))) => p,
                Some((l, None)) if l.split_whitespace().count() >= 2 => {
                    skip_all(out, "CloudWatch metric not used");
                    continue;
                }
                _ => {
                    out.reject(row_error(
                        file,
                        first_row,
                        &where_("Label"),
                        "the Label must read \"<EndpointName> [<VariantName>] <MetricName> [<Stat>]\"",
                    ));
                    continue;
                }
            };
            let m = match measure(metric, stat) {
                Ok(m) => m,
                Err(why) => {
                    skip_all(out, &why);
                    continue;
                }
            };
            for (k, (t, v)) in times.iter().zip(values).enumerate() {
                let n = first_row + k as u64;
                let at = match time_of(t) {
                    Ok(at) => at,
                    Err(e) => {
                        out.reject(row_error(file, n, &where_("Timestamps"), e));
                        continue;
                    }
                };
                let value = v
                    .as_f64()
                    .ok_or_else(|| format!("not a number: {v}"))
                    .and_then(|x| checked(x, metric));
                match value {
                    Ok(x) => {
                        let x = if metric == "ModelLatency" {
                            x * latency_ms_per_unit(None)
                        } else {
                            x
                        };
                        points.put(endpoint, variant, at, m, x, n);
                    }
                    Err(e) => out.reject(row_error(file, n, &where_("Values"), e)),
                }
            }
        }
    }
}

fn str_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// Reads one Metric Streams record (one JSON line).
pub fn read_stream_record(
    obj: &Map<String, Value>,
    file: &str,
    row: u64,
    points: &mut Points,
    out: &mut Out<'_>,
) -> Result<(), RowError> {
    let namespace = str_field(obj, "namespace").unwrap_or("");
    if !NAMESPACES.contains(&namespace) {
        out.skip("CloudWatch namespace not used");
        return Ok(());
    }
    let metric = str_field(obj, "metric_name")
        .ok_or_else(|| row_error(file, row, "metric_name", "no metric_name"))?;
    let dims = obj.get("dimensions").and_then(Value::as_object);
    let Some(endpoint) = dims.and_then(|d| str_field(d, "EndpointName")) else {
        out.skip("CloudWatch record without an EndpointName dimension");
        return Ok(());
    };
    let variant = dims.and_then(|d| str_field(d, "VariantName")).unwrap_or("");
    let at = obj
        .get("timestamp")
        .ok_or_else(|| "no timestamp".to_string())
        .and_then(time_of)
        .map_err(|e| row_error(file, row, "timestamp", e))?;
    let value = obj.get("value").and_then(Value::as_object).ok_or_else(|| {
        row_error(
            file,
            row,
            "value",
            "value must be an object {max, min, sum, count}",
        )
    })?;
    let stat = |k: &str| -> Result<Option<f64>, RowError> {
        match value.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| format!("value.{k} is not a number: {v}"))
                .and_then(|x| checked(x, &format!("value.{k}")))
                .map(Some)
                .map_err(|e| row_error(file, row, "value", e)),
        }
    };
    let sum = stat("sum")?;
    let count = stat("count")?;
    let mean = match (sum, count) {
        (Some(s), Some(c)) if c > 0.0 => Some(s / c),
        _ => None,
    };
    let scale = if metric == "ModelLatency" {
        latency_ms_per_unit(str_field(obj, "unit"))
    } else {
        1.0
    };
    let mut wanted: Vec<(Measure, Option<f64>)> = Vec::new();
    match metric {
        "Invocations" => wanted.push((Measure::Requests, sum)),
        "Invocation4XXErrors" => wanted.push((Measure::Errors4xx, sum)),
        "Invocation5XXErrors" => wanted.push((Measure::Errors5xx, sum)),
        "ModelLatency" => {
            wanted.push((Measure::LatencyMean, mean));
            wanted.push((Measure::LatencyP50, stat("p50")?));
            wanted.push((Measure::LatencyP95, stat("p95")?));
        }
        "CPUUtilization" => wanted.push((Measure::Cpu, mean)),
        "MemoryUtilization" => wanted.push((Measure::Memory, mean)),
        "GPUUtilization" => wanted.push((Measure::Gpu, mean)),
        "GPUMemoryUtilization" => wanted.push((Measure::GpuMemory, mean)),
        _ => {
            out.skip("CloudWatch metric not used");
            return Ok(());
        }
    }
    let mut any = false;
    for (m, v) in wanted {
        if let Some(v) = v {
            points.put(endpoint, variant, at, m, v * scale, row);
            any = true;
        }
    }
    if !any {
        out.skip("CloudWatch record with no usable statistic (count 0)");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_carry_endpoint_variant_metric_and_stat() {
        assert_eq!(
            parse_label("ep-1 Invocations"),
            Some(("ep-1", "", "Invocations", None))
        );
        assert_eq!(
            parse_label("ep-1 AllTraffic ModelLatency p95"),
            Some(("ep-1", "AllTraffic", "ModelLatency", Some("p95")))
        );
        assert_eq!(parse_label("Invocations"), None, "no endpoint");
        assert_eq!(parse_label("ep-1 AllTraffic OverheadLatency"), None);
        assert_eq!(parse_label("a b c Invocations"), None);
    }

    #[test]
    fn statistics_pick_the_field_and_never_invent_a_p95() {
        assert_eq!(measure("Invocations", None), Ok(Measure::Requests));
        assert_eq!(measure("Invocations", Some("Sum")), Ok(Measure::Requests));
        assert!(measure("Invocations", Some("Average")).is_err());
        assert_eq!(
            measure("ModelLatency", Some("Average")),
            Ok(Measure::LatencyMean)
        );
        assert_eq!(
            measure("ModelLatency", Some("p95")),
            Ok(Measure::LatencyP95)
        );
        assert!(measure("ModelLatency", Some("p99")).is_err());
        assert!(measure("DiskUtilization", None).is_err());
    }

    #[test]
    fn variants_fold_counts_add_percentages_average() {
        let t = DateTime::parse_from_rfc3339("2024-03-05T10:00:30Z")
            .expect("time")
            .with_timezone(&Utc);
        let mut p = Points::default();
        p.put("ep", "a", t, Measure::Requests, 10.0, 1);
        p.put("ep", "b", t, Measure::Requests, 5.0, 2);
        p.put("ep", "a", t, Measure::Gpu, 40.0, 3);
        p.put("ep", "b", t, Measure::Gpu, 60.0, 4);
        p.put("ep", "a", t, Measure::Errors5xx, 1.0, 5);
        // A repeat of (ep, a, minute, Requests) replaces, it does not add.
        p.put("ep", "a", t, Measure::Requests, 10.0, 6);
        let s = p.into_samples("f");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].requests, Some(15.0));
        assert_eq!(s[0].gpu_utilization_pct, Some(50.0));
        assert_eq!(s[0].errors, Some(1.0));
        assert_eq!(s[0].latency_p95_ms, None);
        assert_eq!(s[0].minute.to_rfc3339(), "2024-03-05T10:00:00+00:00");
    }
}

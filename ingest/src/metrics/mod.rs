//! Inference metrics: every form becomes `MetricSample`s, one per resource and UTC minute.
//!
//! A sample's measurements are all `Option`: a minute with no data has no sample, and a
//! value that was not measured (GPU utilization of a CPU endpoint, a latency with no
//! requests, a counter read from a single scrape) is `None`, never 0. A measured 0 is kept
//! as `Some(0.0)`: "idle" and "unknown" must stay apart downstream.
//!
//! # Per-minute CSV and JSON lines
//!
//! One row (or object) per resource and minute, with the columns of `columns.rs`:
//! `timestamp, endpoint_id, model, accelerator, replicas, requests, input_tokens,
//! output_tokens, gpu_utilization_pct, cpu_utilization_pct, latency_p95_ms` and the
//! variants real exports use (`resource_id` / `endpoint` / `endpoint_name`, `minute` /
//! `time`, `errors`, `latency_p50_ms`, `gpu_memory_utilization_pct`,
//! `memory_utilization_pct`, `provider`, CloudWatch-style `Invocations` and
//! `GPUUtilization`, ...). Names are matched by key, never by position. The format is
//! claimed only by a header with a time column, a resource column and at least one
//! measurement column; it is asked last, after every billing format, and the dcgm-exporter
//! counter catalogs (`DCGM field, Prometheus type, help`) match none of this.
//!
//! - The time (ISO 8601 in any form `value::timestamp` reads, or epoch seconds or
//!   milliseconds) is truncated to its UTC minute. Each row is one sample: rows of a finer
//!   resolution are not merged here.
//! - An empty cell (or `NULL`, `None`) is `None`. A row that measures nothing yields no
//!   sample and is counted as skipped.
//! - Row errors, naming the column: a missing resource or time, an unreadable time or
//!   number, a negative count (replicas, requests, errors, tokens) or latency, and a
//!   utilization outside 0..=`MAX_UTILIZATION_PCT` percent (100 per core or device,
//!   summed over up to 256: SageMaker's instance metrics are such sums; the limit is the
//!   same for every source, see `MetricSample::problems`).
//! - `accelerator` `none` or `cpu` marks a CPU-only resource (`MetricSample::is_cpu_only`).
//!
//! # CloudWatch (SageMaker endpoints)
//!
//! Two forms, told apart by the first line: a Metric Streams record (an object with
//! `metric_name`) starts JSON lines; anything else is read as one `GetMetricData` document.
//!
//! - **Metric Streams** JSON lines: `metric_stream_name, account_id, region, namespace,
//!   metric_name, dimensions{EndpointName, VariantName}, timestamp` (epoch ms),
//!   `value{max, min, sum, count[, p50, p95]}, unit`. Namespaces `AWS/SageMaker` and
//!   `/aws/sagemaker/Endpoints` are read; other namespaces, and records without an
//!   `EndpointName` dimension, are skipped.
//! - **`GetMetricData`** JSON (`{"MetricDataResults": [{"Id", "Label", "Timestamps",
//!   "Values", "StatusCode"}], ...}`, or an array of such pages). The response does not
//!   carry the metric or the endpoint; we accept them from the **`Label`**, written
//!   `"<EndpointName> [<VariantName>] <MetricName> [<Stat>]"`, tokens separated by spaces.
//!   That is the label CloudWatch itself gives to `SEARCH` results over `EndpointName,
//!   VariantName` (dimension values, then the metric name), and a caller setting labels
//!   explicitly can follow it. `Id` cannot carry an endpoint name (Ids allow only letters,
//!   digits and `_`; endpoint names have `-`), so it is not used. A missing `<Stat>` means
//!   the natural statistic: `Sum` for counts, `Average` for the rest. The query must use a
//!   60-second period: a point's timestamp is taken as its minute. `StatusCode`
//!   `InternalError` / `Forbidden` results are skipped; `PartialData` points are used.
//!
//! Mapping: `Invocations` (Sum) → requests; `Invocation4XXErrors` + `Invocation5XXErrors`
//! (Sum) → errors; `ModelLatency` is in **microseconds** and becomes milliseconds (Metric
//! Streams' `unit` is honoured when it says otherwise). Its `p50` / `p95` statistics go to
//! the latency fields; without a p50, the **average** (`sum / count`) stands in for
//! `latency_p50_ms`, and no p95 is ever derived from an average. `CPUUtilization`,
//! `MemoryUtilization`, `GPUUtilization`, `GPUMemoryUtilization` (Average, `sum / count`)
//! are percent and are **kept as given even past 100**: SageMaker scales CPU and GPU to
//! cores × 100 and GPUs × 100. Negative or non-finite values are row errors.
//!
//! Points of one file are buffered (bounded by the file) and merged into one sample per
//! endpoint and minute, emitted sorted by (endpoint, minute): the metrics of one minute
//! arrive as separate results or records. Variants of one endpoint fold together: counts
//! add, percentages and latencies average. A repeated (endpoint, variant, metric, minute)
//! replaces the earlier value, because Metric Streams deliver at least once.
//!
//! The resource id is the `EndpointName`. Billing names the endpoint by ARN
//! (`arn:aws:sagemaker:<region>:<account>:endpoint/<name>`, name lowercased), and
//! `burnrate_schemas::resource_matches` joins the two on the ARN's last `/` segment,
//! case-insensitively. Samples carry `provider = aws`.
//!
//! # Prometheus text exposition
//!
//! The parser (`prometheus.rs`) reads the text format as exporters really write it; the
//! exporter mappings (`vllm.rs`, `tgi.rs`, `triton.rs`, `dcgm.rs`, chosen by the metric
//! prefix) say which resource each series belongs to and which field it feeds. A scrape
//! holds gauges and *cumulative* counters, so per-minute counts need two scrapes:
//! `scrape::Scrapes` takes successive scrapes of one target and yields per-minute
//! increases, restarting from the new value after a counter reset.
//!
//! A single file is a single scrape: `read_prometheus` emits gauge-only samples
//! (utilizations) at the scrape minute, and no counter-derived fields. The scrape time is
//! the latest explicit sample timestamp if any line has one, else the file's modification
//! time, truncated to the minute. Series without a resource label (TGI, Triton's CPU) take
//! the scrape target: the `instance` label if present, else the file name without
//! `.gz` / `.txt` / `.prom`. Every sample line is accounted for in the report: used, or
//! skipped with its reason (a family no mapping uses, a counter that needs a second
//! scrape, a DCGM blank), or rejected with its line number and series name.
//!
//! Detection: text whose first meaningful line is `# HELP`, `# TYPE` or a valid sample line
//! is Prometheus; `#` comments before it are passed over. The dcgm-exporter catalogs
//! (`# Format` comments, then `DCGM_FI_DEV_SM_CLOCK,  gauge, ...`) fail on their first
//! data line, and then match no CSV format either: they end as `UnknownFormat`.

use std::io::{BufRead, Read};

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::Normalizer;
use crate::detect::Format;
use crate::error::{IngestError, RowError};
use crate::read::FileCtx;
use crate::report::Out;
use crate::table::{Header, Row};

pub mod cloudwatch;
pub mod columns;
pub mod normalize;
pub mod prometheus;
pub mod scrape;

mod dcgm;
mod jsonl;
mod tgi;
mod triton;
mod vllm;

pub use dcgm::is_blank as is_dcgm_blank;

use columns::MetricColumns;
use scrape::{Scrapes, Use};

/// The per-minute CSV header, if this is one. Asked after every billing format.
pub fn sniff(header: &Header) -> Option<Format> {
    MetricColumns::matches(header).then_some(Format::MetricsCsv)
}

fn is_cloudwatch(v: &Value) -> bool {
    let obj = match v {
        Value::Array(a) => a.first().and_then(Value::as_object),
        other => other.as_object(),
    };
    obj.is_some_and(|o| {
        o.contains_key("MetricDataResults")
            || o.contains_key("metric_stream_name")
            || (o.contains_key("metric_name")
                && o.contains_key("namespace")
                && o.contains_key("value"))
    })
}

/// CloudWatch JSON, or a per-minute JSON-lines object.
pub fn sniff_json(value: &Value) -> Option<Format> {
    if is_cloudwatch(value) {
        return Some(Format::CloudWatchJson);
    }
    let obj = value.as_object()?;
    MetricColumns::matches(&Header::new(obj.keys())).then_some(Format::MetricsJsonl)
}

/// Whether text is a Prometheus exposition: its first line that is not blank and not a
/// plain comment is `# HELP`, `# TYPE` or a well-formed sample.
pub fn looks_like_prometheus(prefix: &str) -> bool {
    for line in prefix.lines().take(200) {
        match prometheus::parse_line(line) {
            Ok(prometheus::Line::Blank | prometheus::Line::Comment) => continue,
            Ok(_) => return true,
            Err(_) => return false,
        }
    }
    false
}

struct CsvMetrics {
    cols: MetricColumns,
    ctx: FileCtx,
}

impl Normalizer for CsvMetrics {
    fn row(&mut self, row: &Row<'_>, out: &mut Out<'_>) -> Result<(), RowError> {
        match normalize::sample(row, &self.cols, self.ctx.row_ref(row.number))? {
            Some(s) => out.metric(s),
            None => out.skip("no measurements in the row"),
        }
        Ok(())
    }
}

pub fn normalizer(header: &Header, ctx: &FileCtx) -> Result<Box<dyn Normalizer>, IngestError> {
    MetricColumns::check_unambiguous(header, ctx)?;
    let cols = MetricColumns::resolve(header);
    let mut missing = Vec::new();
    if !cols.timestamp.present() {
        missing.push("timestamp (or minute, time)");
    }
    if !cols.resource.present() {
        missing.push("endpoint_id (or resource_id, endpoint, endpoint_name)");
    }
    if !missing.is_empty() {
        return Err(IngestError::MissingColumns {
            path: ctx.path.clone(),
            format: Format::MetricsCsv.to_string(),
            missing: missing.join(", "),
        });
    }
    Ok(Box::new(CsvMetrics {
        cols,
        ctx: ctx.clone(),
    }))
}

pub fn read_jsonl(
    input: Box<dyn BufRead>,
    ctx: &FileCtx,
    out: &mut Out<'_>,
) -> Result<(), IngestError> {
    jsonl::read(input, ctx, out)
}

/// The scrape target a file stands for: its name without compression and text suffixes.
pub fn target_of(ctx: &FileCtx) -> String {
    let name = ctx
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ctx.file.clone());
    let mut t = name.as_str();
    for suffix in [".gz", ".txt", ".prom"] {
        t = t.strip_suffix(suffix).unwrap_or(t);
    }
    t.to_string()
}

fn io(ctx: &FileCtx) -> impl FnOnce(std::io::Error) -> IngestError + '_ {
    |source| IngestError::Io {
        path: ctx.path.clone(),
        source,
    }
}

pub fn read_prometheus(
    input: Box<dyn BufRead>,
    ctx: &FileCtx,
    out: &mut Out<'_>,
) -> Result<(), IngestError> {
    let expo = prometheus::parse_reader(input).map_err(io(ctx))?;
    // A last line without its line end that does not parse: the file was cut short, and
    // what it gave must not stand for it. (A cut that leaves a whole-looking sample line,
    // `x 8` of `x 87`, cannot be told from a whole file: real expositions omit the last
    // line end.)
    if let Some(cut) = &expo.cut {
        return Err(IngestError::Unreadable {
            path: ctx.path.clone(),
            reason: format!(
                "the file breaks off at line {}: its last line has no line end and does not \
                 parse ({}); the file was cut short, none of it is read",
                cut.line, cut.reason
            ),
        });
    }
    let at = match expo.max_timestamp_ms() {
        Some(ms) => {
            DateTime::<Utc>::from_timestamp_millis(ms).ok_or_else(|| IngestError::Unreadable {
                path: ctx.path.clone(),
                reason: format!("sample timestamp {ms} ms is out of range"),
            })?
        }
        None => std::fs::metadata(&ctx.path)
            .and_then(|m| m.modified())
            .map(DateTime::<Utc>::from)
            .map_err(|e| IngestError::Unreadable {
                path: ctx.path.clone(),
                reason: format!("no sample timestamps and no file modification time: {e}"),
            })?,
    };
    for e in &expo.errors {
        out.report.rows_read += 1;
        out.reject(RowError {
            file: ctx.file.clone(),
            row: e.line,
            column: e.name.clone(),
            reason: e.reason.clone(),
        });
    }
    let built = scrape::build(&expo, &target_of(ctx), at, &ctx.file);
    out.report.rows_read += expo.samples.len() as u64;
    for (_, used) in &built.uses {
        match used {
            Use::Gauge => {}
            Use::Counter => out.skip("cumulative counter: a per-minute count needs two scrapes"),
            Use::NoField => out.skip("read, but MetricSample has no field for it"),
            Use::Ignored => out.skip("Prometheus family not mapped"),
            Use::Blank => out.skip("no-data value (DCGM blank, NaN or infinite)"),
        }
    }
    for r in &built.rejected {
        out.reject(RowError {
            file: ctx.file.clone(),
            row: r.line,
            column: Some(r.series.clone()),
            reason: r.reason.clone(),
        });
    }
    let mut scrapes = Scrapes::new();
    let mut samples = scrapes
        .push(built.scrape)
        .map_err(|reason| IngestError::Unreadable {
            path: ctx.path.clone(),
            reason,
        })?;
    samples.extend(scrapes.finish());
    for s in samples {
        out.metric(s);
    }
    Ok(())
}

pub fn read_cloudwatch(
    mut input: Box<dyn BufRead>,
    ctx: &FileCtx,
    out: &mut Out<'_>,
) -> Result<(), IngestError> {
    let mut points = cloudwatch::Points::default();
    let mut head = Vec::new();
    let mut buf = Vec::new();
    let mut number = 0u64;
    let mut streams = false;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).map_err(io(ctx))? == 0 {
            break;
        }
        number += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_start_matches('\u{feff}').trim();
        if !streams {
            if text.is_empty() {
                head.extend_from_slice(&buf);
                continue;
            }
            match serde_json::from_str::<Value>(text) {
                Ok(Value::Object(o)) if o.contains_key("metric_name") => streams = true,
                _ => {
                    head.extend_from_slice(&buf);
                    break;
                }
            }
        }
        out.report.rows_read += 1;
        if text.is_empty() {
            out.skip("blank line");
            continue;
        }
        let result = match burnrate_schemas::json::from_str_unique(text) {
            Ok(Value::Object(obj)) => {
                cloudwatch::read_stream_record(&obj, &ctx.file, number, &mut points, out)
            }
            Err(e) if e.classify() == serde_json::error::Category::Data => Err(RowError {
                file: ctx.file.clone(),
                row: number,
                column: None,
                reason: e.to_string(),
            }),
            Ok(_) => Err(RowError {
                file: ctx.file.clone(),
                row: number,
                column: None,
                reason: "the line is not a JSON object".into(),
            }),
            // The last line, without its line end and not whole JSON: the file was cut short.
            Err(e) if buf.last() != Some(&b'\n') => {
                return Err(IngestError::cut_json_line(&ctx.path, number, &e));
            }
            Err(e) => Err(RowError {
                file: ctx.file.clone(),
                row: number,
                column: None,
                reason: format!("not JSON: {e}"),
            }),
        };
        if let Err(e) = result {
            out.reject(e);
        }
    }
    if !streams {
        input.read_to_end(&mut head).map_err(io(ctx))?;
        let text = String::from_utf8_lossy(&head);
        let doc: Value = burnrate_schemas::json::from_str_unique(
            text.trim_start_matches('\u{feff}'),
        )
        .map_err(|e| IngestError::Unreadable {
            path: ctx.path.clone(),
            reason: format!("CloudWatch GetMetricData JSON does not parse: {e}"),
        })?;
        cloudwatch::read_get_metric_data(&doc, &ctx.file, &mut points, out);
    }
    for s in points.into_samples(&ctx.file) {
        out.metric(s);
    }
    Ok(())
}

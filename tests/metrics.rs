//! Inference metrics: case B17, the real Prometheus expositions, detection against the real
//! billing files and the dcgm-exporter catalogs, and literal (synthetic) inputs for the
//! forms that have no public sample: CloudWatch, JSON lines, bad rows, multi-scrape deltas.
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use burnrate_ingest::metrics::{self, prometheus, scrape};
use burnrate_ingest::table::Header;
use burnrate_ingest::{Collected, IngestError, Options, ingest_path};
use burnrate_schemas::{MetricSample, Provider, resource_matches};
use chrono::{DateTime, Utc};
use common::{case_dir, csv_rows, data, expected, read, read_clean};

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .unwrap_or_else(|e| panic!("{s}: {e}"))
        .with_timezone(&Utc)
}

fn close(got: f64, want: f64, what: &str) {
    assert!((got - want).abs() <= 1e-6, "{what}: got {got}, want {want}");
}

fn num(v: &serde_json::Value, key: &str) -> f64 {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => {
            s.parse().unwrap_or_else(|e| panic!("{key}={s}: {e}"))
        }
        Some(serde_json::Value::Number(n)) => n.as_f64().unwrap_or_else(|| panic!("{key}")),
        other => panic!("{key}: {other:?}"),
    }
}

/// Writes a literal input to a file of its own (the driver reads files).
fn write(name: &str, text: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("metrics-tests");
    std::fs::create_dir_all(&dir).expect("tmp dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn of<'a>(samples: &'a [MetricSample], resource: &str) -> Vec<&'a MetricSample> {
    samples
        .iter()
        .filter(|s| s.resource_id == resource)
        .collect()
}

// ---------------------------------------------------------------- B17 per-minute CSV

#[test]
fn b17_minutes_gaps_and_gpu_absence_match_the_case() {
    let path = case_dir("B17").join("input/inference-metrics-2024-03-05T10.csv");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "inference metrics (CSV)");
    assert_eq!(out.metrics.len(), 24);
    let case = expected("B17");
    let window_start = utc(case["config"]["window_start"]
        .as_str()
        .expect("window_start"));
    let window: Vec<DateTime<Utc>> = (0..10)
        .map(|m| window_start + chrono::Duration::minutes(m))
        .collect();

    for want in case["expected"]["endpoints"].as_array().expect("endpoints") {
        let id = want["endpoint_id"].as_str().expect("endpoint_id");
        let got = of(&out.metrics, id);
        let present: BTreeSet<DateTime<Utc>> = got.iter().map(|s| s.minute).collect();
        assert_eq!(present.len(), got.len(), "{id}: one sample per minute");
        close(
            present.len() as f64 / window.len() as f64,
            num(want, "coverage"),
            &format!("{id} coverage"),
        );
        if let Some(missing) = want.get("missing_minutes").and_then(|m| m.as_array()) {
            let missing: BTreeSet<String> = missing
                .iter()
                .map(|m| m.as_str().expect("hh:mm").to_string())
                .collect();
            let absent: BTreeSet<String> = window
                .iter()
                .filter(|m| !present.contains(m))
                .map(|m| m.format("%H:%M").to_string())
                .collect();
            assert_eq!(absent, missing, "{id} missing minutes");
        }
        let requests: Vec<f64> = got
            .iter()
            .map(|s| s.requests.expect("requests measured"))
            .collect();
        let n = requests.len() as f64;
        close(
            requests.iter().sum::<f64>() / n,
            num(want, "requests_per_minute_avg"),
            &format!("{id} rpm"),
        );
        if want.get("requests_total_observed").is_some() {
            close(
                requests.iter().sum(),
                num(want, "requests_total_observed"),
                &format!("{id} requests"),
            );
        }
        if want.get("output_tokens_total_observed").is_some() {
            let tokens: f64 = got.iter().map(|s| s.output_tokens.expect("tokens")).sum();
            close(
                tokens,
                num(want, "output_tokens_total_observed"),
                &format!("{id} output tokens"),
            );
        }
        let gpu: Vec<f64> = got.iter().filter_map(|s| s.gpu_utilization_pct).collect();
        match &want["gpu_utilization_avg_pct"] {
            serde_json::Value::Null => {
                assert!(
                    gpu.is_empty(),
                    "{id}: GPU never measured must stay None, got {gpu:?}"
                );
                assert!(
                    got.iter().all(|s| s.is_cpu_only()),
                    "{id}: accelerator none"
                );
            }
            _ => {
                assert_eq!(
                    gpu.len(),
                    got.len(),
                    "{id}: GPU measured every present minute"
                );
                close(
                    gpu.iter().sum::<f64>() / gpu.len() as f64,
                    num(want, "gpu_utilization_avg_pct"),
                    &format!("{id} gpu"),
                );
            }
        }
    }
    // ep-gpu-idle's 0.0 is a measured zero, not an absence.
    assert!(
        of(&out.metrics, "ep-gpu-idle")
            .iter()
            .all(|s| s.gpu_utilization_pct == Some(0.0))
    );
}

#[test]
fn b17_every_cell_survives_as_written() {
    // A second reading of the same file with the bare csv crate: each row's cells.
    let path = case_dir("B17").join("input/inference-metrics-2024-03-05T10.csv");
    let (out, _) = read_clean(&path);
    let rows = csv_rows(&path);
    assert_eq!(rows.len(), out.metrics.len());
    let cell = |s: &str| {
        if s.is_empty() {
            None
        } else {
            Some(s.parse::<f64>().expect("number"))
        }
    };
    for (row, s) in rows.iter().zip(&out.metrics) {
        assert_eq!(s.resource_id, row["endpoint_id"]);
        assert_eq!(s.minute, utc(&row["timestamp"]));
        assert_eq!(s.model.as_deref(), Some(row["model"].as_str()));
        assert_eq!(s.requests, cell(&row["requests"]));
        assert_eq!(s.input_tokens, cell(&row["input_tokens"]));
        assert_eq!(s.gpu_utilization_pct, cell(&row["gpu_utilization_pct"]));
        assert_eq!(s.cpu_utilization_pct, cell(&row["cpu_utilization_pct"]));
        assert_eq!(s.latency_p95_ms, cell(&row["latency_p95_ms"]));
        assert_eq!(s.latency_p50_ms, None, "no p50 column");
    }
    // The join key: the case's FOCUS file names the endpoints by ARN.
    assert!(resource_matches(
        "ep-gpu-idle",
        "arn:aws:sagemaker:us-east-1:111122223333:endpoint/ep-gpu-idle"
    ));
}

// ---------------------------------------------------------------- bad rows

#[test]
fn bad_csv_rows_are_rejected_by_file_row_and_column_and_good_rows_survive() {
    let path = write(
        "bad-rows.csv",
        "minute,endpoint_name,requests,gpu_utilization_pct\n\
         2024-03-05 10:00:00,ep-1,5,50\n\
         2024-03-05 10:01:00,ep-1,-2,50\n\
         not a time,ep-1,5,50\n\
         2024-03-05 10:03:00,ep-1,7,\n",
    );
    let (out, report) = read(&path);
    assert_eq!(report.rows_read, 4);
    assert_eq!(report.rejected_count, 2);
    let e = &report.rejected;
    assert_eq!((e[0].row, e[0].column.as_deref()), (2, Some("requests")));
    assert_eq!((e[1].row, e[1].column.as_deref()), (3, Some("minute")));
    assert!(e.iter().all(|x| x.file == path.display().to_string()));
    let requests: Vec<Option<f64>> = out.metrics.iter().map(|s| s.requests).collect();
    assert_eq!(requests, [Some(5.0), Some(7.0)]);
    assert_eq!(out.metrics[1].gpu_utilization_pct, None);
    assert_eq!(out.metrics[1].row_ref.row, 4);
}

#[test]
fn json_lines_are_read_with_the_same_aliases_and_rules() {
    let path = write(
        "per-minute.jsonl",
        concat!(
            r#"{"time":"2024-03-05T10:00:30Z","resource_id":"ep-j","requests":3,"gpu_utilization_pct":null,"latency_p50_ms":120.5,"provider":"aws"}"#,
            "\n",
            r#"{"time":"2024-03-05T10:01:00Z","resource_id":"ep-j","requests":-1}"#,
            "\n",
            "{not json\n",
            "\n",
            r#"{"resource_id":"ep-j","requests":1}"#,
            "\n",
            r#"{"time":1709632920000,"resource_id":"ep-j","requests":4,"gpu_utilization_pct":12}"#,
            "\n",
        ),
    );
    let (out, report) = read(&path);
    assert_eq!(report.format, "inference metrics (JSON lines)");
    assert_eq!(report.rows_read, 6);
    let cols: Vec<(u64, Option<&str>)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(
        cols,
        [(2, Some("requests")), (3, None), (5, Some("timestamp"))]
    );
    assert_eq!(out.metrics.len(), 2);
    let first = &out.metrics[0];
    assert_eq!(first.minute, utc("2024-03-05T10:00:00Z"));
    assert_eq!(first.gpu_utilization_pct, None, "JSON null is not measured");
    assert_eq!(first.latency_p50_ms, Some(120.5));
    assert_eq!(first.provider, Some(Provider::Aws));
    // 1709632920000 ms = 2024-03-05T10:02:00Z.
    assert_eq!(out.metrics[1].minute, utc("2024-03-05T10:02:00Z"));
    assert_eq!(out.metrics[1].row_ref.row, 6);
}

/// An object naming one field twice in two spellings (`endpoint_id` and `endpointId`, one
/// key) cannot say which holds the truth: that line is refused, as a CSV header naming a
/// column twice refuses its file, and the other lines are read.
#[test]
fn json_lines_naming_a_field_twice_in_two_spellings_are_refused() {
    let path = write(
        "twice.jsonl",
        concat!(
            r#"{"time":"2024-03-05T10:00:00Z","endpoint_id":"ep-a","endpointId":"ep-b","requests":3}"#,
            "\n",
            r#"{"time":"2024-03-05T10:01:00Z","endpoint_id":"ep-a","requests":4,"Requests":9}"#,
            "\n",
            r#"{"time":"2024-03-05T10:02:00Z","endpoint_id":"ep-a","requests":5}"#,
            "\n",
        ),
    );
    let (out, report) = read(&path);
    let rejected: Vec<(u64, bool)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.reason.contains("named more than once")))
        .collect();
    assert_eq!(rejected, [(1, true), (2, true)], "{:?}", report.rejected);
    assert_eq!(out.metrics.len(), 1);
    assert_eq!(out.metrics[0].requests, Some(5.0));
}

/// A JSON lines metrics file cut short in its last line fails whole, naming the line: the
/// samples before it are not stored as the file (a re-read of the whole file would find
/// them already counted).
#[test]
fn json_lines_cut_mid_line_fail_whole() {
    let first = r#"{"time":"2024-03-05T10:00:30Z","resource_id":"ep-j","requests":3}"#;
    let last = r#"{"time":"2024-03-05T10:01:30Z","resource_id":"ep-j","requests":1234}"#;
    let path = write(
        "cut.jsonl",
        &format!("{first}\n{}", &last[..last.len() - 5]),
    );
    let mut out = Collected::default();
    let err = ingest_path(&path, &Options::default(), &mut out).expect_err("cut");
    let msg = err.to_string();
    assert!(msg.contains("breaks off at line 2"), "{msg}");
    // Whole, the last line needs no line end.
    let (out, _) = read_clean(&write("whole.jsonl", &format!("{first}\n{last}")));
    assert_eq!(out.metrics.len(), 2);
    assert_eq!(out.metrics[1].requests, Some(1234.0));
}

/// A Prometheus exposition cut short inside its last line (no line end, and the line does
/// not parse) fails whole, naming the line; whole, the last line needs no line end (the
/// Datadog vLLM fixture has none).
#[test]
fn prometheus_cut_mid_line_fails_whole() {
    let whole = "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n\
                 DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-a\"} 40 1709632845000\n\
                 \n\
                 DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-b\"} 87 1709632845000";
    let last = whole.rfind("DCGM").expect("last line");
    // Cut inside the labels of the last sample, inside its name, before its value.
    for keep in [
        "DCGM_FI_DEV_GPU_UTIL{gpu=\"1",
        "DCGM_FI_DE",
        "DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-b\"} ",
    ] {
        let path = write("cut.prom", &whole[..last + keep.len()]);
        let mut out = Collected::default();
        let err = ingest_path(&path, &Options::default(), &mut out).expect_err(keep);
        let msg = err.to_string();
        assert!(msg.contains("breaks off at line 4"), "{keep}: {msg}");
        assert!(out.metrics.is_empty(), "{keep}");
    }
    let (out, _) = read_clean(&write("whole.prom", whole));
    let gpu: Vec<_> = out
        .metrics
        .iter()
        .map(|m| (m.resource_id.as_str(), m.gpu_utilization_pct))
        .collect();
    assert_eq!(gpu, [("GPU-a", Some(40.0)), ("GPU-b", Some(87.0))]);
    // A bad line with its line end stays a rejected line, not a cut file.
    let path = write("bad.prom", &format!("{whole}\nnot a sample{{\n"));
    let mut out = Collected::default();
    let report = ingest_path(&path, &Options::default(), &mut out).expect("read");
    assert_eq!(report.rejected.len(), 1, "{report:?}");
}

/// CloudWatch Metric Streams JSON lines cut short in the last line fail whole, as the
/// other JSON lines readers do.
#[test]
fn cloudwatch_streams_cut_mid_line_fail_whole() {
    let t0 = "1709632800000";
    let a = stream(
        "AWS/SageMaker",
        "ep-a",
        "Invocations",
        t0,
        r#"{"max":2,"min":0,"sum":40,"count":60}"#,
        "None",
    );
    let b = stream(
        "AWS/SageMaker",
        "ep-b",
        "Invocations",
        t0,
        r#"{"max":2,"min":0,"sum":7,"count":60}"#,
        "None",
    );
    let path = write("cw-cut.jsonl", &format!("{a}\n{}", &b[..b.len() - 20]));
    let mut out = Collected::default();
    let err = ingest_path(&path, &Options::default(), &mut out).expect_err("cut");
    assert!(err.to_string().contains("breaks off at line 2"), "{err}");
    assert!(out.metrics.is_empty());
    // Whole without a last line end: both endpoints.
    let (out, _) = read_clean(&write("cw-whole.jsonl", &format!("{a}\n{b}")));
    let requests: Vec<_> = out.metrics.iter().map(|m| m.requests).collect();
    assert_eq!(requests, [Some(40.0), Some(7.0)]);
}

// ---------------------------------------------------------------- detection

#[test]
fn dcgm_counter_catalogs_are_not_metrics() {
    for name in [
        "dcgm-exporter__etc__default-counters.csv",
        "dcgm-exporter__etc__dcp-metrics-included.csv",
        "dcgm-exporter__etc__1.x-compatibility-metrics.csv",
    ] {
        let path = data(&format!("metrics/dcgm/{name}"));
        let mut out = Collected::default();
        match ingest_path(&path, &Options::default(), &mut out) {
            Err(IngestError::UnknownFormat { detail, .. }) => {
                assert!(detail.contains("# Format"), "{name}: {detail}");
            }
            other => panic!("{name}: expected UnknownFormat, got {other:?}"),
        }
    }
}

fn files_under(dir: &Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let p = entry.path();
        if p.is_dir() {
            files_under(&p, found);
        } else {
            found.push(p);
        }
    }
}

#[test]
fn no_billing_file_is_taken_for_metrics() {
    let mut files = Vec::new();
    files_under(&data(""), &mut files);
    let billing: Vec<PathBuf> = files
        .into_iter()
        .filter(|p| !p.starts_with(data("metrics")))
        .filter(|p| p.extension().is_some_and(|e| e == "csv" || e == "json"))
        .collect();
    assert!(billing.len() > 40, "found {}", billing.len());
    for path in billing {
        let bytes = std::fs::read(&path).expect("read");
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_start_matches('\u{feff}');
        assert!(!metrics::looks_like_prometheus(text), "{}", path.display());
        if path.extension().is_some_and(|e| e == "json") {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
                assert_eq!(metrics::sniff_json(&v), None, "{}", path.display());
            }
            continue;
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let Some(Ok(first)) = reader.records().next() else {
            continue;
        };
        let header = Header::new(first.iter());
        assert_eq!(metrics::sniff(&header), None, "{}", path.display());
    }
}

// ---------------------------------------------------------------- real Prometheus files

fn scrape_minute(path: &Path) -> DateTime<Utc> {
    // The files carry no sample timestamps: the scrape minute is the file's mtime.
    let t: DateTime<Utc> = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .expect("mtime")
        .into();
    DateTime::from_timestamp(t.timestamp() / 60 * 60, 0).expect("minute")
}

fn parsed(path: &Path) -> prometheus::Exposition {
    let expo = prometheus::parse(&std::fs::read_to_string(path).expect("text"));
    assert!(
        expo.errors.is_empty(),
        "{}: {:?}",
        path.display(),
        expo.errors
    );
    expo
}

#[test]
fn vllm_exposition_counters_and_gauges() {
    let path = data("metrics/vllm/datadog-integrations-core__vllm_metrics.txt");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "Prometheus exposition");
    // vLLM exports no utilization gauge, and one scrape gives no per-minute count.
    assert!(out.metrics.is_empty());
    assert_eq!(
        report.skipped["cumulative counter: a per-minute count needs two scrapes"],
        3
    );
    let built = scrape::build(&parsed(&path), "t", utc("2024-03-05T10:00:00Z"), "f");
    let o = &built.scrape.resources["facebook/opt-125m"];
    // Line 172: request_success_total{finished_reason="length",...} 1.0
    assert_eq!(o.requests_total, Some(1.0));
    // Line 60: prompt_tokens_total 5.0; line 63: generation_tokens_total 7.0.
    assert_eq!(o.input_tokens_total, Some(5.0));
    assert_eq!(o.output_tokens_total, Some(7.0));
    // Lines 42 and 45: num_requests_running / waiting 0.0.
    assert_eq!(
        (o.requests_running, o.requests_waiting),
        (Some(0.0), Some(0.0))
    );
    assert_eq!(o.gpu_utilization_pct, None);
    assert_eq!(o.model.as_deref(), Some("facebook/opt-125m"));
    // Histogram buckets carry `le` before `model_name`: line 66 is the first of them.
    let expo = parsed(&path);
    let (line, bucket) = &expo
        .samples
        .iter()
        .find(|(_, s)| s.name.ends_with("_bucket"))
        .expect("bucket");
    assert_eq!(*line, 66);
    assert_eq!(bucket.labels[0], ("le".to_string(), "0.001".to_string()));
    assert_eq!(bucket.label("model_name"), Some("facebook/opt-125m"));
}

#[test]
fn tgi_exposition_counters() {
    let path = data("metrics/tgi/datadog-integrations-core__hugging_face_tgi_payload__head.txt");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "Prometheus exposition");
    assert!(out.metrics.is_empty(), "TGI has no utilization gauge");
    let built = scrape::build(&parsed(&path), "tgi-a", utc("2024-03-05T10:00:00Z"), "f");
    let o = &built.scrape.resources["tgi-a"];
    // Line 10: tgi_request_count 111; line 13: tgi_request_failure{err="validation"} 2;
    // line 140: tgi_request_input_length_sum 662.
    assert_eq!(o.requests_total, Some(111.0));
    assert_eq!(o.errors_total, Some(2.0));
    assert_eq!(o.input_tokens_total, Some(662.0));
    assert_eq!(
        o.output_tokens_total, None,
        "generated tokens are cut from the head"
    );
}

#[test]
fn triton_exposition_gpu_and_server_gauges() {
    let path = data("metrics/triton/datadog-integrations-core__nvidia_triton_metrics__head.txt");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "Prometheus exposition");
    let minute = scrape_minute(&path);
    let gpu = of(&out.metrics, "GPU-951eeeeb-d284-d263-688e-d98a5306389b");
    assert_eq!(gpu.len(), 1);
    assert_eq!(gpu[0].minute, minute);
    // Line 106: nv_gpu_utilization 0 (a ratio): a measured 0 %.
    assert_eq!(gpu[0].gpu_utilization_pct, Some(0.0));
    // Lines 112 / 109: 266338304 used of 16106127360 bytes.
    close(
        gpu[0].gpu_memory_utilization_pct.expect("gpu mem"),
        266_338_304.0 / 16_106_127_360.0 * 100.0,
        "gpu mem %",
    );
    assert_eq!(gpu[0].requests, None, "one scrape: no counts");
    let server = of(
        &out.metrics,
        "datadog-integrations-core__nvidia_triton_metrics__head",
    );
    assert_eq!(server.len(), 1);
    // Line 121: nv_cpu_utilization 0; lines 127 / 124: 2249916416 of 33164935168 bytes.
    assert_eq!(server[0].cpu_utilization_pct, Some(0.0));
    close(
        server[0].memory_utilization_pct.expect("mem"),
        2_249_916_416.0 / 33_164_935_168.0 * 100.0,
        "mem %",
    );
    assert_eq!(
        out.metrics.len(),
        2,
        "models have only counters in one scrape"
    );
    let built = scrape::build(&parsed(&path), "t", minute, "f");
    // Lines 7 and 17: densenet_onnx served 3 requests, 0 failed.
    let d = &built.scrape.resources["densenet_onnx"];
    assert_eq!((d.requests_total, d.errors_total), (Some(3.0), Some(0.0)));
}

#[test]
fn dcgm_exposition_one_device_value_per_gpu() {
    let path = data("metrics/dcgm/datadog-integrations-core__dcgm_metrics.txt");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "Prometheus exposition");
    // Only GPU-20c56d28 has GPU_UTIL (line 21: 0) and FB_FREE/FB_USED (lines 36, 39:
    // 15109 free, 0 used); the other GPUs only have families we do not map.
    assert_eq!(out.metrics.len(), 1);
    let s = &out.metrics[0];
    assert_eq!(s.resource_id, "GPU-20c56d28-0da5-6d26-a36a-e7af1ce2586e");
    assert_eq!(s.accelerator.as_deref(), Some("Tesla T4"));
    assert_eq!(s.gpu_utilization_pct, Some(0.0));
    assert_eq!(s.gpu_memory_utilization_pct, Some(0.0));
    assert_eq!(s.minute, scrape_minute(&path));
    assert_eq!(s.row_ref.row, 21);
}

#[test]
fn dcgm_blank_sentinels_are_dropped_and_pods_are_not_summed() {
    let path = write(
        "dcgm-blanks.prom",
        "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n\
         # TYPE DCGM_FI_DEV_GPU_UTIL gauge\n\
         # NOTE two pods share GPU-a; GPU-b has no reading\n\
         DCGM_FI_DEV_GPU_UTIL{gpu=\"0\",UUID=\"GPU-a\",modelName=\"NVIDIA L4\",pod=\"p1\"} 37 1709632845000\n\
         DCGM_FI_DEV_GPU_UTIL{pod=\"p2\",gpu=\"0\",UUID=\"GPU-a\",modelName=\"NVIDIA L4\"} 37 1709632845000\n\
         DCGM_FI_DEV_GPU_UTIL{gpu=\"1\",UUID=\"GPU-b\"} 9223372036854775794 1709632845000\n\
         \n\
         # TYPE DCGM_FI_DEV_FB_USED gauge\n\
         DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-a\",pod=\"p1\"} 6000 1709632845000\n\
         DCGM_FI_DEV_FB_USED{gpu=\"1\",UUID=\"GPU-b\"} 18446744073709551615 1709632845000\n\
         DCGM_FI_DEV_FB_FREE{gpu=\"0\",UUID=\"GPU-a\",pod=\"p1\"} 18000 1709632845000\n\
         DCGM_FI_DEV_FB_FREE{gpu=\"1\",UUID=\"GPU-b\"} NaN 1709632845000\n",
    );
    let (out, report) = read_clean(&path);
    assert_eq!(
        report.skipped["no-data value (DCGM blank, NaN or infinite)"],
        3
    );
    assert_eq!(out.metrics.len(), 1, "GPU-b had only blanks: no sample");
    let s = &out.metrics[0];
    assert_eq!(s.resource_id, "GPU-a");
    assert_eq!(
        s.gpu_utilization_pct,
        Some(37.0),
        "not 74: one GPU, two pods"
    );
    assert_eq!(
        s.gpu_memory_utilization_pct,
        Some(25.0),
        "6000 / (6000 + 18000)"
    );
    // The sample timestamps (10:00:45) set the scrape minute.
    assert_eq!(s.minute, utc("2024-03-05T10:00:00Z"));
}

// ---------------------------------------------------------------- successive scrapes

fn vllm_scrape(requests: f64, prompt: f64, generated: f64) -> String {
    format!(
        "# HELP vllm:request_success_total Count of successfully processed requests.\n\
         # TYPE vllm:request_success_total counter\n\
         vllm:request_success_total{{finished_reason=\"stop\",model_name=\"m\"}} {}\n\
         vllm:request_success_total{{model_name=\"m\",finished_reason=\"length\"}} 1\n\
         # TYPE vllm:prompt_tokens_total counter\n\
         vllm:prompt_tokens_total{{model_name=\"m\"}} {prompt:e}\n\
         \n\
         vllm:generation_tokens{{model_name=\"m\"}} {generated}\n\
         # TYPE tgi_request_count counter\n\
         tgi_request_count {requests}\n",
        requests - 1.0
    )
}

#[test]
fn successive_scrapes_give_per_minute_increases_and_survive_a_reset() {
    let mut scrapes = scrape::Scrapes::new();
    let mut samples = Vec::new();
    for (at, text) in [
        ("2024-03-05T10:00:05Z", vllm_scrape(100.0, 1000.0, 2000.0)),
        ("2024-03-05T10:01:05Z", vllm_scrape(130.0, 1600.0, 2900.0)),
        // The server restarted: every counter is lower than before.
        ("2024-03-05T10:02:05Z", vllm_scrape(4.0, 50.0, 80.0)),
    ] {
        let expo = prometheus::parse(&text);
        assert!(expo.errors.is_empty(), "{:?}", expo.errors);
        let built = scrape::build(&expo, "tgi-x", utc(at), "scrapes");
        assert!(built.rejected.is_empty());
        samples.extend(scrapes.push(built.scrape).expect("in order"));
    }
    samples.extend(scrapes.finish());
    let m = of(&samples, "m");
    // The first scrape has nothing before it: no sample at 10:00 (no gauges either).
    let minutes: Vec<DateTime<Utc>> = m.iter().map(|s| s.minute).collect();
    assert_eq!(
        minutes,
        [utc("2024-03-05T10:01:00Z"), utc("2024-03-05T10:02:00Z")]
    );
    // 10:01: 130 - 100 requests (two finished_reason series), 1600 - 1000, 2900 - 2000.
    assert_eq!(
        (m[0].requests, m[0].input_tokens, m[0].output_tokens),
        (Some(30.0), Some(600.0), Some(900.0))
    );
    // 10:02: the counters restarted, so the increase is the new value itself.
    assert_eq!(
        (m[1].requests, m[1].input_tokens, m[1].output_tokens),
        (Some(4.0), Some(50.0), Some(80.0))
    );
    assert!(m.iter().all(|s| s.gpu_utilization_pct.is_none()));
    let t = of(&samples, "tgi-x");
    assert_eq!(
        t.iter().map(|s| s.requests).collect::<Vec<_>>(),
        [Some(30.0), Some(4.0)]
    );
}

// ---------------------------------------------------------------- CloudWatch (synthetic)

/// Synthetic: no public CloudWatch export of SageMaker metrics exists. Labels follow the
/// `"<EndpointName> [<VariantName>] <MetricName> [<Stat>]"` convention.
const GET_METRIC_DATA: &str = r#"{
  "MetricDataResults": [
    {"Id": "inv", "Label": "ep-llm AllTraffic Invocations", "StatusCode": "Complete",
     "Timestamps": ["2024-03-05T10:01:00Z", "2024-03-05T10:00:00Z"], "Values": [12, 30]},
    {"Id": "e4", "Label": "ep-llm AllTraffic Invocation4XXErrors", "StatusCode": "Complete",
     "Timestamps": ["2024-03-05T10:00:00Z"], "Values": [1]},
    {"Id": "e5", "Label": "ep-llm AllTraffic Invocation5XXErrors", "StatusCode": "Complete",
     "Timestamps": ["2024-03-05T10:00:00Z"], "Values": [2]},
    {"Id": "lat", "Label": "ep-llm AllTraffic ModelLatency", "StatusCode": "Complete",
     "Timestamps": ["2024-03-05T10:00:00Z"], "Values": [250000.0]},
    {"Id": "p95", "Label": "ep-llm AllTraffic ModelLatency p95", "StatusCode": "PartialData",
     "Timestamps": ["2024-03-05T10:00:00Z"], "Values": [900000.0]},
    {"Id": "gpu", "Label": "ep-llm AllTraffic GPUUtilization", "StatusCode": "Complete",
     "Timestamps": ["2024-03-05T10:00:00Z"], "Values": [187.5]},
    {"Id": "bad", "Label": "Invocations", "StatusCode": "Complete",
     "Timestamps": ["2024-03-05T10:00:00Z"], "Values": [5]},
    {"Id": "ovh", "Label": "ep-llm AllTraffic OverheadLatency", "StatusCode": "Complete",
     "Timestamps": ["2024-03-05T10:00:00Z"], "Values": [4000]}
  ],
  "Messages": []
}"#;

#[test]
fn cloudwatch_get_metric_data_merges_one_sample_per_endpoint_minute() {
    let path = write("sagemaker-get-metric-data.json", GET_METRIC_DATA);
    let (out, report) = read(&path);
    assert_eq!(report.format, "CloudWatch metrics (JSON)");
    assert_eq!(report.rejected_count, 1);
    assert_eq!(
        report.rejected[0].column.as_deref(),
        Some("MetricDataResults[6].Label")
    );
    assert_eq!(report.skipped["CloudWatch metric not used"], 1);
    let m = &out.metrics;
    assert_eq!(m.len(), 2, "sorted by (endpoint, minute), one sample each");
    assert_eq!(
        (m[0].resource_id.as_str(), m[0].minute),
        ("ep-llm", utc("2024-03-05T10:00:00Z"))
    );
    assert_eq!(m[0].requests, Some(30.0));
    assert_eq!(m[0].errors, Some(3.0), "4XX 1 + 5XX 2");
    assert_eq!(
        m[0].latency_p50_ms,
        Some(250.0),
        "250000 us average stands in for p50"
    );
    assert_eq!(m[0].latency_p95_ms, Some(900.0));
    assert_eq!(
        m[0].gpu_utilization_pct,
        Some(187.5),
        "GPUs x 100: kept as given"
    );
    assert_eq!(m[0].provider, Some(Provider::Aws));
    assert_eq!(m[1].minute, utc("2024-03-05T10:01:00Z"));
    assert_eq!(
        (m[1].requests, m[1].errors, m[1].latency_p95_ms),
        (Some(12.0), None, None)
    );
    assert!(resource_matches(
        &m[0].resource_id,
        "arn:aws:sagemaker:us-east-1:111122223333:endpoint/ep-llm"
    ));
}

fn stream(
    namespace: &str,
    endpoint: &str,
    metric: &str,
    ts: &str,
    value: &str,
    unit: &str,
) -> String {
    format!(
        r#"{{"metric_stream_name":"sm","account_id":"111122223333","region":"us-east-1","namespace":"{namespace}","metric_name":"{metric}","dimensions":{{"EndpointName":"{endpoint}","VariantName":"AllTraffic"}},"timestamp":{ts},"value":{value},"unit":"{unit}"}}"#
    )
}

#[test]
fn cloudwatch_metric_streams_merge_and_convert_units() {
    // Synthetic Metric Streams JSON lines; 1709632800000 ms = 2024-03-05T10:00:00Z.
    let t0 = "1709632800000";
    let t1 = "1709632860000";
    let lines = [
        stream(
            "AWS/SageMaker",
            "ep-a",
            "Invocations",
            t0,
            r#"{"max":2,"min":0,"sum":40,"count":60}"#,
            "None",
        ),
        stream(
            "AWS/SageMaker",
            "ep-a",
            "ModelLatency",
            t0,
            r#"{"max":300000,"min":50000,"sum":6000000,"count":40}"#,
            "Microseconds",
        ),
        stream(
            "/aws/sagemaker/Endpoints",
            "ep-a",
            "GPUUtilization",
            t0,
            r#"{"max":160,"min":140,"sum":300,"count":2}"#,
            "Percent",
        ),
        stream(
            "AWS/SageMaker",
            "ep-a",
            "Invocation4XXErrors",
            t0,
            r#"{"max":1,"min":0,"sum":1,"count":60}"#,
            "None",
        ),
        stream(
            "AWS/SageMaker",
            "ep-a",
            "Invocation5XXErrors",
            t0,
            r#"{"max":1,"min":0,"sum":2,"count":60}"#,
            "None",
        ),
        stream(
            "AWS/EC2",
            "ep-a",
            "CPUUtilization",
            t0,
            r#"{"max":1,"min":1,"sum":1,"count":1}"#,
            "Percent",
        ),
        stream(
            "AWS/SageMaker",
            "ep-a",
            "Invocations",
            r#""soon""#,
            r#"{"sum":1,"count":1}"#,
            "None",
        ),
        // Delivered twice (at least once): the repeat replaces, it does not add.
        stream(
            "AWS/SageMaker",
            "ep-a",
            "Invocations",
            t0,
            r#"{"max":2,"min":0,"sum":40,"count":60}"#,
            "None",
        ),
        stream(
            "AWS/SageMaker",
            "ep-b",
            "Invocations",
            t1,
            r#"{"max":0,"min":0,"sum":0,"count":60}"#,
            "None",
        ),
        stream(
            "AWS/SageMaker",
            "ep-a",
            "Invocations",
            t1,
            r#"{"max":1,"min":0,"sum":-3,"count":60}"#,
            "None",
        ),
    ];
    let path = write("metric-stream.jsonl", &(lines.join("\n") + "\n"));
    let (out, report) = read(&path);
    assert_eq!(report.format, "CloudWatch metrics (JSON)");
    assert_eq!(report.rows_read, 10);
    let bad: Vec<(u64, Option<&str>)> = report
        .rejected
        .iter()
        .map(|e| (e.row, e.column.as_deref()))
        .collect();
    assert_eq!(bad, [(7, Some("timestamp")), (10, Some("value"))]);
    assert_eq!(report.skipped["CloudWatch namespace not used"], 1);
    let m = &out.metrics;
    assert_eq!(m.len(), 2);
    assert_eq!(
        (m[0].resource_id.as_str(), m[0].minute),
        ("ep-a", utc("2024-03-05T10:00:00Z"))
    );
    assert_eq!(m[0].requests, Some(40.0));
    assert_eq!(m[0].errors, Some(3.0));
    // 6,000,000 us over 40 requests = 150,000 us = 150 ms (the mean, as p50 stand-in).
    assert_eq!(m[0].latency_p50_ms, Some(150.0));
    assert_eq!(m[0].latency_p95_ms, None, "never derived from an average");
    assert_eq!(m[0].gpu_utilization_pct, Some(150.0));
    assert_eq!(
        m[0].cpu_utilization_pct, None,
        "the EC2 namespace is not the endpoint's"
    );
    // Line 1's Invocations was replaced by its repeat on line 8: the earliest surviving
    // point of the minute is line 2's ModelLatency.
    assert_eq!(m[0].row_ref.row, 2);
    assert_eq!(
        (m[1].resource_id.as_str(), m[1].requests),
        ("ep-b", Some(0.0))
    );
    assert_eq!(m[1].minute, utc("2024-03-05T10:01:00Z"));
}

//! The data generator against the parsers and the real formats.
//!
//! - Every generated file is read through the product's ingest path (the same expansion
//!   as `burnrate ingest DIR`: manifests, superseded assemblies) with zero rejections, and
//!   the normalized totals per provider × currency, per service and per UTC day equal the
//!   generator's `truth.json` exactly. The truth is the generator's own arithmetic on the
//!   amounts it wrote; the parsers' records are summed here, so the two are independent.
//! - The generated headers are checked against the real files' headers in
//!   `../shared/data` (and the BigQuery schema, the FOCUS 1.2 column metadata, case B17),
//!   and each generated file is detected as the same format as its real counterpart.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use burnrate_ingest::generate::{Config, generate};
use burnrate_ingest::{Collected, Options, expand_paths, ingest_path};
use burnrate_schemas::{CostRecord, Provider};
use chrono::NaiveDate;
use common::data;
use rust_decimal::Decimal;
use serde_json::Value;

fn tmp(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("burnrate-gen-{name}-"))
        .tempdir()
        .expect("temp dir")
}

/// Generates and ingests `cfg` like `burnrate ingest <out>/data`; returns records, metric
/// samples per resource, the notes, and the truth.
fn run(cfg: &Config) -> (Collected, Vec<String>, Value) {
    generate(cfg).expect("generate");
    let expanded = expand_paths(&[cfg.out.join("data")]).expect("expand");
    let mut all = Collected::default();
    for file in &expanded.files {
        let report = ingest_path(file, &Options::default(), &mut all)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(
            report.rejected_count,
            0,
            "{}: {:#?}",
            file.display(),
            report.rejected
        );
    }
    let text = std::fs::read_to_string(cfg.out.join("truth.json")).expect("truth.json");
    (
        all,
        expanded.notes,
        serde_json::from_str(&text).expect("truth json"),
    )
}

/// Which views a record counts toward: Azure's actual files carry the billed view and its
/// amortized files the effective view (the manifest's rule); everything else both.
fn views(r: &CostRecord) -> (Decimal, Decimal) {
    if r.provider == Provider::Azure {
        if r.source.ends_with("#actual") {
            (r.billed_cost, Decimal::ZERO)
        } else {
            assert!(r.source.ends_with("#amortized"), "{}", r.source);
            (Decimal::ZERO, r.effective_cost)
        }
    } else {
        (r.billed_cost, r.effective_cost)
    }
}

type Sums = BTreeMap<Vec<String>, (Decimal, Decimal)>;

fn sums_from_records(records: &[CostRecord]) -> (Sums, Sums, Sums) {
    let (mut totals, mut services, mut daily) = (Sums::new(), Sums::new(), Sums::new());
    for r in records {
        let (b, e) = views(r);
        let p = r.provider.code().to_string();
        let c = r.billing_currency.clone();
        let t = totals.entry(vec![p.clone(), c.clone()]).or_default();
        t.0 += b;
        t.1 += e;
        let s = services
            .entry(vec![p.clone(), r.service_name.clone(), c.clone()])
            .or_default();
        s.0 += b;
        s.1 += e;
        for (day, part) in r.split_daily(b) {
            let key = vec![
                day.to_string(),
                p.clone(),
                r.service_name.clone(),
                c.clone(),
            ];
            daily.entry(key).or_default().0 += part;
        }
        for (day, part) in r.split_daily(e) {
            let key = vec![
                day.to_string(),
                p.clone(),
                r.service_name.clone(),
                c.clone(),
            ];
            daily.entry(key).or_default().1 += part;
        }
    }
    // A day or service whose amounts are all zero is no total.
    daily.retain(|_, (b, e)| !(b.is_zero() && e.is_zero()));
    totals.retain(|_, (b, e)| !(b.is_zero() && e.is_zero()));
    (totals, services, daily)
}

fn sums_from_truth(truth: &Value, section: &str, keys: &[&str]) -> Sums {
    let mut out = Sums::new();
    for row in truth[section].as_array().expect("section") {
        let key = keys
            .iter()
            .map(|k| row[*k].as_str().expect("key").to_string())
            .collect();
        let b = common::jdec(row, "billed_cost");
        let e = common::jdec(row, "effective_cost");
        out.insert(key, (b, e));
    }
    out
}

fn assert_same(got: &Sums, want: &Sums, what: &str) {
    for (k, w) in want {
        let g = got.get(k).copied().unwrap_or_default();
        assert_eq!(
            g, *w,
            "{what} {k:?}: normalized (billed, effective) vs truth"
        );
    }
    for k in got.keys() {
        assert!(
            want.contains_key(k),
            "{what} {k:?}: in the records, not in the truth"
        );
    }
}

fn check(cfg: &Config) {
    let (out, notes, truth) = run(cfg);
    let (totals, services, daily) = sums_from_records(&out.costs);
    assert_same(
        &totals,
        &sums_from_truth(&truth, "totals", &["provider", "currency"]),
        "total",
    );
    assert_same(
        &services,
        &sums_from_truth(&truth, "by_service", &["provider", "service", "currency"]),
        "service",
    );
    assert_same(
        &daily,
        &sums_from_truth(
            &truth,
            "daily",
            &["date", "provider", "service", "currency"],
        ),
        "day",
    );
    // Every provider and both Azure currencies are there.
    let pairs: BTreeSet<Vec<String>> = totals.keys().cloned().collect();
    for p in [
        ["aws", "USD"],
        ["azure", "USD"],
        ["azure", "EUR"],
        ["gcp", "USD"],
        ["oci", "USD"],
    ] {
        let key: Vec<String> = p.iter().map(|s| s.to_string()).collect();
        assert!(pairs.contains(&key), "no {p:?} in {pairs:?}");
    }
    // The restated CUR assembly is left out, and said so.
    assert!(
        notes.iter().any(|n| n.contains("superseded")),
        "notes: {notes:?}"
    );
    // Metrics: one sample per minute with data, per endpoint, as the truth counted.
    let mut samples: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &out.metrics {
        *samples.entry(s.resource_id.as_str()).or_default() += 1;
    }
    let resources = truth["resources"].as_array().expect("resources");
    for r in resources.iter().filter(|r| !r["metrics_id"].is_null()) {
        let id = r["metrics_id"].as_str().expect("id");
        let want = if cfg.metrics {
            r["metric_minutes"].as_u64().expect("minutes")
        } else {
            0
        };
        assert_eq!(samples.get(id).copied().unwrap_or(0), want, "{id}");
        if cfg.metrics {
            assert!(want > 0, "{id} has no metrics");
        }
    }
    // AI classification matters: the parsers find the AI resources the catalog planted.
    for r in resources {
        let Some(id) = r["resource_id"].as_str() else {
            continue;
        };
        let is_ai = r["is_ai"].as_bool().expect("is_ai");
        let mine: Vec<&CostRecord> = out
            .costs
            .iter()
            .filter(|c| {
                c.resource_id.as_deref() == Some(id)
                    && c.charge_category == burnrate_schemas::ChargeCategory::Usage
            })
            .collect();
        assert!(!mine.is_empty(), "no usage records for {id}");
        for c in mine {
            assert_eq!(
                c.is_ai, is_ai,
                "{id}: {} {:?}",
                c.service_name, c.usage_type
            );
        }
    }
}

#[test]
fn totals_equal_the_truth_for_several_seeds_and_scales() {
    for (seed, scale, days, start, metrics) in [
        (1, 1, 3, "2024-03-01", true),
        (7, 2, 2, "2024-03-10", false),
        // Across a month end (two billing periods, a leap day).
        (42, 1, 3, "2024-02-28", false),
    ] {
        let dir = tmp(&format!("s{seed}"));
        let mut cfg = Config::new(dir.path(), days, scale, seed);
        cfg.start = start.parse::<NaiveDate>().expect("date");
        cfg.metrics = metrics;
        check(&cfg);
    }
}

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let (a, b, c) = (tmp("a"), tmp("b"), tmp("c"));
    let cfg = |d: &Path, seed| {
        let mut c = Config::new(d, 2, 1, seed);
        c.metrics = true;
        c
    };
    generate(&cfg(a.path(), 5)).expect("a");
    generate(&cfg(b.path(), 5)).expect("b");
    generate(&cfg(c.path(), 6)).expect("c");
    let (fa, fb) = (all_files(a.path()), all_files(b.path()));
    assert_eq!(fa.len(), fb.len());
    let mut differs = false;
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.strip_prefix(a.path()).ok(), y.strip_prefix(b.path()).ok());
        let bytes = std::fs::read(x).expect("read");
        assert_eq!(bytes, std::fs::read(y).expect("read"), "{}", x.display());
        let other = x
            .strip_prefix(a.path())
            .map(|r| c.path().join(r))
            .expect("rel");
        differs |= std::fs::read(other).map(|o| o != bytes).unwrap_or(true);
    }
    assert!(differs, "another seed wrote the same files");
}

// ---- formats ----

fn first_line(path: &Path) -> String {
    let file = std::fs::File::open(path).expect("open");
    let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut line = String::new();
    BufReader::new(&mut reader)
        .read_line(&mut line)
        .expect("line");
    line.trim_start_matches('\u{feff}').trim_end().to_string()
}

fn csv_header(path: &Path) -> Vec<String> {
    let line = first_line(path);
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    r.records()
        .next()
        .expect("header")
        .expect("csv")
        .iter()
        .map(str::to_string)
        .collect()
}

/// The format label `burnrate ingest` reports, without the container part.
fn format_of(path: &Path) -> String {
    let mut sink = Collected::default();
    let report = ingest_path(path, &Options::default(), &mut sink)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let f = report.format;
    f.split(" (assembly")
        .next()
        .unwrap_or(&f)
        .split(", ")
        .next()
        .unwrap_or(&f)
        .to_string()
}

fn generated(dir: &Path, suffix: &str, contains: &str) -> Vec<PathBuf> {
    let files: Vec<PathBuf> = all_files(&dir.join("data"))
        .into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            s.ends_with(suffix) && s.contains(contains)
        })
        .collect();
    assert!(!files.is_empty(), "no generated *{suffix} with {contains}");
    files
}

/// `savingsPlan/SavingsPlanARN` → `savings_plan_savings_plan_a_r_n`: the Athena/CUR 2.0
/// naming rule (DATA_FORMATS §1.2), every capital letter becoming `_x`.
fn snake(legacy: &str) -> String {
    let mut out = String::new();
    for ch in legacy.chars() {
        match ch {
            '/' | ':' => out.push('_'),
            c if c.is_ascii_uppercase() => {
                if !out.is_empty() && !out.ends_with('_') {
                    out.push('_');
                }
                out.push(c.to_ascii_lowercase());
            }
            c => out.push(c),
        }
    }
    out
}

#[test]
fn generated_headers_match_the_real_formats() {
    let dir = tmp("fmt");
    let mut cfg = Config::new(dir.path(), 1, 1, 3);
    cfg.metrics = true;
    generate(&cfg).expect("generate");

    // Legacy CUR: every column appears in a real CUR header, or is an activated tag or
    // cost category column (one per tag key, named by the account).
    let mut real: BTreeSet<String> = BTreeSet::new();
    for f in all_files(&data("aws/cur-legacy-csv")) {
        if f.extension().is_some_and(|e| e == "csv") {
            real.extend(csv_header(&f));
        }
    }
    let real_cur =
        data("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv");
    for f in generated(dir.path(), ".csv.gz", "data/aws/") {
        for col in csv_header(&f) {
            assert!(
                real.contains(&col)
                    || col.starts_with("resourceTags/user:")
                    || col.starts_with("costCategory/"),
                "legacy CUR column {col} is in no real CUR"
            );
        }
    }
    let manifests = generated(dir.path(), "-Manifest.json", "data/aws/burnrate-cur/");
    assert_eq!(format_of(&manifests[0]), "AWS CUR manifest");
    // The real manifest is read as the same kind (its listed files are not in `shared`,
    // so it is refused as an incomplete assembly).
    let refused = ingest_path(
        &data("aws/cur-legacy-csv/koku__nise-generated__koku-local-Manifest.json"),
        &Options::default(),
        &mut Collected::default(),
    )
    .expect_err("an incomplete assembly");
    assert!(
        refused.to_string().contains("AWS CUR manifest of assembly"),
        "{refused}"
    );
    // The data file alone is read as the real legacy CUR is.
    let gz = generated(dir.path(), ".csv.gz", "data/aws/");
    assert_eq!(format_of(&gz[0]), format_of(&real_cur));

    // CUR 2.0: snake_case of real legacy columns, the real Athena columns, and the CUR
    // 2.0-only map and name columns (DATA_FORMATS §1.3).
    let athena = csv_header(&data(
        "aws/cur-athena-snake-case/koku__2022-07-01-alt-columns.csv",
    ));
    let mut allowed: BTreeSet<String> = athena.into_iter().collect();
    allowed.extend(real.iter().map(|c| snake(c)));
    allowed.extend(
        [
            "product",
            "resource_tags",
            "cost_category",
            "bill_payer_account_name",
            "line_item_usage_account_name",
        ]
        .map(String::from),
    );
    for f in generated(dir.path(), ".parquet", "aws-cur2") {
        let file = std::fs::File::open(&f).expect("open");
        let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .expect("parquet");
        for field in builder.schema().fields() {
            assert!(
                allowed.contains(field.name()),
                "CUR 2.0 column {} is unknown",
                field.name()
            );
        }
        assert_eq!(format_of(&f), "AWS CUR 2.0");
    }

    // Azure EA: the real export's header, column for column.
    let ea = data("azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv");
    let amortized = data("azure/ea-amortized/finops-toolkit__EA_AmortizedCost_Small.csv");
    for f in generated(dir.path(), ".csv", "data/azure/") {
        assert_eq!(csv_header(&f), csv_header(&ea), "{}", f.display());
        assert_eq!(format_of(&f), format_of(&ea));
    }
    assert_eq!(format_of(&ea), format_of(&amortized));

    // GCP: every key path is in the BigQuery detailed export schema.
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(data(
            "gcp/schema/DERIVED__bq_schema__detailed_usage_cost.json",
        ))
        .expect("schema"),
    )
    .expect("json");
    let mut fields = BTreeSet::new();
    schema_paths(&schema, "", &mut fields);
    let b09 = common::case_dir("B09")
        .join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl");
    for f in generated(dir.path(), ".jsonl", "data/gcp/") {
        for line in std::fs::read_to_string(&f).expect("read").lines().take(200) {
            let v: Value = serde_json::from_str(line).expect("json line");
            let mut keys = BTreeSet::new();
            value_paths(&v, "", &mut keys);
            for k in keys {
                assert!(
                    fields.contains(&k),
                    "GCP key {k} is not in the BigQuery schema"
                );
            }
        }
        assert_eq!(format_of(&f), format_of(&b09));
    }

    // FOCUS: FOCUS 1.2 columns (Microsoft's 1.2 column metadata) or x_ columns.
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(data(
            "azure/focus-export-metadata/finops-toolkit__FocusCost_1.2-preview.json",
        ))
        .expect("metadata"),
    )
    .expect("json");
    let focus12: BTreeSet<&str> = meta["Columns"]
        .as_array()
        .expect("columns")
        .iter()
        .filter_map(|c| c["ColumnName"].as_str())
        .collect();
    let focus_sample = data("focus/sample-data/FOCUS-Sample-Data__FOCUS-1.0__focus_sample.csv");
    for f in generated(dir.path(), ".csv", "data/focus/") {
        for col in csv_header(&f) {
            assert!(
                focus12.contains(col.as_str()) || col.starts_with("x_"),
                "FOCUS column {col}"
            );
        }
        assert_eq!(format_of(&f), format_of(&focus_sample));
    }

    // Metrics: case B17's columns, plus only columns the metrics parser has a name for.
    let b17 = common::case_dir("B17").join("input/inference-metrics-2024-03-05T10.csv");
    let b17_header = csv_header(&b17);
    for f in generated(dir.path(), ".csv", "data/metrics/") {
        let header = csv_header(&f);
        for col in &b17_header {
            assert!(header.contains(col), "{col} missing from {}", f.display());
        }
        for col in &header {
            assert!(header_is_read(col), "metrics column {col} is not read");
        }
        assert_eq!(format_of(&f), format_of(&b17));
    }
}

/// A per-minute column the metrics parser reads (its alias list includes the key).
fn header_is_read(col: &str) -> bool {
    let key = burnrate_ingest::table::column_key(col);
    let header = burnrate_ingest::table::Header::new(["timestamp", "endpoint_id", col]);
    let c = burnrate_ingest::metrics::columns::MetricColumns::resolve(&header);
    let cols = [
        c.provider,
        c.model,
        c.accelerator,
        c.replicas,
        c.requests,
        c.errors,
        c.input_tokens,
        c.output_tokens,
        c.latency_p50_ms,
        c.latency_p95_ms,
        c.gpu_utilization_pct,
        c.gpu_memory_utilization_pct,
        c.cpu_utilization_pct,
        c.memory_utilization_pct,
        c.timestamp,
        c.resource,
    ];
    !key.is_empty() && cols.iter().any(|x| x.present())
}

fn schema_paths(fields: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let list = match fields {
        Value::Array(a) => a.clone(),
        Value::Object(o) => o
            .get("fields")
            .and_then(|f| f.as_array())
            .cloned()
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    for f in list {
        let name = f["name"].as_str().unwrap_or_default();
        let path = format!("{prefix}{name}");
        out.insert(path.clone());
        if let Some(sub) = f.get("fields") {
            schema_paths(sub, &format!("{path}."), out);
        }
    }
}

fn value_paths(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                let path = format!("{prefix}{k}");
                out.insert(path.clone());
                value_paths(x, &format!("{path}."), out);
            }
        }
        Value::Array(a) => {
            for x in a {
                value_paths(x, prefix, out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_manifest_plants_every_pattern_with_its_recommendation() {
    let dir = tmp("pat");
    let mut cfg = Config::new(dir.path(), 1, 1, 9);
    cfg.metrics = false;
    generate(&cfg).expect("generate");
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("truth.json")).expect("truth"),
    )
    .expect("json");
    let mut seen: BTreeMap<String, Value> = BTreeMap::new();
    for r in truth["resources"].as_array().expect("resources") {
        if let Some(p) = r["pattern"].as_str() {
            seen.insert(p.to_string(), r["expected_recommendation"].clone());
        }
    }
    let want = [
        ("healthy", Value::Null),
        ("idle", "decommission".into()),
        ("low_gpu_utilization", "rightsize".into()),
        ("off_hours", "schedule".into()),
        ("bursty", "autoscale".into()),
        ("steady_on_demand", "purchase_commitment".into()),
        ("metric_gaps", Value::Null),
        ("cpu_only", Value::Null),
    ];
    for (p, rec) in want {
        assert_eq!(seen.get(p), Some(&rec), "pattern {p}");
    }
    // The views the files carry are stated, so Azure is not counted twice.
    let views: BTreeSet<&str> = truth["files"]
        .as_array()
        .expect("files")
        .iter()
        .filter_map(|f| f["view"].as_str())
        .collect();
    for v in ["actual", "amortized", "superseded", "billed+effective"] {
        assert!(views.contains(v), "{v} in {views:?}");
    }
}

/// `generate` writes files only, so its help lists no store or config flag; the commands
/// that use the store list `--data-dir`. A script passing `--data-dir` to every command
/// still runs `generate`.
#[test]
fn generate_help_lists_only_its_own_flags() {
    let help = |cmd: &str| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
            .args([cmd, "--help"])
            .output()
            .expect("run burnrate");
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = help("generate");
    assert!(text.contains("--out"), "{text}");
    assert!(!text.contains("--data-dir"), "{text}");
    assert!(!text.contains("--config"), "{text}");
    for cmd in ["ingest", "run", "demo", "serve", "summary"] {
        assert!(help(cmd).contains("--data-dir"), "{cmd}");
    }
    let work = tempfile::tempdir().expect("tempdir");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(work.path().join("store"))
        .args(["generate", "--days", "1", "--no-metrics", "--out"])
        .arg(work.path().join("gen"))
        .output()
        .expect("run burnrate");
    assert!(out.status.success(), "{out:?}");
    assert!(work.path().join("gen/truth.json").is_file());
    assert!(
        !work.path().join("store").exists(),
        "generate opens no store"
    );
}

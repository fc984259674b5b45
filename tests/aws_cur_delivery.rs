//! AWS CUR packaging: gzip, CUR 2.0 Parquet with map columns, and manifest deliveries with a
//! superseded assembly. The inputs are synthetic (labeled so): no public CUR 2.0 file or
//! full delivery tree exists; the B01 case file supplies real-format rows where it can.

mod common;

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use arrow_array::builder::{MapBuilder, StringBuilder};
use arrow_array::{
    Array, ArrayRef, Float64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use burnrate_ingest::{Collected, Options, expand_paths, ingest_path};
use common::*;

fn gzip(bytes: &[u8], to: &Path) {
    let file = std::fs::File::create(to).expect("create");
    let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    enc.write_all(bytes).expect("write");
    enc.finish().expect("finish");
}

#[test]
fn gzip_reads_the_same_as_plain() {
    let plain = case_dir("B01").join("input/sp-cur-00001.csv");
    let dir = tempfile::tempdir().expect("tempdir");
    let gz = dir.path().join("sp-cur-00001.csv.gz");
    gzip(&std::fs::read(&plain).expect("read"), &gz);
    let (a, ra) = read_clean(&plain);
    let (b, rb) = read_clean(&gz);
    assert_eq!(totals(&a.costs), totals(&b.costs));
    assert_eq!(a.costs.len(), b.costs.len());
    assert_eq!(rb.format, "AWS CUR (legacy), gzip");
    assert_eq!(ra.rows_read, rb.rows_read);
}

fn ts(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .expect("time")
        .timestamp_millis()
}

/// A two-row CUR 2.0 file (synthetic): an on-demand SageMaker endpoint hour and a Bedrock
/// token line, with `product` and `resource_tags` as Parquet maps and costs as DOUBLE.
fn write_cur2_parquet(path: &Path) {
    let utc: Arc<str> = Arc::from("UTC");
    let time = || DataType::Timestamp(TimeUnit::Millisecond, Some(utc.clone()));
    let mut product = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    product.keys().append_value("product_name");
    product.values().append_value("Amazon SageMaker");
    product.keys().append_value("region_code");
    product.values().append_value("us-east-1");
    product.append(true).expect("map");
    product.keys().append_value("product_name");
    product.values().append_value("Amazon Bedrock");
    product.append(true).expect("map");
    let product = product.finish();
    let mut tags = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    tags.keys().append_value("user:team");
    tags.values().append_value("search");
    tags.append(true).expect("map");
    tags.append(false).expect("null map");
    let tags = tags.finish();

    let schema = Schema::new(vec![
        Field::new("bill_payer_account_id", DataType::Utf8, false),
        Field::new("bill_payer_account_name", DataType::Utf8, true),
        Field::new("bill_billing_period_start_date", time(), false),
        Field::new("bill_billing_period_end_date", time(), false),
        Field::new("line_item_usage_account_id", DataType::Utf8, false),
        Field::new("line_item_line_item_type", DataType::Utf8, false),
        Field::new("line_item_usage_start_date", time(), false),
        Field::new("line_item_usage_end_date", time(), false),
        Field::new("line_item_product_code", DataType::Utf8, false),
        Field::new("line_item_usage_type", DataType::Utf8, true),
        Field::new("line_item_resource_id", DataType::Utf8, true),
        Field::new("line_item_usage_amount", DataType::Float64, true),
        Field::new("line_item_currency_code", DataType::Utf8, false),
        Field::new("line_item_unblended_cost", DataType::Float64, false),
        Field::new("pricing_unit", DataType::Utf8, true),
        Field::new("product", product.data_type().clone(), true),
        Field::new("resource_tags", tags.data_type().clone(), true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec!["111122223333"; 2])),
        Arc::new(StringArray::from(vec![Some("example-payer"); 2])),
        Arc::new(
            TimestampMillisecondArray::from(vec![ts("2024-03-01T00:00:00Z"); 2])
                .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMillisecondArray::from(vec![ts("2024-04-01T00:00:00Z"); 2])
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(vec!["444455556666"; 2])),
        Arc::new(StringArray::from(vec!["Usage"; 2])),
        Arc::new(
            TimestampMillisecondArray::from(vec![
                ts("2024-03-05T23:00:00Z"),
                ts("2024-03-05T10:00:00Z"),
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(
            TimestampMillisecondArray::from(vec![
                ts("2024-03-06T01:00:00Z"),
                ts("2024-03-05T11:00:00Z"),
            ])
            .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from(vec!["AmazonSageMaker", "AmazonBedrock"])),
        Arc::new(StringArray::from(vec![
            "USE1-Host:ml.g5.xlarge",
            "USE1-NovaLite-input-tokens",
        ])),
        Arc::new(StringArray::from(vec![
            Some("arn:aws:sagemaker:us-east-1:444455556666:endpoint/ep-1"),
            None,
        ])),
        Arc::new(Float64Array::from(vec![2.0, 1500.0])),
        Arc::new(StringArray::from(vec!["USD"; 2])),
        Arc::new(Float64Array::from(vec![2.812, 0.09])),
        Arc::new(StringArray::from(vec![Some("Hrs"), Some("1K tokens")])),
        Arc::new(product),
        Arc::new(tags),
    ];
    let batch = RecordBatch::try_new(Arc::new(schema.clone()), columns).expect("batch");
    let file = std::fs::File::create(path).expect("create");
    let mut writer =
        parquet::arrow::ArrowWriter::try_new(file, Arc::new(schema), None).expect("writer");
    writer.write(&batch).expect("write");
    writer.close().expect("close");
}

#[test]
fn cur2_parquet_with_map_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cur2-00001.snappy.parquet");
    write_cur2_parquet(&path);
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "AWS CUR 2.0, Parquet");
    assert_eq!(out.costs.len(), 2);
    let ep = &out.costs[0];
    // DOUBLE 2.812 reads as the decimal 2.812, not its binary neighbour.
    assert_eq!(ep.billed_cost, dec("2.812"));
    assert_eq!(ep.service_name, "Amazon SageMaker");
    assert_eq!(ep.region_id.as_deref(), Some("us-east-1"));
    assert_eq!(ep.tags.get("user:team").map(String::as_str), Some("search"));
    assert_eq!(ep.billing_account_name.as_deref(), Some("example-payer"));
    assert!(ep.is_ai);
    assert_eq!(ep.resource_kind, burnrate_schemas::ResourceKind::Endpoint);
    // 23:00 to 01:00 straddles midnight: 1.406 on each day.
    let days = ep.split_daily(ep.billed_cost);
    assert_eq!(
        days.iter().map(|d| d.1).collect::<Vec<_>>(),
        vec![dec("1.406"), dec("1.406")]
    );
    let bedrock = &out.costs[1];
    assert_eq!(bedrock.resource_id, None);
    assert!(bedrock.tags.is_empty());
    assert_eq!(bedrock.model.as_deref(), Some("NovaLite"));
    // 1500 units of "1K tokens" is 1.5 million tokens.
    assert_eq!(bedrock.tokens, Some(dec("1500000")));
}

const MANIFEST: &str = r#"{
  "assemblyId": "ASSEMBLY",
  "account": "111122223333",
  "columns": [],
  "charset": "UTF-8",
  "compression": "GZIP",
  "contentType": "text/csv",
  "reportId": "x",
  "reportName": "burnrate-test",
  "billingPeriod": {"start": "20240301T000000.000Z", "end": "20240401T000000.000Z"},
  "bucket": "example-bucket",
  "reportKeys": ["cur/burnrate-test/20240301-20240401/ASSEMBLY/burnrate-test-1.csv.gz"]
}"#;

/// A delivery tree (synthetic layout, B01 rows): an old assembly, then a restated one with
/// the on-demand hour re-priced. The period-level manifest names the new assembly, so a
/// directory ingest reads it once and only it.
#[test]
fn manifest_deliveries_read_the_current_assembly_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let period = dir.path().join("cur/burnrate-test/20240301-20240401");
    let rows =
        std::fs::read_to_string(case_dir("B01").join("input/sp-cur-00001.csv")).expect("read");
    // The restated copy doubles the on-demand m5.large hour (0.096 → 0.192), twice.
    let restated = rows.replace(
        ",0.096,0.096,$0.096 per On Demand",
        ",0.096,0.192,$0.096 per On Demand",
    );
    assert_ne!(rows, restated);
    for (assembly, body) in [("aaaa-old", &rows), ("bbbb-new", &restated)] {
        let folder = period.join(assembly);
        std::fs::create_dir_all(&folder).expect("mkdir");
        gzip(body.as_bytes(), &folder.join("burnrate-test-1.csv.gz"));
        std::fs::write(
            folder.join("burnrate-test-Manifest.json"),
            MANIFEST.replace("ASSEMBLY", assembly),
        )
        .expect("write");
    }
    std::fs::write(
        period.join("burnrate-test-Manifest.json"),
        MANIFEST.replace("ASSEMBLY", "bbbb-new"),
    )
    .expect("write");

    let expanded = expand_paths(&[dir.path().to_path_buf()]).expect("expand");
    assert_eq!(expanded.files.len(), 1, "{:?}", expanded.files);
    assert_eq!(expanded.notes.len(), 1, "{:?}", expanded.notes);
    assert!(expanded.notes[0].contains("aaaa-old"));
    let mut out = Collected::default();
    let report = ingest_path(&expanded.files[0], &Options::default(), &mut out).expect("ingest");
    assert_eq!(report.rejected_count, 0, "{:?}", report.rejected);
    // B01's billed total is 0.392; the restatement adds 0.096 per hour for two hours.
    assert_eq!(totals(&out.costs).0, dec("0.392") + dec("0.192"));
    assert!(
        out.costs
            .iter()
            .all(|r| r.source == "aws-cur:burnrate-test/20240301T000000.000Z/bbbb-new")
    );
}

/// A file beside an assembly's parts that its manifest does not list (a copy of a part
/// under another name, a stale part of an earlier export) is not part of the assembly:
/// left out with a note naming it, so the period is B01's 0.392 once, not twice.
#[test]
fn a_file_the_manifest_does_not_list_is_left_out_of_the_assembly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let folder = dir
        .path()
        .join("cur/burnrate-test/20240301-20240401/bbbb-new");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let rows =
        std::fs::read_to_string(case_dir("B01").join("input/sp-cur-00001.csv")).expect("read");
    gzip(rows.as_bytes(), &folder.join("burnrate-test-1.csv.gz"));
    std::fs::copy(
        folder.join("burnrate-test-1.csv.gz"),
        folder.join("burnrate-test-1 (1).csv.gz"),
    )
    .expect("copy");
    std::fs::write(
        folder.join("burnrate-test-Manifest.json"),
        MANIFEST.replace("ASSEMBLY", "bbbb-new"),
    )
    .expect("write");

    let expanded = expand_paths(&[dir.path().to_path_buf()]).expect("expand");
    assert_eq!(expanded.files.len(), 1, "{:?}", expanded.files);
    assert!(
        expanded
            .notes
            .iter()
            .any(|n| n.contains("burnrate-test-1 (1).csv.gz") && n.contains("bbbb-new")),
        "{:?}",
        expanded.notes
    );
    let store = dir.path().join("store");
    burnrate_ok(
        &store,
        &["ingest", dir.path().join("cur").to_str().expect("path")],
    );
    let out = burnrate_ok(
        &store,
        &[
            "summary",
            "--scope",
            "all",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let b01 = jdec(&expected("B01")["expected"]["totals"], "billed_cost");
    assert_eq!(dec(v["total_cost"].as_str().expect("one currency")), b01);
}

/// A manifest whose listed file is missing is an incomplete assembly: refused whole (an
/// error naming the file), never delivered in part, since a delivery replaces its period.
#[test]
fn a_manifest_whose_files_are_missing_is_refused_whole() {
    let path = data("aws/cur-legacy-csv/koku__nise-generated__koku-local-Manifest.json");
    let mut got = burnrate_ingest::Collected::default();
    let err = burnrate_ingest::ingest_path(&path, &burnrate_ingest::Options::default(), &mut got)
        .expect_err("an incomplete assembly");
    assert!(got.costs.is_empty());
    let reason = err.to_string();
    assert!(
        reason.contains("koku-local-1.csv.gz")
            && reason.contains("not found")
            && reason.contains("16e57707-f9e3-49be-8be6-b84e684b5194")
            && reason.contains("koku__nise-generated__koku-local-Manifest.json"),
        "{reason}"
    );

    // One listed file present and one missing: nothing of the present one is read.
    let dir = tempfile::tempdir().expect("tempdir");
    let cur = std::fs::read(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    std::fs::write(dir.path().join("there-1.csv"), cur).expect("write");
    let manifest = dir.path().join("there-Manifest.json");
    std::fs::write(
        &manifest,
        r#"{"assemblyId": "cccc", "reportKeys": ["x/there-1.csv", "x/gone-2.csv"],
            "billingPeriod": {"start": "20240301T000000.000Z", "end": "20240401T000000.000Z"}}"#,
    )
    .expect("write manifest");
    let mut got = burnrate_ingest::Collected::default();
    let err =
        burnrate_ingest::ingest_path(&manifest, &burnrate_ingest::Options::default(), &mut got)
            .expect_err("an incomplete assembly");
    assert!(got.costs.is_empty(), "{} records read", got.costs.len());
    assert!(err.to_string().contains("gone-2.csv"), "{err}");
    assert!(!err.to_string().contains("there-1.csv"), "{err}");
}

/// CUR 2.0 as CSV (synthetic rows in the Data Exports column set): the map columns are
/// JSON objects in the cells, and the same normalizer reads them as from Parquet.
#[test]
fn cur2_csv_with_json_map_columns() {
    let csv = "\
bill_payer_account_id,bill_payer_account_name,bill_billing_period_start_date,bill_billing_period_end_date,line_item_usage_account_id,line_item_line_item_type,line_item_usage_start_date,line_item_usage_end_date,line_item_product_code,line_item_usage_type,line_item_resource_id,line_item_usage_amount,line_item_currency_code,line_item_unblended_cost,pricing_unit,product,resource_tags,cost_category
111122223333,payer,2024-03-01T00:00:00.000Z,2024-04-01T00:00:00.000Z,444455556666,Usage,2024-03-05T10:00:00.000Z,2024-03-05T11:00:00.000Z,AmazonSageMaker,USE1-Host:ml.g5.xlarge,arn:aws:sagemaker:us-east-1:444455556666:endpoint/ep-1,1,USD,1.406,Hrs,\"{\"\"product_name\"\":\"\"Amazon SageMaker\"\",\"\"region_code\"\":\"\"us-east-1\"\"}\",\"{\"\"user:team\"\":\"\"search\"\"}\",\"{\"\"project\"\":\"\"llm\"\"}\"
111122223333,payer,2024-03-01T00:00:00.000Z,2024-04-01T00:00:00.000Z,444455556666,Tax,2024-03-01T00:00:00.000Z,2024-04-01T00:00:00.000Z,AmazonSageMaker,,,,USD,0.14,,{},{},{}
";
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cur2-00001.csv");
    std::fs::write(&path, csv).expect("write");
    let (out, report) = read_clean(&path);
    assert_eq!(report.format, "AWS CUR 2.0");
    assert_eq!(out.costs.len(), 2);
    let ep = &out.costs[0];
    assert_eq!(ep.billed_cost, dec("1.406"));
    assert_eq!(ep.service_name, "Amazon SageMaker");
    assert_eq!(ep.region_id.as_deref(), Some("us-east-1"));
    assert_eq!(ep.tags.get("user:team").map(String::as_str), Some("search"));
    assert_eq!(
        ep.tags.get("costCategory/project").map(String::as_str),
        Some("llm")
    );
    assert_eq!(ep.resource_kind, burnrate_schemas::ResourceKind::Endpoint);
    assert_eq!(out.costs[1].charge_kind, burnrate_schemas::ChargeKind::Tax);
    // 1.406 + 0.14, added by hand.
    assert_eq!(totals(&out.costs).0, dec("1.546"));
}

//! `burnrate ingest` as a user runs it: the binary, real files, the report and exit codes.

mod common;

use std::process::Command;

use common::*;
use rust_decimal::Decimal;
use serde_json::Value;

/// Runs the binary with a fresh data directory, so tests never share or leave a store.
fn burnrate(args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .output()
        .expect("run burnrate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn json_report_totals_equal_a_plain_sum_over_the_file() {
    let cur = data("aws/cur-legacy-csv/focus_converters__sample-anonymous-aws-export-dataset.csv");
    let (code, stdout, stderr) =
        burnrate(&["ingest", "--report", "json", cur.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("json report");
    let file = &doc["files"][0];
    assert_eq!(file["format"], "AWS CUR (legacy)");
    assert_eq!(file["rows_read"], 1281);
    assert_eq!(file["rejected_count"], 0);
    let totals = doc["totals"].as_array().expect("totals");
    assert_eq!(totals.len(), 1);
    assert_eq!(totals[0]["provider"], "aws");
    assert_eq!(totals[0]["currency"], "USD");
    let want = csv_column_sum(&cur, "lineItem/UnblendedCost");
    assert_eq!(jdec(&totals[0], "billed_cost"), want);
}

#[test]
fn an_unknown_file_fails_alone_and_says_why() {
    let b12 = case_dir("B12").join("input/b12-cur-00001.csv");
    let mapping = data("focus/focus_converters/mappings/aws_category_mapping.csv");
    let (code, stdout, _) = burnrate(&[
        "ingest",
        mapping.to_str().expect("path"),
        b12.to_str().expect("path"),
    ]);
    assert_eq!(code, 1, "an unreadable file makes the run fail");
    assert!(
        stdout.contains("FAILED") && stdout.contains("not a known billing or metrics format"),
        "{stdout}"
    );
    assert!(
        stdout.contains("aws_category_mapping.csv"),
        "the error names the file: {stdout}"
    );
    // The good file was still read: B12 nets to 0.50 USD.
    assert!(stdout.contains("b12-cur-00001.csv"), "{stdout}");
    let totals_line = stdout
        .lines()
        .find(|l| l.starts_with("aws "))
        .expect("totals line");
    let billed: Decimal = totals_line
        .split_whitespace()
        .nth(2)
        .expect("billed")
        .parse()
        .expect("decimal");
    assert_eq!(billed, dec("0.50"));
}

#[test]
fn records_as_json_lines_carry_focus_names_and_exact_money() {
    let b01 = case_dir("B01").join("input/sp-cur-00001.csv");
    let (code, stdout, stderr) =
        burnrate(&["ingest", "--records", "-", b01.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    // The table report went to stderr, so stdout is only records.
    assert!(
        stderr.contains("skipped 2: savings plan negation"),
        "{stderr}"
    );
    let records: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(
        records.len(),
        8,
        "6 usage/fee records + 2 unused-commitment records"
    );
    let billed: Decimal = records.iter().map(|r| jdec(r, "BilledCost")).sum();
    assert_eq!(billed, dec("0.392"));
    assert!(
        records
            .iter()
            .all(|r| r["BillingCurrency"] == "USD" && r["x_Provider"] == "aws")
    );
    assert!(
        records[0]["x_RowRef"]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("sp-cur-00001.csv"))
    );
}

#[test]
fn strict_mode_fails_on_rejected_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.csv");
    let text =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    std::fs::write(&bad, text.replacen(",2.40,", ",two forty,", 1)).expect("write");
    let path = bad.to_str().expect("path");
    let (code, stdout, _) = burnrate(&["ingest", path]);
    assert_eq!(
        code, 0,
        "a rejected row alone does not fail the run: {stdout}"
    );
    assert!(
        stdout.contains("rejected:")
            && stdout.contains("row 1")
            && stdout.contains("lineItem/UnblendedCost"),
        "{stdout}"
    );
    let (code, _, _) = burnrate(&["ingest", "--strict", path]);
    assert_eq!(code, 1);
}

/// Two deliveries of one CUR period in one run: the newer folder (by modification time)
/// replaces the older, whatever their names' alphabetical order.
#[test]
fn the_newest_of_two_deliveries_in_one_run_wins() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    let cur =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    // Written first (older), named last: the 2.40 EC2 line as given, net 0.50.
    std::fs::create_dir_all(input.join("zzz-old")).expect("mkdir");
    std::fs::write(input.join("zzz-old/cur.csv"), &cur).expect("write");
    std::thread::sleep(std::time::Duration::from_millis(50));
    // Written second (newer), named first: the EC2 line restated to 3.40, net 1.50.
    std::fs::create_dir_all(input.join("aaa-new")).expect("mkdir");
    std::fs::write(
        input.join("aaa-new/cur.csv"),
        cur.replacen(",2.40,$0.10", ",3.40,$0.10", 1),
    )
    .expect("write");
    let store = work.path().join("store");
    let ingest = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(&store)
        .arg("ingest")
        .arg(&input)
        .output()
        .expect("ingest");
    assert!(ingest.status.success());
    let out = Command::new(env!("CARGO_BIN_EXE_burnrate"))
        .arg("--data-dir")
        .arg(&store)
        .args([
            "summary",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
            "--scope",
            "all",
        ])
        .output()
        .expect("summary");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(dec(v["total_cost"].as_str().expect("total")), dec("1.50"));
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

fn march_total(data_dir: &std::path::Path) -> Decimal {
    let out = burnrate_ok(
        data_dir,
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
    let v: Value = serde_json::from_str(&out).expect("summary json");
    dec(v["total_cost"].as_str().expect("one currency"))
}

/// A restated CUR file that breaks off half-way (a download cut short) must not replace
/// the period with what was read before the break: the file fails, naming the row, and
/// the period keeps its previous delivery.
#[test]
fn a_restated_file_that_breaks_off_is_not_delivered_in_part() {
    let work = tempfile::tempdir().expect("tempdir");
    let cur =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    let (_, rows) = cur.split_once('\n').expect("header");
    let first_row = rows.lines().next().expect("a row");
    std::fs::create_dir_all(work.path().join("full")).expect("mkdir");
    std::fs::write(work.path().join("full/cur.csv.gz"), gzip(cur.as_bytes())).expect("write");
    let store = work.path().join("store");
    burnrate_ok(
        &store,
        &["ingest", &work.path().join("full").display().to_string()],
    );
    // B12 nets to 0.50 (its expected.json).
    assert_eq!(march_total(&store), dec("0.50"));

    // The restatement: the same rows, then 2,000 more 2.40 usage rows in a second gzip
    // member that is cut in half. What precedes the cut is read (records are emitted)
    // before the decompressor fails.
    let more: String = (0..2000)
        .map(|i| first_row.replacen("b12ddd", &format!("m{i:05}"), 1) + "\n")
        .collect();
    let mut broken = gzip(cur.as_bytes());
    let second = gzip(more.as_bytes());
    broken.extend_from_slice(&second[..second.len() / 2]);
    std::fs::create_dir_all(work.path().join("restated")).expect("mkdir");
    std::fs::write(work.path().join("restated/cur.csv.gz"), broken).expect("write");
    let out = common::burnrate(
        &store,
        &[
            "ingest",
            &work.path().join("restated").display().to_string(),
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("breaks off at row"), "{stdout}");
    assert!(stdout.contains("left out"), "{stdout}");
    assert_eq!(march_total(&store), dec("0.50"));
}

/// `--currency` takes an ISO 4217 code (three letters) only: anything else is a usage
/// error naming the flag, before a file is read.
#[test]
fn currency_must_be_a_three_letter_code() {
    let input = tempfile::tempdir().expect("tempdir");
    let dir = input.path().to_str().expect("path");
    for bad in ["DOLLARS", "US", "U$D"] {
        for args in [
            vec!["ingest", "--currency", bad, dir],
            vec!["run", "--once", "--input", dir, "--currency", bad],
        ] {
            let (code, _, stderr) = burnrate(&args);
            assert_eq!(code, 2, "{args:?}: {stderr}");
            assert!(stderr.contains("--currency"), "{args:?}: {stderr}");
            assert!(stderr.contains("ISO 4217"), "{args:?}: {stderr}");
        }
    }
}

/// An Azure export without a currency column is refused with the way out (`--currency
/// CODE`); with the flag, in any case, its rows carry that code in capitals.
#[test]
fn an_azure_export_without_currency_names_the_flag() {
    let input = tempfile::tempdir().expect("tempdir");
    let file = input.path().join("reduced.csv");
    std::fs::write(
        &file,
        "SubscriptionId,Date,MeterCategory,CostInBillingCurrency\n\
         sub-1,2024-03-05,Virtual Machines,1.25\n\
         sub-1,2024-03-06,Virtual Machines,2.50\n",
    )
    .expect("write");
    let path = file.to_str().expect("path");
    let (code, stdout, stderr) = burnrate(&["ingest", path]);
    assert_eq!(code, 1, "{stderr}");
    // The report (stdout) names the failed file and why.
    assert!(stdout.contains("billing currency"), "{stdout}");
    assert!(stdout.contains("pass --currency CODE"), "{stdout}");

    let (code, stdout, stderr) =
        burnrate(&["ingest", "--report", "json", "--currency", "eur", path]);
    assert_eq!(code, 0, "{stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("json report");
    let totals = doc["totals"].as_array().expect("totals");
    assert_eq!(totals.len(), 1, "{doc}");
    assert_eq!(totals[0]["currency"], "EUR");
    assert_eq!(jdec(&totals[0], "billed_cost"), dec("3.75"));
}

/// B12 as one full delivery of March 2024 (nets to 0.50 by its expected.json), in `full/`.
fn deliver_b12(work: &std::path::Path, store: &std::path::Path) -> String {
    let cur =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    std::fs::create_dir_all(work.join("full")).expect("mkdir");
    std::fs::write(work.join("full/cur.csv"), &cur).expect("write");
    burnrate_ok(store, &["ingest", &work.join("full").display().to_string()]);
    assert_eq!(march_total(store), dec("0.50"));
    cur
}

/// A plain (not gzipped) restated CUR cut short in the middle of a row, as a partial
/// download is: the short last row has no line end. It must not be read as a row with
/// empty trailing columns and the rest delivered as the whole period.
#[test]
fn a_plain_restated_file_cut_mid_row_is_not_delivered_in_part() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let cur = deliver_b12(work.path(), &store);
    let (_, rows) = cur.split_once('\n').expect("header");
    let first_row = rows.lines().next().expect("a row");
    // The restatement: the same rows and 2,000 more usage rows, cut half-way through the
    // last one.
    let mut restated = cur.clone();
    for i in 0..2000 {
        restated += &first_row.replacen("b12ddd", &format!("m{i:05}"), 1);
        restated.push('\n');
    }
    restated.truncate(restated.len() - first_row.len() / 2);
    std::fs::create_dir_all(work.path().join("restated")).expect("mkdir");
    std::fs::write(work.path().join("restated/cur.csv"), restated).expect("write");
    let out = common::burnrate(
        &store,
        &[
            "ingest",
            &work.path().join("restated").display().to_string(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("breaks off at row 2006"), "{stdout}");
    assert!(stdout.contains("cut short"), "{stdout}");
    assert_eq!(march_total(&store), dec("0.50"));
}

/// A restated folder of two part files whose second fails before its first row (a gzip
/// download cut inside its header): the first part alone must not replace the period.
#[test]
fn a_restated_folder_with_a_part_that_gave_nothing_keeps_the_period() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let cur = deliver_b12(work.path(), &store);
    // Part 1: the header and the first row only (so it alone would change the total).
    let mut lines = cur.lines();
    let part1 = format!(
        "{}\n{}\n",
        lines.next().expect("header"),
        lines.next().expect("row")
    );
    let dir = work.path().join("restated");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("cur-00001.csv"), part1).expect("write");
    std::fs::write(dir.join("cur-00002.csv.gz"), &gzip(cur.as_bytes())[..12]).expect("write");
    let out = common::burnrate(&store, &["ingest", &dir.display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("is not stored"), "{stdout}");
    assert!(stdout.contains("cur-00002.csv.gz"), "{stdout}");
    assert_eq!(march_total(&store), dec("0.50"));

    // A file that is no data at all (an Azure run's manifest.json) holds nothing back:
    // the folder is delivered, and March is its one row, a 2.40 usage row.
    std::fs::remove_file(dir.join("cur-00002.csv.gz")).expect("rm");
    std::fs::write(dir.join("manifest.json"), r#"{"runInfo":{"runId":"x"}}"#).expect("write");
    let out = common::burnrate(&store, &["ingest", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "the manifest is still named");
    assert_eq!(march_total(&store), dec("2.40"));

    // A part cut short inside its header line (its format cannot be told) holds the
    // period back too: March stays 2.40.
    std::fs::write(dir.join("cur-00002.csv"), &cur[..60]).expect("write");
    let out = common::burnrate(&store, &["ingest", &dir.display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("is not stored"), "{stdout}");
    assert!(stdout.contains("breaks off in its first line"), "{stdout}");
    assert_eq!(march_total(&store), dec("2.40"));
    std::fs::remove_file(dir.join("cur-00002.csv")).expect("rm");

    // An empty file (a `_SUCCESS` marker, as Spark and Hadoop jobs write): it
    // holds no part of the period, whole or not. The part now has B12's first two rows,
    // usage of 2.40 and 0.80: the folder is delivered and March is 3.20.
    std::fs::remove_file(dir.join("manifest.json")).expect("rm");
    let mut lines = cur.lines();
    let part1 = format!(
        "{}\n{}\n{}\n",
        lines.next().expect("header"),
        lines.next().expect("row 1"),
        lines.next().expect("row 2")
    );
    std::fs::write(dir.join("cur-00001.csv"), part1).expect("write");
    std::fs::write(dir.join("_SUCCESS"), "").expect("write");
    let out = common::burnrate(&store, &["ingest", &dir.display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("is not stored"), "{stdout}");
    assert_eq!(march_total(&store), dec("3.20"));
}

/// The JSON lines of `--records FILE` as values.
fn records_in(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .expect("records file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// `--records` holds what the store holds: records of a file that fails (cut short), of
/// a copy that is refused, and of a restated folder that is not stored are left out.
#[test]
fn records_of_files_that_are_not_stored_are_left_out() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let cur = deliver_b12(work.path(), &store);

    // A restated CUR cut mid-row: its rows before the cut were read, none is stored.
    let mut cut = cur.clone();
    cut.truncate(cut.trim_end().len() - 5);
    std::fs::create_dir_all(work.path().join("cut")).expect("mkdir");
    std::fs::write(work.path().join("cut/cur.csv"), &cut).expect("write");
    let records = work.path().join("cut.jsonl");
    let out = common::burnrate(
        &store,
        &[
            "ingest",
            "--records",
            &records.display().to_string(),
            &work.path().join("cut").display().to_string(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("left out"), "{stdout}");
    assert_eq!(records_in(&records).len(), 0);
    assert_eq!(march_total(&store), dec("0.50"));

    // A restated folder whose second part gave nothing: the first part's record was read
    // but the folder is not stored.
    let mut lines = cur.lines();
    let part1 = format!(
        "{}\n{}\n",
        lines.next().expect("header"),
        lines.next().expect("row")
    );
    let dir = work.path().join("restated");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("cur-00001.csv"), part1).expect("write");
    std::fs::write(dir.join("cur-00002.csv.gz"), &gzip(cur.as_bytes())[..12]).expect("write");
    let records = work.path().join("restated.jsonl");
    let out = common::burnrate(
        &store,
        &[
            "ingest",
            "--records",
            &records.display().to_string(),
            &dir.display().to_string(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("is not stored"), "{stdout}");
    assert_eq!(records_in(&records).len(), 0);

    // Two byte-identical GCP files: the copy is refused, so its records are not written;
    // the first file's are, one per data row (a plain count with the csv crate).
    let gcp = data("gcp/rows/koku__2022-08-01_5.csv");
    let rows = csv_rows(&gcp).len();
    let dir = work.path().join("gcp");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(&gcp, dir.join("a.csv")).expect("copy");
    std::fs::copy(&gcp, dir.join("b.csv")).expect("copy");
    let records = work.path().join("gcp.jsonl");
    let out = common::burnrate(
        &store,
        &[
            "ingest",
            "--records",
            &records.display().to_string(),
            &dir.display().to_string(),
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("identical"), "{stdout}");
    let got = records_in(&records);
    assert_eq!(got.len(), rows);
    assert!(
        got.iter().all(|r| r["x_RowRef"]["file"]
            .as_str()
            .is_some_and(|f| f.ends_with("a.csv"))),
        "only a.csv's records"
    );
}

/// `row N` in a rejection is the Nth data row under the header, not the file line: a
/// quoted cell with line breaks in an earlier row moves the line, not the row number.
#[test]
fn a_rejected_row_is_named_by_its_data_row_not_its_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cost.csv");
    // Data row 1 holds a meter name over three lines; data row 3 (file line 6) is bad.
    std::fs::write(
        &file,
        "SubscriptionId,Date,MeterCategory,CostInBillingCurrency,BillingCurrency\n\
         sub-1,2024-03-05,\"Virtual\nMachines\nv2\",1.25,USD\n\
         sub-1,2024-03-05,Storage,2.50,USD\n\
         sub-1,2024-03-05,Storage,two,USD\n",
    )
    .expect("write");
    let (code, stdout, stderr) = burnrate(&["ingest", "--dry-run", file.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("cost.csv row 3 column \"CostInBillingCurrency\""),
        "{stdout}"
    );
}

/// The same folder read again unchanged is not logged again (each restart of `run` reads
/// every folder again, so the log would grow without bound); a changed folder is.
#[test]
fn an_unchanged_folder_read_again_is_not_logged_again() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let folder = work.path().join("march");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let cur =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    std::fs::write(folder.join("cur.csv"), &cur).expect("write");
    let gcp =
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl");
    std::fs::copy(&gcp, folder.join("gcp.jsonl")).expect("copy");
    let logged = |store: &std::path::Path| {
        burnrate_sink::EmbeddedStore::open_read_only(store)
            .expect("store")
            .logged_deliveries()
            .expect("log")
            .len()
    };
    let dir = folder.display().to_string();
    let first = common::burnrate(&store, &["ingest", &dir]);
    assert!(first.status.success());
    let after_first = logged(&store);
    assert_eq!(after_first, 1, "one folder, one delivery");
    let again = common::burnrate(&store, &["ingest", &dir]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(again.status.success(), "{stderr}");
    assert!(stderr.contains("unchanged: the delivery from"), "{stderr}");
    assert_eq!(logged(&store), after_first);
    assert_eq!(
        march_total(&store),
        dec("0.50") + jdec(&expected("B09")["expected"]["totals"], "net_cost")
    );

    // One CUR line dropped: a change, stored as a new delivery.
    let fewer: Vec<&str> = cur.lines().collect();
    std::fs::write(
        folder.join("cur.csv"),
        fewer[..fewer.len() - 1].join("\n") + "\n",
    )
    .expect("write");
    let changed = common::burnrate(&store, &["ingest", &dir]);
    assert!(changed.status.success());
    assert!(String::from_utf8_lossy(&changed.stderr).contains("stored delivery"));
    assert_eq!(logged(&store), after_first + 1);
}

#[test]
fn an_address_of_an_unread_kind_is_a_usage_error_naming_the_ones_read() {
    let (code, stdout, stderr) = burnrate(&["ingest", "gs://my-billing/export/"]);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("gs://my-billing/export/: no such local path")
            && stderr.contains("bq://PROJECT.DATASET.TABLE"),
        "{stderr}"
    );
    assert!(!stderr.contains("os error"), "{stderr}");
    let (code, _, stderr) = burnrate(&["run", "--once", "--input", "S3://bucket/cur/"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("lower case: s3://bucket/cur/"), "{stderr}");
}

#[test]
fn a_folder_with_nothing_to_read_says_so() {
    let work = tempfile::tempdir().expect("tmp");
    let empty = work.path().join("exports");
    std::fs::create_dir(&empty).expect("mkdir");
    std::fs::write(empty.join(".hidden.csv"), "a,b\n1,2\n").expect("hidden file");
    let (code, stdout, stderr) = burnrate(&["ingest", empty.to_str().expect("path")]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains(&format!("note: {} holds no files to read", empty.display())),
        "{stderr}"
    );
    // No table of no files: a bare header would read as a report with its rows missing.
    assert_eq!(stdout, "", "{stderr}");
    // Nothing to store: no store is created, nor the data directory.
    let data_dir = work.path().join("data");
    let out = common::burnrate(&data_dir, &["ingest", empty.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!data_dir.exists(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "note: nothing to read, so no store was created in {}",
            data_dir.display()
        )),
        "{stderr}"
    );
    // On an existing store it still opens the store (replaying its log) and changes
    // nothing: B12 stays 0.50.
    deliver_b12(work.path(), &data_dir);
    let out = common::burnrate(&data_dir, &["ingest", empty.to_str().expect("path")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("no store was created"), "{stderr}");
    assert_eq!(march_total(&data_dir), dec("0.50"));
    let (code, _, stderr) = burnrate(&[
        "run",
        "--once",
        "--input",
        work.path().join("missing").to_str().expect("path"),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("missing does not exist"), "{stderr}");
}

/// A YAML file (or any text that is not a billing export or metrics file) is named for
/// what it is: its first line, not a "CSV header".
#[test]
fn a_yaml_file_is_described_by_its_first_line_not_as_csv() {
    let work = tempfile::tempdir().expect("tmp");
    let yaml = work.path().join("conf.yaml");
    std::fs::write(&yaml, "address: 1.2.3.4\nports: [80, 443]\n").expect("write");
    let (code, stdout, stderr) = burnrate(&["ingest", yaml.to_str().expect("path")]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let want = format!(
        "FAILED {}: not a known billing or metrics format (first line \"address: 1.2.3.4\")",
        yaml.display()
    );
    assert!(stdout.lines().any(|l| l == want), "{stdout}");
    assert!(!stdout.contains("CSV"), "{stdout}");
}

/// A restated folder held back by several failed parts names every one of them: a part
/// that broke off after giving rows and two parts cut inside their gzip header (they gave
/// nothing), not only one of them.
#[test]
fn a_restated_folder_held_back_by_several_failed_parts_names_them_all() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let cur = deliver_b12(work.path(), &store);
    let mut lines = cur.lines();
    let part1 = format!(
        "{}\n{}\n",
        lines.next().expect("header"),
        lines.next().expect("row")
    );
    let dir = work.path().join("restated");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("cur-00001.csv"), part1).expect("write");
    // Part 2: B12 whole, then a second gzip member cut in half (rows, then the break).
    let mut broken = gzip(cur.as_bytes());
    let second = gzip(cur.as_bytes());
    broken.extend_from_slice(&second[..second.len() / 2]);
    std::fs::write(dir.join("cur-00002.csv.gz"), broken).expect("write");
    std::fs::write(dir.join("cur-00003.csv.gz"), &gzip(cur.as_bytes())[..12]).expect("write");
    std::fs::write(dir.join("cur-00004.csv.gz"), &gzip(cur.as_bytes())[..12]).expect("write");
    let out = common::burnrate(&store, &["ingest", &dir.display().to_string()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("is not stored"))
        .unwrap_or_else(|| panic!("no held-back line: {stdout}"));
    let name = |n: &str| dir.join(n).display().to_string();
    let want = format!(
        "FAILED the delivery from {} is not stored: 3 files in it failed: {}, {} and {} (see above)",
        dir.display(),
        name("cur-00002.csv.gz"),
        name("cur-00003.csv.gz"),
        name("cur-00004.csv.gz"),
    );
    assert!(line.starts_with(&want), "{line}");
    assert!(line.contains("fix or remove the files"), "{line}");
    assert_eq!(march_total(&store), dec("0.50"));
}

/// The totals printed at the end keep the folders stored apart from those read but not
/// stored: B12 (nets to 0.50) is stored, and a restated folder whose first part is B12's
/// first row (a 2.40 usage row) and whose second part is cut inside its gzip header is
/// held back, its 2.40 shown as not stored.
#[test]
fn totals_of_folders_not_stored_are_shown_apart_from_the_stored_ones() {
    let work = tempfile::tempdir().expect("tempdir");
    let cur =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    let full = work.path().join("full");
    std::fs::create_dir_all(&full).expect("mkdir");
    std::fs::write(full.join("cur.csv"), &cur).expect("write");
    let held = work.path().join("restated");
    std::fs::create_dir_all(&held).expect("mkdir");
    let mut lines = cur.lines();
    let part1 = format!(
        "{}\n{}\n",
        lines.next().expect("header"),
        lines.next().expect("row")
    );
    std::fs::write(held.join("cur-00001.csv"), part1).expect("write");
    std::fs::write(held.join("cur-00002.csv.gz"), &gzip(cur.as_bytes())[..12]).expect("write");
    let (full, held) = (full.display().to_string(), held.display().to_string());

    let store = work.path().join("store");
    let out = common::burnrate(&store, &["ingest", "--report", "json", &full, &held]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let one = |key: &str| {
        let list = doc[key].as_array().expect(key);
        assert_eq!(list.len(), 1, "{key}: {doc}");
        assert_eq!(
            (&list[0]["provider"], &list[0]["currency"]),
            (&"aws".into(), &"USD".into())
        );
        (
            jdec(&list[0], "billed_cost"),
            jdec(&list[0], "effective_cost"),
        )
    };
    assert_eq!(one("totals"), (dec("0.50"), dec("0.50")));
    assert_eq!(one("totals_not_stored"), (dec("2.40"), dec("2.40")));
    assert_eq!(march_total(&store), dec("0.50"));

    // The table, on a fresh store: the stored sums under their label, the others under
    // theirs.
    let store = work.path().join("store2");
    let out = common::burnrate(&store, &["ingest", &full, &held]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let after = |label: &str| -> Vec<String> {
        let rest = stdout
            .split_once(label)
            .unwrap_or_else(|| panic!("no {label:?}: {stdout}"))
            .1;
        // The label's line, the column names, then the one row.
        let row = rest.lines().nth(2).unwrap_or("");
        row.split_whitespace().map(str::to_string).collect()
    };
    let row = after("\nstored by this ingest");
    assert_eq!(row[..2], ["aws", "USD"], "{stdout}");
    assert_eq!((dec(&row[2]), dec(&row[3])), (dec("0.50"), dec("0.50")));
    let row = after("\nread but NOT stored");
    assert_eq!(row[..2], ["aws", "USD"], "{stdout}");
    assert_eq!((dec(&row[2]), dec(&row[3])), (dec("2.40"), dec("2.40")));
    assert!(!stdout.contains("\nread (before"), "{stdout}");
}

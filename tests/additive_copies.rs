//! Additive files (GCP export, FOCUS, OCI) add to each other, so the same file copied
//! under another name (a re-downloaded export) must not be counted twice: `ingest`
//! refuses it, naming the stored file, while re-reading the same path replaces it.
//! Every `burnrate` call is a new process, so each step also crosses a restart.

mod common;

use std::path::Path;

use common::*;
use rust_decimal::Decimal;
use serde_json::Value;

const FOCUS: &str = "focus/sample-data/FOCUS-Sample-Data__FOCUS-1.0__focus_sample.csv";
const GCP: &str =
    "gcp/rows/koku__202011_30c31bca571d9b7f3b2c8459dd8bc34a_2020-11-08_2020-11-11.csv";

/// Billed cost over every day the FOCUS sample covers, as stored.
fn stored_total(store: &Path) -> Decimal {
    let out = burnrate_ok(
        store,
        &[
            "summary",
            "--scope",
            "all",
            "--from",
            "2020-01-01",
            "--to",
            "2026-12-31",
        ],
    );
    let v: Value = serde_json::from_str(&out).expect("summary json");
    dec(v["total_cost"].as_str().expect("one currency"))
}

/// `ingest` on `paths`: exit code, stdout, stderr.
fn ingest(store: &Path, paths: &[&Path]) -> (Option<i32>, String, String) {
    let mut args = vec!["ingest".to_string()];
    args.extend(paths.iter().map(|p| p.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = burnrate(store, &args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The header and the data lines `range` of a CSV file whose rows are one line each.
fn csv_lines(text: &str, range: std::ops::Range<usize>) -> String {
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let mut out = format!("{header}\n");
    for line in lines.skip(range.start).take(range.len()) {
        out += line;
        out += "\n";
    }
    out
}

#[test]
fn a_copy_of_a_stored_focus_file_is_refused_and_a_reread_replaces_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let original = std::fs::read(data(FOCUS)).expect("read sample");
    let want = csv_column_sum(&data(FOCUS), "BilledCost");
    for dir in ["a", "b"] {
        std::fs::create_dir_all(work.path().join(dir)).expect("mkdir");
    }
    let a = work.path().join("a/focus.csv");
    let copy = work.path().join("b/copy_focus.csv");
    std::fs::write(&a, &original).expect("write");
    std::fs::write(&copy, &original).expect("write");

    let (code, _, err) = ingest(&store, &[&a]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(stored_total(&store), want);

    // The copy under another name: refused, naming the stored file; nothing changes.
    let (code, out, err) = ingest(&store, &[&copy]);
    assert_eq!(code, Some(1), "{out}{err}");
    let stored_path = std::fs::canonicalize(&a).expect("canonical");
    assert!(
        out.contains(&format!(
            "FAILED {}: not stored (1000 records): its content is identical to {}, already stored",
            copy.display(),
            stored_path.display()
        )),
        "{out}"
    );
    assert!(!err.contains("stored delivery"), "{err}");
    assert_eq!(stored_total(&store), want);

    // The same path again replaces what it gave.
    let (code, _, err) = ingest(&store, &[&a]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(stored_total(&store), want);

    // Both in one run: the original replaces itself, the copy is refused.
    let (code, out, _) = ingest(&store, &[&a, &copy]);
    assert_eq!(code, Some(1), "{out}");
    assert_eq!(out.matches("is identical to").count(), 1, "{out}");
    assert_eq!(stored_total(&store), want);
}

/// The stored file re-read with new content (the export overwritten in place) replaces
/// its delivery and its fingerprint: a copy of the new content is refused, and a copy of
/// the old content, no longer stored anywhere, is taken.
#[test]
fn a_reread_with_new_content_moves_the_fingerprint() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let text = std::fs::read_to_string(data(FOCUS)).expect("read sample");
    let (first, second) = (csv_lines(&text, 0..500), csv_lines(&text, 500..1000));
    for dir in ["a", "b", "c"] {
        std::fs::create_dir_all(work.path().join(dir)).expect("mkdir");
    }
    let a = work.path().join("a/focus.csv");
    std::fs::write(&a, &first).expect("write");
    let sum_first = csv_column_sum(&a, "BilledCost");
    let (code, _, err) = ingest(&store, &[&a]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(stored_total(&store), sum_first);

    // Overwritten with the other half: a replacement, not an addition.
    std::fs::write(&a, &second).expect("write");
    let sum_second = csv_column_sum(&a, "BilledCost");
    assert_ne!(sum_first, sum_second);
    let (code, _, err) = ingest(&store, &[&a]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(stored_total(&store), sum_second);

    // A copy of what `a` holds now is refused.
    let copy_new = work.path().join("b/focus (1).csv");
    std::fs::write(&copy_new, &second).expect("write");
    let (code, out, _) = ingest(&store, &[&copy_new]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("is identical to"), "{out}");
    assert_eq!(stored_total(&store), sum_second);

    // The first half is stored nowhere now: a file with those bytes adds it.
    let old = work.path().join("c/focus-old.csv");
    std::fs::write(&old, &first).expect("write");
    let (code, out, err) = ingest(&store, &[&old]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        stored_total(&store),
        csv_column_sum(&data(FOCUS), "BilledCost")
    );
}

/// The stored file rewritten in place and, in the same folder and read after it, a file
/// with its old bytes: in one run as in two, the rewrite replaces the old content, which is
/// then stored nowhere, so the old bytes are taken (see the test above).
#[test]
fn a_rewrite_and_a_copy_of_the_old_content_in_one_folder() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let text = std::fs::read_to_string(data(FOCUS)).expect("read sample");
    let (first, second) = (csv_lines(&text, 0..500), csv_lines(&text, 500..1000));
    let folder = work.path().join("a");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let a = folder.join("focus.csv");
    std::fs::write(&a, &first).expect("write");
    let (code, _, err) = ingest(&store, &[&folder]);
    assert_eq!(code, Some(0), "{err}");

    std::fs::write(&a, &second).expect("write");
    // "focus.csv" sorts before "focus_old.csv": the rewrite is read first.
    std::fs::write(folder.join("focus_old.csv"), &first).expect("write");
    let (code, out, err) = ingest(&store, &[&folder]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(!out.contains("is identical to"), "{out}");
    assert_eq!(
        stored_total(&store),
        csv_column_sum(&data(FOCUS), "BilledCost")
    );
    // Read again: both are re-reads, nothing changes.
    let (code, out, err) = ingest(&store, &[&folder]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert_eq!(
        stored_total(&store),
        csv_column_sum(&data(FOCUS), "BilledCost")
    );
}

/// A GCP export and its re-download (`name (1).csv`) in one folder: one is delivered,
/// the other refused. (This file's credits net its cost to zero, so the delivered record
/// count shows the doubling: one record per row plus one per credit.)
#[test]
fn a_gcp_export_and_its_copy_in_one_folder_deliver_once() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let folder = work.path().join("export");
    std::fs::create_dir_all(&folder).expect("mkdir");
    let bytes = std::fs::read(data(GCP)).expect("read");
    std::fs::write(folder.join("gcp.csv"), &bytes).expect("write");
    std::fs::write(folder.join("gcp (1).csv"), &bytes).expect("write");
    let rows = csv_rows(&data(GCP));
    let credits: usize = rows
        .iter()
        .map(|r| r["credits"].matches("'amount': ").count())
        .sum();
    let records = rows.len() + credits;

    let (code, out, err) = ingest(&store, &[&folder]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(out.matches("is identical to").count(), 1, "{out}");
    assert!(out.contains("read just before it"), "{out}");
    assert!(
        err.contains(&format!(
            "stored delivery 1 from {}: {records} records",
            folder.display()
        )),
        "{err}"
    );
    // Again, after a restart: the copy is refused again, and the original equals what is
    // stored, so nothing is added (nor logged).
    let (code, out, err) = ingest(&store, &[&folder]);
    assert_eq!(code, Some(1), "{out}{err}");
    assert_eq!(out.matches("is identical to").count(), 1, "{out}");
    assert!(
        err.contains(&format!(
            "unchanged: the delivery from {} ({records} records)",
            folder.display()
        )),
        "{err}"
    );
}

/// A GCP export rewritten in place and a copy of its old bytes, in one folder, read in
/// one pass: the rewrite replaces the old content, so the copy holds content stored
/// nowhere and is taken, as it would be on any later pass (before, it was refused on
/// this pass and taken on the next). Reading the folder again adds nothing.
#[test]
fn a_copy_of_a_file_rewritten_in_the_same_delivery_is_taken_at_once() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let folder = work.path().join("export");
    std::fs::create_dir_all(&folder).expect("mkdir");
    // An export without credits, so the stored total is the plain sum of `cost`.
    let export = data("gcp/rows/koku__2022-08-01_5.csv");
    assert!(csv_rows(&export).iter().all(|r| r["credits"] == "[]"));
    let text = std::fs::read_to_string(export).expect("read");
    // `z.csv` sorts after `old copy.csv`, `a.csv` before it: both orders are covered.
    for name in ["a.csv", "z.csv"] {
        let (a, copy) = (folder.join(name), folder.join("old copy.csv"));
        let _ = std::fs::remove_file(&copy);
        let _ = std::fs::remove_dir_all(&store);
        std::fs::write(&a, &text).expect("write");
        let old_sum = csv_column_sum(&a, "cost");
        let (code, out, err) = ingest(&store, &[&folder]);
        assert_eq!(code, Some(0), "{out}{err}");

        // The export is rewritten: its first data line gets 1000.25 more cost.
        let rows = csv_rows(&a);
        let first_cost = &rows[0]["cost"];
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        let col = header
            .iter()
            .position(|h| *h == "cost")
            .expect("cost column");
        let mut cells: Vec<String> = lines[1].split(',').map(str::to_string).collect();
        assert_eq!(&cells[col], first_cost, "a plain first line");
        cells[col] = (dec(first_cost) + dec("1000.25")).to_string();
        lines[1] = cells.join(",");
        std::fs::write(&a, lines.join("\n") + "\n").expect("write");
        std::fs::write(&copy, &text).expect("write");
        let new_sum = csv_column_sum(&a, "cost");
        assert_eq!(new_sum, old_sum + dec("1000.25"));

        let (code, out, err) = ingest(&store, &[&folder]);
        assert_eq!(code, Some(0), "{name}: {out}{err}");
        assert_eq!(stored_total(&store), new_sum + old_sum, "{name}");
        let (code, out, err) = ingest(&store, &[&folder]);
        assert_eq!(code, Some(0), "{name}: {out}{err}");
        assert_eq!(stored_total(&store), new_sum + old_sum, "{name}");
        std::fs::remove_file(&a).expect("rm");
    }
}

/// The parts of one CUR or Azure export delivery add up too: an identical copy of a part
/// under another name in the same folder (a browser's `part_0_0001 (1).csv`) would double
/// the period. It is refused, naming the part it copies, and the rest of the folder is
/// stored as the delivery it is; the summary equals the plain sum of the one part.
#[test]
fn a_copy_of_a_part_in_a_restating_delivery_folder_is_refused() {
    for (rel, name, cost) in [
        (
            "azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv",
            "part_0_0001.csv",
            "Cost",
        ),
        (
            "aws/cur-legacy-csv/koku__test_cur.csv",
            "report-00001.csv",
            "lineItem/UnblendedCost",
        ),
    ] {
        let work = tempfile::tempdir().expect("tempdir");
        let store = work.path().join("store");
        let folder = work.path().join("export/20230901-20230930/run-1");
        std::fs::create_dir_all(&folder).expect("mkdir");
        let bytes = std::fs::read(data(rel)).expect("read sample");
        let part = folder.join(name);
        let copy = folder.join(format!("copy of {name}"));
        std::fs::write(&part, &bytes).expect("write");
        std::fs::write(&copy, &bytes).expect("write");
        let want: Decimal = csv_rows(&data(rel))
            .iter()
            .map(|r| {
                dec(&r[cost]).round_dp_with_strategy(
                    15,
                    rust_decimal::RoundingStrategy::MidpointAwayFromZero,
                )
            })
            .sum();

        let (code, out, err) = ingest(&store, &[&folder]);
        assert_eq!(code, Some(1), "{rel}: {out}{err}");
        assert!(
            out.contains("its content is identical to"),
            "{rel}: {out}{err}"
        );
        let v: Value = serde_json::from_str(&burnrate_ok(
            &store,
            &[
                "summary",
                "--scope",
                "all",
                "--from",
                "2000-01-01",
                "--to",
                "2100-12-31",
            ],
        ))
        .expect("summary json");
        assert_eq!(
            dec(v["total_cost"].as_str().expect("one currency")),
            want,
            "{rel}: {out}{err}"
        );
    }
}

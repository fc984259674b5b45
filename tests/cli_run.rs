//! `burnrate run --input DIR`: the main job on a folder, picking up new and rewritten files,
//! with `summary` reading the store alongside it.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Killed, case_dir, dec};
use rust_decimal::Decimal;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_burnrate"))
}

/// The all-spend billed total for March 2024, or `None` while there is no store yet.
fn march_total(data_dir: &Path) -> Option<Decimal> {
    let out = bin()
        .arg("--data-dir")
        .arg(data_dir)
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
        .expect("run summary");
    if !out.status.success() {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    v["total_cost"].as_str().map(dec)
}

/// Polls until the March total is `want`, for up to 30 s.
fn wait_for_total(data_dir: &Path, want: Decimal) {
    let start = Instant::now();
    loop {
        let got = march_total(data_dir);
        if got == Some(want) {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "total stayed {got:?}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn once_reads_the_folder_and_exits() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    std::fs::create_dir_all(input.join("cur")).expect("mkdir");
    std::fs::create_dir_all(input.join("gcp")).expect("mkdir");
    std::fs::copy(
        case_dir("B12").join("input/b12-cur-00001.csv"),
        input.join("cur/b12.csv"),
    )
    .expect("copy");
    std::fs::copy(
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl"),
        input.join("gcp/export.jsonl"),
    )
    .expect("copy");
    let store = work.path().join("store");
    let status = bin()
        .arg("--data-dir")
        .arg(&store)
        .args(["run", "--once", "--poll-seconds", "0", "--input"])
        .arg(&input)
        .stderr(Stdio::null())
        .status()
        .expect("run");
    assert!(status.success());
    // B12 nets to 0.50 (its expected.json) and B09 to 15.50.
    assert_eq!(march_total(&store), Some(dec("16.00")));
}

/// As `ingest`: a file of no known format beside good ones is reported, the good ones are
/// stored, and `--once` exits 1.
#[test]
fn once_with_an_unreadable_file_stores_the_rest_and_exits_1() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    std::fs::create_dir_all(input.join("cur")).expect("mkdir");
    std::fs::create_dir_all(input.join("junk")).expect("mkdir");
    std::fs::copy(
        case_dir("B12").join("input/b12-cur-00001.csv"),
        input.join("cur/b12.csv"),
    )
    .expect("copy");
    std::fs::write(input.join("junk/notes.csv"), "hello,world\n1,2\n").expect("write");
    let store = work.path().join("store");
    let out = bin()
        .arg("--data-dir")
        .arg(&store)
        .args(["run", "--once", "--poll-seconds", "0", "--input"])
        .arg(&input)
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("FAILED") && err.contains("notes.csv"), "{err}");
    assert!(!err.contains("watching"), "{err}");
    assert_eq!(march_total(&store), Some(dec("0.50")));
}

#[test]
fn watching_picks_up_new_and_rewritten_files_and_keeps_one_writer() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    std::fs::create_dir_all(input.join("cur")).expect("mkdir");
    let store = work.path().join("store");
    let cur =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    std::fs::write(input.join("cur/b12.csv"), &cur).expect("write");
    let _job = Killed(
        bin()
            .arg("--data-dir")
            .arg(&store)
            .args([
                "run",
                "--poll-seconds",
                "1",
                "--listen",
                "127.0.0.1:0",
                "--input",
            ])
            .arg(&input)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn run"),
    );
    wait_for_total(&store, dec("0.50"));

    // A second writer is refused with a clear message, and reading goes on.
    let other = bin()
        .arg("--data-dir")
        .arg(&store)
        .arg("ingest")
        .arg(input.join("cur"))
        .output()
        .expect("ingest");
    assert!(!other.status.success());
    assert!(String::from_utf8_lossy(&other.stderr).contains("another burnrate process"));

    // A new folder (an additive GCP file) adds to the total.
    std::fs::create_dir_all(input.join("gcp")).expect("mkdir");
    std::fs::copy(
        case_dir("B09").join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl"),
        input.join("gcp/export.jsonl"),
    )
    .expect("copy");
    wait_for_total(&store, dec("16.00"));

    // The CUR file is rewritten in place (a restated period): the EC2 usage line goes from
    // 2.40 to 3.40. The delivery replaces the old one: 0.50 + 1.00, not added again.
    let restated = cur.replacen(",2.40,$0.10", ",3.40,$0.10", 1);
    assert_ne!(restated, cur);
    std::fs::write(input.join("cur/b12.csv"), restated).expect("rewrite");
    wait_for_total(&store, dec("17.00"));
}

/// SIGTERM (or Ctrl-C) stops `run` cleanly: exit 0, the store closed, its data readable.
#[test]
fn a_stop_signal_closes_the_store_and_exits_zero() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    std::fs::create_dir_all(input.join("cur")).expect("mkdir");
    std::fs::copy(
        case_dir("B12").join("input/b12-cur-00001.csv"),
        input.join("cur/b12.csv"),
    )
    .expect("copy");
    let store = work.path().join("store");
    let mut job = bin()
        .arg("--data-dir")
        .arg(&store)
        .args(["run", "--poll-seconds", "1", "--no-serve", "--input"])
        .arg(&input)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn run");
    wait_for_total(&store, dec("0.50"));
    let pid = job.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let start = Instant::now();
    let status = loop {
        if let Some(status) = job.try_wait().expect("wait") {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "run did not stop"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    let mut err = String::new();
    use std::io::Read;
    job.stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read");
    assert!(err.contains("closed cleanly"), "{err}");
    assert_eq!(march_total(&store), Some(dec("0.50")));
}

/// `run --input .` and `ingest .` in a folder of exports that also holds the default
/// data directory (`./burnrate-data`) read the exports, not the store: no FAILED line for
/// `burnrate.redb`, exit 0, and a second pass adds nothing.
#[test]
fn the_input_folder_may_hold_the_data_directory() {
    let work = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(work.path().join("gcp")).expect("mkdir");
    let export = common::data("gcp/rows/koku__2022-08-01_5.csv");
    std::fs::copy(&export, work.path().join("gcp/export.csv")).expect("copy");
    let want = common::csv_column_sum(&export, "cost");
    let total = || {
        let out = bin()
            .current_dir(work.path())
            .args([
                "summary",
                "--scope",
                "all",
                "--from",
                "2022-08-01",
                "--to",
                "2022-08-31",
            ])
            .output()
            .expect("summary");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        v["total_cost"].as_str().map(dec)
    };
    for args in [
        vec!["run", "--input", ".", "--once", "--no-serve"],
        vec!["run", "--input", ".", "--once", "--no-serve"],
        vec!["ingest", "."],
    ] {
        let out = bin()
            .current_dir(work.path())
            .env_remove("BURNRATE_DATA_DIR")
            .args(&args)
            .output()
            .expect("run burnrate");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
        assert!(!text.contains("FAILED"), "{args:?}: {text}");
        assert!(work.path().join("burnrate-data/burnrate.redb").is_file());
        assert_eq!(total(), Some(want), "{args:?}: {text}");
    }
}

/// A pass that reads a folder with a file that is refused (a byte copy of another) says
/// how many of the folder's files were read, then names the one that failed.
#[test]
fn a_pass_counts_the_files_it_could_not_read() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let export = common::data("gcp/rows/koku__2022-08-01_5.csv");
    std::fs::copy(&export, input.join("export.csv")).expect("copy");
    std::fs::copy(&export, input.join("export (1).csv")).expect("copy");
    let rows = common::csv_rows(&export).len();
    let out = bin()
        .arg("--data-dir")
        .arg(work.path().join("store"))
        .args([
            "run",
            "--once",
            "--no-serve",
            "--poll-seconds",
            "1",
            "--input",
        ])
        .arg(&input)
        .output()
        .expect("run burnrate");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("read 1 of 2 file(s), {rows} rows")),
        "{err}"
    );
    assert!(
        err.contains("FAILED") && err.contains("export (1).csv"),
        "{err}"
    );
}

/// `ingest` on a store that `run` is writing is refused, and the message says what to
/// do instead: put the file into the folder `run` watches.
#[test]
fn ingest_beside_run_points_to_the_watched_folder() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    std::fs::create_dir_all(&input).expect("mkdir");
    let store = work.path().join("store");
    let _run = Killed(
        bin()
            .arg("--data-dir")
            .arg(&store)
            .args(["run", "--no-serve", "--input"])
            .arg(&input)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn run"),
    );
    // Only `run` creates the store here: once the file is there, `run` holds it.
    let start = Instant::now();
    while !store.join("burnrate.redb").exists() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "run made no store"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let file = common::data("gcp/rows/koku__2022-08-01_5.csv");
    loop {
        let out = bin()
            .arg("--data-dir")
            .arg(&store)
            .arg("ingest")
            .arg(&file)
            .output()
            .expect("ingest");
        let err = String::from_utf8_lossy(&out.stderr);
        if err.contains("being written by another burnrate process") {
            assert_eq!(out.status.code(), Some(2), "{err}");
            assert!(err.contains("into the folder it watches"), "{err}");
            break;
        }
        // The file may be there a moment before `run` holds the lock.
        assert!(start.elapsed() < Duration::from_secs(30), "{err}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Of two export runs of one period, the one with the newer files is the period's, in
/// whatever order they are read: an older run that arrives after a newer one (a folder
/// copied with its times, a mirror listing an old run late) is refused, naming the newer
/// file, and the period keeps the newer run; read both together, the newer one wins.
#[test]
fn an_older_export_run_read_after_a_newer_one_does_not_replace_it() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let source = common::data("azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv");
    let text = std::fs::read_to_string(&source).expect("read sample");
    let period = work.path().join("in/export/20230901-20230930");
    let (new, old) = (period.join("run-new"), period.join("run-old"));
    for d in [&new, &old] {
        std::fs::create_dir_all(d).expect("mkdir");
    }
    // The newer run: the whole file. The older run: its first three rows, a day older.
    std::fs::write(new.join("part_0_0001.csv"), &text).expect("write");
    let head: String = text.split_inclusive('\n').take(4).collect();
    let old_part = old.join("part_0_0001.csv");
    std::fs::write(&old_part, head).expect("write");
    let day_before = std::time::SystemTime::now() - Duration::from_secs(86_400);
    std::fs::File::options()
        .write(true)
        .open(&old_part)
        .and_then(|f| f.set_modified(day_before))
        .expect("set the older run's time");
    let rounded = |r: &std::collections::BTreeMap<String, String>| {
        dec(&r["Cost"])
            .round_dp_with_strategy(15, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    };
    let rows = common::csv_rows(&source);
    let want: Decimal = rows.iter().map(rounded).sum();
    let older: Decimal = rows.iter().take(3).map(rounded).sum();
    assert_ne!(want, older);
    let total = |store: &Path| {
        let out = common::burnrate_ok(
            store,
            &[
                "summary",
                "--scope",
                "all",
                "--from",
                "2023-01-01",
                "--to",
                "2023-12-31",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&out).expect("json");
        dec(v["total_cost"].as_str().expect("one currency"))
    };

    // The newer run first, the older one later: the older is refused.
    let out = common::burnrate(&store, &["ingest", new.to_str().expect("path")]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(total(&store), want);
    let out = common::burnrate(&store, &["ingest", old.to_str().expect("path")]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("an older delivery does not replace a newer one")
            && stdout.contains("run-new"),
        "{stdout}"
    );
    assert_eq!(total(&store), want);

    // Both in one `run --once` on a fresh store: the newer wins too.
    let fresh = work.path().join("fresh");
    let out = bin()
        .arg("--data-dir")
        .arg(&fresh)
        .args(["run", "--once", "--no-serve", "--input"])
        .arg(work.path().join("in"))
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(total(&fresh), want);
}

/// A file deleted from a folder that was delivered delivers the folder again without it,
/// while `run` watches, as a restart would read it: the folder is the delivery. B12's CUR
/// rows split in two part files; deleting the second leaves the first part's plain sum.
#[test]
fn a_part_deleted_from_a_delivered_folder_delivers_the_folder_again() {
    let work = tempfile::tempdir().expect("tempdir");
    let input = work.path().join("in");
    std::fs::create_dir_all(input.join("cur")).expect("mkdir");
    let store = work.path().join("store");
    let cur =
        std::fs::read_to_string(case_dir("B12").join("input/b12-cur-00001.csv")).expect("read");
    let mut lines = cur.split_inclusive('\n');
    let header = lines.next().expect("header");
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 2);
    let (first, second) = rows.split_at(rows.len() / 2);
    let part1 = input.join("cur/part-1.csv");
    let part2 = input.join("cur/part-2.csv");
    std::fs::write(&part1, format!("{header}{}", first.concat())).expect("write");
    std::fs::write(&part2, format!("{header}{}", second.concat())).expect("write");
    let sum = |path: &Path| -> Decimal {
        common::csv_rows(path)
            .iter()
            .map(|r| dec(&r["lineItem/UnblendedCost"]))
            .sum()
    };
    let (whole, first_only) = (sum(&part1) + sum(&part2), sum(&part1));
    assert_eq!(whole, dec("0.50"), "B12's billed total");
    assert_ne!(first_only, whole);
    let _job = Killed(
        bin()
            .arg("--data-dir")
            .arg(&store)
            .args(["run", "--poll-seconds", "1", "--no-serve", "--input"])
            .arg(&input)
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn run"),
    );
    wait_for_total(&store, whole);
    std::fs::remove_file(&part2).expect("delete part 2");
    wait_for_total(&store, first_only);
}

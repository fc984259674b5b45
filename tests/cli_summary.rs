//! The whole embedded pipeline through the CLI: `burnrate generate`, `burnrate ingest`,
//! `burnrate summary`. The summary's totals per provider and currency, billed and
//! effective, equal the generator's ground truth, which it sums from the amounts it
//! writes (including both Azure views of one period, a restated CUR assembly and GCP late
//! rows), for two seeds and 1 and 3 workers.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::dec;
use rust_decimal::Decimal;
use serde_json::Value;

/// The all-spend summary over every day, in one cost view.
fn summary_all(data_dir: &Path, cost_type: &str) -> Value {
    let out = common::burnrate_ok(
        data_dir,
        &[
            "summary",
            "--from",
            "2000-01-01",
            "--to",
            "2100-12-31",
            "--scope",
            "all",
            "--cost-type",
            cost_type,
        ],
    );
    serde_json::from_str(&out).expect("summary json")
}

/// (provider, currency) → cost, from a summary's provider breakdown.
fn by_provider(summary: &Value) -> BTreeMap<(String, String), Decimal> {
    summary["breakdown_by_provider"]
        .as_array()
        .expect("breakdown")
        .iter()
        .map(|b| {
            (
                (
                    b["name"].as_str().expect("name").to_string(),
                    b["currency"].as_str().expect("currency").to_string(),
                ),
                dec(b["cost"].as_str().expect("cost")),
            )
        })
        .collect()
}

/// (provider, currency) → the truth's total of `field`, leaving out zero totals (a
/// summary lists no provider with nothing in the view).
fn truth_totals(truth: &Value, field: &str) -> BTreeMap<(String, String), Decimal> {
    truth["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .map(|t| {
            (
                (
                    t["provider"].as_str().expect("p").to_string(),
                    t["currency"].as_str().expect("c").to_string(),
                ),
                dec(t[field].as_str().expect("amount")),
            )
        })
        .filter(|(_, v)| !v.is_zero())
        .collect()
}

fn check(seed: &str, days: &str, workers: &str) {
    let work = tempfile::tempdir().expect("tempdir");
    let out = work.path().join("gen");
    let data_dir = work.path().join("store");
    let out_s = out.to_str().expect("path");
    common::burnrate_ok(
        &data_dir,
        &[
            "generate",
            "--out",
            out_s,
            "--days",
            days,
            "--seed",
            seed,
            "--no-metrics",
        ],
    );
    let truth: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("truth.json")).expect("truth"))
            .expect("json");
    common::burnrate_ok(
        &data_dir,
        &[
            "ingest",
            "--workers",
            workers,
            out.join("data").to_str().expect("path"),
        ],
    );
    for (cost_type, field) in [("billed", "billed_cost"), ("effective", "effective_cost")] {
        let summary = summary_all(&data_dir, cost_type);
        let want = truth_totals(&truth, field);
        assert_eq!(
            by_provider(&summary),
            want,
            "seed {seed}, {cost_type}, {workers} workers"
        );
    }
}

#[test]
fn summary_equals_the_generator_truth() {
    check("11", "4", "1");
    check("29", "3", "3");
}

/// `burnrate demo` (without serving): generates, runs the pipeline, and the store then
/// holds exactly the generator's truth.
#[test]
fn demo_stores_the_generator_truth() {
    let work = tempfile::tempdir().expect("tempdir");
    let data_dir = work.path().join("store");
    common::burnrate_ok(&data_dir, &["demo", "--no-serve", "--days", "3"]);
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(data_dir.join("demo-input/truth.json")).expect("truth"),
    )
    .expect("json");
    let summary = summary_all(&data_dir, "billed");
    let want = truth_totals(&truth, "billed_cost");
    assert_eq!(by_provider(&summary), want);
}

/// A second `demo` on the same data directory uses the data there only if it asked for
/// the same days; other dates are refused with what the folder holds, never served under
/// the new dates.
#[test]
fn demo_again_with_other_days_is_refused_and_a_busy_port_stops_it_first() {
    let work = tempfile::tempdir().expect("tempdir");
    let data_dir = work.path().join("store");
    common::burnrate_ok(&data_dir, &["demo", "--no-serve", "--days", "1"]);
    common::burnrate_ok(&data_dir, &["demo", "--no-serve", "--days", "1"]);
    let out = common::burnrate(&data_dir, &["demo", "--no-serve", "--days", "2"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("covers 1 days from 2024-03-01"), "{err}");
    assert!(err.contains("--days 1 --start 2024-03-01"), "{err}");

    // A port already taken fails before anything is generated or stored.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("addr").to_string();
    let fresh = work.path().join("fresh");
    let out = common::burnrate(&fresh, &["demo", "--days", "1", "--listen", &addr]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(
        !fresh.join("demo-input").exists(),
        "generated before failing"
    );
}

/// Runs `burnrate summary` with `args`; returns (stdout as JSON, stderr).
fn summary_with_stderr(data_dir: &Path, args: &[&str]) -> (Value, String) {
    let mut all = vec!["summary"];
    all.extend_from_slice(args);
    let out = common::burnrate(data_dir, &all);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "summary {args:?}: {err}");
    let json = serde_json::from_str(&String::from_utf8_lossy(&out.stdout)).expect("summary json");
    (json, err)
}

/// A summary with nothing in its window keeps the endpoint's (empty) document on stdout,
/// and says on stderr which UTC days the store does hold, or that it holds none.
#[test]
fn an_empty_summary_names_the_days_the_store_holds() {
    let work = tempfile::tempdir().expect("tempdir");

    // A store with no cost rows at all.
    let empty = work.path().join("empty");
    drop(burnrate_sink::EmbeddedStore::open(&empty).expect("create store"));
    let (json, err) = summary_with_stderr(&empty, &["--from", "2024-01-01", "--to", "2024-01-31"]);
    assert_eq!(json["total_cost"], "0", "{json}");
    assert!(err.contains("holds no cost rows"), "{err}");

    // One GCP export; its first and last UTC day worked out from the raw rows (an hour
    // ending at midnight belongs to the day before).
    let file = common::data(
        "gcp/rows/koku__202011_30c31bca571d9b7f3b2c8459dd8bc34a_2020-11-08_2020-11-11.csv",
    );
    let stamp =
        |s: &str| chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%:z").expect("timestamp");
    let rows = common::csv_rows(&file);
    let first = rows
        .iter()
        .map(|r| stamp(&r["usage_start_time"]).date_naive())
        .min()
        .expect("rows");
    let last = rows
        .iter()
        .map(|r| (stamp(&r["usage_end_time"]) - chrono::Duration::seconds(1)).date_naive())
        .max()
        .expect("rows");
    let store = work.path().join("store");
    common::burnrate_ok(&store, &["ingest", file.to_str().expect("path")]);

    // A window before the data: the same empty document as the endpoint, and the hint.
    let (json, err) = summary_with_stderr(
        &store,
        &[
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-31",
            "--scope",
            "all",
        ],
    );
    assert_eq!(json["total_cost"], "0", "{json}");
    assert_eq!(
        json["breakdown_by_provider"],
        serde_json::json!([]),
        "{json}"
    );
    assert!(
        err.contains(&format!("UTC days {first} to {last}")),
        "{err}"
    );
    assert!(
        err.contains(&format!("--from {first} --to {last}")),
        "{err}"
    );

    // The right days but no AI workload in them: the hint points at the filters.
    let (_, err) = summary_with_stderr(
        &store,
        &["--from", &first.to_string(), "--to", &last.to_string()],
    );
    assert!(err.contains("--scope"), "{err}");
    assert!(
        err.contains(&format!("UTC days {first} to {last}")),
        "{err}"
    );

    // A service that is not there: the hint names those that are (the export's
    // `service.description` values: BigQuery, Security Command Center, ...).
    let mut services: Vec<String> = rows
        .iter()
        .map(|r| r["service.description"].clone())
        .collect();
    services.sort();
    services.dedup();
    let (_, err) = summary_with_stderr(
        &store,
        &[
            "--from",
            &first.to_string(),
            "--to",
            &last.to_string(),
            "--scope",
            "all",
            "--service",
            "bedrock",
        ],
    );
    assert!(
        err.contains(&format!(
            "the services there are: {}\n",
            services.join(", ")
        )),
        "{services:?}: {err}"
    );

    // A second file, years later: a window between the two holds nothing, whatever the
    // filters, and the hint says so rather than pointing at them.
    let later = common::case_dir("B09")
        .join("input/gcp_billing_export_v1_012345_6789AB_CDEF01-20240305.jsonl");
    common::burnrate_ok(&store, &["ingest", later.to_str().expect("path")]);
    let (_, err) = summary_with_stderr(
        &store,
        &[
            "--from",
            "2022-01-01",
            "--to",
            "2022-01-31",
            "--scope",
            "all",
        ],
    );
    assert!(!err.contains("--scope"), "{err}");
    assert!(
        err.contains(&format!(
            "no cost rows from 2022-01-01 to 2022-01-31 (a gap in the UTC days {first} to \
             2024-03-05"
        )),
        "{err}"
    );

    // A summary with rows prints no hint.
    let (json, err) = summary_with_stderr(
        &store,
        &[
            "--from",
            &first.to_string(),
            "--to",
            &last.to_string(),
            "--scope",
            "all",
        ],
    );
    assert_ne!(
        json["breakdown_by_provider"],
        serde_json::json!([]),
        "{json}"
    );
    assert!(!err.contains("hint"), "{err}");
}

/// Usage errors name the flag and say what it takes: a date that is no calendar day, a
/// provider that is not one of the codes. And a data directory that cannot be created
/// says its OS error once.
#[test]
fn bad_flags_name_the_flag_and_what_it_takes() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    for (args, flag, says) in [
        (
            vec!["summary", "--from", "2024-13-01"],
            "--from",
            "calendar date written YYYY-MM-DD",
        ),
        (
            vec!["summary", "--to", "2024-02-30"],
            "--to",
            "calendar date written YYYY-MM-DD",
        ),
        (
            vec!["demo", "--no-serve", "--start", "1 March"],
            "--start",
            "calendar date written YYYY-MM-DD",
        ),
        (
            vec!["summary", "--from", "2999-01-01"],
            "--from 2999-01-01",
            "default --to",
        ),
        (
            vec!["summary", "--provider", "ibm"],
            "--provider",
            "expected one of aws, azure, gcp, oci, other",
        ),
    ] {
        let out = common::burnrate(&store, &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(flag) && err.contains(says), "{args:?}: {err}");
    }
    assert!(!store.exists(), "no store is made on a usage error");

    // A data directory that is a file: the OS error appears once, not twice.
    let file = work.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let input = common::data("gcp/rows/koku__2022-08-01_5.csv");
    let out = common::burnrate(&file, &["ingest", input.to_str().expect("path")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("cannot create the data directory"), "{err}");
    let os_error = "(os error";
    assert_eq!(err.matches(os_error).count(), 1, "{err}");
}

/// The table keeps its columns aligned when a service name is longer than the usual
/// width: every amount ends in the same column.
#[test]
fn the_summary_table_aligns_long_service_names() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let file = work.path().join("cost.csv");
    let long = "A Service Name Much Longer Than Forty-Four Characters In All";
    std::fs::write(
        &file,
        format!(
            "SubscriptionId,Date,MeterCategory,CostInBillingCurrency,BillingCurrency\n\
             sub-1,2024-03-05,{long},1.25,USD\n\
             sub-1,2024-03-05,Storage,1000.5,USD\n"
        ),
    )
    .expect("write");
    common::burnrate_ok(&store, &["ingest", file.to_str().expect("path")]);
    let table = common::burnrate_ok(
        &store,
        &[
            "summary",
            "--from",
            "2024-03-01",
            "--to",
            "2024-03-31",
            "--scope",
            "all",
            "--format",
            "table",
        ],
    );
    let ends: Vec<usize> = table
        .lines()
        .filter(|l| l.ends_with(" USD") && l.starts_with("  "))
        .map(|l| l.len())
        .collect();
    assert!(ends.len() >= 4, "{table}");
    assert!(ends.iter().all(|&e| e == ends[0]), "{table}");
    assert!(table.contains(long), "{table}");
}

/// A real Azure EA export holds a cost with 16 decimal places (0.4838709677419368): the
/// stored total is the plain sum of the file's `Cost` column with each cell first rounded
/// to 15 places, half away from zero, as the README says.
#[test]
fn stored_amounts_keep_fifteen_decimal_places() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let file = common::data("azure/ea-actual/finops-toolkit__EA_ActualCost_Small.csv");
    let rows = common::csv_rows(&file);
    assert!(rows.iter().any(|r| r["Cost"] == "0.4838709677419368"));
    let want: Decimal = rows
        .iter()
        .map(|r| {
            dec(&r["Cost"])
                .round_dp_with_strategy(15, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        })
        .sum();
    assert_ne!(
        want,
        common::csv_column_sum(&file, "Cost"),
        "the file needs rounding"
    );
    common::burnrate_ok(&store, &["ingest", file.to_str().expect("path")]);
    let v = summary_all(&store, "billed");
    assert_eq!(
        dec(v["total_cost"].as_str().expect("one currency")),
        want,
        "{v}"
    );
}

/// The same rule holds for a charge spread over many UTC days: Koku's CUR rows each span
/// the whole of June 2018 (30 days) with up to 19 decimal places. Each row is rounded to
/// 15 places once, before it is split, so the stored total is the plain sum of the
/// rounded `lineItem/UnblendedCost` cells (splitting first and rounding each day's share
/// drifts by up to half a unit per day and row).
#[test]
fn a_charge_split_over_days_is_rounded_once_not_per_day() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let file = common::data("aws/cur-legacy-csv/koku__test_cur.csv");
    let rows = common::csv_rows(&file);
    assert!(
        rows.iter()
            .all(|r| r["lineItem/UsageStartDate"] == "2018-06-01 00:00:00"
                && r["lineItem/UsageEndDate"] == "2018-07-01 00:00:00"),
        "every row spans the month"
    );
    let want: Decimal = rows
        .iter()
        .map(|r| {
            dec(&r["lineItem/UnblendedCost"])
                .round_dp_with_strategy(15, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        })
        .sum();
    common::burnrate_ok(&store, &["ingest", file.to_str().expect("path")]);
    let v = summary_all(&store, "billed");
    assert_eq!(
        dec(v["total_cost"].as_str().expect("one currency")),
        want,
        "{v}"
    );
}

/// Half a unit in the 16th place rounds away from zero, as the README says (not to the
/// even neighbour): 1.0000000000000025 is stored as 1.000000000000003 and
/// -2.0000000000000005 as -2.000000000000001, on a one-day and on a three-day charge.
#[test]
fn a_half_unit_past_fifteen_places_rounds_away_from_zero() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let file = work.path().join("focus.csv");
    std::fs::write(
        &file,
        "BillingAccountId,BillingCurrency,BilledCost,EffectiveCost,ListCost,ContractedCost,\
ChargePeriodStart,ChargePeriodEnd,BillingPeriodStart,BillingPeriodEnd,ChargeCategory,\
ServiceName,ProviderName,PublisherName,InvoiceIssuerName\n\
acct,USD,1.0000000000000025,1.0000000000000025,0,0,2024-03-05T00:00:00Z,2024-03-06T00:00:00Z,\
2024-03-01T00:00:00Z,2024-04-01T00:00:00Z,Usage,Svc,Acme,Acme,Acme\n\
acct,USD,-2.0000000000000005,-2.0000000000000005,0,0,2024-03-05T00:00:00Z,2024-03-08T00:00:00Z,\
2024-03-01T00:00:00Z,2024-04-01T00:00:00Z,Usage,Svc,Acme,Acme,Acme\n",
    )
    .expect("write");
    common::burnrate_ok(&store, &["ingest", file.to_str().expect("path")]);
    let v = summary_all(&store, "billed");
    // 1.000000000000003 - 2.000000000000001
    assert_eq!(
        dec(v["total_cost"].as_str().expect("one currency")),
        dec("-0.999999999999998"),
        "{v}"
    );
}

/// `demo` on a data directory that holds someone's own store (not a demo's) refuses
/// before generating anything, so the generated bills never mix into real ones.
#[test]
fn demo_refuses_a_store_that_is_not_the_demos() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let input = common::data("gcp/rows/koku__2022-08-01_5.csv");
    common::burnrate_ok(&store, &["ingest", input.to_str().expect("path")]);
    let before = summary_all(&store, "billed");
    let out = common::burnrate(&store, &["demo", "--no-serve", "--days", "1"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not the demo's") && err.contains("--data-dir"),
        "{err}"
    );
    assert!(!store.join("demo-input").exists());
    assert_eq!(summary_all(&store, "billed"), before);
}

/// An empty recommendation list keeps the endpoint's document on stdout and says why on
/// stderr: a store of bills alone has none (they need metrics).
#[test]
fn an_empty_recommendation_list_says_why() {
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let file = common::data("gcp/rows/koku__2022-08-01_5.csv");
    common::burnrate_ok(&store, &["ingest", file.to_str().expect("path")]);
    let out = common::burnrate(&store, &["recommendations"]);
    assert!(out.status.success());
    let json: Value = serde_json::from_slice(&out.stdout).expect("list json");
    assert_eq!(json["total_count"], 0, "{json}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "hint: the store holds no recommendations yet; they come from per-minute metrics"
        ),
        "{err}"
    );
}

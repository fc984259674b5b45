//! The engine's log of restatements: a restated scope is logged as its difference from
//! what the scope held (not whole again), and a restart rebuilds the same state from those
//! differences, and from entries written in the earlier whole-list format.

mod common;

use std::path::Path;

use burnrate::engine::{Engine, LogEntry};
use burnrate_dataflow::{Amounts, Prepared, prepare};
use burnrate_schemas::{DailyCostRow, DeliveryScope, Provider};
use burnrate_sink::{DeliveryInfo, EmbeddedStore};
use common::*;
use rust_decimal::Decimal;

const OLD_INSTANCE: &str = "i-0bbb2222bbbb2222b";
const NEW_INSTANCE: &str = "i-0ccc3333cccc3333c";

/// Case B01's CUR, and the same with its two on-demand m5.large hours billed 0.096 more
/// each and moved to another instance (so the old instance's rows must disappear).
fn b01_and_restated(dir: &Path) -> (Prepared, Prepared) {
    let rows =
        std::fs::read_to_string(case_dir("B01").join("input/sp-cur-00001.csv")).expect("read");
    let restated = rows
        .replace(
            ",0.096,0.096,$0.096 per On Demand",
            ",0.096,0.192,$0.096 per On Demand",
        )
        .replace(OLD_INSTANCE, NEW_INSTANCE);
    assert_eq!(rows.matches(",0.096,0.096,$0.096 per On Demand").count(), 2);
    let mut out = Vec::new();
    for (name, body) in [("old", &rows), ("new", &restated)] {
        let file = dir.join(name).join("sp-cur-00001.csv");
        std::fs::create_dir_all(file.parent().expect("folder")).expect("mkdir");
        std::fs::write(&file, body).expect("write");
        let prepared = prepare(&read_clean(&file).0.costs);
        assert!(prepared.rejected.is_empty());
        out.push(prepared);
    }
    let new = out.pop().expect("new");
    (out.pop().expect("old"), new)
}

fn rows(dir: &Path) -> Vec<DailyCostRow> {
    rows_of(&EmbeddedStore::open(dir).expect("open"))
}

/// The rollups of a store that a running engine holds open.
fn rows_of(store: &EmbeddedStore) -> Vec<DailyCostRow> {
    store.daily_cost(|_| true).expect("rollups")
}

fn billed(rows: &[DailyCostRow]) -> Decimal {
    rows.iter().map(|r| r.totals.billed_cost).sum()
}

fn entries(dir: &Path) -> Vec<LogEntry> {
    EmbeddedStore::open(dir)
        .expect("open")
        .logged_deliveries()
        .expect("log")
        .into_iter()
        .map(|(_, blob)| LogEntry::decode(&blob).expect("entry"))
        .collect()
}

#[test]
fn a_restatement_is_logged_as_its_difference_and_replays_to_the_same_rollups() {
    let inputs = tempfile::tempdir().expect("tempdir");
    let (old, new) = b01_and_restated(inputs.path());
    let old_parts = old.parts.len();
    let dir = tempfile::tempdir().expect("tempdir");

    let mut engine = Engine::start(dir.path(), 1).expect("start");
    engine.deliver(vec!["old".into()], 0, old).expect("old");
    let after_old = rows_of(&engine.store());
    engine.deliver(vec!["new".into()], 0, new).expect("new");
    engine.close().expect("close");
    let after_new = rows(dir.path());
    // The edit adds 0.096 to each of two hours.
    assert_eq!(billed(&after_new) - billed(&after_old), dec("0.192"));

    let log = entries(dir.path());
    assert_eq!(log.len(), 2);
    let count = |groups: &[(_, Vec<_>)]| groups.iter().map(|g| g.1.len()).sum::<usize>();
    assert_eq!(count(&log[0].whole), old_parts);
    assert!(log[0].changes.is_empty());
    // The restatement: nothing whole, and changes only on the two instances' rows, which
    // add up to the edit.
    assert!(log[1].whole.is_empty());
    let changes: Vec<_> = log[1].changes.iter().flat_map(|g| g.1.iter()).collect();
    assert!(!changes.is_empty());
    assert!(changes.len() < old_parts, "{changes:?}");
    for (key, _) in &changes {
        let id = key.resource_id.as_deref();
        assert!(
            id == Some(OLD_INSTANCE) || id == Some(NEW_INSTANCE),
            "{key:?}"
        );
    }
    let sum: i128 = changes.iter().map(|c| c.1.billed).sum();
    assert_eq!(
        Amounts {
            billed: sum,
            ..Amounts::default()
        }
        .billed_decimal(),
        dec("0.192")
    );

    // A restart replays the difference: the rollups are rebuilt to the same rows.
    EmbeddedStore::open(dir.path())
        .expect("open")
        .replace_daily_cost(&Default::default())
        .expect("clear");
    let mut engine = Engine::start(dir.path(), 1).expect("restart");
    assert_eq!(rows_of(&engine.store()), after_new);
    // And a restatement after the restart is taken against the replayed parts: restating
    // back to the old file gives the old rollups exactly.
    let (old, _) = b01_and_restated(inputs.path());
    engine
        .deliver(vec!["old again".into()], 0, old)
        .expect("again");
    engine.close().expect("close");
    assert_eq!(rows(dir.path()), after_old);
    assert!(entries(dir.path())[2].whole.is_empty());
}

#[test]
fn an_entry_in_the_earlier_format_replays_whole() {
    // A log entry written before `LogEntry`: a bare JSON list of parts.
    let dir = tempfile::tempdir().expect("tempdir");
    let inputs = tempfile::tempdir().expect("tempdir");
    let (old, _) = b01_and_restated(inputs.path());
    let want = billed(&{
        let fresh = tempfile::tempdir().expect("tempdir");
        let mut engine = Engine::start(fresh.path(), 1).expect("start");
        engine.deliver(vec![], 0, old.clone()).expect("deliver");
        engine.close().expect("close");
        rows(fresh.path())
    });
    assert_eq!(
        want,
        jdec(&expected("B01")["expected"]["totals"], "billed_cost")
    );
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let blob = serde_json::to_vec(&old.parts).expect("encode");
        let info = DeliveryInfo {
            seq: 1,
            files: vec!["old".into()],
            records: 0,
            logged_at: chrono::Utc::now(),
        };
        store.commit_delivery(&info, &blob, &[]).expect("commit");
    }
    Engine::start(dir.path(), 1)
        .expect("start")
        .close()
        .expect("close");
    assert_eq!(billed(&rows(dir.path())), want);
}

#[test]
fn a_change_to_a_scope_never_logged_whole_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let scope = DeliveryScope {
            provider: Provider::Aws,
            billing_account_id: "123".into(),
            billing_period_start: chrono::DateTime::UNIX_EPOCH,
            view: String::new(),
            additive_source: None,
        };
        let (_, key, amounts) = prepare(
            &read_clean(&case_dir("B01").join("input/sp-cur-00001.csv"))
                .0
                .costs,
        )
        .parts
        .remove(0);
        let entry = LogEntry {
            whole: Vec::new(),
            changes: vec![(scope, vec![(key, amounts)])],
        };
        let info = DeliveryInfo {
            seq: 1,
            files: vec![],
            records: 0,
            logged_at: chrono::Utc::now(),
        };
        store
            .commit_delivery(&info, &serde_json::to_vec(&entry).expect("encode"), &[])
            .expect("commit");
    }
    let err = Engine::start(dir.path(), 1).expect_err("refused");
    assert!(
        format!("{err:#}").contains("logged delivery 1 changes a scope"),
        "{err:#}"
    );
}

//! The lifecycle's promises, on a real redb file in a tempdir: one event per real change,
//! none on a repeat (also after reopening), the person's status kept through recomputes,
//! withdrawals that keep the record, and events committed in the same transaction.

use std::collections::BTreeMap;
use std::str::FromStr;

use burnrate_schemas::{
    Action, DeadLetter, Effort, Event, EventKind, Finding, Priority, Provider, RecommendationType,
    State, Status,
};
use chrono::{DateTime, Duration, TimeZone, Utc};
use redb::ReadableTable;
use rust_decimal::Decimal;

use crate::embedded::{DEAD_LETTERS, EmbeddedStore, OUTBOX, StoreError};

fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).expect("decimal")
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 3, 5, 12, 0, 0)
        .single()
        .expect("time")
}

fn finding(resource: &str, cost: &str, savings: &str) -> Finding {
    Finding {
        provider: Provider::Aws,
        resource_id: resource.into(),
        kind: RecommendationType::Rightsize,
        title: format!("Rightsize {resource}"),
        description: "GPU mostly idle".into(),
        currency: "USD".into(),
        current_monthly_cost: dec(cost),
        estimated_monthly_savings: dec(savings),
        confidence: dec("0.9"),
        priority: Priority::High,
        effort: Effort::Low,
        action: Action::Rightsize {
            current_instance: Some("ml.g5.12xlarge".into()),
            capacity_fraction: dec("0.25"),
        },
        supporting_data: BTreeMap::from([("gpu_p95".to_string(), "12.5".to_string())]),
    }
}

fn kinds(events: &[Event]) -> Vec<EventKind> {
    events.iter().map(|e| e.kind).collect()
}

fn history(store: &EmbeddedStore, id: &str) -> Vec<String> {
    store
        .recommendation(id)
        .expect("read")
        .expect("stored")
        .history
        .into_iter()
        .map(|h| h.event)
        .collect()
}

/// The outbox as event id → event, read straight from the table.
fn outbox(store: &EmbeddedStore) -> BTreeMap<String, Event> {
    let txn = store.begin_read().expect("read txn");
    let table = txn.open_table(OUTBOX).expect("outbox table");
    table
        .iter()
        .expect("iter")
        .map(|e| {
            let (k, v) = e.expect("entry");
            let event: Event = serde_json::from_slice(v.value()).expect("event json");
            (k.value().to_string(), event)
        })
        .collect()
}

#[test]
fn a_new_finding_is_created_once_even_across_a_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = finding("ep-1", "1000", "250");
    let id = f.id();
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let events = store
            .apply_findings(&[(f.clone(), 1)], t0(), Some(Duration::hours(24)))
            .expect("apply");
        assert_eq!(kinds(&events), vec![EventKind::Created]);
        assert_eq!(events[0].id, format!("evt_{id}_1"));
        let rec = store.recommendation(&id).expect("read").expect("stored");
        assert_eq!(rec.finding, f);
        assert_eq!(
            (rec.status, rec.state, rec.revision),
            (Status::Pending, State::Active, 1)
        );
        // 250 / 1000 = 25 %.
        assert_eq!(rec.savings_percent, dec("25"));
        assert_eq!(rec.created_at, t0());
        assert_eq!(
            rec.expires_at,
            Some(Utc.with_ymd_and_hms(2024, 3, 6, 12, 0, 0).unwrap())
        );
        assert_eq!(history(&store, &id), vec!["created"]);
        assert_eq!(events[0].recommendation, rec);

        let again = store
            .apply_findings(&[(f.clone(), 1)], t0(), Some(Duration::hours(24)))
            .expect("apply again");
        assert!(again.is_empty(), "{again:?}");
    }
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    let later = t0() + Duration::minutes(5);
    let again = store
        .apply_findings(&[(f.clone(), 1)], later, None)
        .expect("apply after reopen");
    assert!(again.is_empty(), "{again:?}");
    let recs = store.recommendations().expect("list");
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].revision, 1);
    assert_eq!(recs[0].created_at, t0());
    assert_eq!(
        outbox(&store).len(),
        1,
        "exactly one event was ever enqueued"
    );
}

#[test]
fn a_changed_finding_is_one_update_in_either_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let old = finding("ep-1", "1000", "250");
    let new = finding("ep-1", "1000", "400");
    store
        .apply_findings(&[(old.clone(), 1)], t0(), None)
        .expect("create");
    let t1 = t0() + Duration::hours(1);
    // The new version listed before the retraction of the old.
    let change = [(new.clone(), 1), (old.clone(), -1)];
    let events = store.apply_findings(&change, t1, None).expect("update");
    assert_eq!(kinds(&events), vec![EventKind::Updated]);
    let rec = store
        .recommendation(&old.id())
        .expect("read")
        .expect("stored");
    assert_eq!(rec.revision, 2);
    assert_eq!(rec.finding, new);
    assert_eq!(rec.savings_percent, dec("40"));
    assert_eq!((rec.created_at, rec.updated_at), (t0(), t1));
    assert_eq!(events[0].id, format!("evt_{}_2", old.id()));
    assert_eq!(history(&store, &old.id()), vec!["created", "updated"]);
    // The same epoch again changes nothing.
    assert!(
        store
            .apply_findings(&change, t1, None)
            .expect("again")
            .is_empty()
    );
    // A finding that appears and disappears within one epoch leaves no trace.
    let brief = finding("ep-2", "10", "1");
    let none = store
        .apply_findings(&[(brief.clone(), 1), (brief.clone(), -1)], t1, None)
        .expect("cancel");
    assert!(none.is_empty());
    assert!(store.recommendation(&brief.id()).expect("read").is_none());
}

#[test]
fn a_retraction_alone_withdraws_and_keeps_the_record() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let f = finding("ep-1", "1000", "250");
    let other = finding("ep-9", "50", "50");
    store
        .apply_findings(&[(f.clone(), 1), (other.clone(), 1)], t0(), None)
        .expect("create");
    let events = store
        .apply_findings(&[(f.clone(), -1)], t0(), None)
        .expect("retract");
    assert_eq!(kinds(&events), vec![EventKind::Withdrawn]);
    let recs = store.recommendations().expect("list");
    assert_eq!(recs.len(), 2, "withdrawn is kept");
    let rec = store
        .recommendation(&f.id())
        .expect("read")
        .expect("still stored");
    assert_eq!((rec.state, rec.revision), (State::Withdrawn, 2));
    assert_eq!(rec.finding, f, "the last finding is kept");
    assert!(
        store
            .apply_findings(&[(f.clone(), -1)], t0(), None)
            .expect("again")
            .is_empty()
    );
    // The other recommendation was untouched.
    let o = store
        .recommendation(&other.id())
        .expect("read")
        .expect("stored");
    assert_eq!((o.state, o.revision), (State::Active, 1));
}

#[test]
fn the_persons_status_survives_updates_withdrawal_and_reactivation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let v1 = finding("ep-1", "1000", "250");
    let v2 = finding("ep-1", "1000", "300");
    let id = v1.id();
    store
        .apply_findings(&[(v1.clone(), 1)], t0(), None)
        .expect("create");

    let (rec, event) = store
        .set_status(
            &id,
            Status::Rejected,
            Some("needs the headroom".into()),
            t0(),
        )
        .expect("set")
        .expect("known id");
    let event = event.expect("a change has an event");
    assert_eq!(event.kind, EventKind::StatusChanged);
    assert_eq!((rec.status, rec.revision), (Status::Rejected, 2));
    assert_eq!(rec.status_reason.as_deref(), Some("needs the headroom"));
    let last = rec.history.last().expect("history");
    assert_eq!(last.event, "status:rejected");
    assert_eq!(last.reason.as_deref(), Some("needs the headroom"));

    // The same status and reason again: nothing stored, nothing announced.
    let (same, none) = store
        .set_status(
            &id,
            Status::Rejected,
            Some("needs the headroom".into()),
            t0(),
        )
        .expect("set")
        .expect("known id");
    assert!(none.is_none());
    assert_eq!(same.revision, 2);

    store
        .apply_findings(&[(v1.clone(), -1), (v2.clone(), 1)], t0(), None)
        .expect("update");
    store
        .apply_findings(&[(v2.clone(), -1)], t0(), None)
        .expect("withdraw");
    let events = store
        .apply_findings(&[(v2.clone(), 1)], t0(), None)
        .expect("reactivate");
    assert_eq!(kinds(&events), vec![EventKind::Updated]);
    let rec = store.recommendation(&id).expect("read").expect("stored");
    assert_eq!(rec.state, State::Active);
    assert_eq!(rec.status, Status::Rejected);
    assert_eq!(rec.status_reason.as_deref(), Some("needs the headroom"));
    assert_eq!(rec.revision, 5);
    assert_eq!(
        history(&store, &id),
        vec![
            "created",
            "status:rejected",
            "updated",
            "withdrawn",
            "reactivated"
        ]
    );

    // Accepting after a rejection clears the rejection's reason.
    let (rec, _) = store
        .set_status(&id, Status::Accepted, None, t0())
        .expect("set")
        .expect("known id");
    assert_eq!((rec.status, rec.status_reason), (Status::Accepted, None));
    assert!(
        store
            .set_status("rec_unknown", Status::Accepted, None, t0())
            .expect("set")
            .is_none()
    );
}

#[test]
fn every_event_is_in_the_outbox_of_the_same_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let a = finding("ep-1", "1000", "250");
    let b = finding("ep-2", "80", "20");
    let mut all = store
        .apply_findings(&[(a.clone(), 1), (b.clone(), 1)], t0(), None)
        .expect("create");
    let (_, e) = store
        .set_status(&a.id(), Status::Accepted, None, t0())
        .expect("set")
        .expect("known");
    all.extend(e);
    all.extend(
        store
            .apply_findings(&[(b.clone(), -1)], t0(), None)
            .expect("withdraw"),
    );
    assert_eq!(all.len(), 4);
    let want: BTreeMap<String, Event> = all.into_iter().map(|e| (e.id.clone(), e)).collect();
    assert_eq!(outbox(&store), want);
}

#[test]
fn expiry_marks_unconfirmed_recommendations_and_a_new_finding_revives_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let f = finding("ep-1", "1000", "250");
    let lasting = finding("ep-2", "10", "5");
    store
        .apply_findings(&[(f.clone(), 1)], t0(), Some(Duration::hours(1)))
        .expect("create");
    store
        .apply_findings(&[(lasting.clone(), 1)], t0(), None)
        .expect("create, no ttl");
    assert!(
        store
            .expire(t0() + Duration::minutes(30))
            .expect("expire")
            .is_empty()
    );
    // A confirmation at +45 min moves the expiry to +1h45, with no event or revision.
    let t45 = t0() + Duration::minutes(45);
    assert!(
        store
            .apply_findings(&[(f.clone(), 1)], t45, Some(Duration::hours(1)))
            .expect("confirm")
            .is_empty()
    );
    let rec = store
        .recommendation(&f.id())
        .expect("read")
        .expect("stored");
    assert_eq!(
        (rec.revision, rec.expires_at),
        (1, Some(t45 + Duration::hours(1)))
    );
    assert!(
        store
            .expire(t0() + Duration::minutes(90))
            .expect("expire")
            .is_empty()
    );

    let events = store.expire(t0() + Duration::hours(2)).expect("expire");
    assert_eq!(kinds(&events), vec![EventKind::Updated]);
    assert_eq!(events[0].recommendation.id, f.id());
    let rec = store
        .recommendation(&f.id())
        .expect("read")
        .expect("stored");
    assert_eq!((rec.state, rec.revision), (State::Expired, 2));
    assert!(
        store
            .expire(t0() + Duration::hours(3))
            .expect("again")
            .is_empty()
    );
    let l = store
        .recommendation(&lasting.id())
        .expect("read")
        .expect("stored");
    assert_eq!(l.state, State::Active, "no expiry without a ttl");

    let events = store
        .apply_findings(&[(f.clone(), 1)], t0(), None)
        .expect("revive");
    assert_eq!(kinds(&events), vec![EventKind::Updated]);
    assert_eq!(
        history(&store, &f.id()),
        vec!["created", "expired", "reactivated"]
    );
    // Revived by a computation without a ttl, it keeps no passed deadline.
    let rec = store
        .recommendation(&f.id())
        .expect("read")
        .expect("stored");
    assert_eq!((rec.state, rec.expires_at), (State::Active, None));
    assert!(
        store
            .expire(t0() + Duration::days(30))
            .expect("expire")
            .is_empty()
    );
}

#[test]
fn reconciling_announces_only_real_differences() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let kept = finding("ep-1", "1000", "250");
    let gone = finding("ep-2", "100", "10");
    let fresh = finding("ep-3", "300", "30");
    store
        .apply_findings(&[(kept.clone(), 1), (gone.clone(), 1)], t0(), None)
        .expect("create");
    let events = store
        .reconcile_findings(&[kept.clone(), fresh.clone()], t0(), None)
        .expect("reconcile");
    let got: BTreeMap<String, EventKind> = events
        .iter()
        .map(|e| (e.recommendation.id.clone(), e.kind))
        .collect();
    let want = BTreeMap::from([
        (gone.id(), EventKind::Withdrawn),
        (fresh.id(), EventKind::Created),
    ]);
    assert_eq!(got, want);
    assert!(
        store
            .reconcile_findings(&[kept, fresh], t0(), None)
            .expect("again")
            .is_empty()
    );
}

#[test]
fn read_only_stores_read_and_refuse_status_changes_and_dead_letters_read_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = finding("ep-1", "1000", "250");
    let letter = {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        assert!(store.dead_letters().expect("no table yet").is_empty());
        let events = store
            .apply_findings(&[(f.clone(), 1)], t0(), None)
            .expect("create");
        let letter = DeadLetter {
            event_id: events[0].id.clone(),
            kind: events[0].kind,
            url: "http://127.0.0.1:9/hook".into(),
            attempts: 5,
            last_error: "connection refused".into(),
            failed_at: t0(),
            event: events[0].clone(),
            redelivery_requested_at: None,
        };
        let txn = store.writer().expect("writer").begin_write().expect("txn");
        {
            let mut t = txn.open_table(DEAD_LETTERS).expect("table");
            let key = format!("{}\n{}", letter.event_id, letter.url);
            let json = serde_json::to_vec(&letter).expect("json");
            t.insert(key.as_str(), json.as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
        letter
    };
    let ro = EmbeddedStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(ro.recommendations().expect("list").len(), 1);
    assert!(ro.recommendation(&f.id()).expect("read").is_some());
    assert_eq!(ro.dead_letters().expect("read"), vec![letter]);
    let refused = ro.set_status(&f.id(), Status::Accepted, None, t0());
    assert!(matches!(refused, Err(StoreError::ReadOnly)), "{refused:?}");
}

#[test]
fn a_store_without_the_tables_reads_as_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(EmbeddedStore::open(dir.path()).expect("create"));
    let ro = EmbeddedStore::open_read_only(dir.path()).expect("open read-only");
    assert!(ro.recommendations().expect("list").is_empty());
    assert!(
        ro.recommendation("rec_0000000000000000")
            .expect("read")
            .is_none()
    );
    assert!(ro.dead_letters().expect("read").is_empty());
}

#[test]
fn drifted_signal_values_are_stored_without_an_event() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let old = finding("ep-a", "1000", "500");
    store
        .apply_findings(&[(old.clone(), 1)], t0(), None)
        .expect("create");
    // Savings 510 vs 500: 10 is within 5% of 510 (25.5); only a signal value moved.
    let mut new = finding("ep-a", "1000", "510");
    new.supporting_data
        .insert("gpu_p95".to_string(), "13.0".to_string());
    let events = store
        .apply_findings(&[(old, -1), (new.clone(), 1)], t0(), None)
        .expect("drift");
    assert!(events.is_empty(), "{events:?}");
    let rec = store
        .recommendation(&new.id())
        .expect("read")
        .expect("stored");
    assert_eq!(
        (rec.revision, rec.finding.estimated_monthly_savings),
        (1, dec("510"))
    );
    assert_eq!(history(&store, &new.id()), vec!["created".to_string()]);
    // A change of the advice itself is announced.
    let mut bigger = new.clone();
    bigger.estimated_monthly_savings = dec("600");
    let events = store
        .apply_findings(&[(new, -1), (bigger, 1)], t0(), None)
        .expect("update");
    assert_eq!(kinds(&events), vec![EventKind::Updated]);
}

/// Why a demo recommendation can expire "30 days and a second" after its creation: the
/// expiry is exactly `ttl` after the latest computation that found it, and a later
/// computation that finds it again (here with drifted signal values, as the demo's next
/// metrics file does) moves it on without touching `created_at`, `updated_at` or the
/// revision. No second is added anywhere.
#[test]
fn the_expiry_is_the_ttl_after_the_latest_computation_that_found_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    let ttl = Some(Duration::days(30));
    let f = finding("ep-a", "1000", "500");
    store
        .apply_findings(&[(f.clone(), 1)], t0(), ttl)
        .expect("create");
    let rec = store
        .recommendation(&f.id())
        .expect("read")
        .expect("stored");
    // 2024-03-05 12:00 + 30 days = 2024-04-04 12:00:00, to the second.
    let thirty_days = Utc.with_ymd_and_hms(2024, 4, 4, 12, 0, 0).unwrap();
    assert_eq!((rec.created_at, rec.expires_at), (t0(), Some(thirty_days)));

    let mut drifted = f.clone();
    drifted
        .supporting_data
        .insert("gpu_p95".to_string(), "12.6".to_string());
    let a_second_later = t0() + Duration::seconds(1);
    let events = store
        .apply_findings(&[(f, -1), (drifted.clone(), 1)], a_second_later, ttl)
        .expect("drift");
    assert!(events.is_empty(), "{events:?}");
    let rec = store
        .recommendation(&drifted.id())
        .expect("read")
        .expect("stored");
    assert_eq!(
        (rec.created_at, rec.updated_at, rec.revision),
        (t0(), t0(), 1)
    );
    assert_eq!(
        rec.expires_at,
        Some(Utc.with_ymd_and_hms(2024, 4, 4, 12, 0, 1).unwrap())
    );
}

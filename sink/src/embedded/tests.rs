//! The store's promises: durable across reopen, idempotent rollup changes.

use std::collections::BTreeMap;
use std::str::FromStr;

use burnrate_schemas::{ChargeCategory, CostCategory, DailyCostKey, Provider, Totals};
use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::{DeliveryInfo, EmbeddedStore};

fn key(day: u32, service: &str) -> DailyCostKey {
    DailyCostKey {
        day: NaiveDate::from_ymd_opt(2024, 3, day).expect("date"),
        provider: Provider::Aws,
        service_code: service.into(),
        service_name: service.into(),
        account: "111122223333".into(),
        resource_id: None,
        charge_category: ChargeCategory::Usage,
        cost_category: CostCategory::Compute,
        pricing_model: None,
        is_ai: false,
        currency: "USD".into(),
    }
}

fn totals(billed: &str) -> Totals {
    let b = Decimal::from_str(billed).expect("decimal");
    Totals {
        billed_cost: b,
        effective_cost: b,
        quantity: Decimal::ONE,
        rows: 1,
    }
}

#[test]
fn deliveries_survive_reopening_and_numbers_are_not_reused() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        let seq = store.next_delivery().expect("seq");
        assert_eq!(seq, 1);
        // Not reserved until a delivery commits with it.
        assert_eq!(store.next_delivery().expect("seq"), 1);
        let info = DeliveryInfo {
            seq,
            files: vec!["a.csv".into()],
            records: 3,
            logged_at: chrono::Utc::now(),
        };
        store
            .commit_delivery(
                &info,
                b"parts-1",
                &[(key(5, "AmazonEC2"), totals("1.50"), 1)],
            )
            .expect("commit");
    }
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    assert_eq!(store.next_delivery().expect("seq"), 2);
    let logged = store.logged_deliveries().expect("read");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].0.files, vec!["a.csv".to_string()]);
    assert_eq!(logged[0].1, b"parts-1".to_vec());
    // The rollup change committed with it.
    assert_eq!(store.daily_cost(|_| true).expect("read").len(), 1);
}

#[test]
fn rollup_changes_are_idempotent_in_any_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    store
        .apply_daily_cost(&[(key(5, "AmazonEC2"), totals("1.50"), 1)])
        .expect("apply");
    // The row changes from 1.50 to 2.00: a retraction and an insertion, listed insertion
    // first, applied twice.
    let change = [
        (key(5, "AmazonEC2"), totals("2.00"), 1),
        (key(5, "AmazonEC2"), totals("1.50"), -1),
    ];
    store.apply_daily_cost(&change).expect("apply");
    store.apply_daily_cost(&change).expect("apply again");
    let rows = store.daily_cost(|_| true).expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].totals, totals("2.00"));
    // A retraction of totals the row no longer holds changes nothing.
    store
        .apply_daily_cost(&[(key(5, "AmazonEC2"), totals("1.50"), -1)])
        .expect("apply");
    assert_eq!(store.daily_cost(|_| true).expect("read").len(), 1);
    store
        .apply_daily_cost(&[(key(5, "AmazonEC2"), totals("2.00"), -1)])
        .expect("apply");
    assert!(store.daily_cost(|_| true).expect("read").is_empty());
}

fn all_rows(store: &EmbeddedStore) -> BTreeMap<DailyCostKey, Totals> {
    store
        .daily_cost(|_| true)
        .expect("read")
        .into_iter()
        .map(|r| (r.key, r.totals))
        .collect()
}

#[test]
fn replacing_the_table_reconciles_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EmbeddedStore::open(dir.path()).expect("open");
    store
        .apply_daily_cost(&[
            (key(5, "stale"), totals("9"), 1),
            (key(6, "AmazonS3"), totals("1"), 1),
        ])
        .expect("apply");
    let want: BTreeMap<DailyCostKey, Totals> = [
        (key(6, "AmazonS3"), totals("1")),
        (key(7, "AmazonS3"), totals("2")),
    ]
    .into_iter()
    .collect();
    store.replace_daily_cost(&want).expect("replace");
    assert_eq!(all_rows(&store), want);
    let day7 = store
        .daily_cost(|k| k.day.format("%d").to_string() == "07")
        .expect("read");
    assert_eq!(day7.len(), 1);
}

/// Writes `rows` as a writer before the compact rollup table did: a JSON `daily_cost`
/// table (replacing what it held).
fn write_legacy(db: &redb::Database, rows: &[(DailyCostKey, Totals)]) {
    let txn = db.begin_write().expect("write");
    {
        let mut t = txn.open_table(super::LEGACY_DAILY_COST).expect("table");
        t.retain(|_, _| false).expect("clear");
        for (k, v) in rows {
            let (k, v) = (
                serde_json::to_string(k).expect("key"),
                serde_json::to_string(v).expect("totals"),
            );
            t.insert(k.as_str(), v.as_str()).expect("insert");
        }
    }
    txn.commit().expect("commit");
}

fn table_names(dir: &std::path::Path) -> Vec<String> {
    use redb::{ReadableDatabase, TableHandle};
    let db = redb::Database::open(dir.join(super::FILE_NAME)).expect("reopen");
    db.begin_read()
        .expect("read")
        .list_tables()
        .expect("tables")
        .map(|t| t.name().to_string())
        .collect()
}

/// A store written before the compact rollup table: a reader reads its JSON rows as they
/// are (a reader never writes: the store may be another user's, or on a read-only
/// mount), and a writer moves them over when it opens the store.
#[test]
fn a_store_with_json_rollup_rows_is_read_as_is_and_migrated_by_a_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let rows = [
        (key(5, "AmazonEC2"), totals("1.50")),
        (key(6, "AmazonS3"), totals("-0.000000001")),
    ];
    write_legacy(
        &redb::Database::create(dir.path().join(super::FILE_NAME)).expect("create"),
        &rows,
    );
    let want: BTreeMap<_, _> = rows.iter().cloned().collect();
    let reader = EmbeddedStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(all_rows(&reader), want);
    reader.ping().expect("ping");
    drop(reader);
    assert!(table_names(dir.path()).iter().any(|t| t == "daily_cost"));
    let writer = EmbeddedStore::open(dir.path()).expect("open");
    assert_eq!(all_rows(&writer), want);
    drop(writer);
    let tables = table_names(dir.path());
    assert!(!tables.iter().any(|t| t == "daily_cost"), "{tables:?}");
    let reader = EmbeddedStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(all_rows(&reader), want);
}

/// During an upgrade the older writer may still be running (`run`) while a reader of this
/// version starts (`serve`): the reader cannot migrate the store, and must still read it,
/// including what the older writer commits after the reader opened.
#[test]
fn a_reader_beside_an_older_writer_reads_its_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let older = super::builder()
        .create(dir.path().join(super::FILE_NAME))
        .expect("create");
    write_legacy(&older, &[(key(5, "AmazonEC2"), totals("1.50"))]);
    let reader = EmbeddedStore::open_read_only(dir.path()).expect("open beside the writer");
    assert_eq!(
        all_rows(&reader),
        BTreeMap::from([(key(5, "AmazonEC2"), totals("1.50"))])
    );
    write_legacy(
        &older,
        &[
            (key(5, "AmazonEC2"), totals("2")),
            (key(7, "AmazonEC2"), totals("3")),
        ],
    );
    assert_eq!(
        all_rows(&reader),
        BTreeMap::from([
            (key(5, "AmazonEC2"), totals("2")),
            (key(7, "AmazonEC2"), totals("3")),
        ])
    );
}

/// Upgraded, then run once more with the older version (which knows only the JSON table
/// and leaves the compact one as it was), then upgraded again: the JSON table is the
/// current one, for a reader and for the writer's migration alike; the compact table's
/// rows from before are stale and must not show.
#[test]
fn after_a_downgrade_the_json_table_is_the_current_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        store
            .apply_daily_cost(&[
                (key(5, "AmazonEC2"), totals("1.50"), 1),
                (key(6, "AmazonS3"), totals("9"), 1),
            ])
            .expect("apply");
    }
    // The older version restated day 5 and no longer has day 6.
    let current = [(key(5, "AmazonEC2"), totals("4"))];
    write_legacy(
        &redb::Database::create(dir.path().join(super::FILE_NAME)).expect("open"),
        &current,
    );
    let want: BTreeMap<_, _> = current.iter().cloned().collect();
    let reader = EmbeddedStore::open_read_only(dir.path()).expect("open read-only");
    assert_eq!(all_rows(&reader), want);
    drop(reader);
    let writer = EmbeddedStore::open(dir.path()).expect("open");
    assert_eq!(all_rows(&writer), want);
}

/// A source's fingerprint is stored with its delivery and survives reopening; re-reading
/// the source with other content moves it to the new fingerprint and frees the old one.
#[test]
fn additive_fingerprints_follow_their_source() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (one, two) = ([1u8; 32], [2u8; 32]);
    let info = |seq| DeliveryInfo {
        seq,
        files: vec!["/in/a.csv".into()],
        records: 1,
        logged_at: chrono::Utc::now(),
    };
    {
        let store = EmbeddedStore::open(dir.path()).expect("open");
        assert_eq!(store.additive_source_with(&one).expect("read"), None);
        store
            .commit_delivery_with(&info(1), b"p", &[], &[("/in/a.csv".into(), one)])
            .expect("commit");
    }
    let store = EmbeddedStore::open(dir.path()).expect("reopen");
    assert_eq!(
        store.additive_source_with(&one).expect("read").as_deref(),
        Some("/in/a.csv")
    );
    store
        .commit_delivery_with(&info(2), b"p", &[], &[("/in/a.csv".into(), two)])
        .expect("commit");
    assert_eq!(store.additive_source_with(&one).expect("read"), None);
    assert_eq!(
        store.additive_source_with(&two).expect("read").as_deref(),
        Some("/in/a.csv")
    );
    // Read-only readers see the same.
    drop(store);
    let reader = EmbeddedStore::open_read_only(dir.path()).expect("read only");
    assert_eq!(
        reader.additive_source_with(&two).expect("read").as_deref(),
        Some("/in/a.csv")
    );
}

//! # The embedded store (the default)
//!
//! One file, `<data-dir>/burnrate.redb`, holding:
//! - **The input log**: every completed delivery, as what the job consumed (an opaque
//!   blob the caller encodes: the engine writes a scope's first delivery whole and a
//!   restatement as its difference, so a commit grows with the change, not the period)
//!   plus a small JSON description. On start the job is rebuilt by replaying the log, so a
//!   restatement arriving after a restart still retracts what the delivery before it
//!   contributed.
//! - **The fingerprints of additive source files** (SHA-256 of their bytes), committed
//!   with their delivery, so a copy of a stored file under another name is recognized.
//! - **The rollups** the job maintains (`daily_cost`), which readers (`summary`, the API)
//!   query without running the job.
//! - **The recommendations** with their lifecycle, and the webhook outbox and dead letters
//!   (`recommendations.rs`).
//!
//! Why redb: a pure-Rust, ACID key-value store with copy-on-write B-trees; a commit is
//! durable when it returns (fsync), a crash leaves the last committed state, readers never
//! block the writer, and it needs no C toolchain or server. SQLite would also do, at the
//! price of a C build; a columnar file format would need our own write-ahead log.
//!
//! Idempotency: a delivery is committed in one transaction (its parts, its description
//! and the rollup changes it caused together), so it is either wholly there or not at all. Rollup changes are applied as
//! upserts (`diff` > 0 writes the row's new totals) and conditional deletes (`diff` < 0
//! removes the row only if it still holds exactly those totals), so applying the same
//! changes twice, in either order within an epoch, leaves the same table. At start the
//! table is reconciled with the replayed job's state in one transaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burnrate_schemas::{DailyCostKey, DailyCostRow, Totals};
use redb::{
    Builder, ConcurrencyMode, Database, DatabaseError, ReadOnlyDatabase, ReadTransaction,
    ReadableDatabase, ReadableTable, TableDefinition, TableError, TableHandle,
};
use serde::{Deserialize, Serialize};

mod codec;
mod outbox;

pub use outbox::DeliveryState;

pub(crate) const META: TableDefinition<'static, &'static str, u64> = TableDefinition::new("meta");
const DELIVERIES: TableDefinition<'static, u64, &'static str> = TableDefinition::new("deliveries");
const PARTS: TableDefinition<'static, u64, &'static [u8]> = TableDefinition::new("delivery_parts");
/// Additive sources by content: the SHA-256 of a file's bytes → the source (the file's
/// canonical path) whose delivery stored that content. Written with the delivery, in its
/// transaction, so a copy of a stored file under another name is recognized after a
/// restart too (see `EmbeddedStore::additive_source_with`).
const SOURCE_BY_FINGERPRINT: TableDefinition<'static, &'static [u8], &'static str> =
    TableDefinition::new("additive_source_by_fingerprint");
/// The same, the other way round: a source → the fingerprint of its stored content, so a
/// re-read with new content frees the old fingerprint.
const FINGERPRINT_BY_SOURCE: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("additive_fingerprint_by_source");
/// The daily cost rollup: key → totals, both in the compact encoding of `codec`.
const DAILY_COST: TableDefinition<'static, &'static [u8], &'static [u8]> =
    TableDefinition::new("rollup_daily_cost");
/// The rollup as stores before `codec` held it (JSON key → JSON totals); a writer opening
/// such a store moves it into `DAILY_COST` (`migrate`); until then readers read it as it
/// is (`legacy_rollup`).
const LEGACY_DAILY_COST: TableDefinition<'static, &'static str, &'static str> =
    TableDefinition::new("daily_cost");
/// Webhook events waiting to be sent: event id → `schemas::Event` as JSON. Whoever
/// changes a recommendation puts its event here in the same transaction, so an event is
/// enqueued exactly when its change is committed; the webhook notifier drains it.
pub(crate) const OUTBOX: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("webhook_outbox");
/// Webhook events that failed for good: `event_id + "\n" + url` → `schemas::DeadLetter` as
/// JSON. The webhook notifier writes it; the API lists it (`EmbeddedStore::dead_letters`).
pub(crate) const DEAD_LETTERS: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("webhook_dead_letters");

/// Enqueues a webhook event inside the caller's write transaction. Enqueuing the same
/// event id again overwrites it with the same content (ids are derived from the change).
pub(crate) fn enqueue_event(
    txn: &redb::WriteTransaction,
    event: &burnrate_schemas::Event,
) -> Result<(), StoreError> {
    let mut outbox = txn.open_table(OUTBOX).map_err(store_err)?;
    let json = serde_json::to_vec(event)?;
    outbox
        .insert(event.id.as_str(), json.as_slice())
        .map_err(store_err)?;
    Ok(())
}

/// The SHA-256 of an additive source file's bytes.
pub type Fingerprint = [u8; 32];

/// The file name inside the data directory.
pub const FILE_NAME: &str = "burnrate.redb";

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the store at {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: Box<redb::DatabaseError>,
    },
    #[error(
        "the store at {path} is being written by another burnrate process; only one `ingest` or `run` \
         may write at a time (`summary` and `serve` read alongside it). While `run` or `demo` \
         writes it, put new files into the folder it watches instead of running `ingest`"
    )]
    Busy { path: PathBuf },
    #[error("no store at {path}: run `burnrate ingest PATH...` first, or pass --data-dir")]
    Missing { path: PathBuf },
    #[error("the store was opened read-only")]
    ReadOnly,
    #[error("store: {0}")]
    Db(#[from] Box<redb::Error>),
    #[error("store: a stored value does not decode: {0}")]
    Decode(#[from] serde_json::Error),
    #[error("store: {0}")]
    Binary(String),
}

fn store_err<E: Into<redb::Error>>(e: E) -> StoreError {
    StoreError::Db(Box::new(e.into()))
}

/// What the log says about one delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryInfo {
    /// The arrival number; later deliveries of a scope replace earlier ones.
    pub seq: u64,
    /// The files read for it.
    pub files: Vec<String>,
    /// Records normalized from them.
    pub records: u64,
    pub logged_at: chrono::DateTime<chrono::Utc>,
}

/// The embedded store. Share it by reference (or `Arc`): redb serializes writers and
/// readers never block.
///
/// One process writes (the pipeline of `ingest` or `run`); any number of other processes
/// may open the same store read-only (`summary`, `serve`) and see each commit as it lands
/// (redb's single-writer multi-process mode).
#[derive(Debug)]
pub struct EmbeddedStore {
    db: Handle,
    path: PathBuf,
}

enum Handle {
    Write(Database),
    Read(ReadOnlyDatabase),
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Handle::Write(_) => "writer",
            Handle::Read(_) => "read-only",
        })
    }
}

fn builder() -> Builder {
    let mut b = Builder::new();
    b.set_concurrency_mode(ConcurrencyMode::SingleWriter);
    b
}

fn open_error(path: &Path, e: DatabaseError) -> StoreError {
    match e {
        DatabaseError::DatabaseAlreadyOpen => StoreError::Busy {
            path: path.to_path_buf(),
        },
        other => StoreError::Open {
            path: path.to_path_buf(),
            source: Box::new(other),
        },
    }
}

impl EmbeddedStore {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE_NAME);
        let db = builder().create(&path).map_err(|e| open_error(&path, e))?;
        let txn = db.begin_write().map_err(db_err)?;
        migrate(&txn)?;
        {
            txn.open_table(META).map_err(store_err)?;
            txn.open_table(DELIVERIES).map_err(store_err)?;
            txn.open_table(PARTS).map_err(store_err)?;
            txn.open_table(DAILY_COST).map_err(store_err)?;
            txn.open_table(OUTBOX).map_err(store_err)?;
            txn.open_table(outbox::WEBHOOK_DELIVERIES)
                .map_err(store_err)?;
            txn.open_table(DEAD_LETTERS).map_err(store_err)?;
            txn.open_table(SOURCE_BY_FINGERPRINT).map_err(store_err)?;
            txn.open_table(FINGERPRINT_BY_SOURCE).map_err(store_err)?;
        }
        txn.commit().map_err(store_err)?;
        Ok(EmbeddedStore {
            db: Handle::Write(db),
            path,
        })
    }

    /// Opens an existing store in `dir` for reading, beside a writer in another process.
    pub fn open_read_only(dir: &Path) -> Result<EmbeddedStore, StoreError> {
        let path = dir.join(FILE_NAME);
        if !path.exists() {
            return Err(StoreError::Missing {
                path: dir.to_path_buf(),
            });
        }
        let db = match builder().open_read_only(&path) {
            Ok(db) => db,
            // The writer stopped without closing (killed): the file needs a repair, which
            // only a writer can do. With no writer running now, repair it here by opening
            // it for writing once, then read.
            Err(DatabaseError::RepairAborted) => {
                drop(EmbeddedStore::open(dir)?);
                builder()
                    .open_read_only(&path)
                    .map_err(|e| open_error(&path, e))?
            }
            Err(e) => return Err(open_error(&path, e)),
        };
        Ok(EmbeddedStore {
            db: Handle::Read(db),
            path,
        })
    }

    fn writer(&self) -> Result<&Database, StoreError> {
        match &self.db {
            Handle::Write(db) => Ok(db),
            Handle::Read(_) => Err(StoreError::ReadOnly),
        }
    }

    fn begin_read(&self) -> Result<ReadTransaction, StoreError> {
        match &self.db {
            Handle::Write(db) => db.begin_read(),
            Handle::Read(db) => db.begin_read(),
        }
        .map_err(db_err)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The number the next delivery gets: one past the last logged.
    pub fn next_delivery(&self) -> Result<u64, StoreError> {
        let txn = self.begin_read()?;
        let meta = txn.open_table(META).map_err(store_err)?;
        Ok(meta
            .get("next_delivery")
            .map_err(store_err)?
            .map(|v| v.value())
            .unwrap_or(1))
    }

    /// Commits a delivery in one durable transaction: its parts and description in the
    /// log, the next delivery number, and the rollup changes it caused. Either all of it
    /// is stored or none of it.
    pub fn commit_delivery(
        &self,
        info: &DeliveryInfo,
        parts: &[u8],
        changes: &[(DailyCostKey, Totals, isize)],
    ) -> Result<(), StoreError> {
        self.commit_delivery_with(info, parts, changes, &[])
    }

    /// [`EmbeddedStore::commit_delivery`], also recording the content fingerprint of each
    /// additive source the delivery brings, in the same transaction. A source that had a
    /// fingerprint (an earlier read of the same file) gets the new one, and its old one is
    /// forgotten: that content is no longer stored.
    pub fn commit_delivery_with(
        &self,
        info: &DeliveryInfo,
        parts: &[u8],
        changes: &[(DailyCostKey, Totals, isize)],
        sources: &[(String, Fingerprint)],
    ) -> Result<(), StoreError> {
        let text = serde_json::to_string(info)?;
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        {
            txn.open_table(PARTS)
                .map_err(store_err)?
                .insert(info.seq, parts)
                .map_err(store_err)?;
            txn.open_table(DELIVERIES)
                .map_err(store_err)?
                .insert(info.seq, text.as_str())
                .map_err(store_err)?;
            let mut meta = txn.open_table(META).map_err(store_err)?;
            let next = meta
                .get("next_delivery")
                .map_err(store_err)?
                .map(|v| v.value())
                .unwrap_or(1);
            meta.insert("next_delivery", next.max(info.seq + 1))
                .map_err(store_err)?;
            apply_changes(&mut txn.open_table(DAILY_COST).map_err(store_err)?, changes)?;
            let mut by_fp = txn.open_table(SOURCE_BY_FINGERPRINT).map_err(store_err)?;
            let mut by_source = txn.open_table(FINGERPRINT_BY_SOURCE).map_err(store_err)?;
            for (source, fp) in sources {
                let old = by_source
                    .insert(source.as_str(), fp.as_slice())
                    .map_err(store_err)?
                    .map(|v| v.value().to_vec());
                if let Some(old) = old
                    && old.as_slice() != fp.as_slice()
                {
                    let held = by_fp
                        .get(old.as_slice())
                        .map_err(store_err)?
                        .map(|v| v.value() == source.as_str());
                    if held == Some(true) {
                        by_fp.remove(old.as_slice()).map_err(store_err)?;
                    }
                }
                by_fp
                    .insert(fp.as_slice(), source.as_str())
                    .map_err(store_err)?;
            }
        }
        txn.commit().map_err(store_err)?;
        Ok(())
    }

    /// The additive source whose stored content has this fingerprint, if any.
    pub fn additive_source_with(&self, fp: &Fingerprint) -> Result<Option<String>, StoreError> {
        let txn = self.begin_read()?;
        let table = match txn.open_table(SOURCE_BY_FINGERPRINT) {
            Ok(t) => t,
            // A store written before fingerprints, opened read-only.
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(store_err(e)),
        };
        Ok(table
            .get(fp.as_slice())
            .map_err(store_err)?
            .map(|v| v.value().to_string()))
    }

    /// Every logged delivery, in arrival order, with its parts blob.
    pub fn logged_deliveries(&self) -> Result<Vec<(DeliveryInfo, Vec<u8>)>, StoreError> {
        let txn = self.begin_read()?;
        let deliveries = txn.open_table(DELIVERIES).map_err(store_err)?;
        let parts = txn.open_table(PARTS).map_err(store_err)?;
        let mut out = Vec::new();
        for entry in deliveries.iter().map_err(store_err)? {
            let (seq, info) = entry.map_err(store_err)?;
            let info: DeliveryInfo = serde_json::from_str(info.value())?;
            let blob = parts
                .get(seq.value())
                .map_err(store_err)?
                .map(|b| b.value().to_vec())
                .unwrap_or_default();
            out.push((info, blob));
        }
        Ok(out)
    }

    /// Applies one epoch's rollup changes in one transaction (see the module docs).
    pub fn apply_daily_cost(
        &self,
        changes: &[(DailyCostKey, Totals, isize)],
    ) -> Result<(), StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        apply_changes(&mut txn.open_table(DAILY_COST).map_err(store_err)?, changes)?;
        txn.commit().map_err(store_err)?;
        Ok(())
    }

    /// Makes the daily cost table exactly `rows`, in one transaction.
    pub fn replace_daily_cost(
        &self,
        rows: &BTreeMap<DailyCostKey, Totals>,
    ) -> Result<(), StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        {
            let mut table = txn.open_table(DAILY_COST).map_err(store_err)?;
            table.retain(|_, _| false).map_err(store_err)?;
            for (key, totals) in rows {
                let k = codec::key_bytes(key)?;
                table
                    .insert(k.as_slice(), codec::totals_bytes(totals).as_slice())
                    .map_err(store_err)?;
            }
        }
        txn.commit().map_err(store_err)?;
        Ok(())
    }

    /// Opens a read transaction on the rollup table: the cheapest proof that the store
    /// answers (for readiness checks).
    pub fn ping(&self) -> Result<(), StoreError> {
        let txn = self.begin_read()?;
        if legacy_rollup(&txn)?.is_none() {
            txn.open_table(DAILY_COST).map_err(store_err)?;
        }
        Ok(())
    }

    /// Every daily cost row matching `keep`.
    pub fn daily_cost(
        &self,
        mut keep: impl FnMut(&DailyCostKey) -> bool,
    ) -> Result<Vec<DailyCostRow>, StoreError> {
        let txn = self.begin_read()?;
        let mut out = Vec::new();
        if let Some(legacy) = legacy_rollup(&txn)? {
            for entry in legacy.iter().map_err(store_err)? {
                let (k, v) = entry.map_err(store_err)?;
                let key: DailyCostKey = serde_json::from_str(k.value())?;
                if keep(&key) {
                    let totals: Totals = serde_json::from_str(v.value())?;
                    out.push(DailyCostRow { key, totals });
                }
            }
            return Ok(out);
        }
        let table = txn.open_table(DAILY_COST).map_err(store_err)?;
        for entry in table.iter().map_err(store_err)? {
            let (k, v) = entry.map_err(store_err)?;
            let key = codec::key_from(k.value())?;
            if keep(&key) {
                let totals = codec::totals_from(v.value())?;
                out.push(DailyCostRow { key, totals });
            }
        }
        Ok(out)
    }
}

/// Rollup changes as upserts and conditional deletes. A row that changed is a retraction
/// of its old totals and an insertion of the new ones: the insertion alone decides what
/// the row holds, so its retraction is skipped (half the B-tree work of a restatement).
/// Rows only retracted are deleted if they still hold exactly the retracted totals.
fn apply_changes(
    table: &mut redb::Table<'_, &'static [u8], &'static [u8]>,
    changes: &[(DailyCostKey, Totals, isize)],
) -> Result<(), StoreError> {
    // Fx, not SipHash: the keys are ours, and hashing every key's strings with SipHash
    // was a third of applying a restatement's changes.
    let inserted: rustc_hash::FxHashSet<&DailyCostKey> =
        changes.iter().filter(|c| c.2 > 0).map(|c| &c.0).collect();
    for (key, totals, _) in changes
        .iter()
        .filter(|c| c.2 < 0 && !inserted.contains(&c.0))
    {
        let k = codec::key_bytes(key)?;
        let holds = match table.get(k.as_slice()).map_err(store_err)? {
            Some(held) => codec::totals_from(held.value())? == *totals,
            None => false,
        };
        if holds {
            table.remove(k.as_slice()).map_err(store_err)?;
        }
    }
    for (key, totals, _) in changes.iter().filter(|c| c.2 > 0) {
        let k = codec::key_bytes(key)?;
        table
            .insert(k.as_slice(), codec::totals_bytes(totals).as_slice())
            .map_err(store_err)?;
    }
    Ok(())
}

/// The JSON rollup table, when the store has one: then it is the current rollup, since
/// only a writer from before `codec` writes it, and a writer of this version drops it when
/// it opens the store (`migrate`). A reader never migrates (it may not be able to write
/// the file, and an older writer may hold it), so it reads this table until a writer of
/// this version has opened the store; each read transaction sees one table or the other.
fn legacy_rollup(
    txn: &ReadTransaction,
) -> Result<Option<redb::ReadOnlyTable<&'static str, &'static str>>, StoreError> {
    match txn.open_table(LEGACY_DAILY_COST) {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(store_err(e)),
    }
}

/// Moves a rollup table of JSON rows (stores written before `codec`) into the compact
/// table, inside the caller's transaction, and drops the old table. Nothing to do for a
/// new or already migrated store. The compact table is cleared first: if it exists beside
/// a JSON table, a writer from before `codec` ran after this version did, and its rows
/// are stale.
fn migrate(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let legacy = txn
        .list_tables()
        .map_err(store_err)?
        .any(|t| t.name() == LEGACY_DAILY_COST.name());
    if !legacy {
        return Ok(());
    }
    let mut rows = Vec::new();
    {
        let old = txn.open_table(LEGACY_DAILY_COST).map_err(store_err)?;
        for entry in old.iter().map_err(store_err)? {
            let (k, v) = entry.map_err(store_err)?;
            let key: DailyCostKey = serde_json::from_str(k.value())?;
            let totals: Totals = serde_json::from_str(v.value())?;
            rows.push((key, totals, 1));
        }
    }
    {
        let mut table = txn.open_table(DAILY_COST).map_err(store_err)?;
        table.retain(|_, _| false).map_err(store_err)?;
        apply_changes(&mut table, &rows)?;
    }
    txn.delete_table(LEGACY_DAILY_COST).map_err(store_err)?;
    Ok(())
}

/// Reads every value of a table of JSON values, or nothing when the table does not exist
/// yet (a store written before the table was introduced, opened read-only).
pub(crate) fn read_all<T: serde::de::DeserializeOwned>(
    txn: &ReadTransaction,
    table: TableDefinition<'static, &'static str, &'static [u8]>,
) -> Result<Vec<T>, StoreError> {
    let table = match txn.open_table(table) {
        Ok(t) => t,
        Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(store_err(e)),
    };
    let mut out = Vec::new();
    for entry in table.iter().map_err(store_err)? {
        let (_, v) = entry.map_err(store_err)?;
        out.push(serde_json::from_slice(v.value())?);
    }
    Ok(out)
}

fn db_err(e: redb::TransactionError) -> StoreError {
    store_err(e)
}

mod metrics;
mod recommendations;

pub use metrics::MetricBucket;

#[cfg(test)]
mod tests;

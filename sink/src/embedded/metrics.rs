//! The metric window's durable state: one row per (resource, UTC hour) with the hour's
//! summed [`HourStats`] and the 60-bit mask of the minutes counted in it.
//!
//! The job keeps the same buckets in memory; this table is what rebuilds them after a
//! restart (and what tells a restarted window which minutes were already counted, so a
//! retried push is not counted twice). Rows are added to, never replaced: a batch's
//! buckets are deltas, accumulated here in one transaction. Hours that left the window
//! are pruned.

use burnrate_schemas::HourStats;
use redb::{ReadableTable, TableDefinition, TableError};
use serde::{Deserialize, Serialize};

use super::{EmbeddedStore, META, StoreError, db_err, store_err};

/// The META key of the metric window's first minute (an `i64` stored as its bits).
const FIRST_MINUTE: &str = "metrics_first_minute";

/// `resource + "\n" + hour` (hour zero-padded so keys sort by resource, then hour) →
/// [`Bucket`] as JSON.
pub(crate) const METRIC_BUCKETS: TableDefinition<'static, &'static str, &'static [u8]> =
    TableDefinition::new("metric_buckets");

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Bucket {
    stats: HourStats,
    mask: u64,
}

/// One stored bucket: (resource, hour), its stats, its counted minutes.
pub type MetricBucket = ((String, i64), HourStats, u64);

fn key(resource: &str, hour: i64) -> String {
    format!("{resource}\n{hour:012}")
}

fn parse_key(k: &str) -> Option<(String, i64)> {
    let (resource, hour) = k.rsplit_once('\n')?;
    Some((resource.to_string(), hour.parse().ok()?))
}

impl EmbeddedStore {
    /// Adds a batch's bucket deltas (stats added, masks or-ed) and the window's first
    /// minute in one durable commit, and drops buckets of hours before `keep_from_hour`.
    pub fn add_metric_buckets(
        &self,
        deltas: &[MetricBucket],
        keep_from_hour: Option<i64>,
        first_minute: Option<i64>,
    ) -> Result<(), StoreError> {
        let txn = self.writer()?.begin_write().map_err(db_err)?;
        if let Some(first) = first_minute {
            let mut meta = txn.open_table(META).map_err(store_err)?;
            meta.insert(FIRST_MINUTE, first as u64).map_err(store_err)?;
        }
        {
            let mut table = txn.open_table(METRIC_BUCKETS).map_err(store_err)?;
            for ((resource, hour), stats, mask) in deltas {
                let k = key(resource, *hour);
                let mut bucket = match table.get(k.as_str()).map_err(store_err)? {
                    Some(v) => serde_json::from_slice::<Bucket>(v.value())?,
                    None => Bucket::default(),
                };
                bucket.stats.add(stats, 1);
                bucket.mask |= mask;
                let json = serde_json::to_vec(&bucket)?;
                table
                    .insert(k.as_str(), json.as_slice())
                    .map_err(store_err)?;
            }
            if let Some(from) = keep_from_hour {
                table
                    .retain(|k, _| parse_key(k).is_none_or(|(_, hour)| hour >= from))
                    .map_err(store_err)?;
            }
        }
        txn.commit().map_err(store_err)?;
        Ok(())
    }

    /// The metric window's first minute, once any metrics were stored.
    pub fn metric_first_minute(&self) -> Result<Option<i64>, StoreError> {
        let txn = self.begin_read()?;
        let meta = match txn.open_table(META) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(store_err(e)),
        };
        Ok(meta
            .get(FIRST_MINUTE)
            .map_err(store_err)?
            .map(|v| v.value() as i64))
    }

    /// Every stored bucket (empty for a store that never took metrics).
    pub fn metric_buckets(&self) -> Result<Vec<MetricBucket>, StoreError> {
        let txn = self.begin_read()?;
        let table = match txn.open_table(METRIC_BUCKETS) {
            Ok(t) => t,
            Err(TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(store_err(e)),
        };
        let mut out = Vec::new();
        for entry in table.iter().map_err(store_err)? {
            let (k, v) = entry.map_err(store_err)?;
            let Some(at) = parse_key(k.value()) else {
                continue;
            };
            let b: Bucket = serde_json::from_slice(v.value())?;
            out.push((at, b.stats, b.mask));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deltas_accumulate_survive_a_reopen_and_old_hours_are_pruned() {
        let dir = tempfile::tempdir().expect("tmp");
        let one = HourStats {
            minutes: 1,
            requests_milli: 5_000,
            ..HourStats::default()
        };
        {
            let store = EmbeddedStore::open(dir.path()).expect("open");
            store
                .add_metric_buckets(&[(("ep".into(), 10), one, 0b01)], None, Some(-5))
                .expect("add");
            store
                .add_metric_buckets(
                    &[
                        (("ep".into(), 10), one, 0b10),
                        (("ep".into(), 11), one, 0b1),
                    ],
                    None,
                    None,
                )
                .expect("add");
        }
        let store = EmbeddedStore::open(dir.path()).expect("reopen");
        // A minute before the epoch survives the trip through META's unsigned values.
        assert_eq!(store.metric_first_minute().expect("first"), Some(-5));
        let got = store.metric_buckets().expect("read");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].0, ("ep".to_string(), 10));
        assert_eq!(
            (got[0].1.minutes, got[0].1.requests_milli, got[0].2),
            (2, 10_000, 0b11)
        );
        store
            .add_metric_buckets(&[], Some(11), None)
            .expect("prune");
        let got = store.metric_buckets().expect("read");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.1, 11);
    }
}

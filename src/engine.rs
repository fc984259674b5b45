//! The embedded pipeline: the dataflow job (stepped in place on this thread for one
//! worker, on its own threads for more), with its changes written to the embedded store.
//!
//! A delivery is safe to kill at any point: the job computes the rollup changes it causes,
//! then its parts (the log) and those changes are committed in one durable transaction.
//! Only then is it acknowledged. A crash before the commit leaves no trace of it; after,
//! it is wholly there.
//!
//! On start the log is replayed into a fresh job and the rollup table is replaced by the
//! replayed state, so it always agrees with the log. A replay after a clean stop changes
//! nothing.
//!
//! The log entry of a delivery ([`LogEntry`]) holds the parts of the scopes it brings
//! for the first time whole, and for the scopes it restates only the difference from
//! what the scope held: restating a month with 1% of its lines changed writes about 1%
//! of the month's parts, not all of them again. Replay rebuilds each scope's parts by
//! applying the entries in order, then feeds the result once. (Entries written before
//! this format, a bare list of parts, read as "all whole".)
//!
//! The engine is not `Send`: with one worker the job's graph lives on the thread that
//! started it (see `dataflow::job`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use burnrate_dataflow::{Config, Input, Job, Output, Part, Prepared};
use burnrate_schemas::{DailyCostKey, DeliveryScope, Totals};
use burnrate_sink::{DeliveryInfo, EmbeddedStore};
use rustc_hash::FxHashMap;

mod held;

pub use held::LogEntry;
use held::Sorted;

/// One rollup change: key, totals, +1 (appears) or -1 (disappears).
pub type Change = (DailyCostKey, Totals, isize);

/// The running pipeline over one data directory.
pub struct Engine {
    store: Arc<EmbeddedStore>,
    job: Option<Job>,
    /// The number the next delivery gets.
    next_seq: u64,
    /// The parts of the current delivery of each scope, as the job holds them: what a
    /// restatement's difference (fed and logged) is taken against.
    current: FxHashMap<DeliveryScope, (u64, Sorted)>,
    /// How long the job took on the last delivery (from handing it over to its changes).
    last_job_time: std::time::Duration,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store.path())
            .field("job", &self.job)
            .finish()
    }
}

impl Engine {
    /// Opens the store, starts the job, replays the log and reconciles the rollups.
    pub fn start(data_dir: &Path, workers: usize) -> Result<Engine> {
        let store = Arc::new(EmbeddedStore::open(data_dir)?);
        let job = Job::start(Config { workers }).context("starting the dataflow job")?;
        let mut engine = Engine {
            store,
            job: Some(job),
            next_seq: 1,
            current: FxHashMap::default(),
            last_job_time: std::time::Duration::ZERO,
        };
        engine.replay()?;
        Ok(engine)
    }

    /// The store, for readers in this process (the API beside the pipeline).
    pub fn store(&self) -> Arc<EmbeddedStore> {
        self.store.clone()
    }

    fn replay(&mut self) -> Result<()> {
        for (info, blob) in self.store.logged_deliveries()? {
            let entry = LogEntry::decode(&blob)
                .with_context(|| format!("decoding logged delivery {}", info.seq))?;
            // A later delivery of a scope replaces the earlier one whole, as in the job.
            for (scope, parts) in entry.whole {
                self.current.insert(scope, (info.seq, parts));
            }
            for (scope, changes) in entry.changes {
                let Some((_, held)) = self.current.get_mut(&scope) else {
                    bail!(
                        "logged delivery {} changes a scope no earlier delivery brought \
                         ({:?} {} from {})",
                        info.seq,
                        scope.provider,
                        scope.billing_account_id,
                        scope.billing_period_start
                    );
                };
                *held = held::apply(std::mem::take(held), changes);
            }
            self.next_seq = self.next_seq.max(info.seq + 1);
        }
        // The job gets each scope's replayed parts once, under the number it holds them by.
        let mut batch = Vec::new();
        let mut seqs = Vec::new();
        for (scope, (seq, held)) in &self.current {
            batch.push(Input::Parts {
                delivery: *seq,
                parts: held
                    .iter()
                    .map(|(k, a)| (scope.clone(), k.clone(), *a))
                    .collect(),
            });
            seqs.push(*seq);
        }
        seqs.sort_unstable();
        seqs.dedup();
        batch.extend(
            seqs.into_iter()
                .map(|delivery| Input::Complete { delivery }),
        );
        let changes = self.epoch(batch)?;
        let mut state: BTreeMap<DailyCostKey, Totals> = BTreeMap::new();
        for (key, totals, diff) in changes {
            if diff > 0 {
                state.insert(key, totals);
            } else if state.get(&key) == Some(&totals) {
                state.remove(&key);
            }
        }
        self.store.replace_daily_cost(&state)?;
        self.next_seq = self.next_seq.max(self.store.next_delivery()?);
        Ok(())
    }

    /// Runs one epoch and collects its rollup changes.
    fn epoch(&mut self, batch: Vec<Input>) -> Result<Vec<Change>> {
        let job = self
            .job
            .as_mut()
            .ok_or_else(|| anyhow!("the pipeline is closed"))?;
        let outputs = job.epoch(batch)?;
        let mut changes = Vec::with_capacity(outputs.len());
        for output in outputs {
            if let Output::DailyCost {
                key, totals, diff, ..
            } = output
            {
                changes.push((key, totals, diff));
            }
        }
        Ok(changes)
    }

    /// Runs a delivery through the job, then commits it (its log entry and the rollup
    /// changes it caused) in one durable transaction. Returns the delivery number and the
    /// number of rollup rows that changed.
    ///
    /// A scope the job already holds a delivery for gets only the difference between the
    /// old parts and the new ones, under the old delivery's number, and the log stores
    /// that difference too (see the module docs), so restating a month with 1% of its
    /// lines changed moves about 1% of the job's state and of the log.
    pub fn deliver(
        &mut self,
        files: Vec<String>,
        records: u64,
        prepared: Prepared,
    ) -> Result<(u64, usize)> {
        let seq = self.next_seq;
        let mut entry = LogEntry::default();
        // The held delivery number each group of changes is fed under.
        let mut change_seqs = Vec::new();
        for (scope, parts) in held::group(prepared.parts) {
            match self.current.get_mut(&scope) {
                Some((held_seq, held)) => {
                    let changes = held::difference(held, &parts);
                    *held = parts;
                    if !changes.is_empty() {
                        change_seqs.push(*held_seq);
                        entry.changes.push((scope, changes));
                    }
                }
                None => entry.whole.push((scope, parts)),
            }
        }
        let blob = serde_json::to_vec(&entry).context("encoding the delivery's log entry")?;
        let flat = |groups: &[held::Group]| -> Vec<Part> {
            groups
                .iter()
                .flat_map(|(s, list)| list.iter().map(move |(k, a)| (s.clone(), k.clone(), *a)))
                .collect()
        };
        let mut batch = Vec::new();
        for (group, delivery) in entry.changes.iter().zip(change_seqs) {
            batch.push(Input::Parts {
                delivery,
                parts: flat(std::slice::from_ref(group)),
            });
        }
        if !entry.whole.is_empty() {
            batch.push(Input::Parts {
                delivery: seq,
                parts: flat(&entry.whole),
            });
            batch.push(Input::Complete { delivery: seq });
        }
        for (scope, parts) in entry.whole {
            self.current.insert(scope, (seq, parts));
        }
        let started = std::time::Instant::now();
        let changes = self.epoch(batch)?;
        self.last_job_time = started.elapsed();
        let info = DeliveryInfo {
            seq,
            files,
            records,
            logged_at: chrono::Utc::now(),
        };
        if let Err(e) = self.store.commit_delivery(&info, &blob, &changes) {
            // The job now holds a delivery the store does not: stop it, so nothing more is
            // acknowledged from a state that a restart would not rebuild.
            let _ = self.shutdown();
            return Err(e).context("committing the delivery; the pipeline stopped");
        }
        self.next_seq = seq + 1;
        // Rows that appeared, changed or disappeared: the distinct keys the changes touch.
        let changed_rows = changes
            .iter()
            .map(|c| &c.0)
            .collect::<std::collections::HashSet<_>>()
            .len();
        Ok((seq, changed_rows))
    }

    /// How long the job itself took on the last delivery: what a restatement's difference
    /// costs the incremental computation, apart from reading files and committing.
    pub fn last_job_time(&self) -> std::time::Duration {
        self.last_job_time
    }

    /// Stops the job and waits for it.
    pub fn close(mut self) -> Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> Result<()> {
        if let Some(job) = self.job.take() {
            job.close()?;
        }
        Ok(())
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

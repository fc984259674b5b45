//! The embedded pipeline: the dataflow job on its own thread, fed through an in-process
//! channel, with its changes written to the embedded store.
//!
//! A delivery is safe to kill at any point: the job computes the rollup changes it causes,
//! then its parts (the log) and those changes are committed in one durable transaction.
//! Only then is it acknowledged. A crash before the commit leaves no trace of it; after,
//! it is wholly there.
//!
//! On start the log is replayed into a fresh job and the rollup table is replaced by the
//! replayed state, so it always agrees with the log. A replay after a clean stop changes
//! nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use burnrate_dataflow::{Amounts, Config, Feed, FeedEvent, Input, Output, Part, Prepared, run};
use burnrate_schemas::{DailyCostKey, DeliveryScope, Totals};
use burnrate_sink::{DeliveryInfo, EmbeddedStore};

/// The in-process transport.
struct ChannelFeed(Receiver<Vec<Input>>);

impl Feed for ChannelFeed {
    fn next(&mut self) -> FeedEvent {
        match self.0.recv_timeout(Duration::from_millis(20)) {
            Ok(batch) => FeedEvent::Batch(batch),
            Err(RecvTimeoutError::Timeout) => FeedEvent::Idle,
            Err(RecvTimeoutError::Disconnected) => FeedEvent::Closed,
        }
    }
}

/// One rollup change: key, totals, +1 (appears) or -1 (disappears).
pub type Change = (DailyCostKey, Totals, isize);

/// The running pipeline over one data directory.
pub struct Engine {
    store: Arc<EmbeddedStore>,
    feed: Option<Sender<Vec<Input>>>,
    out: Receiver<Output>,
    job: Option<JoinHandle<Result<(), String>>>,
    epoch: u64,
    /// The number the next delivery gets.
    next_seq: u64,
    /// The parts of the current delivery of each scope, as the job holds them.
    current: HashMap<DeliveryScope, (u64, HashMap<DailyCostKey, Amounts>)>,
    /// How long the job took on the last delivery (from handing it over to its changes).
    last_job_time: std::time::Duration,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("store", &self.store.path())
            .field("epoch", &self.epoch)
            .finish()
    }
}

impl Engine {
    /// Opens the store, starts the job, replays the log and reconciles the rollups.
    pub fn start(data_dir: &Path, workers: usize) -> Result<Engine> {
        let store = Arc::new(EmbeddedStore::open(data_dir)?);
        let (feed_tx, feed_rx) = channel();
        let (out_tx, out_rx) = channel();
        let job = std::thread::Builder::new()
            .name("burnrate-dataflow".into())
            .spawn(move || run(Config { workers }, ChannelFeed(feed_rx), out_tx))
            .context("starting the dataflow job")?;
        let mut engine = Engine {
            store,
            feed: Some(feed_tx),
            out: out_rx,
            job: Some(job),
            epoch: 0,
            next_seq: 1,
            current: HashMap::new(),
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
        let mut batch = Vec::new();
        for (info, blob) in self.store.logged_deliveries()? {
            let parts: Vec<Part> = serde_json::from_slice(&blob)
                .with_context(|| format!("decoding logged delivery {}", info.seq))?;
            // Later deliveries of a scope replace earlier ones, as in the job.
            let mut by_scope: HashMap<DeliveryScope, HashMap<DailyCostKey, Amounts>> =
                HashMap::new();
            for (scope, key, amounts) in &parts {
                by_scope
                    .entry(scope.clone())
                    .or_default()
                    .insert(key.clone(), *amounts);
            }
            for (scope, held) in by_scope {
                self.current.insert(scope, (info.seq, held));
            }
            self.next_seq = self.next_seq.max(info.seq + 1);
            batch.push(Input::Parts {
                delivery: info.seq,
                parts,
            });
            batch.push(Input::Complete { delivery: info.seq });
        }
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
        let feed = self
            .feed
            .as_ref()
            .ok_or_else(|| anyhow!("the pipeline is closed"))?;
        feed.send(batch)
            .map_err(|_| anyhow!("the dataflow job stopped"))?;
        let mut changes = Vec::new();
        loop {
            match self.out.recv() {
                Ok(Output::DailyCost {
                    key,
                    totals,
                    epoch,
                    diff,
                }) => {
                    if epoch != self.epoch {
                        bail!(
                            "the dataflow job reported epoch {epoch} during epoch {}",
                            self.epoch
                        );
                    }
                    changes.push((key, totals, diff));
                }
                Ok(Output::Complete { epoch }) if epoch == self.epoch => break,
                Ok(Output::Complete { epoch }) => {
                    bail!(
                        "the dataflow job completed epoch {epoch} during epoch {}",
                        self.epoch
                    )
                }
                Err(_) => bail!("the dataflow job stopped"),
            }
        }
        self.epoch += 1;
        Ok(changes)
    }

    /// Runs a delivery through the job, then commits it (its parts in the log and the
    /// rollup changes it caused) in one durable transaction. Returns the delivery number
    /// and the number of rollup rows that changed.
    ///
    /// A scope the job already holds a delivery for gets only the difference between the
    /// old parts and the new ones, under the old delivery's number, so restating a month
    /// with 1% of its lines changed moves 1% of the job's state. The log keeps the new
    /// delivery whole, and a replay (which keeps the latest delivery per scope) rebuilds
    /// the same state.
    pub fn deliver(
        &mut self,
        files: Vec<String>,
        records: u64,
        prepared: Prepared,
    ) -> Result<(u64, usize)> {
        let seq = self.next_seq;
        let blob = serde_json::to_vec(&prepared.parts).context("encoding the delivery")?;
        let mut by_scope: HashMap<DeliveryScope, HashMap<DailyCostKey, Amounts>> = HashMap::new();
        for (scope, key, amounts) in prepared.parts {
            by_scope.entry(scope).or_default().insert(key, amounts);
        }
        let mut batch = Vec::new();
        let mut fresh = Vec::new();
        for (scope, parts) in by_scope {
            match self.current.get_mut(&scope) {
                Some((held_seq, held)) => {
                    let diff = difference(&scope, held, &parts);
                    if !diff.is_empty() {
                        batch.push(Input::Parts {
                            delivery: *held_seq,
                            parts: diff,
                        });
                    }
                    *held = parts;
                }
                None => {
                    let list: Vec<Part> = parts
                        .iter()
                        .map(|(k, a)| (scope.clone(), k.clone(), *a))
                        .collect();
                    batch.push(Input::Parts {
                        delivery: seq,
                        parts: list,
                    });
                    fresh.push((scope, parts));
                }
            }
        }
        if !fresh.is_empty() {
            batch.push(Input::Complete { delivery: seq });
        }
        for (scope, parts) in fresh {
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
        self.feed = None;
        if let Some(job) = self.job.take() {
            job.join()
                .map_err(|_| anyhow!("the dataflow job panicked"))?
                .map_err(|e| anyhow!("the dataflow job failed: {e}"))?;
        }
        Ok(())
    }
}

/// The parts that turn `old` into `new` for one scope: new amounts minus old, per key.
fn difference(
    scope: &DeliveryScope,
    old: &HashMap<DailyCostKey, Amounts>,
    new: &HashMap<DailyCostKey, Amounts>,
) -> Vec<Part> {
    let mut out = Vec::new();
    for (key, n) in new {
        let d = n.minus(old.get(key).copied().unwrap_or_default());
        if !d.is_nothing() {
            out.push((scope.clone(), key.clone(), d));
        }
    }
    for (key, o) in old {
        if !new.contains_key(key) {
            out.push((scope.clone(), key.clone(), Amounts::default().minus(*o)));
        }
    }
    out
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

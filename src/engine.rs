//! The embedded pipeline: the dataflow job on its own thread, fed through an in-process
//! channel, with its changes written to the embedded store.
//!
//! The order of a delivery is what makes it safe to kill at any point:
//! 1. its parts and description are logged in one transaction (from then on it is
//!    acknowledged: it survives a crash);
//! 2. the job takes it and reports the epoch's rollup changes;
//! 3. the changes are applied to the rollup table in one transaction.
//!
//! On start the log is replayed into a fresh job and the rollup table is replaced by the
//! replayed state, which repairs a crash between steps 1 and 3. A replay after a clean
//! stop changes nothing.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use burnrate_dataflow::{Config, Feed, FeedEvent, Input, Output, Part, Prepared, run};
use burnrate_schemas::{DailyCostKey, Totals};
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

    /// Logs a delivery durably, runs it through the job and stores the rollup changes.
    /// Returns the delivery number and the number of rollup rows that changed.
    pub fn deliver(
        &mut self,
        files: Vec<String>,
        records: u64,
        prepared: Prepared,
    ) -> Result<(u64, usize)> {
        let seq = self.store.next_delivery()?;
        let blob = serde_json::to_vec(&prepared.parts).context("encoding the delivery")?;
        let info = DeliveryInfo {
            seq,
            files,
            records,
            logged_at: chrono::Utc::now(),
        };
        self.store.log_delivery(&info, &blob)?;
        let changes = self.epoch(vec![
            Input::Parts {
                delivery: seq,
                parts: prepared.parts,
            },
            Input::Complete { delivery: seq },
        ])?;
        self.store.apply_daily_cost(&changes)?;
        let changed_rows = changes.iter().filter(|c| c.2 > 0).count();
        Ok((seq, changed_rows))
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

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}

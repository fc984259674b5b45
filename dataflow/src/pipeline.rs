//! The one job: the graph (`build`) and the loop that drives it (`run`).
//!
//! Worker 0 reads the feed; every batch becomes one epoch (a `u64` timestamp). It turns
//! each record into its daily parts, pre-aggregates them per delivery and key (a billing
//! file repeats the same key thousands of times), pushes the sums, advances its inputs,
//! and steps until the probe says the epoch is done; then it reports `Output::Complete`.
//! The other workers follow the epoch worker 0 publishes, so every input frontier moves
//! together. Data is exchanged by key, so the results do not depend on the worker count.
//!
//! A delivery's records may span several batches; the delivery takes effect (and replaces
//! the previous delivery of its scope) only in the epoch of its `Complete`, so a restated
//! period never shows half of the new delivery beside none of the old.

use std::collections::{HashMap, HashSet};

use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burnrate_schemas::{CostRecord, DailyCostKey, DeliveryScope, RowRef, Totals};
use differential_dataflow::input::{Input as _, InputSession};
use timely::dataflow::ProbeHandle;

use crate::money::Amounts;
use crate::rollups::daily_cost;

/// One delivery's contribution to the daily cost rollup: its records split by UTC day and
/// summed by scope and key. This is the job's input, and what an input log stores.
pub type Part = (DeliveryScope, DailyCostKey, Amounts);

/// Records turned into parts, and the records that could not be.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prepared {
    pub parts: Vec<Part>,
    pub rejected: Vec<(RowRef, String)>,
}

/// Splits records by UTC day and sums them by scope and key, as they stream in: memory
/// grows with the distinct keys, not the records. A billing file repeats the same key
/// thousands of times, so this is where most of the volume disappears.
#[derive(Debug, Default)]
pub struct Preparer {
    /// FxHash: the keys are ours, not an attacker's, and SipHash over their strings was a
    /// tenth of the ingest path.
    sums: FxHashMap<DeliveryScope, FxHashMap<DailyCostKey, Amounts>>,
    rejected: Vec<(RowRef, String)>,
    records: u64,
}

impl Preparer {
    pub fn add(&mut self, r: &CostRecord) {
        use differential_dataflow::difference::Semigroup;
        self.records += 1;
        match daily_cost::parts(r) {
            Ok(parts) => {
                // Grouped by scope first: a file has one or a few scopes, and a scope
                // (with its account and file path) is then never cloned per part.
                let sums = self.sums.entry(r.delivery_scope()).or_default();
                for (key, amounts) in parts {
                    sums.entry(key).or_default().plus_equals(&amounts);
                }
            }
            Err(reason) => self.rejected.push((r.row_ref.clone(), reason)),
        }
    }

    /// Records added so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    pub fn finish(self) -> Prepared {
        use differential_dataflow::difference::IsZero;
        let mut parts: Vec<Part> = self
            .sums
            .into_iter()
            .flat_map(|(s, keys)| keys.into_iter().map(move |(k, a)| (s.clone(), k, a)))
            .filter(|(_, _, a)| !a.is_zero())
            .collect();
        parts.sort();
        Prepared {
            parts,
            rejected: self.rejected,
        }
    }
}

/// `Preparer` over a slice.
pub fn prepare(records: &[CostRecord]) -> Prepared {
    let mut p = Preparer::default();
    for r in records {
        p.add(r);
    }
    p.finish()
}

/// What the feed hands the job.
#[derive(Debug, Clone)]
pub enum Input {
    /// Parts of one delivery (identified by an arrival number that grows with time).
    Parts { delivery: u64, parts: Vec<Part> },
    /// All parts of the delivery have been given: it now replaces the previous delivery
    /// of each scope it covers.
    Complete { delivery: u64 },
}

/// The input side. Embedded mode feeds from an in-process channel; a Kafka consumer is
/// another implementation. The job never knows which.
pub trait Feed: Send {
    /// The next batch, `Idle` when nothing came within a short wait (the job then steps
    /// and asks again), `Closed` at the end.
    fn next(&mut self) -> FeedEvent;
}

#[derive(Debug)]
pub enum FeedEvent {
    Batch(Vec<Input>),
    Idle,
    Closed,
}

/// What the job reports, in order: the changes of an epoch, then its `Complete`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A daily cost row appears (`diff` > 0) or disappears (`diff` < 0) at `epoch`.
    DailyCost {
        key: DailyCostKey,
        totals: Totals,
        epoch: u64,
        diff: isize,
    },
    /// Every change up to and including `epoch` has been reported.
    Complete { epoch: u64 },
}

/// Settings of the job.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// Timely worker threads in this process.
    pub workers: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config { workers: 1 }
    }
}

type Delivery = (DeliveryScope, u64);

struct Handles {
    deliveries: InputSession<u64, Delivery, i128>,
    parts: InputSession<u64, (Delivery, DailyCostKey), Amounts>,
    probe: ProbeHandle<u64>,
}

/// Builds the graph on one worker: current deliveries, then the rollups over them.
fn build(worker: &mut timely::worker::Worker, out: Sender<Output>) -> Handles {
    worker.dataflow::<u64, _, _>(|scope| {
        let (deliveries_in, deliveries) = scope.new_collection::<Delivery, i128>();
        let (parts_in, parts) = scope.new_collection::<(Delivery, DailyCostKey), Amounts>();
        // The current delivery of a scope is the latest one to complete.
        let current = deliveries.reduce(
            |_scope, arrived: &[(&u64, i128)], current: &mut Vec<(u64, i128)>| {
                if let Some((latest, _)) = arrived.iter().rev().find(|(_, n)| *n > 0) {
                    current.push((**latest, 1));
                }
            },
        );
        let probe = ProbeHandle::new();
        daily_cost::rollup(parts, current)
            .inspect_batch(move |_, updates| {
                for ((key, amounts), epoch, diff) in updates {
                    let _ = out.send(Output::DailyCost {
                        key: key.clone(),
                        totals: amounts.totals(),
                        epoch: *epoch,
                        diff: *diff,
                    });
                }
            })
            .probe_with(&probe);
        Handles {
            deliveries: deliveries_in,
            parts: parts_in,
            probe,
        }
    })
}

/// Runs the job until the feed closes. Blocks the calling thread; outputs go to `out`.
pub fn run<F: Feed + 'static>(config: Config, feed: F, out: Sender<Output>) -> Result<(), String> {
    let feed = Arc::new(Mutex::new(Some(feed)));
    let epoch = Arc::new(AtomicU64::new(0));
    let closed = Arc::new(AtomicBool::new(false));
    let out = Mutex::new(out);
    let guards = timely::execute(
        timely::Config::process(config.workers.max(1)),
        move |worker| {
            let sender = out.lock().map(|s| s.clone());
            let Ok(sender) = sender else {
                return;
            };
            let mut handles = build(worker, sender.clone());
            if worker.index() == 0 {
                let taken = feed.lock().ok().and_then(|mut f| f.take());
                if let Some(feed) = taken {
                    drive(worker, &mut handles, feed, &epoch, &sender);
                }
                closed.store(true, Ordering::SeqCst);
            } else {
                follow(worker, &mut handles, &epoch, &closed);
            }
        },
    )?;
    for result in guards.join() {
        result?;
    }
    Ok(())
}

/// Worker 0: read the feed, one epoch per batch.
fn drive<F: Feed>(
    worker: &mut timely::worker::Worker,
    h: &mut Handles,
    mut feed: F,
    epoch: &AtomicU64,
    out: &Sender<Output>,
) {
    // Scopes seen per delivery, announced when the delivery completes.
    let mut pending: HashMap<u64, HashSet<DeliveryScope>> = HashMap::new();
    let mut now = 0u64;
    loop {
        let batch = match feed.next() {
            FeedEvent::Batch(b) => b,
            FeedEvent::Idle => {
                // The feed already waited for input; parking here too would delay a batch
                // that arrives meanwhile.
                worker.step();
                continue;
            }
            FeedEvent::Closed => break,
        };
        for input in batch {
            match input {
                Input::Parts { delivery, parts } => {
                    let scopes = pending.entry(delivery).or_default();
                    for (scope, key, amounts) in parts {
                        scopes.insert(scope.clone());
                        h.parts.update(((scope, delivery), key), amounts);
                    }
                }
                Input::Complete { delivery } => {
                    for scope in pending.remove(&delivery).unwrap_or_default() {
                        h.deliveries.update((scope, delivery), 1);
                    }
                }
            }
        }
        now += 1;
        h.deliveries.advance_to(now);
        h.parts.advance_to(now);
        h.deliveries.flush();
        h.parts.flush();
        epoch.store(now, Ordering::SeqCst);
        while h.probe.less_than(&now) {
            worker.step();
        }
        let _ = out.send(Output::Complete { epoch: now - 1 });
    }
}

/// Workers 1..n: keep their inputs at worker 0's epoch until the feed closes.
fn follow(
    worker: &mut timely::worker::Worker,
    h: &mut Handles,
    epoch: &AtomicU64,
    closed: &AtomicBool,
) {
    let mut mine = 0u64;
    loop {
        let now = epoch.load(Ordering::SeqCst);
        if now > mine {
            h.deliveries.advance_to(now);
            h.parts.advance_to(now);
            h.deliveries.flush();
            h.parts.flush();
            mine = now;
        }
        if closed.load(Ordering::SeqCst) && epoch.load(Ordering::SeqCst) == mine {
            break;
        }
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
}

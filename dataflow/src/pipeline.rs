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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burnrate_schemas::{CostRecord, DeliveryScope, RowRef};
use differential_dataflow::input::{Input as _, InputSession};
use timely::dataflow::ProbeHandle;

use crate::money::Amounts;
use crate::rollups::daily_cost::{self, DailyCostKey};

/// What the feed hands the job.
#[derive(Debug, Clone)]
pub enum Input {
    /// Records of one delivery (identified by an arrival number that grows with time).
    Records {
        delivery: u64,
        records: Vec<CostRecord>,
    },
    /// All records of the delivery have been given: it now replaces the previous delivery
    /// of each scope it covers.
    Complete { delivery: u64 },
}

/// The input side. Embedded mode feeds from an in-process channel; a Kafka consumer is
/// another implementation. The job never knows which.
pub trait Feed: Send {
    /// The next batch, `Idle` when nothing is waiting yet, `Closed` at the end.
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
        amounts: Amounts,
        epoch: u64,
        diff: isize,
    },
    /// A record that could not enter the rollups, and why.
    Rejected { row: RowRef, reason: String },
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
                        amounts: *amounts,
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
                worker.step_or_park(Some(Duration::from_millis(5)));
                continue;
            }
            FeedEvent::Closed => break,
        };
        let mut sums: HashMap<(Delivery, DailyCostKey), Amounts> = HashMap::new();
        for input in batch {
            match input {
                Input::Records { delivery, records } => {
                    let scopes = pending.entry(delivery).or_default();
                    for r in records {
                        let scope = r.delivery_scope();
                        match daily_cost::parts(&r) {
                            Ok(parts) => {
                                for (key, amounts) in parts {
                                    use differential_dataflow::difference::Semigroup;
                                    sums.entry(((scope.clone(), delivery), key))
                                        .or_default()
                                        .plus_equals(&amounts);
                                }
                                scopes.insert(scope);
                            }
                            Err(reason) => {
                                let _ = out.send(Output::Rejected {
                                    row: r.row_ref.clone(),
                                    reason,
                                });
                            }
                        }
                    }
                }
                Input::Complete { delivery } => {
                    for scope in pending.remove(&delivery).unwrap_or_default() {
                        h.deliveries.update((scope, delivery), 1);
                    }
                }
            }
        }
        for (k, amounts) in sums {
            h.parts.update(k, amounts);
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

//! The one job: the graph (`build`) and the loop that drives it (`run`, or `Job` one
//! epoch at a time).
//!
//! Worker 0 reads the feed; every batch becomes one epoch (a `u64` timestamp). Records
//! arrive as their daily parts, pre-aggregated per delivery and key by `Preparer` (a
//! billing file repeats the same key thousands of times). Worker 0 passes them through
//! `current::Current`, which decides what counts (the latest completed delivery of each
//! scope, the two-view rule) and yields how the counted parts change; it pushes those
//! changes, advances its inputs, and steps until the probe says the epoch is done; then it
//! reports `Output::Complete`. The other workers follow the epoch worker 0 publishes, so
//! every input frontier moves together. Data is exchanged by key inside the graph, and
//! the selection happens once before it, so the results do not depend on the worker
//! count.
//!
//! A delivery's records may span several batches; the delivery takes effect (and replaces
//! the previous delivery of its scope) only in the epoch of its `Complete`, so a restated
//! period never shows half of the new delivery beside none of the old.

use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use burnrate_schemas::{
    CostRecord, DailyCostKey, DeliveryScope, Finding, HourStats, RowRef, Totals,
};

use crate::current::Current;
use crate::recommendations::RecommendationConfig;
use crate::signals::key::{Admitted, KeyNames};
use crate::signals::{self, Window, WindowUpdates, stats::Stats};
use differential_dataflow::input::{Input as _, InputSession};
use timely::dataflow::ProbeHandle;

use crate::money::Amounts;
use crate::rollups::daily_cost;

/// One delivery's contribution to the daily cost rollup: its records split by UTC day and
/// summed by scope and key. This is the job's input (the engine logs it grouped by scope).
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

    /// Adds everything `other` holds (a file's records, read apart so that a file that
    /// fails half-way can be left out whole).
    pub fn absorb(&mut self, other: Preparer) {
        use differential_dataflow::difference::Semigroup;
        for (scope, keys) in other.sums {
            let sums = self.sums.entry(scope).or_default();
            for (key, amounts) in keys {
                sums.entry(key).or_default().plus_equals(&amounts);
            }
        }
        self.rejected.extend(other.rejected);
        self.records += other.records;
    }

    /// Whether any record added restates a whole period (its delivery replaces the
    /// period's previous one, rather than adding to it).
    pub fn restates(&self) -> bool {
        self.sums.keys().any(|s| s.additive_source.is_none())
    }

    /// The additive sources (files whose records add to each other) of the records added.
    pub fn additive_sources(&self) -> std::collections::BTreeSet<String> {
        self.sums
            .keys()
            .filter_map(|s| s.additive_source.clone())
            .collect()
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
    /// Per-minute metrics, as the metric window turned them into input updates
    /// (`signals::MetricsWindow`, which refuses duplicate and too-old minutes first).
    Metrics {
        buckets: Vec<((String, i64), HourStats)>,
        hours: Vec<(i64, isize)>,
        clock: Vec<(Window, isize)>,
    },
}

impl Input {
    /// The job's input for a metric window's updates.
    pub fn metrics(updates: &WindowUpdates) -> Input {
        Input::Metrics {
            buckets: updates.buckets.clone(),
            hours: updates.hours.clone(),
            clock: updates.clock.clone(),
        }
    }
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
    /// A recommendation finding appears (`diff` > 0) or disappears (`diff` < 0); a changed
    /// finding is the old one out and the new one in, in the same epoch.
    Finding {
        finding: Finding,
        epoch: u64,
        diff: isize,
    },
    /// Every change up to and including `epoch` has been reported.
    Complete { epoch: u64 },
}

/// Settings of the job.
#[derive(Debug, Clone)]
pub struct Config {
    /// Timely worker threads in this process.
    pub workers: usize,
    /// Thresholds and lookbacks of the recommendation rules.
    pub recommendations: RecommendationConfig,
}

impl Config {
    /// Default settings with `workers` workers.
    pub fn workers(workers: usize) -> Config {
        Config {
            workers,
            ..Config::default()
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            workers: 1,
            recommendations: RecommendationConfig::default(),
        }
    }
}

/// The graph's inputs: two dataflows on each worker. The rollup's is small and is
/// stepped first, so a cost row's rollup change does not wait on (or pay for the progress
/// tracking of) the signals; the signals' dataflow gets its own copy of the cost changes
/// and the metric window, in the same epoch, right after.
pub(crate) struct Handles {
    /// How the current parts change (see `current`): the daily cost rollup's input.
    costs: InputSession<u64, DailyCostKey, Amounts>,
    /// The same changes, for the signals' cost side.
    signal_costs: InputSession<u64, DailyCostKey, Amounts>,
    /// The metric window (see `signals::feed`): buckets, hours in the window, the clock.
    buckets: InputSession<u64, (u64, i64), Stats>,
    /// The match key each integer name stands for (see `signals::key`); never retracted.
    names: InputSession<u64, (u64, String), isize>,
    hours: InputSession<u64, i64, isize>,
    clock: InputSession<u64, Window, isize>,
    rollup_probe: ProbeHandle<u64>,
    signals_probe: ProbeHandle<u64>,
}

impl Handles {
    fn advance_rollup(&mut self, now: u64) {
        self.costs.advance_to(now);
        self.costs.flush();
    }

    fn advance_signals(&mut self, now: u64) {
        self.signal_costs.advance_to(now);
        self.signal_costs.flush();
        self.buckets.advance_to(now);
        self.buckets.flush();
        self.names.advance_to(now);
        self.names.flush();
        self.hours.advance_to(now);
        self.hours.flush();
        self.clock.advance_to(now);
        self.clock.flush();
    }

    fn advance_to(&mut self, now: u64) {
        self.advance_rollup(now);
        self.advance_signals(now);
    }
}

/// Builds the graph on one worker: every input, and every output reported on `out`.
pub(crate) fn build(
    worker: &mut timely::worker::Worker,
    config: &Config,
    out: Sender<Output>,
) -> Handles {
    let recommendations = config.recommendations.clone();
    let rollup_out = out.clone();
    let (costs, rollup_probe) = worker.dataflow::<u64, _, _>(|scope| {
        let (costs_in, costs) = scope.new_collection::<DailyCostKey, Amounts>();
        let probe = ProbeHandle::new();
        daily_cost::rollup(costs)
            .inspect_batch(move |_, updates| {
                for ((key, amounts), epoch, diff) in updates {
                    let _ = rollup_out.send(Output::DailyCost {
                        key: key.clone(),
                        totals: amounts.totals(),
                        epoch: *epoch,
                        diff: *diff,
                    });
                }
            })
            .probe_with(&probe);
        (costs_in, probe)
    });
    worker.dataflow::<u64, _, _>(|scope| {
        let (signal_costs_in, signal_costs) = scope.new_collection::<DailyCostKey, Amounts>();
        let (buckets_in, buckets) = scope.new_collection::<(u64, i64), Stats>();
        let (names_in, names) = scope.new_collection::<(u64, String), isize>();
        let (hours_in, hours) = scope.new_collection::<i64, isize>();
        let (clock_in, clock) = scope.new_collection::<Window, isize>();
        let probe = ProbeHandle::new();
        signals::graph::findings(buckets, names, hours, clock, signal_costs, recommendations)
            .inspect_batch(move |_, updates| {
                for (finding, epoch, diff) in updates {
                    let _ = out.send(Output::Finding {
                        finding: finding.clone(),
                        epoch: *epoch,
                        diff: *diff,
                    });
                }
            })
            .probe_with(&probe);
        Handles {
            costs,
            signal_costs: signal_costs_in,
            buckets: buckets_in,
            names: names_in,
            hours: hours_in,
            clock: clock_in,
            rollup_probe,
            signals_probe: probe,
        }
    })
}

/// Worker 0's side of the loop: turns a batch into one epoch of the graph.
pub(crate) struct Driver {
    handles: Handles,
    current: Current,
    /// The epoch the next batch opens.
    now: u64,
    /// Reused between batches: the rollup input's changes of one batch.
    changes: Vec<(DailyCostKey, Amounts)>,
    /// The integer name of each metric key fed so far.
    names: KeyNames,
    /// How long the last epoch took until its rollup changes were all out.
    rollup_time: std::time::Duration,
}

impl Driver {
    pub(crate) fn new(handles: Handles) -> Driver {
        Driver {
            handles,
            current: Current::default(),
            now: 0,
            changes: Vec::new(),
            names: KeyNames::default(),
            rollup_time: std::time::Duration::ZERO,
        }
    }

    /// How long the last epoch took until its rollup changes were all reported (the
    /// signals' part of the epoch comes after).
    pub(crate) fn rollup_time(&self) -> std::time::Duration {
        self.rollup_time
    }

    /// Feeds a batch as one epoch, steps until the probe has passed it and returns the
    /// epoch. Every output of the epoch has been sent when this returns.
    pub(crate) fn epoch(&mut self, worker: &mut timely::worker::Worker, batch: Vec<Input>) -> u64 {
        for input in batch {
            match input {
                Input::Metrics {
                    buckets,
                    hours,
                    clock,
                } => {
                    for ((key, hour), stats) in buckets {
                        // A `MetricsWindow` already refused a key whose hash another key
                        // holds; buckets from elsewhere are dropped rather than merged.
                        let name = match self.names.admit(&key) {
                            Ok(Admitted::New(h)) => {
                                self.handles.names.update((h, key), 1);
                                h
                            }
                            Ok(Admitted::Known(h)) => h,
                            Err(_) => continue,
                        };
                        self.handles.buckets.update((name, hour), Stats(stats));
                    }
                    for (hour, diff) in hours {
                        self.handles.hours.update(hour, diff);
                    }
                    for (window, diff) in clock {
                        self.handles.clock.update(window, diff);
                    }
                }
                other => self.current.apply(other, &mut self.changes),
            }
        }
        let started = std::time::Instant::now();
        for (key, amounts) in self.changes.drain(..) {
            // The signals read only resources' usage: the rest never enters their side.
            if signals::cost::CostDay::counts(&key) {
                self.handles.signal_costs.update(key.clone(), amounts);
            }
            self.handles.costs.update(key, amounts);
        }
        let epoch = self.now;
        self.now += 1;
        // The rollup first: its dataflow alone moves, so a row's rollup change is out
        // without waiting on the signals.
        self.handles.advance_rollup(self.now);
        while self.handles.rollup_probe.less_than(&self.now) {
            worker.step();
        }
        self.rollup_time = started.elapsed();
        self.handles.advance_signals(self.now);
        while self.handles.signals_probe.less_than(&self.now) {
            worker.step();
        }
        epoch
    }

    /// The epoch the next batch opens (followers move their inputs to it).
    fn now(&self) -> u64 {
        self.now
    }
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
            let mut handles = build(worker, &config, sender.clone());
            if worker.index() == 0 {
                let taken = feed.lock().ok().and_then(|mut f| f.take());
                if let Some(feed) = taken {
                    let mut driver = Driver::new(handles);
                    drive(worker, &mut driver, feed, &epoch, &sender);
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
    driver: &mut Driver,
    mut feed: F,
    published: &AtomicU64,
    out: &Sender<Output>,
) {
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
        // The followers move their inputs as soon as they see the new epoch; worker 0's
        // input moves inside `epoch`, and the probe waits for all of them.
        published.store(driver.now() + 1, Ordering::SeqCst);
        let epoch = driver.epoch(worker, batch);
        let _ = out.send(Output::Complete { epoch });
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
            h.advance_to(now);
            mine = now;
        }
        if closed.load(Ordering::SeqCst) && epoch.load(Ordering::SeqCst) == mine {
            break;
        }
        worker.step_or_park(Some(Duration::from_millis(1)));
    }
}

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
//! Metrics take the same path: a batch of samples passes the metric window (which refuses
//! duplicate and too-old minutes), runs through the job, and its buckets are committed
//! before the batch is acknowledged; the recommendation changes it causes are then
//! applied to the store's lifecycle (which enqueues their webhook events in the same
//! commit). On start the buckets are replayed and the store's recommendations reconciled
//! with what the job finds, so a crash between the two commits loses nothing and a
//! restart announces nothing twice.
//!
//! The engine is not `Send`: with one worker the job's graph lives on the thread that
//! started it (see `dataflow::job`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use std::collections::BTreeSet;

use burnrate_dataflow::recommendations::RecommendationConfig;
use burnrate_dataflow::signals::MetricsWindow;
use burnrate_dataflow::{Config, Input, Job, Output, Part, Prepared};
use burnrate_schemas::{DailyCostKey, DeliveryScope, Finding, MetricSample, RowRef, Totals};
use burnrate_sink::{DeliveryInfo, EmbeddedStore, Fingerprint};
use rustc_hash::FxHashMap;

mod held;

pub use held::LogEntry;
use held::Sorted;

/// How far past the wall clock a metric minute may be (clock skew, time zones gone wrong).
const FUTURE_HOURS: i64 = 24;

/// One rollup change: key, totals, +1 (appears) or -1 (disappears).
pub type Change = (DailyCostKey, Totals, isize);

/// One recommendation finding change: +1 (holds now) or -1 (no longer holds).
pub type FindingChange = (Finding, isize);

/// What became of a batch of metric samples.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsOutcome {
    /// Samples counted (and durably stored).
    pub accepted: usize,
    /// Samples not counted, with why: a minute already counted for the resource, or one
    /// older than the lookback.
    pub refused: Vec<(RowRef, String)>,
    /// Recommendations created, updated or withdrawn by the batch.
    pub recommendation_events: usize,
}

/// The running pipeline over one data directory.
pub struct Engine {
    store: Arc<EmbeddedStore>,
    job: Option<Job>,
    /// The number the next delivery gets.
    next_seq: u64,
    /// The parts of the current delivery of each scope, as the job holds them: what a
    /// restatement's difference (fed and logged) is taken against.
    current: FxHashMap<DeliveryScope, (u64, Sorted)>,
    /// The files of the delivery that last set each restating scope's parts: an older
    /// delivery of the scope (by its files' modification times) must not replace it.
    current_files: FxHashMap<DeliveryScope, Vec<String>>,
    /// How long the job took on the last delivery (from handing it over to its changes).
    last_job_time: std::time::Duration,
    /// Which minutes the metric window covers, and which it already counted.
    window: MetricsWindow,
    /// The findings the job currently holds (what the store's active set must equal).
    findings: BTreeSet<Finding>,
    /// How long a recommendation stays valid without being confirmed again.
    ttl: Option<chrono::Duration>,
    /// Recommendation events the last delivery or push caused.
    last_events: usize,
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
    /// Opens the store, starts the job with default recommendation settings, replays the
    /// log and reconciles the rollups and recommendations.
    pub fn start(data_dir: &Path, workers: usize) -> Result<Engine> {
        Engine::start_with(data_dir, workers, RecommendationConfig::default())
    }

    /// [`Engine::start`] with the given recommendation settings.
    pub fn start_with(
        data_dir: &Path,
        workers: usize,
        recommendations: RecommendationConfig,
    ) -> Result<Engine> {
        let store = Arc::new(EmbeddedStore::open(data_dir)?);
        let window = MetricsWindow::new(recommendations.lookback_hours);
        let ttl = (recommendations.ttl_days > 0)
            .then(|| chrono::Duration::days(i64::from(recommendations.ttl_days)));
        let job = Job::start(Config {
            workers,
            recommendations,
        })
        .context("starting the dataflow job")?;
        let mut engine = Engine {
            store,
            job: Some(job),
            next_seq: 1,
            current: FxHashMap::default(),
            current_files: FxHashMap::default(),
            last_job_time: std::time::Duration::ZERO,
            window,
            findings: BTreeSet::new(),
            ttl,
            last_events: 0,
        };
        engine.replay()?;
        engine.replay_metrics()?;
        Ok(engine)
    }

    /// Rebuilds the metric window and its buckets from the store, then makes the store's
    /// active recommendations exactly what the job now finds.
    fn replay_metrics(&mut self) -> Result<()> {
        let stored = self.store.metric_buckets()?;
        if !stored.is_empty() {
            let first = self.store.metric_first_minute()?;
            let updates = self.window.restore(
                first,
                stored.iter().map(|(at, _, mask)| (at.clone(), *mask)),
            );
            let batch = vec![Input::Metrics {
                buckets: stored
                    .into_iter()
                    .map(|(at, stats, _)| (at, stats))
                    .collect(),
                hours: updates.hours,
                clock: updates.clock,
            }];
            let (changes, findings) = self.epoch_all(batch)?;
            if !changes.is_empty() {
                bail!("replaying metrics changed the cost rollups");
            }
            self.note_findings(&findings);
        }
        let current: Vec<Finding> = self.findings.iter().cloned().collect();
        self.store
            .reconcile_findings(&current, chrono::Utc::now(), self.ttl)?;
        Ok(())
    }

    /// Keeps the job's current findings up to date with a batch of changes.
    fn note_findings(&mut self, changes: &[FindingChange]) {
        // Retractions first: within an epoch a finding may go out and come back.
        for (f, _) in changes.iter().filter(|(_, d)| *d < 0) {
            self.findings.remove(f);
        }
        for (f, _) in changes.iter().filter(|(_, d)| *d > 0) {
            self.findings.insert(f.clone());
        }
    }

    /// Takes a batch of per-minute samples: counts what is new, commits it, and applies
    /// the recommendation changes it causes. Returns once the accepted samples are durable.
    pub fn push_metrics(&mut self, samples: &[MetricSample]) -> Result<MetricsOutcome> {
        // The watermark only moves forward, so one sample dated in the future would expire
        // every real minute at once: refuse those.
        let horizon = chrono::Utc::now() + chrono::Duration::hours(FUTURE_HOURS);
        let (ok, future): (Vec<&MetricSample>, Vec<&MetricSample>) =
            samples.iter().partition(|s| s.minute <= horizon);
        let ok: Vec<MetricSample> = ok.into_iter().cloned().collect();
        let mut updates = self.window.push(&ok);
        updates.refused.extend(future.into_iter().map(|s| {
            (
                s.row_ref.clone(),
                format!(
                    "minute {} is more than {FUTURE_HOURS} hours in the future",
                    s.minute
                ),
            )
        }));
        let mut outcome = MetricsOutcome {
            accepted: samples.len() - updates.refused.len(),
            refused: updates.refused.clone(),
            recommendation_events: 0,
        };
        if updates.buckets.is_empty() && updates.hours.is_empty() && updates.clock.is_empty() {
            return Ok(outcome);
        }
        let (changes, findings) = self.epoch_all(vec![Input::metrics(&updates)])?;
        if !changes.is_empty() {
            bail!("metrics changed the cost rollups");
        }
        let deltas: Vec<_> = updates
            .buckets
            .iter()
            .zip(updates.masks.iter())
            .map(|((at, stats), (_, mask))| (at.clone(), *stats, *mask))
            .collect();
        let keep_from = self.window.window().map(|w| w.start.div_euclid(60));
        if let Err(e) = self
            .store
            .add_metric_buckets(&deltas, keep_from, self.window.first())
        {
            let _ = self.shutdown();
            return Err(e).context("committing metric samples; the pipeline stopped");
        }
        outcome.recommendation_events = self.apply_findings(&findings)?;
        Ok(outcome)
    }

    /// Applies finding changes to the store's lifecycle; returns the events enqueued.
    fn apply_findings(&mut self, findings: &[FindingChange]) -> Result<usize> {
        self.last_events = 0;
        if findings.is_empty() {
            return Ok(0);
        }
        self.note_findings(findings);
        let events = self
            .store
            .apply_findings(findings, chrono::Utc::now(), self.ttl)
            .context("recording recommendation changes")?;
        self.last_events = events.len();
        Ok(events.len())
    }

    /// Recommendations created, updated or withdrawn by the last delivery or push.
    pub fn last_recommendation_events(&self) -> usize {
        self.last_events
    }

    /// Confirms every current finding (extending its expiry) and expires what the job
    /// no longer confirms; run it now and then (`burnrate run` does, hourly).
    pub fn maintain(&mut self) -> Result<usize> {
        let now = chrono::Utc::now();
        let current: Vec<Finding> = self.findings.iter().cloned().collect();
        let mut events = self.store.reconcile_findings(&current, now, self.ttl)?;
        events.extend(self.store.expire(now)?);
        Ok(events.len())
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
                if scope.additive_source.is_none() {
                    self.current_files.insert(scope.clone(), info.files.clone());
                }
                self.current.insert(scope, (info.seq, parts));
            }
            for (scope, changes) in entry.changes {
                if scope.additive_source.is_none() {
                    self.current_files.insert(scope.clone(), info.files.clone());
                }
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

    /// Runs one epoch and collects its rollup changes (and notes its finding changes,
    /// which only a replay of costs alone can cause, before any metrics are back).
    fn epoch(&mut self, batch: Vec<Input>) -> Result<Vec<Change>> {
        let (changes, findings) = self.epoch_all(batch)?;
        self.note_findings(&findings);
        Ok(changes)
    }

    /// Runs one epoch; returns its rollup changes and its finding changes.
    fn epoch_all(&mut self, batch: Vec<Input>) -> Result<(Vec<Change>, Vec<FindingChange>)> {
        let job = self
            .job
            .as_mut()
            .ok_or_else(|| anyhow!("the pipeline is closed"))?;
        let outputs = job.epoch(batch)?;
        let mut changes = Vec::with_capacity(outputs.len());
        let mut findings = Vec::new();
        for output in outputs {
            match output {
                Output::DailyCost {
                    key, totals, diff, ..
                } => changes.push((key, totals, diff)),
                Output::Finding { finding, diff, .. } => findings.push((finding, diff)),
                Output::Complete { .. } => {}
            }
        }
        Ok((changes, findings))
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
        self.deliver_with(files, records, prepared, &[])
    }

    /// Whether delivering `prepared` with `sources` would change nothing: every scope it
    /// brings is held with exactly these parts, and each source's fingerprint is already
    /// stored for that source. Such a delivery (a folder read again unchanged, as each
    /// restart of `run` and each `ingest` of the same files does) need not be logged: the
    /// log would only grow.
    pub fn is_unchanged(
        &self,
        prepared: &Prepared,
        sources: &[(String, Fingerprint)],
    ) -> Result<bool> {
        for (scope, parts) in held::group(prepared.parts.clone()) {
            match self.current.get(&scope) {
                Some((_, held)) if *held == parts => {}
                _ => return Ok(false),
            }
        }
        for (source, fp) in sources {
            if self.store.additive_source_with(fp)?.as_deref() != Some(source.as_str()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A stored delivery newer than a delivery of `prepared` whose newest file was
    /// modified at `newest`: of the periods it restates, one whose current delivery came
    /// from files (other than `own`) modified later. Returns such a file and its time.
    /// Providers re-deliver a period with a newer export, so an older one arriving late
    /// (a folder copied with its times, a mirror listing an old run after a new one) must
    /// not replace it; read together, deliveries are taken oldest first, and this keeps
    /// the same order across reads. Files no longer there (or unreadable) count as older.
    pub fn newer_stored_delivery(
        &self,
        prepared: &Prepared,
        newest: std::time::SystemTime,
        own: &[String],
    ) -> Option<(String, std::time::SystemTime)> {
        let scopes: BTreeSet<&DeliveryScope> = prepared
            .parts
            .iter()
            .map(|(s, _, _)| s)
            .filter(|s| s.additive_source.is_none())
            .collect();
        let mut found: Option<(String, std::time::SystemTime)> = None;
        for scope in scopes {
            let Some(files) = self.current_files.get(scope) else {
                continue;
            };
            for f in files.iter().filter(|f| !own.contains(f)) {
                let Ok(t) = std::fs::metadata(f).and_then(|m| m.modified()) else {
                    continue;
                };
                if t > newest && found.as_ref().is_none_or(|(_, ft)| t > *ft) {
                    found = Some((f.clone(), t));
                }
            }
        }
        found
    }

    /// [`Engine::deliver`], also storing the content fingerprint of each additive source
    /// the delivery brings, in the same transaction (see [`Engine::additive_source_with`]).
    pub fn deliver_with(
        &mut self,
        files: Vec<String>,
        records: u64,
        prepared: Prepared,
        sources: &[(String, Fingerprint)],
    ) -> Result<(u64, usize)> {
        let seq = self.next_seq;
        let mut entry = LogEntry::default();
        // The held delivery number each group of changes is fed under.
        let mut change_seqs = Vec::new();
        // The restated scopes' new parts: held only once the delivery is committed, so a
        // delivery that fails leaves the engine holding what the store holds.
        let mut restated = Vec::new();
        for (scope, parts) in held::group(prepared.parts) {
            match self.current.get(&scope) {
                Some((held_seq, held)) => {
                    let changes = held::difference(held, &parts);
                    if !changes.is_empty() {
                        change_seqs.push(*held_seq);
                        entry.changes.push((scope.clone(), changes));
                    }
                    restated.push((scope, parts));
                }
                None => entry.whole.push((scope, parts)),
            }
        }
        let blob = entry
            .encode()
            .context("encoding the delivery's log entry")?;
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
        let started = std::time::Instant::now();
        let (changes, findings) = match self.epoch_all(batch) {
            Ok(out) => out,
            Err(e) => {
                // The job may hold part of the delivery: stop it (see the commit below).
                let _ = self.shutdown();
                return Err(e).context("running the delivery; the pipeline stopped");
            }
        };
        self.last_job_time = started.elapsed();
        let info = DeliveryInfo {
            seq,
            files: files.clone(),
            records,
            logged_at: chrono::Utc::now(),
        };
        if let Err(e) = self
            .store
            .commit_delivery_with(&info, &blob, &changes, sources)
        {
            // The job now holds a delivery the store does not: stop it, so nothing more is
            // acknowledged from a state that a restart would not rebuild.
            let _ = self.shutdown();
            return Err(e).context("committing the delivery; the pipeline stopped");
        }
        self.next_seq = seq + 1;
        for (scope, parts) in restated {
            if scope.additive_source.is_none() {
                self.current_files.insert(scope.clone(), files.clone());
            }
            if let Some((_, held)) = self.current.get_mut(&scope) {
                *held = parts;
            }
        }
        for (scope, parts) in entry.whole {
            if scope.additive_source.is_none() {
                self.current_files.insert(scope.clone(), files.clone());
            }
            self.current.insert(scope, (seq, parts));
        }
        // New costs move the savings of recommendations (and may start or end some).
        self.apply_findings(&findings)?;
        // Rows that appeared, changed or disappeared: the distinct keys the changes touch.
        let changed_rows = changes
            .iter()
            .map(|c| &c.0)
            .collect::<std::collections::HashSet<_>>()
            .len();
        Ok((seq, changed_rows))
    }

    /// The additive source (a file's canonical path) whose stored content has this
    /// fingerprint, if any: a file with the same bytes under another name is a copy, and
    /// delivering it would count the same costs twice.
    pub fn additive_source_with(&self, fp: &Fingerprint) -> Result<Option<String>> {
        Ok(self.store.additive_source_with(fp)?)
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

//! What `run` and `demo` add around the engine while they serve: pushed metrics from the
//! API (handed to the engine's thread, answered once durable), hourly upkeep of the
//! recommendations (confirm the current ones, expire the stale), and the webhook sender.
//!
//! The engine stays on the thread that started it (its one-worker graph is not `Send`);
//! the API's handlers reach it through a channel that the watch loop serves between scans.

use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, SyncSender, channel, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use burnrate::config::Config;
use burnrate::engine::Engine;
use burnrate_api::{MetricsIngest, PushOutcome, Skipped, StoreFailure};
use burnrate_schemas::MetricSample;
use burnrate_sink::webhooks::Notifier;

type Reply = SyncSender<Result<PushOutcome, String>>;

/// How long a push waits for the engine before it gives up (the engine may be busy with
/// a large delivery).
const PUSH_TIMEOUT: Duration = Duration::from_secs(60);

/// Recommendations are confirmed and expired this often.
const UPKEEP_EVERY: Duration = Duration::from_secs(3600);

/// The API's handle on the engine's metrics input.
struct Pushes(Mutex<Sender<(Vec<MetricSample>, Reply)>>);

impl MetricsIngest for Pushes {
    fn push(&self, samples: Vec<MetricSample>) -> Result<PushOutcome, StoreFailure> {
        let (tx, rx) = sync_channel(1);
        self.0
            .lock()
            .map_err(|_| StoreFailure("the pipeline's input is unavailable".into()))?
            .send((samples, tx))
            .map_err(|_| StoreFailure("the pipeline has stopped".into()))?;
        match rx.recv_timeout(PUSH_TIMEOUT) {
            Ok(r) => r.map_err(StoreFailure),
            Err(_) => Err(StoreFailure(
                "the pipeline did not take the samples in time; nothing was counted, retry".into(),
            )),
        }
    }
}

/// The loop's side: pending pushes, upkeep timing.
pub(crate) struct Live {
    pushes: Option<Receiver<(Vec<MetricSample>, Reply)>>,
    last_upkeep: Instant,
    /// Set by Ctrl-C or SIGTERM.
    stop: Arc<AtomicBool>,
}

impl Live {
    /// Nothing to serve (a one-shot run).
    pub(crate) fn none(stop: Arc<AtomicBool>) -> Live {
        Live {
            pushes: None,
            last_upkeep: Instant::now(),
            stop,
        }
    }

    /// Whether a stop was requested.
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// A channel for the API's metric pushes.
    pub(crate) fn with_pushes(stop: Arc<AtomicBool>) -> (Live, Arc<dyn MetricsIngest>) {
        let (tx, rx) = channel();
        (
            Live {
                pushes: Some(rx),
                last_upkeep: Instant::now(),
                stop,
            },
            Arc::new(Pushes(Mutex::new(tx))),
        )
    }

    /// Waits up to `timeout` for pushes, taking each into the engine; runs the hourly
    /// upkeep when due.
    pub(crate) fn serve(&mut self, engine: &mut Engine, timeout: Duration) -> Result<()> {
        if self.last_upkeep.elapsed() >= UPKEEP_EVERY {
            self.last_upkeep = Instant::now();
            let events = engine.maintain().context("recommendation upkeep")?;
            if events > 0 {
                eprintln!("recommendations: {events} expired or refreshed");
            }
        }
        let Some(rx) = &self.pushes else {
            std::thread::sleep(timeout);
            return Ok(());
        };
        let (samples, reply) = match rx.recv_timeout(timeout) {
            Ok(p) => p,
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let result = engine.push_metrics(&samples);
        let answer = match &result {
            Ok(m) => Ok(PushOutcome {
                accepted: m.accepted,
                skipped: m
                    .refused
                    .iter()
                    .map(|(row, reason)| Skipped {
                        index: usize::try_from(row.row.saturating_sub(1)).unwrap_or(usize::MAX),
                        reason: reason.clone(),
                    })
                    .collect(),
            }),
            Err(e) => Err(format!("{e:#}")),
        };
        let _ = reply.send(answer);
        // A failed commit stops the pipeline; stop serving too.
        result.map(|_| ())
    }
}

/// Starts the webhook sender when the config names receivers.
pub(crate) fn start_webhooks(
    engine: &Engine,
    config: &Config,
    stop: &Arc<AtomicBool>,
) -> Result<()> {
    if config.webhooks.endpoints.is_empty() {
        return Ok(());
    }
    let n = config.webhooks.endpoints.len();
    Notifier::new(engine.store(), config.webhooks.clone())
        .context("starting the webhook sender")?
        .spawn(stop.clone())
        .context("starting the webhook sender")?;
    eprintln!("webhooks: sending recommendation events to {n} endpoint(s)");
    Ok(())
}

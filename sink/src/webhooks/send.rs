//! The sending loop: drains the outbox, one HTTP POST per due (event, endpoint), and
//! records every outcome durably before moving on.
//!
//! Blocking on purpose: one thread, one request at a time, each bounded by the configured
//! timeout. Webhooks are a trickle (one per recommendation change), and a blocking client
//! (`ureq`) keeps the async runtime out of `sink`. The cost is that a slow endpoint delays
//! the others by up to its timeout per attempt.
//!
//! Outcomes: a 2xx delivers; a 4xx other than 408 and 429 says the request itself is
//! wrong, and repeating it cannot help, so it is a dead letter at once; anything else
//! (5xx, 3xx — redirects are not followed, so a webhook URL cannot be moved under us —,
//! timeouts, refused connections) is retried after a capped exponential backoff with
//! jitter (each wait is drawn between half and all of `min(initial × 2^(n-1), max)`, so
//! receivers recovering from an outage are not hit by every sender at once), until
//! `max_attempts`, then a dead letter.

use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use burnrate_schemas::{DeadLetter, Event};
use chrono::{DateTime, TimeDelta, Utc};

use super::WebhookError;
use super::config::{Endpoint, Retry, WebhookConfig};
use super::format::render;
use super::sign::sign;
use crate::embedded::{DeliveryState, EmbeddedStore};

/// What one [`Notifier::run_once`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunStats {
    /// Requests made.
    pub attempts: u32,
    /// Requests answered 2xx.
    pub delivered: u32,
    /// Failures that will be tried again.
    pub retrying: u32,
    /// (event, endpoint) pairs given up on in this run.
    pub dead_lettered: u32,
    /// Events that left the outbox (every endpoint delivered or dead-lettered).
    pub retired: u32,
    /// The earliest time a pending retry falls due; `None` when none is waiting.
    pub next_due: Option<DateTime<Utc>>,
}

impl RunStats {
    fn due_at(&mut self, at: DateTime<Utc>) {
        self.next_due = Some(self.next_due.map_or(at, |d| d.min(at)));
    }
}

enum Outcome {
    Delivered,
    Retry(String),
    Permanent(String),
}

/// The webhook sender. One per store writer.
#[derive(Debug)]
pub struct Notifier {
    store: Arc<EmbeddedStore>,
    endpoints: Vec<Endpoint>,
    retry: Retry,
    poll_interval: Duration,
    agent: ureq::Agent,
    /// When the current `run_once` began, on its clock and on the monotonic one: a request
    /// is signed with the time it is sent, not the time the run began (a slow endpoint
    /// must not push later requests out of receivers' replay windows).
    run_clock: (DateTime<Utc>, std::time::Instant),
}

impl Notifier {
    /// Validates `config` (see [`WebhookConfig::validate`]) and prepares the HTTP client.
    pub fn new(store: Arc<EmbeddedStore>, config: WebhookConfig) -> Result<Notifier, WebhookError> {
        let (endpoints, retry) = config.validate()?;
        let agent_config = ureq::Agent::config_builder()
            // Every status comes back as a response: we classify it, not the client.
            .http_status_as_error(false)
            .timeout_global(Some(config.timeout))
            .max_redirects(0)
            .user_agent(concat!("burnrate-webhooks/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Notifier {
            run_clock: (Utc::now(), std::time::Instant::now()),
            store,
            endpoints,
            retry,
            poll_interval: config.poll_interval,
            agent: ureq::Agent::new_with_config(agent_config),
        })
    }

    /// Sends everything due at `now` (new events and retries whose time has come), records
    /// each outcome, and retires finished events. An event no endpoint subscribes to is
    /// retired without a request. `now` is also the `webhook-timestamp` sent.
    pub fn run_once(&mut self, now: DateTime<Utc>) -> Result<RunStats, WebhookError> {
        self.run_clock = (now, std::time::Instant::now());
        let mut stats = RunStats::default();
        for (event, states) in self.store.outbox_snapshot()? {
            let subscribed: Vec<&Endpoint> = self
                .endpoints
                .iter()
                .filter(|e| e.wants(event.kind))
                .collect();
            let urls: Vec<&str> = subscribed.iter().map(|e| e.url.as_str()).collect();
            let mut open = false;
            for ep in &subscribed {
                let prior = match states.get(&ep.url) {
                    Some(state) if state.is_final() => continue,
                    Some(DeliveryState::Pending {
                        attempts,
                        next_attempt_at,
                        ..
                    }) => {
                        if *next_attempt_at > now {
                            open = true;
                            stats.due_at(*next_attempt_at);
                            continue;
                        }
                        *attempts
                    }
                    _ => 0,
                };
                open = true;
                if self.attempt(&event, ep, prior, now, &urls, &mut stats)? {
                    stats.retired += 1;
                }
            }
            if !open && self.store.retire_if_finished(&event.id, &urls)? {
                stats.retired += 1;
            }
        }
        Ok(stats)
    }

    /// Runs [`Notifier::run_once`] on a thread until `stop` is set, sleeping until the next
    /// retry is due or the poll interval passes (newly enqueued events are found by the
    /// next poll). A failing store is logged and tried again at the next poll.
    pub fn spawn(mut self, stop: Arc<AtomicBool>) -> Result<JoinHandle<()>, WebhookError> {
        std::thread::Builder::new()
            .name("webhooks".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let wait = match self.run_once(Utc::now()) {
                        Ok(stats) => {
                            if stats.attempts > 0 || stats.retired > 0 {
                                tracing::debug!(?stats, "webhook run");
                            }
                            let until_due = stats
                                .next_due
                                .map(|due| (due - Utc::now()).to_std().unwrap_or(Duration::ZERO));
                            until_due.map_or(self.poll_interval, |d| d.min(self.poll_interval))
                        }
                        Err(error) => {
                            tracing::warn!(%error, "webhook run failed; trying again at the next poll");
                            self.poll_interval
                        }
                    };
                    sleep_unless_stopped(wait, &stop);
                }
            })
            .map_err(WebhookError::Spawn)
    }

    /// One request, and its outcome recorded. Returns whether the event left the outbox.
    fn attempt(
        &self,
        event: &Event,
        ep: &Endpoint,
        prior: u32,
        now: DateTime<Utc>,
        urls: &[&str],
        stats: &mut RunStats,
    ) -> Result<bool, WebhookError> {
        let body = render(ep.format, event).map_err(|source| WebhookError::Encode {
            event_id: event.id.clone(),
            source,
        })?;
        let n = prior + 1;
        stats.attempts += 1;
        let (began, clock) = self.run_clock;
        let sent_at = TimeDelta::from_std(clock.elapsed())
            .ok()
            .and_then(|d| began.checked_add_signed(d))
            .unwrap_or(began);
        let outcome = self.post(ep, &event.id, sent_at.timestamp(), &body);
        let (state, dead) = match outcome {
            Outcome::Delivered => {
                tracing::info!(event = %event.id, url = %ep.url, attempt = n, "webhook delivered");
                stats.delivered += 1;
                (
                    DeliveryState::Delivered {
                        attempts: n,
                        at: now,
                    },
                    None,
                )
            }
            Outcome::Retry(error) if n < self.retry.max_attempts => {
                let wait = backoff(&self.retry, n, jitter());
                let next = TimeDelta::from_std(wait)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
                tracing::warn!(event = %event.id, url = %ep.url, attempt = n, %error, retry_at = %next, "webhook failed; will retry");
                stats.retrying += 1;
                stats.due_at(next);
                let state = DeliveryState::Pending {
                    attempts: n,
                    next_attempt_at: next,
                    last_error: error,
                };
                (state, None)
            }
            Outcome::Retry(error) | Outcome::Permanent(error) => {
                tracing::error!(event = %event.id, url = %ep.url, attempts = n, %error, "webhook dead-lettered");
                stats.dead_lettered += 1;
                let dead = DeadLetter {
                    event_id: event.id.clone(),
                    kind: event.kind,
                    url: ep.url.clone(),
                    attempts: n,
                    last_error: error,
                    failed_at: now,
                    event: event.clone(),
                    redelivery_requested_at: None,
                };
                (
                    DeliveryState::Dead {
                        attempts: n,
                        at: now,
                    },
                    Some(dead),
                )
            }
        };
        Ok(self
            .store
            .record_webhook_delivery(event, &ep.url, &state, dead.as_ref(), urls)?)
    }

    fn post(&self, ep: &Endpoint, event_id: &str, timestamp: i64, body: &[u8]) -> Outcome {
        let result = self
            .agent
            .post(&ep.url)
            .header("content-type", "application/json")
            .header("webhook-id", event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header(
                "webhook-signature",
                sign(&ep.key, event_id, timestamp, body),
            )
            .send(body);
        match result {
            Ok(mut response) => {
                let status = response.status().as_u16();
                if (200..300).contains(&status) {
                    return Outcome::Delivered;
                }
                let mut excerpt = Vec::new();
                // The answer's start is enough to say why; a read failure leaves it empty.
                let _ = response
                    .body_mut()
                    .as_reader()
                    .take(300)
                    .read_to_end(&mut excerpt);
                let error = format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&excerpt).trim()
                );
                if is_permanent(status) {
                    Outcome::Permanent(error)
                } else {
                    Outcome::Retry(error)
                }
            }
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }
}

/// A 4xx says the request is wrong, except 408 (the receiver timed out) and 429 (it asks
/// us to slow down): those are worth repeating.
fn is_permanent(status: u16) -> bool {
    (400..500).contains(&status) && status != 408 && status != 429
}

/// The wait after the `failures`-th failure: `min(initial × 2^(failures-1), max)`, scaled
/// into `[1/2, 1]` of itself by `jitter` in `[0, 1)`.
fn backoff(retry: &Retry, failures: u32, jitter: f64) -> Duration {
    let factor = 1u32
        .checked_shl(failures.saturating_sub(1))
        .unwrap_or(u32::MAX);
    let base = retry
        .initial_backoff
        .saturating_mul(factor)
        .min(retry.max_backoff);
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// A number in `[0, 1)` that differs between calls and processes: std's `RandomState` is
/// seeded randomly per process and advanced per instance, which is plenty for spreading
/// retries and saves a dependency.
fn jitter() -> f64 {
    use std::hash::BuildHasher as _;
    let bits =
        std::collections::hash_map::RandomState::new().hash_one(std::time::SystemTime::now());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

fn sleep_unless_stopped(total: Duration, stop: &AtomicBool) {
    let slice = Duration::from_millis(50);
    let mut left = total;
    while !left.is_zero() && !stop.load(Ordering::Relaxed) {
        let step = left.min(slice);
        std::thread::sleep(step);
        left -= step;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jitters_within_half() {
        let retry = Retry {
            max_attempts: 8,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        };
        // By hand: 500 ms, 1 s, 2 s, 4 s, ...; 500 ms × 2^7 = 64 s is capped to 60 s.
        assert_eq!(backoff(&retry, 1, 0.0), Duration::from_millis(250));
        assert_eq!(backoff(&retry, 1, 1.0), Duration::from_millis(500));
        assert_eq!(backoff(&retry, 2, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(&retry, 4, 0.5), Duration::from_secs(3));
        assert_eq!(backoff(&retry, 7, 1.0), Duration::from_secs(32));
        assert_eq!(backoff(&retry, 8, 1.0), Duration::from_secs(60));
        assert_eq!(backoff(&retry, 200, 0.0), Duration::from_secs(30));
        for _ in 0..100 {
            let j = jitter();
            assert!((0.0..1.0).contains(&j), "{j}");
        }
    }

    #[test]
    fn only_request_errors_are_permanent() {
        for s in [400, 401, 403, 404, 410, 413, 422, 499] {
            assert!(is_permanent(s), "{s}");
        }
        for s in [301, 408, 429, 500, 502, 503, 504] {
            assert!(!is_permanent(s), "{s}");
        }
    }
}

//! The `[webhooks]` configuration as written (serde, every field documented, defaults in
//! [`Defaults`]), and its validation into the runtime [`Endpoint`]s and [`Retry`] policy.
//!
//! Durations are human strings (`"500ms"`, `"60s"`, `"2m"`) read with `humantime`, so the
//! unit is never a guess. Validation happens once, at start: a bad URL or an empty secret
//! stops the program with the endpoint named, rather than failing every send later.

use std::collections::BTreeSet;
use std::time::Duration;

use burnrate_schemas::EventKind;
use serde::{Deserialize, Deserializer};

use super::WebhookError;
use super::sign::signing_key;

/// Every default in one place.
#[derive(Debug)]
pub struct Defaults;

impl Defaults {
    pub const MAX_ATTEMPTS: u32 = 8;
    pub const INITIAL_BACKOFF: Duration = Duration::from_millis(500);
    pub const MAX_BACKOFF: Duration = Duration::from_secs(60);
    pub const TIMEOUT: Duration = Duration::from_secs(10);
    pub const POLL_INTERVAL: Duration = Duration::from_secs(1);
}

/// Where and how recommendation events are announced.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// The receivers. Each event goes to every endpoint subscribed to its type.
    #[serde(default)]
    pub endpoints: Vec<EndpointConfig>,
    /// Attempts per (event, endpoint), the first included, before it becomes a dead letter.
    #[serde(default = "max_attempts")]
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles with each further failure.
    #[serde(default = "initial_backoff", deserialize_with = "duration")]
    pub initial_backoff: Duration,
    /// The longest wait between two attempts.
    #[serde(default = "max_backoff", deserialize_with = "duration")]
    pub max_backoff: Duration,
    /// How long one request may take, connecting and reading the answer included.
    #[serde(default = "timeout", deserialize_with = "duration")]
    pub timeout: Duration,
    /// How often the sender looks for newly enqueued events when nothing is due sooner.
    #[serde(default = "poll_interval", deserialize_with = "duration")]
    pub poll_interval: Duration,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            endpoints: Vec::new(),
            max_attempts: Defaults::MAX_ATTEMPTS,
            initial_backoff: Defaults::INITIAL_BACKOFF,
            max_backoff: Defaults::MAX_BACKOFF,
            timeout: Defaults::TIMEOUT,
            poll_interval: Defaults::POLL_INTERVAL,
        }
    }
}

/// One receiver.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// `http://` or `https://` (the latter needs the `https` cargo feature of burnrate-sink).
    pub url: String,
    /// The shared secret the signature is made with: any string, or `whsec_` + base64 as
    /// Standard Webhooks tools generate it. Never logged.
    pub secret: String,
    /// `json` (the event itself) or `slack` (a Slack incoming-webhook message).
    #[serde(default)]
    pub format: Format,
    /// The event types sent here (`recommendation.created`, `.updated`, `.withdrawn`,
    /// `.status_changed`); empty or absent means all.
    #[serde(default)]
    pub events: Vec<EventKind>,
}

impl std::fmt::Debug for EndpointConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointConfig")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .field("format", &self.format)
            .field("events", &self.events)
            .finish()
    }
}

/// The body an endpoint receives.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// The `schemas::Event` as JSON.
    #[default]
    Json,
    /// `{"text", "blocks"}` for a Slack incoming webhook.
    Slack,
}

fn max_attempts() -> u32 {
    Defaults::MAX_ATTEMPTS
}
fn initial_backoff() -> Duration {
    Defaults::INITIAL_BACKOFF
}
fn max_backoff() -> Duration {
    Defaults::MAX_BACKOFF
}
fn timeout() -> Duration {
    Defaults::TIMEOUT
}
fn poll_interval() -> Duration {
    Defaults::POLL_INTERVAL
}

fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    /// A duration as written: text, or a bare number (which has no unit to read).
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Written {
        Text(String),
        Number(f64),
    }
    match Written::deserialize(d)? {
        Written::Text(text) => humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("duration {text:?}: {e}"))),
        Written::Number(n) => Err(serde::de::Error::custom(format!(
            "a duration needs its unit: write \"{n}s\" (or ms, m, h), not {n}"
        ))),
    }
}

/// A validated endpoint.
#[derive(Clone)]
pub struct Endpoint {
    pub url: String,
    pub(crate) key: Vec<u8>,
    pub format: Format,
    /// `None`: every event type.
    pub events: Option<BTreeSet<EventKind>>,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("url", &self.url)
            .field("format", &self.format)
            .field("events", &self.events)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    pub fn wants(&self, kind: EventKind) -> bool {
        self.events.as_ref().is_none_or(|set| set.contains(&kind))
    }
}

/// The validated retry policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl WebhookConfig {
    /// Checks everything that can be checked before sending, naming the endpoint at fault.
    pub fn validate(&self) -> Result<(Vec<Endpoint>, Retry), WebhookError> {
        if self.max_attempts == 0 {
            return Err(WebhookError::Config(
                "webhooks.max_attempts must be at least 1".into(),
            ));
        }
        if self.initial_backoff.is_zero() || self.initial_backoff > self.max_backoff {
            return Err(WebhookError::Config(format!(
                "webhooks.initial_backoff ({:?}) must be above zero and at most max_backoff ({:?})",
                self.initial_backoff, self.max_backoff
            )));
        }
        if self.timeout.is_zero() {
            return Err(WebhookError::Config(
                "webhooks.timeout must be above zero".into(),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut endpoints = Vec::with_capacity(self.endpoints.len());
        for (index, ep) in self.endpoints.iter().enumerate() {
            let bad = |reason: String| WebhookError::InvalidEndpoint {
                index,
                url: ep.url.clone(),
                reason,
            };
            check_url(&ep.url).map_err(bad)?;
            // Delivery state is kept per (event, url): two entries with one URL would
            // share it, and the second would never be sent.
            if !seen.insert(ep.url.as_str()) {
                return Err(bad("the same url is listed twice".into()));
            }
            let key = signing_key(&ep.secret).map_err(|_| {
                bad("the secret is empty (or starts with whsec_ and is not base64)".into())
            })?;
            let events = (!ep.events.is_empty()).then(|| ep.events.iter().copied().collect());
            endpoints.push(Endpoint {
                url: ep.url.clone(),
                key,
                format: ep.format,
                events,
            });
        }
        let retry = Retry {
            max_attempts: self.max_attempts,
            initial_backoff: self.initial_backoff,
            max_backoff: self.max_backoff,
        };
        Ok((endpoints, retry))
    }
}

fn check_url(url: &str) -> Result<(), String> {
    let uri: ureq::http::Uri = url.parse().map_err(|e| format!("not a URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") if cfg!(feature = "https") => {}
        Some("https") => {
            return Err(
                "https needs burnrate-sink built with the `https` feature (TLS is off by default)"
                    .into(),
            );
        }
        _ => return Err("the scheme must be http or https".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("the URL has no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: serde_json::Value) -> Result<WebhookConfig, serde_json::Error> {
        serde_json::from_value(json)
    }

    #[test]
    fn defaults_apply_and_durations_read_with_units() {
        let cfg = parse(serde_json::json!({
            "endpoints": [{"url": "http://hooks.internal/x", "secret": "s"}],
            "initial_backoff": "250ms",
        }))
        .expect("parses");
        assert_eq!(cfg.max_attempts, 8);
        assert_eq!(cfg.initial_backoff, Duration::from_millis(250));
        assert_eq!(cfg.max_backoff, Duration::from_secs(60));
        assert_eq!(cfg.timeout, Duration::from_secs(10));
        assert_eq!(cfg.endpoints[0].format, Format::Json);
        let (eps, retry) = cfg.validate().expect("valid");
        assert!(eps[0].wants(EventKind::Withdrawn));
        assert_eq!(retry.max_attempts, 8);
    }

    #[test]
    fn a_duration_without_a_unit_says_to_write_one() {
        let err = parse(serde_json::json!({
            "endpoints": [{"url": "http://h/x", "secret": "s"}],
            "timeout": 10,
        }))
        .expect_err("no unit");
        assert!(err.to_string().contains("write \"10s\""), "{err}");
    }

    #[test]
    fn event_filters_and_slack_format_read() {
        let cfg = parse(serde_json::json!({
            "endpoints": [{"url": "http://h/x", "secret": "s", "format": "slack",
                           "events": ["recommendation.created"]}],
        }))
        .expect("parses");
        let (eps, _) = cfg.validate().expect("valid");
        assert_eq!(eps[0].format, Format::Slack);
        assert!(eps[0].wants(EventKind::Created));
        assert!(!eps[0].wants(EventKind::Updated));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused() {
        assert!(parse(serde_json::json!({"retries": 3})).is_err());
        assert!(
            parse(
                serde_json::json!({"endpoints": [{"url": "http://h", "secret": "s", "sign": 1}]})
            )
            .is_err()
        );
        assert!(parse(serde_json::json!({"timeout": "ten seconds"})).is_err());
        assert!(
            parse(
                serde_json::json!({"endpoints": [{"url": "http://h", "secret": "s",
                                                    "events": ["recommendation.deleted"]}]})
            )
            .is_err()
        );
    }

    #[test]
    fn validation_names_the_endpoint_at_fault() {
        let with = |url: &str, secret: &str| WebhookConfig {
            endpoints: vec![EndpointConfig {
                url: url.into(),
                secret: secret.into(),
                format: Format::Json,
                events: vec![],
            }],
            ..WebhookConfig::default()
        };
        for (url, secret, needle) in [
            ("http://h/x", "", "secret is empty"),
            ("ftp://h/x", "s", "scheme"),
            ("not a url", "s", "not a URL"),
            ("/relative/path", "s", "scheme"),
        ] {
            let err = with(url, secret).validate().expect_err(url).to_string();
            assert!(err.contains(needle) && err.contains("endpoint 0"), "{err}");
        }
        let zero = WebhookConfig {
            max_attempts: 0,
            ..WebhookConfig::default()
        };
        assert!(zero.validate().is_err());
        let twice = WebhookConfig {
            endpoints: [
                with("http://h/x", "s").endpoints,
                with("http://h/x", "t").endpoints,
            ]
            .concat(),
            ..WebhookConfig::default()
        };
        assert!(
            twice
                .validate()
                .expect_err("dup")
                .to_string()
                .contains("twice")
        );
    }
}

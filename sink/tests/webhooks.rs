//! The webhook notifier against a real HTTP receiver on 127.0.0.1 and a real redb file:
//! what arrives, how often, signed how, and what is left in the store afterwards.

use std::collections::{BTreeMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burnrate_schemas::{
    Action, Effort, Event, EventKind, Finding, Priority, Provider, Recommendation,
    RecommendationType, State, Status,
};
use burnrate_sink::webhooks::{EndpointConfig, Format, verify};
use burnrate_sink::{DeliveryState, EmbeddedStore, Notifier, WebhookConfig};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use rust_decimal::Decimal;

const SECRET: &str = "test-secret";
const TOLERANCE: Duration = Duration::from_secs(300);

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Received {
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map(String::as_str).unwrap_or("")
    }
}

/// A tiny HTTP/1.1 server: answers each request with the next scripted status (then
/// `otherwise`), records it, and closes the connection.
struct Receiver {
    url: String,
    seen: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    fn start(script: &[u16], otherwise: u16) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().copied().collect::<VecDeque<_>>()));
        let record = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let status = script
                    .lock()
                    .expect("lock")
                    .pop_front()
                    .unwrap_or(otherwise);
                if let Some(req) = serve(stream, status) {
                    record.lock().expect("lock").push(req);
                }
            }
        });
        Receiver { url, seen }
    }

    fn requests(&self) -> Vec<Received> {
        self.seen.lock().expect("lock").clone()
    }
}

fn serve(stream: TcpStream, status: u16) -> Option<Received> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    if !line.starts_with("POST /hook ") {
        return None;
    }
    let mut headers = BTreeMap::new();
    loop {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
    }
    let len: usize = headers.get("content-length")?.parse().ok()?;
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let answer = format!("status {status} from the test receiver");
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {status} Scripted\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    )
    .ok()?;
    Some(Received { headers, body })
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("t0")
}

fn secs(s: i64) -> TimeDelta {
    TimeDelta::seconds(s)
}

fn event(resource: &str, revision: u64, kind: EventKind) -> Event {
    let finding = Finding {
        provider: Provider::Aws,
        resource_id: resource.into(),
        kind: RecommendationType::Rightsize,
        title: "Move ep-1 to a smaller GPU".into(),
        description: "GPU utilization averaged 12%".into(),
        currency: "USD".into(),
        current_monthly_cost: Decimal::from_str("1000.00").expect("decimal"),
        estimated_monthly_savings: Decimal::from_str("123.45").expect("decimal"),
        confidence: Decimal::from_str("0.9").expect("decimal"),
        priority: Priority::High,
        effort: Effort::Low,
        action: Action::Decommission,
        supporting_data: BTreeMap::new(),
    };
    let rec = Recommendation {
        id: finding.id(),
        savings_percent: Decimal::from_str("12.35").expect("decimal"),
        finding,
        status: Status::Accepted,
        status_reason: None,
        state: State::Active,
        created_at: t0(),
        updated_at: t0(),
        expires_at: None,
        revision,
        history: Vec::new(),
    };
    Event::new(kind, t0(), rec)
}

fn endpoint(url: &str, format: Format) -> EndpointConfig {
    EndpointConfig {
        url: url.into(),
        secret: SECRET.into(),
        format,
        events: Vec::new(),
    }
}

fn config(endpoints: Vec<EndpointConfig>, max_attempts: u32) -> WebhookConfig {
    WebhookConfig {
        endpoints,
        max_attempts,
        initial_backoff: Duration::from_millis(500),
        max_backoff: Duration::from_secs(4),
        timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(20),
    }
}

fn open(dir: &tempfile::TempDir) -> Arc<EmbeddedStore> {
    Arc::new(EmbeddedStore::open(dir.path()).expect("open store"))
}

/// The request verifies under the shared secret at `now`, and carries `event`'s id.
fn assert_signed(req: &Received, event_id: &str, now: DateTime<Utc>) {
    assert_eq!(req.header("webhook-id"), event_id);
    assert_eq!(req.header("webhook-timestamp"), now.timestamp().to_string());
    assert_eq!(req.header("content-type"), "application/json");
    let sig = req.header("webhook-signature");
    assert!(sig.starts_with("v1,"), "{sig}");
    verify(
        SECRET,
        req.header("webhook-id"),
        req.header("webhook-timestamp"),
        sig,
        &req.body,
        now,
        TOLERANCE,
    )
    .expect("signature verifies");
}

#[test]
fn an_event_is_received_once_signed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let rx = Receiver::start(&[], 200);
    let ev = event("ep-1", 1, EventKind::Created);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&rx.url, Format::Json)], 8),
    )
    .expect("notifier");

    let stats = notifier.run_once(t0()).expect("run");
    assert_eq!((stats.attempts, stats.delivered, stats.retired), (1, 1, 1));
    assert_eq!(stats.next_due, None);
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_signed(&reqs[0], &ev.id, t0());
    assert_eq!(ev.id, format!("evt_{}_1", ev.recommendation.id));
    let body: Event = serde_json::from_slice(&reqs[0].body).expect("body is an Event");
    assert_eq!(body, ev);
    // Tampering with what arrived breaks the signature.
    let mut forged = reqs[0].body.clone();
    forged.extend_from_slice(b" ");
    let sig = reqs[0].header("webhook-signature");
    let ts = reqs[0].header("webhook-timestamp");
    assert!(verify(SECRET, &ev.id, ts, sig, &forged, t0(), TOLERANCE).is_err());

    assert!(store.outbox().expect("outbox").is_empty());
    assert_eq!(notifier.run_once(t0() + secs(60)).expect("run").attempts, 0);
    assert_eq!(rx.requests().len(), 1);
    assert!(store.dead_letters().expect("dead letters").is_empty());
}

#[test]
fn two_failures_then_success_is_three_attempts_and_one_delivery() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let rx = Receiver::start(&[500, 500], 200);
    let ev = event("ep-2", 4, EventKind::Updated);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&rx.url, Format::Json)], 8),
    )
    .expect("notifier");

    let first = notifier.run_once(t0()).expect("run");
    assert_eq!((first.attempts, first.retrying), (1, 1));
    // First wait: 500 ms with jitter into [250 ms, 500 ms].
    let due = first.next_due.expect("a retry is due");
    assert!(
        due >= t0() + TimeDelta::milliseconds(250) && due <= t0() + TimeDelta::milliseconds(500),
        "{due}"
    );
    // Not yet due: nothing is sent.
    let early = notifier
        .run_once(t0() + TimeDelta::milliseconds(200))
        .expect("run");
    assert_eq!(early.attempts, 0);
    assert_eq!(early.next_due, Some(due));

    let second = notifier.run_once(t0() + secs(1)).expect("run");
    assert_eq!((second.attempts, second.retrying), (1, 1));
    // Second wait: 1 s, jittered into [500 ms, 1 s] after t0 + 1 s.
    let due = second.next_due.expect("due");
    assert!(
        due >= t0() + TimeDelta::milliseconds(1500) && due <= t0() + secs(2),
        "{due}"
    );

    let third = notifier.run_once(t0() + secs(3)).expect("run");
    assert_eq!((third.attempts, third.delivered, third.retired), (1, 1, 1));
    assert_eq!(
        store.webhook_delivery(&ev.id, &rx.url).expect("state"),
        Some(DeliveryState::Delivered {
            attempts: 3,
            at: t0() + secs(3)
        })
    );
    assert_eq!(
        notifier.run_once(t0() + secs(100)).expect("run").attempts,
        0
    );

    let reqs = rx.requests();
    assert_eq!(reqs.len(), 3);
    // Each attempt is signed afresh with its own timestamp, under the same event id.
    for (req, at) in reqs.iter().zip([t0(), t0() + secs(1), t0() + secs(3)]) {
        assert_signed(req, &ev.id, at);
    }
    assert!(store.outbox().expect("outbox").is_empty());
    assert!(store.dead_letters().expect("dead letters").is_empty());
}

/// Runs the notifier far enough apart for every retry to be due, `runs` times.
fn run_spaced(notifier: &mut Notifier, runs: i64) {
    for i in 0..runs {
        notifier.run_once(t0() + secs(10 * i)).expect("run");
    }
}

#[test]
fn always_failing_is_a_dead_letter_after_max_attempts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let rx = Receiver::start(&[], 500);
    let ev = event("ep-3", 2, EventKind::Withdrawn);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&rx.url, Format::Json)], 3),
    )
    .expect("notifier");
    run_spaced(&mut notifier, 6);

    assert_eq!(rx.requests().len(), 3);
    let dead = store.dead_letters().expect("dead letters");
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!(
        (d.event_id.as_str(), d.url.as_str(), d.attempts),
        (ev.id.as_str(), rx.url.as_str(), 3)
    );
    assert_eq!(d.kind, EventKind::Withdrawn);
    assert_eq!(d.last_error, "HTTP 500: status 500 from the test receiver");
    assert_eq!(d.failed_at, t0() + secs(20));
    assert_eq!(d.event, ev);
    assert!(store.outbox().expect("outbox").is_empty());
}

#[test]
fn a_client_error_is_a_dead_letter_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let rx = Receiver::start(&[400], 200);
    let ev = event("ep-4", 1, EventKind::Created);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&rx.url, Format::Json)], 8),
    )
    .expect("notifier");
    let stats = notifier.run_once(t0()).expect("run");
    assert_eq!(
        (stats.attempts, stats.dead_lettered, stats.retired),
        (1, 1, 1)
    );
    run_spaced(&mut notifier, 3);

    assert_eq!(rx.requests().len(), 1);
    let dead = store.dead_letters().expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 1);
    assert!(
        dead[0].last_error.starts_with("HTTP 400"),
        "{}",
        dead[0].last_error
    );
    assert!(store.outbox().expect("outbox").is_empty());
}

#[test]
fn an_unreachable_endpoint_is_retried_then_dead_lettered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    // A port that was just free: nothing listens there, the connection is refused.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    let ev = event("ep-5", 1, EventKind::Created);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&url, Format::Json)], 2),
    )
    .expect("notifier");
    let first = notifier.run_once(t0()).expect("run");
    assert_eq!((first.attempts, first.retrying), (1, 1));
    match store.webhook_delivery(&ev.id, &url).expect("state") {
        Some(DeliveryState::Pending { attempts: 1, .. }) => {}
        other => panic!("expected a pending retry, got {other:?}"),
    }
    run_spaced(&mut notifier, 3);
    let dead = store.dead_letters().expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].attempts, 2);
    assert!(store.outbox().expect("outbox").is_empty());
}

#[test]
fn a_restart_sends_what_is_pending_and_nothing_delivered_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let steady = Receiver::start(&[], 200);
    let flaky = Receiver::start(&[500], 200);
    let endpoints = || {
        vec![
            endpoint(&steady.url, Format::Json),
            endpoint(&flaky.url, Format::Json),
        ]
    };
    let a = event("ep-a", 1, EventKind::Created);
    let b = event("ep-b", 1, EventKind::Created);
    {
        let store = open(&dir);
        store
            .enqueue_events(std::slice::from_ref(&a))
            .expect("enqueue");
        let mut notifier =
            Notifier::new(Arc::clone(&store), config(endpoints(), 8)).expect("notifier");
        let stats = notifier.run_once(t0()).expect("run");
        // A reached `steady`; `flaky` answered 500.
        assert_eq!((stats.attempts, stats.delivered, stats.retrying), (2, 1, 1));
        // B arrives before the stop and is never attempted.
        store
            .enqueue_events(std::slice::from_ref(&b))
            .expect("enqueue");
    }
    assert_eq!((steady.requests().len(), flaky.requests().len()), (1, 1));

    let store = open(&dir);
    let mut notifier = Notifier::new(Arc::clone(&store), config(endpoints(), 8)).expect("notifier");
    let stats = notifier.run_once(t0() + secs(10)).expect("run");
    // A goes to `flaky` only (its second attempt); B to both.
    assert_eq!((stats.attempts, stats.delivered, stats.retired), (3, 3, 2));
    // The outbox is drained in event id order, so compare the ids received, sorted.
    let ids = |rx: &Receiver| -> Vec<String> {
        let mut ids: Vec<String> = rx
            .requests()
            .iter()
            .map(|r| r.header("webhook-id").to_string())
            .collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(ids(&steady), sorted(vec![a.id.clone(), b.id.clone()]));
    assert_eq!(
        ids(&flaky),
        sorted(vec![a.id.clone(), a.id.clone(), b.id.clone()])
    );
    assert_eq!(
        store.webhook_delivery(&a.id, &flaky.url).expect("state"),
        Some(DeliveryState::Delivered {
            attempts: 2,
            at: t0() + secs(10)
        })
    );

    // The same change enqueued again (a recompute after the restart) is not announced twice.
    store
        .enqueue_events(std::slice::from_ref(&a))
        .expect("enqueue");
    let again = notifier.run_once(t0() + secs(20)).expect("run");
    assert_eq!((again.attempts, again.retired), (0, 1));
    assert_eq!((steady.requests().len(), flaky.requests().len()), (2, 3));
    assert!(store.outbox().expect("outbox").is_empty());
}

#[test]
fn slack_format_is_a_signed_slack_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let rx = Receiver::start(&[], 200);
    // A resource id with Slack markup characters must arrive escaped.
    let ev = event("ep<b>&1", 2, EventKind::StatusChanged);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&rx.url, Format::Slack)], 8),
    )
    .expect("notifier");
    notifier.run_once(t0()).expect("run");
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_signed(&reqs[0], &ev.id, t0());

    let msg: serde_json::Value = serde_json::from_slice(&reqs[0].body).expect("JSON body");
    let text = msg["text"].as_str().expect("text is a string");
    assert_eq!(
        text,
        "Recommendation accepted: Move ep-1 to a smaller GPU (rightsize on aws `ep&lt;b&gt;&amp;1`), \
         saves 123.45 USD/month (12.35%), status accepted (active)"
    );
    let blocks = msg["blocks"].as_array().expect("blocks");
    let kinds: Vec<&str> = blocks.iter().filter_map(|b| b["type"].as_str()).collect();
    assert_eq!(kinds, ["header", "section", "section", "context"]);
    assert_eq!(blocks[0]["text"]["text"], "Recommendation accepted");
    let fields: Vec<&str> = blocks[2]["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .filter_map(|f| f["text"].as_str())
        .collect();
    assert_eq!(
        fields,
        [
            "*Type*\nrightsize",
            "*Resource*\naws `ep&lt;b&gt;&amp;1`",
            "*Savings*\n123.45 USD/month (12.35%)",
            "*Status*\naccepted (active)",
        ]
    );
    let context = blocks[3]["elements"][0]["text"].as_str().expect("context");
    assert!(context.contains(&ev.id), "{context}");
}

#[test]
fn endpoints_get_only_the_event_types_they_subscribe_to() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let rx = Receiver::start(&[], 200);
    let created = event("ep-6", 1, EventKind::Created);
    let updated = event("ep-6", 2, EventKind::Updated);
    store
        .enqueue_events(&[created.clone(), updated.clone()])
        .expect("enqueue");
    let mut only_created = endpoint(&rx.url, Format::Json);
    only_created.events = vec![EventKind::Created];
    let mut notifier =
        Notifier::new(Arc::clone(&store), config(vec![only_created], 8)).expect("notifier");
    let stats = notifier.run_once(t0()).expect("run");
    assert_eq!((stats.attempts, stats.retired), (1, 2));
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].header("webhook-id"), created.id);
    assert!(store.outbox().expect("outbox").is_empty());
}

#[test]
fn the_spawned_sender_retries_on_the_clock_and_stops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let rx = Receiver::start(&[503], 200);
    let mut cfg = config(vec![endpoint(&rx.url, Format::Json)], 8);
    cfg.initial_backoff = Duration::from_millis(20);
    let notifier = Notifier::new(Arc::clone(&store), cfg).expect("notifier");
    let stop = Arc::new(AtomicBool::new(false));
    let handle = notifier.spawn(Arc::clone(&stop)).expect("spawn");
    // Enqueued while the sender runs: found by its poll.
    let ev = event("ep-7", 1, EventKind::Created);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !store.outbox().expect("outbox").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    handle.join().expect("sender thread ends");
    assert!(
        store.outbox().expect("outbox").is_empty(),
        "not delivered in time"
    );
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2);
    // Signed at the wall-clock time of sending.
    let ts: i64 = reqs[1]
        .header("webhook-timestamp")
        .parse()
        .expect("unix seconds");
    assert!((ts - Utc::now().timestamp()).abs() <= 5, "{ts}");
    verify(
        SECRET,
        &ev.id,
        reqs[1].header("webhook-timestamp"),
        reqs[1].header("webhook-signature"),
        &reqs[1].body,
        Utc::now(),
        TOLERANCE,
    )
    .expect("verifies");
}

#[test]
fn a_redelivered_dead_letter_is_sent_again_and_leaves_the_list_once_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    // A 400 (a dead letter at once), then a 400 again, then 200s.
    let rx = Receiver::start(&[400, 400], 200);
    let ev = event("ep-r", 1, EventKind::Created);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&rx.url, Format::Json)], 3),
    )
    .expect("notifier");
    notifier.run_once(t0()).expect("run");
    assert_eq!(store.dead_letters().expect("read").len(), 1);

    // Nothing to redeliver for another URL or another event.
    let other = store
        .redeliver(&ev.id, Some("http://127.0.0.1:9/elsewhere"), t0())
        .expect("redeliver");
    assert!(other.is_empty());
    assert!(
        store
            .redeliver("evt_none", None, t0())
            .expect("redeliver")
            .is_empty()
    );

    // First redelivery: the receiver answers 400 again, so a new letter replaces the old,
    // after one attempt of a fresh round.
    let marked = store
        .redeliver(&ev.id, None, t0() + secs(60))
        .expect("redeliver");
    assert_eq!(marked.len(), 1);
    assert_eq!(marked[0].redelivery_requested_at, Some(t0() + secs(60)));
    assert_eq!(
        store.dead_letters().expect("read"),
        marked,
        "listed, marked"
    );
    assert_eq!(store.outbox().expect("outbox"), vec![ev.clone()]);
    notifier.run_once(t0() + secs(61)).expect("run");
    let dead = store.dead_letters().expect("read");
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (
            dead[0].attempts,
            dead[0].failed_at,
            dead[0].redelivery_requested_at
        ),
        (1, t0() + secs(61), None)
    );

    // Second redelivery: delivered, the letter is gone, the queue is empty.
    store
        .redeliver(&ev.id, Some(&rx.url), t0() + secs(120))
        .expect("redeliver");
    notifier.run_once(t0() + secs(121)).expect("run");
    assert!(store.dead_letters().expect("read").is_empty());
    assert!(store.outbox().expect("outbox").is_empty());
    assert_eq!(
        store.webhook_delivery(&ev.id, &rx.url).expect("read"),
        Some(DeliveryState::Delivered {
            attempts: 1,
            at: t0() + secs(121)
        })
    );
    let requests = rx.requests();
    assert_eq!(requests.len(), 3, "the first attempt and two redeliveries");
    assert!(requests.iter().all(|r| r.header("webhook-id") == ev.id));
    run_spaced(&mut notifier, 3);
    assert_eq!(rx.requests().len(), 3, "nothing more is sent");
}

#[test]
fn a_redelivery_to_a_url_no_longer_configured_keeps_the_letter() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(&dir);
    let gone = Receiver::start(&[400], 200);
    let ev = event("ep-g", 1, EventKind::Created);
    store
        .enqueue_events(std::slice::from_ref(&ev))
        .expect("enqueue");
    Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&gone.url, Format::Json)], 3),
    )
    .expect("notifier")
    .run_once(t0())
    .expect("run");
    // The configuration now names another endpoint only.
    let now_configured = Receiver::start(&[], 200);
    let mut notifier = Notifier::new(
        Arc::clone(&store),
        config(vec![endpoint(&now_configured.url, Format::Json)], 3),
    )
    .expect("notifier");
    store
        .redeliver(&ev.id, None, t0() + secs(5))
        .expect("redeliver");
    run_spaced(&mut notifier, 2);
    let dead = store.dead_letters().expect("read");
    assert_eq!(dead.len(), 1, "the letter is not lost");
    assert_eq!(dead[0].redelivery_requested_at, Some(t0() + secs(5)));
    assert_eq!(gone.requests().len(), 1, "no request to the old URL");
}

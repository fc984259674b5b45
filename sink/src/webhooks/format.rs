//! The request body for each endpoint format. `json` is the event exactly as the API
//! would serve it, so a receiver needs one schema; `slack` is a message a Slack incoming
//! webhook posts as is (`text` for notifications and old clients, `blocks` for the
//! layout). Both are signed alike: Slack ignores the headers, a relay can check them.

use burnrate_schemas::{Event, EventKind};
use serde_json::{Value, json};

use super::config::Format;

/// The bytes sent for `event` in `format`.
pub fn render(format: Format, event: &Event) -> Result<Vec<u8>, serde_json::Error> {
    match format {
        Format::Json => serde_json::to_vec(event),
        Format::Slack => serde_json::to_vec(&slack(event)),
    }
}

/// Slack reads `&`, `<` and `>` in text as markup; everything we did not write is escaped
/// so a resource id cannot turn into a link or a mention.
fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn headline(event: &Event) -> String {
    let rec = &event.recommendation;
    match event.kind {
        EventKind::Created => "New recommendation".into(),
        EventKind::Updated => "Recommendation updated".into(),
        EventKind::Withdrawn => "Recommendation withdrawn".into(),
        EventKind::StatusChanged => format!("Recommendation {}", rec.status.code()),
    }
}

/// The Slack message: a summary line in `text`, and blocks with the type, resource,
/// savings and status.
pub fn slack(event: &Event) -> Value {
    let rec = &event.recommendation;
    let f = &rec.finding;
    let savings = format!(
        "{} {}/month ({}%)",
        f.estimated_monthly_savings.normalize(),
        esc(&f.currency),
        rec.savings_percent.normalize()
    );
    let resource = format!("{} `{}`", f.provider.code(), esc(&f.resource_id));
    let status = format!("{} ({})", rec.status.code(), state_code(rec.state));
    let head = headline(event);
    let text = format!(
        "{head}: {} ({} on {resource}), saves {savings}, status {status}",
        esc(&f.title),
        f.kind.code()
    );
    json!({
        "text": text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": head}},
            {"type": "section", "text": {"type": "mrkdwn", "text": format!("*{}*", esc(&f.title))}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": format!("*Type*\n{}", f.kind.code())},
                {"type": "mrkdwn", "text": format!("*Resource*\n{resource}")},
                {"type": "mrkdwn", "text": format!("*Savings*\n{savings}")},
                {"type": "mrkdwn", "text": format!("*Status*\n{status}")},
            ]},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": format!("{} · {} · {}", event.kind.code(), rec.id, event.id)},
            ]},
        ],
    })
}

fn state_code(state: burnrate_schemas::State) -> &'static str {
    match state {
        burnrate_schemas::State::Active => "active",
        burnrate_schemas::State::Withdrawn => "withdrawn",
        burnrate_schemas::State::Expired => "expired",
    }
}

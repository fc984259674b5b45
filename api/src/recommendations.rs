//! Recommendations: the list, one by id, a person's verdict on one, and the webhook dead
//! letters.
//!
//! Rules of `GET /api/v1/recommendations`:
//! - Filters are repeated keys (`status=pending&status=accepted`): values of one parameter
//!   are alternatives, different parameters must all hold. `cloud_provider` (provider
//!   codes), `recommendation_type` (`rightsize`, `purchase_commitment`, `schedule`,
//!   `autoscale`, `decommission`, `scale_to_zero`), `priority` (`low`, `medium`, `high`),
//!   `status` (`pending`, `accepted`, `rejected`, `implemented`, `dismissed`), `state`
//!   (`active`, `withdrawn`, `expired`, or `all`). Values are case-insensitive; any other
//!   value, or an unknown parameter, is a 400 naming the parameter and the allowed values.
//! - **`state` defaults to `active`**: what the latest computation still finds is what a
//!   person acts on; withdrawn and expired ones are kept for the record and shown with
//!   `state=withdrawn`, `state=expired` or `state=all`.
//! - `min_savings` (a decimal, given once) keeps recommendations whose estimated monthly
//!   savings are at least that, in the recommendation's own currency.
//! - Sorted by estimated monthly savings, largest first, then by id. Amounts of different
//!   currencies are compared as numbers (no conversion is made); the totals are kept per
//!   currency and never added across currencies.
//! - Paged: `limit` (1 to 1000, default 100) recommendations from `offset` (default 0).
//!   `total_count` and the totals cover every selected recommendation, not only the page;
//!   `next_offset` is the offset of the next page, `null` on the last one. Pages are cut
//!   from the list as it is at each request, so a recompute between two requests can move
//!   a recommendation across a page boundary: page through quickly, or filter instead.
//!
//! `GET /api/v1/webhooks/dead-letters` lists the webhook dead letters by event id and URL,
//! paged as the recommendations are (`limit`, `offset`; `total_count`, `offset`, `limit`,
//! `next_offset` in the document).
//!
//! `POST /api/v1/webhooks/dead-letters/{event_id}/redeliver` (optionally `?url=...`, for
//! one endpoint of the event) queues dead letters to be sent again with a fresh round of
//! attempts and answers 202 with the letters, marked `redelivery_requested_at`
//! (`{"dead_letters": [...], "total_count": n}`, not paged: every letter queued). A letter
//! stays listed until the new delivery succeeds, or is replaced by a new letter when it
//! fails again. No matching letter is a 404; a read-only server answers 503.
//!
//! The verdict endpoints (`accept`, `reject`, `implemented`, `dismiss`) take an optional
//! JSON body `{"reason": "..."}`; `reject` requires a non-empty reason (a rejection without
//! one teaches nobody anything). Setting the status and reason a recommendation already has
//! changes nothing (no new revision, no second webhook), so a retried request is harmless.
//! A server that only reads the store (`burnrate serve`) answers 503: the process running
//! the job (`burnrate run`) owns the writes.

use std::collections::BTreeMap;
use std::str::FromStr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use burnrate_schemas::{
    DeadLetter, Priority, Provider, Recommendation, RecommendationType, State as RecState, Status,
};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{AppError, Problem};
use crate::params::{Page, RawParams, Segment};
use crate::{AppState, blocking};

/// The query parameters of the list.
pub const LIST_PARAMS: [&str; 8] = [
    "cloud_provider",
    "recommendation_type",
    "priority",
    "status",
    "state",
    "min_savings",
    "limit",
    "offset",
];

const PROVIDERS: [(&str, Provider); 5] = [
    ("aws", Provider::Aws),
    ("azure", Provider::Azure),
    ("gcp", Provider::Gcp),
    ("oci", Provider::Oci),
    ("other", Provider::Other),
];
const PRIORITIES: [(&str, Priority); 3] = [
    ("low", Priority::Low),
    ("medium", Priority::Medium),
    ("high", Priority::High),
];
/// `None` is `all`.
const STATES: [(&str, Option<RecState>); 4] = [
    ("active", Some(RecState::Active)),
    ("withdrawn", Some(RecState::Withdrawn)),
    ("expired", Some(RecState::Expired)),
    ("all", None),
];

/// The longest reason kept, in characters.
pub const MAX_REASON_CHARS: usize = 2000;

/// A selection of recommendations; empty lists select everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecommendationQuery {
    pub providers: Vec<Provider>,
    pub types: Vec<RecommendationType>,
    pub priorities: Vec<Priority>,
    pub statuses: Vec<Status>,
    /// `None` selects every state.
    pub states: Option<Vec<RecState>>,
    pub min_savings: Option<Decimal>,
}

impl RecommendationQuery {
    /// The selection of a query string (see the module docs).
    pub fn parse(p: &RawParams) -> Result<RecommendationQuery, AppError> {
        p.reject_unknown(&LIST_PARAMS)?;
        let types: Vec<(&str, RecommendationType)> = RecommendationType::ALL
            .iter()
            .map(|t| (t.code(), *t))
            .collect();
        let statuses: Vec<(&str, Status)> = Status::ALL.iter().map(|s| (s.code(), *s)).collect();
        let states = p.choices("state", &STATES)?;
        let states = if states.is_empty() {
            Some(vec![RecState::Active])
        } else {
            // `all` among the values selects everything.
            states.into_iter().collect::<Option<Vec<_>>>()
        };
        let min_savings = p
            .single("min_savings")?
            .map(|v| {
                Decimal::from_str(v.trim()).map_err(|_| {
                    AppError::invalid_parameter(
                        "min_savings",
                        v,
                        format!("min_savings must be a decimal number such as 100.50, got {v:?}"),
                    )
                })
            })
            .transpose()?;
        Ok(RecommendationQuery {
            providers: p.choices("cloud_provider", &PROVIDERS)?,
            types: p.choices("recommendation_type", &types)?,
            priorities: p.choices("priority", &PRIORITIES)?,
            statuses: p.choices("status", &statuses)?,
            states,
            min_savings,
        })
    }

    pub fn matches(&self, r: &Recommendation) -> bool {
        let f = &r.finding;
        (self.providers.is_empty() || self.providers.contains(&f.provider))
            && (self.types.is_empty() || self.types.contains(&f.kind))
            && (self.priorities.is_empty() || self.priorities.contains(&f.priority))
            && (self.statuses.is_empty() || self.statuses.contains(&r.status))
            && self.states.as_ref().is_none_or(|s| s.contains(&r.state))
            && self
                .min_savings
                .is_none_or(|m| f.estimated_monthly_savings >= m)
    }
}

/// The list document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecommendationList {
    /// Largest estimated monthly savings first. Each is a recommendation as stored: the
    /// finding's fields (`provider`, `resource_id`, `type`, `title`, `description`,
    /// `currency`, `current_monthly_cost`, `estimated_monthly_savings`, `confidence`,
    /// `priority`, `effort`, `action`, `supporting_data`) beside `id`, `savings_percent`,
    /// `status`, `status_reason`, `state`, `created_at`, `updated_at`, `expires_at`,
    /// `revision` and `history`.
    #[schema(value_type = Vec<Object>)]
    pub recommendations: Vec<Recommendation>,
    /// Every selected recommendation, on this page or another.
    pub total_count: usize,
    /// The page: at most `limit` recommendations from `offset` (0-based).
    pub offset: usize,
    pub limit: usize,
    /// The `offset` of the next page; `null` when this page is the last.
    pub next_offset: Option<usize>,
    /// Estimated monthly savings of every selected recommendation (all pages), per currency.
    #[schema(value_type = BTreeMap<String, String>)]
    pub total_monthly_savings_by_currency: BTreeMap<String, Decimal>,
}

/// One page of the selected recommendations, sorted, with the totals of all of them.
pub fn select(all: Vec<Recommendation>, q: &RecommendationQuery, page: Page) -> RecommendationList {
    let mut recommendations: Vec<Recommendation> =
        all.into_iter().filter(|r| q.matches(r)).collect();
    recommendations.sort_by(|a, b| {
        b.finding
            .estimated_monthly_savings
            .cmp(&a.finding.estimated_monthly_savings)
            .then_with(|| a.id.cmp(&b.id))
    });
    let mut totals: BTreeMap<String, Decimal> = BTreeMap::new();
    for r in &recommendations {
        *totals.entry(r.finding.currency.clone()).or_default() +=
            r.finding.estimated_monthly_savings;
    }
    let total_count = recommendations.len();
    let (recommendations, next_offset) = page.cut(recommendations);
    RecommendationList {
        total_count,
        recommendations,
        offset: page.offset,
        limit: page.limit,
        next_offset,
        total_monthly_savings_by_currency: totals
            .into_iter()
            .map(|(c, t)| (c, burnrate_schemas::two_places(t)))
            .collect(),
    }
}

/// Recommendations, filtered and sorted by savings.
#[utoipa::path(
    get,
    path = "/api/v1/recommendations",
    tag = "recommendations",
    params(crate::openapi::RecommendationParams),
    responses(
        (status = 200, description = "The selected recommendations", body = RecommendationList),
        (status = 400, description = "A parameter is invalid", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, description = "The store could not be read", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn recommendations_get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<RecommendationList>, AppError> {
    let params = RawParams::parse(query.as_deref());
    let q = RecommendationQuery::parse(&params)?;
    let page = Page::parse(&params)?;
    let store = state.store.clone();
    let all = blocking(move || store.recommendations()).await?;
    Ok(Json(select(all, &q, page)))
}

fn unknown(id: &str) -> AppError {
    AppError::not_found(format!("no recommendation with id {id:?}"))
}

/// One recommendation, in any state, with its history.
#[utoipa::path(
    get,
    path = "/api/v1/recommendations/{id}",
    tag = "recommendations",
    params(("id" = String, Path, description = "The recommendation id (`rec_...`)")),
    responses(
        (status = 200, description = "The recommendation", body = Object),
        (status = 404, description = "No recommendation has this id", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, description = "The store could not be read", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn recommendation_get(
    State(state): State<AppState>,
    Segment(id): Segment,
) -> Result<Json<Recommendation>, AppError> {
    let store = state.store.clone();
    let key = id.clone();
    blocking(move || store.recommendation(&key))
        .await?
        .map(Json)
        .ok_or_else(|| unknown(&id))
}

/// The body of a verdict.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictBody {
    /// Why (required for `reject`, at most 2000 characters).
    pub reason: Option<String>,
}

/// The reason of a verdict body: an empty body is no reason; a blank reason is none.
pub fn reason_of(body: &[u8]) -> Result<Option<String>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let parsed: VerdictBody = serde_json::from_slice(body).map_err(|e| {
        AppError::invalid_body(format!(
            "the body must be a JSON object like {{\"reason\": \"...\"}}: {e}"
        ))
    })?;
    let reason = parsed
        .reason
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty());
    if let Some(r) = &reason
        && r.chars().count() > MAX_REASON_CHARS
    {
        return Err(AppError::invalid_body(format!(
            "the reason is {} characters, more than {MAX_REASON_CHARS}",
            r.chars().count()
        )));
    }
    Ok(reason)
}

async fn verdict(
    state: AppState,
    id: String,
    status: Status,
    body: &[u8],
) -> Result<Json<Recommendation>, AppError> {
    let reason = reason_of(body)?;
    if status == Status::Rejected && reason.is_none() {
        return Err(AppError::invalid_body(
            "a rejection needs a reason: send {\"reason\": \"...\"} with a non-empty reason".into(),
        ));
    }
    let store = state.store.clone();
    let key = id.clone();
    blocking(move || store.set_status(&key, status, reason))
        .await?
        .map(Json)
        .ok_or_else(|| unknown(&id))
}

macro_rules! verdict_handler {
    ($name:ident, $path:literal, $status:expr, $what:literal) => {
        #[doc = $what]
        #[utoipa::path(
            post,
            path = $path,
            tag = "recommendations",
            params(("id" = String, Path, description = "The recommendation id (`rec_...`)")),
            request_body(content = VerdictBody, description = "Optional, except for reject"),
            responses(
                (status = 200, description = "The recommendation as it now is", body = Object),
                (status = 400, description = "The body is invalid (or a rejection has no reason)",
                 body = Problem, content_type = "application/problem+json"),
                (status = 404, description = "No recommendation has this id", body = Problem,
                 content_type = "application/problem+json"),
                (status = 503, description = "The store is unavailable, or this server only reads it",
                 body = Problem, content_type = "application/problem+json"),
            )
        )]
        pub async fn $name(
            State(state): State<AppState>,
            Segment(id): Segment,
            body: Bytes,
        ) -> Result<Json<Recommendation>, AppError> {
            verdict(state, id, $status, &body).await
        }
    };
}

verdict_handler!(
    recommendation_accept_post,
    "/api/v1/recommendations/{id}/accept",
    Status::Accepted,
    "Accepts a recommendation (optional reason)."
);
verdict_handler!(
    recommendation_reject_post,
    "/api/v1/recommendations/{id}/reject",
    Status::Rejected,
    "Rejects a recommendation; the reason is required."
);
verdict_handler!(
    recommendation_implemented_post,
    "/api/v1/recommendations/{id}/implemented",
    Status::Implemented,
    "Marks a recommendation as carried out (optional reason)."
);
verdict_handler!(
    recommendation_dismiss_post,
    "/api/v1/recommendations/{id}/dismiss",
    Status::Dismissed,
    "Dismisses a recommendation (optional reason)."
);

/// The dead letters document: one page of the list, paged like the recommendations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DeadLetters {
    /// Each with `event_id`, `event_type`, `url`, `attempts`, `last_error`, `failed_at`,
    /// `redelivery_requested_at` and the `event` itself; by event id, then URL.
    #[schema(value_type = Vec<Object>)]
    pub dead_letters: Vec<DeadLetter>,
    /// Every dead letter, on this page or another.
    pub total_count: usize,
    /// The page: at most `limit` letters from `offset` (0-based).
    pub offset: usize,
    pub limit: usize,
    /// The `offset` of the next page; `null` when this page is the last.
    pub next_offset: Option<usize>,
}

/// The answer to a redelivery request: every letter it queued again (not paged).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Redelivered {
    /// The letters queued again, marked `redelivery_requested_at` (same fields as in
    /// the list).
    #[schema(value_type = Vec<Object>)]
    pub dead_letters: Vec<DeadLetter>,
    /// How many letters were queued again: one per endpoint URL of the event (one with
    /// `url`).
    pub total_count: usize,
}

/// Webhook events that could not be delivered after every retry.
#[utoipa::path(
    get,
    path = "/api/v1/webhooks/dead-letters",
    tag = "recommendations",
    params(
        ("limit" = Option<usize>, Query, description = "Letters per page, 1 to 1000. Default: 100."),
        ("offset" = Option<usize>, Query, description = "How many to skip (the previous page's `next_offset`). Default: 0."),
    ),
    responses(
        (status = 200, description = "The dead letters, by event id and URL", body = DeadLetters),
        (status = 400, description = "A parameter is invalid", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, description = "The store could not be read", body = Problem,
         content_type = "application/problem+json"),
    )
)]
pub async fn dead_letters_get(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Json<DeadLetters>, AppError> {
    let params = RawParams::parse(query.as_deref());
    params.reject_unknown(&Page::PARAMS)?;
    let page = Page::parse(&params)?;
    let store = state.store.clone();
    let all = blocking(move || store.dead_letters()).await?;
    let total_count = all.len();
    let (dead_letters, next_offset) = page.cut(all);
    Ok(Json(DeadLetters {
        total_count,
        dead_letters,
        offset: page.offset,
        limit: page.limit,
        next_offset,
    }))
}

/// Queues an event's dead letters (or its letter to one URL) to be sent again.
#[utoipa::path(
    post,
    path = "/api/v1/webhooks/dead-letters/{event_id}/redeliver",
    tag = "recommendations",
    params(
        ("event_id" = String, Path, description = "The dead letter's `event_id` (`evt_...`)"),
        ("url" = Option<String>, Query, description = "Only the letter to this endpoint URL"),
    ),
    responses(
        (status = 202, description = "Queued: the letters, marked `redelivery_requested_at`",
         body = Redelivered),
        (status = 400, description = "An unknown or repeated parameter", body = Problem,
         content_type = "application/problem+json"),
        (status = 404, description = "No dead letter of this event (to this URL)", body = Problem,
         content_type = "application/problem+json"),
        (status = 503, description = "The store is unavailable, or this server only reads it",
         body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn redeliver_post(
    State(state): State<AppState>,
    Segment(event_id): Segment,
    RawQuery(query): RawQuery,
) -> Result<(axum::http::StatusCode, Json<Redelivered>), AppError> {
    let params = RawParams::parse(query.as_deref());
    params.reject_unknown(&["url"])?;
    let url = params.single("url")?.map(str::to_string);
    let store = state.store.clone();
    let key = event_id.clone();
    let target = url.clone();
    let marked = blocking(move || store.redeliver(&key, target.as_deref())).await?;
    if marked.is_empty() {
        let to = url.map(|u| format!(" to {u:?}")).unwrap_or_default();
        return Err(AppError::not_found(format!(
            "no dead letter of event {event_id:?}{to}; GET /api/v1/webhooks/dead-letters lists them"
        )));
    }
    Ok((
        axum::http::StatusCode::ACCEPTED,
        Json(Redelivered {
            total_count: marked.len(),
            dead_letters: marked,
        }),
    ))
}

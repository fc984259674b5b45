//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of every route, generated from the
//! handlers' annotations and the response types, so it cannot lag the code.
//!
//! The query parameters are parsed by hand ([`crate::params`]); the structs below only
//! describe them. A test checks that they name exactly the parameters the parser accepts.

use axum::Json;
use chrono::NaiveDate;
use utoipa::{IntoParams, OpenApi};

use crate::error::{InvalidField, Problem};
use crate::health::Health;
use crate::recommendations::{DeadLetters, RecommendationList, Redelivered, VerdictBody};
use crate::resources::{DailyPoint, ResourceCosts, RunRate};
use crate::summary::{Breakdown, CostType, Scope, Summary};
use crate::trends::{Granularity, TrendPoint, Trends};
use crate::{PushOutcome, Skipped};

/// The selection of the summary and trends endpoints.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct CostQueryParams {
    /// First UTC day, inclusive (`YYYY-MM-DD`). Default: `end_date` minus 29 days.
    start_date: Option<NaiveDate>,
    /// Last UTC day, inclusive (`YYYY-MM-DD`). Default: today (UTC).
    end_date: Option<NaiveDate>,
    /// Provider codes (`aws`, `azure`, `gcp`, `oci`, `other`); repeat the key for several.
    /// Default: all.
    cloud_provider: Option<Vec<String>>,
    /// Service codes or names (exact, case-insensitive); repeatable. Default: all.
    service_type: Option<Vec<String>>,
    /// Account ids (sub-account, else billing account); repeatable. Default: all.
    account_id: Option<Vec<String>>,
    /// `ai` (AI workloads only, the default) or `all`.
    #[param(inline)]
    scope: Option<Scope>,
    /// `billed` (what invoices charge, the default) or `effective` (amortized).
    #[param(inline)]
    cost_type: Option<CostType>,
}

/// The period width of a trend.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct GranularityParam {
    /// `daily` (the default), `weekly` (Monday to Sunday, UTC) or `monthly`.
    #[param(inline)]
    granularity: Option<Granularity>,
}

/// The query parameters of the resource endpoint.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ResourceParams {
    /// First UTC day, inclusive (`YYYY-MM-DD`). Default: `end_date` minus 29 days.
    start_date: Option<NaiveDate>,
    /// Last UTC day, inclusive (`YYYY-MM-DD`). Default: today (UTC).
    end_date: Option<NaiveDate>,
    /// `billed` (the default) or `effective`.
    #[param(inline)]
    cost_type: Option<CostType>,
}

/// The filters of the recommendation list (see `crate::recommendations`).
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct RecommendationParams {
    /// Provider codes (`aws`, `azure`, `gcp`, `oci`, `other`); repeatable. Default: all.
    cloud_provider: Option<Vec<String>>,
    /// `rightsize`, `purchase_commitment`, `schedule`, `autoscale`, `decommission`,
    /// `scale_to_zero`; repeatable. Default: all.
    recommendation_type: Option<Vec<String>>,
    /// `low`, `medium`, `high`; repeatable. Default: all.
    priority: Option<Vec<String>>,
    /// `pending`, `accepted`, `rejected`, `implemented`, `dismissed`; repeatable. Default:
    /// all.
    status: Option<Vec<String>>,
    /// `active`, `withdrawn`, `expired` or `all`; repeatable. Default: `active`.
    state: Option<Vec<String>>,
    /// Minimum estimated monthly savings (a decimal, in each recommendation's currency).
    #[param(value_type = Option<String>, example = "100")]
    min_savings: Option<String>,
    /// Recommendations per page, 1 to 1000. Default: 100.
    limit: Option<usize>,
    /// How many to skip (the previous page's `next_offset`). Default: 0.
    offset: Option<usize>,
}

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "burnrate",
        description = "What AI workloads cost across AWS, Azure, GCP and FOCUS sources. \
            Money is an exact decimal string; amounts in different currencies are never \
            added. Errors are RFC 9457 application/problem+json."
    ),
    paths(
        crate::summary::summary_get,
        crate::trends::trends_get,
        crate::resources::resource_costs_get,
        crate::recommendations::recommendations_get,
        crate::recommendations::recommendation_get,
        crate::recommendations::recommendation_accept_post,
        crate::recommendations::recommendation_reject_post,
        crate::recommendations::recommendation_implemented_post,
        crate::recommendations::recommendation_dismiss_post,
        crate::recommendations::dead_letters_get,
        crate::recommendations::redeliver_post,
        crate::metrics_push::metrics_post,
        crate::health::livez_get,
        crate::health::readyz_get,
        crate::metrics::metrics_get,
        openapi_get,
    ),
    components(schemas(
        Summary, Breakdown, Scope, CostType, Trends, TrendPoint, Granularity,
        ResourceCosts, DailyPoint, RunRate, Health, Problem, InvalidField,
        RecommendationList, VerdictBody, DeadLetters, Redelivered, PushOutcome, Skipped
    )),
    tags(
        (name = "costs", description = "Cost summaries, trends and per-resource costs"),
        (name = "recommendations", description = "Recommendations, verdicts on them, \
            and webhook dead letters"),
        (name = "metrics", description = "Per-minute inference metrics pushed to the job"),
        (name = "health", description = "Liveness, readiness, metrics and this document"),
    )
)]
pub struct ApiDoc;

/// This document.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
pub async fn openapi_get() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

//! `/livez` (the process answers) and `/readyz` (the store answers too).
//!
//! Orchestrators restart a process whose liveness fails, and stop routing to one whose
//! readiness fails; so liveness never touches the store (a slow store must not cause a
//! restart loop), and readiness asks it a trivial question.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{AppError, Problem};
use crate::{AppState, blocking};

/// A health answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Health {
    /// `ok` (live) or `ready`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/livez", tag = "health",
    responses((status = 200, description = "The process answers", body = Health)))]
pub async fn livez_get() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// The store answers a trivial query.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "The store does not answer", body = Problem,
         content_type = "application/problem+json"),
    ))]
pub async fn readyz_get(State(state): State<AppState>) -> Result<Json<Health>, AppError> {
    let store = state.store.clone();
    blocking(move || store.ping()).await?;
    Ok(Json(Health { status: "ready" }))
}

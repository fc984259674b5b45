//! The one error type of the API, rendered as RFC 9457 `application/problem+json`.
//!
//! Each problem has a `type` URI naming its kind (stable, for clients to branch on), a
//! `title` (the same for every problem of that kind), the HTTP `status`, and a `detail` that
//! says what was wrong with this request. Parameter problems add the extension members
//! `parameter` and `value`, so a client can point at the offending input; a request body
//! with several bad parts (pushed metric samples) adds `errors`, one entry per bad field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::{StatusChangeError, StoreFailure};

/// One bad field of one item of a request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InvalidField {
    /// The item's position in the request, from 0.
    pub index: usize,
    /// The field at fault; absent when the item as a whole is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// What is wrong with it.
    pub detail: String,
}

/// The problem document (RFC 9457 §3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What was wrong with this request.
    pub detail: String,
    /// The query parameter at fault, for parameter problems.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The value it had.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Every bad field of a request body, for body problems that list them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<InvalidField>>,
}

/// An error a handler returns; becomes a problem+json response. Boxed: errors are rare and
/// every `Result` of the parameter parsers carries one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError(pub Box<Problem>);

const PROBLEM_BASE: &str = "https://burnrate.dev/problems/";

impl AppError {
    fn new(status: StatusCode, kind: &str, title: &str, detail: String) -> AppError {
        AppError(Box::new(Problem {
            kind: format!("{PROBLEM_BASE}{kind}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            parameter: None,
            value: None,
            errors: None,
        }))
    }

    /// A query parameter with a value that cannot be used (400).
    pub fn invalid_parameter(parameter: &str, value: &str, detail: String) -> AppError {
        let mut e = AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid-parameter",
            "Invalid query parameter",
            detail,
        );
        e.0.parameter = Some(parameter.to_string());
        e.0.value = Some(value.to_string());
        e
    }

    /// A path segment that cannot be used (400): `parameter` names the route's segment.
    pub fn invalid_path_segment(segment: &str, value: &str, detail: String) -> AppError {
        let mut e = AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid-path",
            "Invalid path segment",
            detail,
        );
        e.0.parameter = Some(segment.to_string());
        e.0.value = Some(value.to_string());
        e
    }

    /// A request that asks for no known resource (404).
    pub fn not_found(detail: String) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    /// A request body that cannot be used as a whole (400).
    pub fn invalid_body(detail: String) -> AppError {
        AppError::new(
            StatusCode::BAD_REQUEST,
            "invalid-body",
            "Invalid request body",
            detail,
        )
    }

    /// A request body larger than the endpoint takes (413).
    pub fn too_large(detail: String) -> AppError {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            "Request too large",
            detail,
        )
    }

    /// A well-formed body with items that do not validate, each listed (422).
    pub fn invalid_items(detail: String, errors: Vec<InvalidField>) -> AppError {
        let mut e = AppError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-items",
            "Invalid items in the request body",
            detail,
        );
        e.0.errors = Some(errors);
        e
    }

    /// A write asked of a process that only reads (503: another process can do it).
    pub fn read_only(detail: String) -> AppError {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "read-only",
            "This server does not write",
            detail,
        )
    }

    /// The store did not answer (503: the request may succeed later).
    pub fn store(e: StoreFailure) -> AppError {
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store-unavailable",
            "The cost store is unavailable",
            e.to_string(),
        )
    }

    /// A fault of ours (500).
    pub fn internal(detail: String) -> AppError {
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
            detail,
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<StoreFailure> for AppError {
    fn from(e: StoreFailure) -> AppError {
        AppError::store(e)
    }
}

impl From<StatusChangeError> for AppError {
    fn from(e: StatusChangeError) -> AppError {
        match e {
            StatusChangeError::ReadOnly => AppError::read_only(e.to_string()),
            StatusChangeError::Store(e) => AppError::store(e),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.0.title, self.0.status, self.0.detail)
    }
}

impl std::error::Error for AppError {}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut response = (status, axum::Json(*self.0)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

/// Unknown paths get a problem document too, not an empty body.
pub async fn not_found_fallback(uri: axum::http::Uri) -> AppError {
    AppError::not_found(no_route(uri.path()))
}

/// Why nothing answers `path`; for a resource id whose `/` was not encoded (an ARN, an
/// Azure path), how to write it.
fn no_route(path: &str) -> String {
    const RESOURCES: &str = "/api/v1/ai-costs/resources/";
    match path.strip_prefix(RESOURCES) {
        Some(rest) if rest.matches('/').count() > 1 => {
            let id = rest.strip_suffix("/costs").unwrap_or(rest);
            format!(
                "no route for {path}; a resource id is one path segment, with each `/` \
                 written %2F: {RESOURCES}{}/costs",
                id.replace('/', "%2F")
            )
        }
        _ => format!("no route for {path}"),
    }
}

/// The one method a known path answers: POST for the actions and the metrics push, GET
/// for everything else.
fn allowed_method(path: &str) -> &'static str {
    const ACTIONS: [&str; 4] = ["/accept", "/reject", "/implemented", "/dismiss"];
    let action =
        path.starts_with("/api/v1/recommendations/") && ACTIONS.iter().any(|a| path.ends_with(a));
    if action || path == "/api/v1/metrics" {
        "POST"
    } else {
        "GET"
    }
}

/// A known path asked with another method gets a problem document naming the one it
/// answers.
pub async fn method_not_allowed_fallback(
    method: axum::http::Method,
    uri: axum::http::Uri,
) -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "Method not allowed",
        format!(
            "{} answers {} only, not {method}",
            uri.path(),
            allowed_method(uri.path())
        ),
    )
}

#[cfg(test)]
mod no_route_tests {
    use super::no_route;

    #[test]
    fn a_resource_id_with_slashes_is_shown_encoded() {
        assert_eq!(
            no_route(
                "/api/v1/ai-costs/resources/arn:aws:sagemaker:us-east-1:1:endpoint/ep-a/costs"
            ),
            "no route for /api/v1/ai-costs/resources/arn:aws:sagemaker:us-east-1:1:endpoint/ep-a/costs; \
             a resource id is one path segment, with each `/` written %2F: \
             /api/v1/ai-costs/resources/arn:aws:sagemaker:us-east-1:1:endpoint%2Fep-a/costs"
        );
        assert_eq!(no_route("/api/v1/nope"), "no route for /api/v1/nope");
        assert_eq!(
            no_route("/api/v1/ai-costs/resources/i-0abc/cost"),
            "no route for /api/v1/ai-costs/resources/i-0abc/cost"
        );
    }
}

//! # burnrate-api
//!
//! The axum `router(state)` with no server inside: cost queries, the recommendation
//! lifecycle, health, metrics and the OpenAPI document, reading through a `Store` trait
//! that the embedded store and ClickHouse both implement. Errors are RFC 9457 problem+json.
//!
//! Not built yet (issues 4 and 5). Depends on `schemas` only.

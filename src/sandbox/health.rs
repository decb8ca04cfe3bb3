//! Health endpoints that drift: one always up, one slow, one flapping in phases.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::Shared;

/// `/health/flapping` is up for this long, then down for as long.
const FLAP_PHASE_SECS: u64 = 30;

pub async fn ok() -> Response {
    Json(json!({ "status": "UP" })).into_response()
}

pub async fn degraded() -> Response {
    tokio::time::sleep(Duration::from_millis(800)).await;
    Json(json!({ "status": "UP", "note": "slow" })).into_response()
}

pub async fn flapping(State(state): State<Shared>) -> Response {
    let up = (state.elapsed_secs() / FLAP_PHASE_SECS).is_multiple_of(2);
    if up {
        Json(json!({ "status": "UP" })).into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "DOWN" })),
        )
            .into_response()
    }
}

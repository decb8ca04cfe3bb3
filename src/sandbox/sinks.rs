//! Where outputs deliver: a webhook receiver that verifies `X-Patchbay-Signature`, and
//! Slack and Discord look-alikes (Discord answers 429 with `retry_after` now and then).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{Value, json};

use super::{Shared, credentials};
use crate::connectors::webhook::{SIGNATURE_HEADER, TEST_HEADER, verify_recent};

/// Signatures older than this are replays.
const SIGNATURE_TOLERANCE: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Debug, Clone, Default, Serialize)]
pub struct SinkStats {
    pub webhook_deliveries: u64,
    pub webhook_records: u64,
    pub webhook_rejected: u64,
    /// Signed `patchbay test` requests, answered but not counted as deliveries.
    pub webhook_tests: u64,
    pub slack_messages: u64,
    pub discord_messages: u64,
    pub discord_rate_limited: u64,
    pub last_slack_text: Option<String>,
}

pub async fn webhook(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let valid = verify_recent(
        credentials::WEBHOOK_SIGNING_KEY.as_bytes(),
        signature,
        &body,
        chrono::Utc::now(),
        SIGNATURE_TOLERANCE,
    );
    let mut sinks = state.sinks.lock().unwrap_or_else(|e| e.into_inner());
    if !valid {
        sinks.webhook_rejected += 1;
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "bad signature" })),
        )
            .into_response();
    }
    if headers.contains_key(TEST_HEADER) {
        sinks.webhook_tests += 1;
        return StatusCode::NO_CONTENT.into_response();
    }
    let records = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Array(items)) => items.len() as u64,
        Ok(_) => 1,
        Err(_) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": "not JSON" })),
            )
                .into_response();
        }
    };
    sinks.webhook_deliveries += 1;
    sinks.webhook_records += records;
    tracing::info!(records, "sink webhook: a signed delivery received");
    StatusCode::NO_CONTENT.into_response()
}

pub async fn slack(State(state): State<Shared>, Json(message): Json<Value>) -> Response {
    let Some(text) = message.get("text").and_then(Value::as_str) else {
        return (StatusCode::BAD_REQUEST, "no_text").into_response();
    };
    let mut sinks = state.sinks.lock().unwrap_or_else(|e| e.into_inner());
    tracing::info!(text = %excerpt(text), "sink slack: a message received");
    sinks.slack_messages += 1;
    sinks.last_slack_text = Some(text.to_owned());
    "ok".into_response()
}

pub async fn discord(State(state): State<Shared>, Json(message): Json<Value>) -> Response {
    let Some(content) = message.get("content").and_then(Value::as_str) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({ "message": "Cannot send an empty message" })),
        )
            .into_response();
    };
    let mut sinks = state.sinks.lock().unwrap_or_else(|e| e.into_inner());
    // Every fourth message is rate limited, as Discord does under load.
    if (sinks.discord_messages + sinks.discord_rate_limited) % 4 == 3 {
        sinks.discord_rate_limited += 1;
        let body = json!({ "message": "You are being rate limited.", "retry_after": 0.4, "global": false });
        return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    }
    sinks.discord_messages += 1;
    tracing::info!(text = %excerpt(content), "sink discord: a message received");
    StatusCode::NO_CONTENT.into_response()
}

pub async fn stats(State(state): State<Shared>) -> Response {
    Json(state.sink_stats()).into_response()
}

/// The start of a message, for a log line.
fn excerpt(text: &str) -> String {
    let mut short: String = text.chars().take(120).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}

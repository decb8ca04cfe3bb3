//! Endpoints that fail on purpose, each for a reason an operator should be able to read
//! off the console: 5xx now and then, rate limits, slowness, bad credentials, bad JSON.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{Shared, credentials};

/// `/api/limited` allows this many requests per window.
const LIMIT: usize = 5;
const LIMIT_WINDOW: Duration = Duration::from_secs(10);
const SLOW_DELAY: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct TroubleState {
    flaky_calls: u64,
    slow_calls: u64,
    limited: VecDeque<Instant>,
}

fn items(count: u64) -> serde_json::Value {
    json!({ "data": (1..=count).map(|id| json!({ "id": id, "ok": true })).collect::<Vec<_>>() })
}

/// 401 unless `Authorization: Bearer <PRIVATE_TOKEN>`.
pub async fn private(headers: HeaderMap) -> Response {
    let expected = format!("Bearer {}", credentials::PRIVATE_TOKEN);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(expected.as_str())
    {
        Json(items(5)).into_response()
    } else {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid token" })),
        )
            .into_response()
    }
}

/// Every third call fails with a 503 (no Retry-After) or a 500.
pub async fn flaky(State(state): State<Shared>) -> Response {
    let call = {
        let mut trouble = state.trouble.lock().unwrap_or_else(|e| e.into_inner());
        trouble.flaky_calls += 1;
        trouble.flaky_calls
    };
    match call % 6 {
        0 => (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response(),
        3 => (StatusCode::SERVICE_UNAVAILABLE, "try again").into_response(),
        _ => Json(items(10)).into_response(),
    }
}

/// 429 with `Retry-After` past `LIMIT` requests per `LIMIT_WINDOW`.
pub async fn limited(State(state): State<Shared>) -> Response {
    let now = Instant::now();
    let wait = {
        let mut trouble = state.trouble.lock().unwrap_or_else(|e| e.into_inner());
        while trouble
            .limited
            .front()
            .is_some_and(|t| now - *t > LIMIT_WINDOW)
        {
            trouble.limited.pop_front();
        }
        if trouble.limited.len() < LIMIT {
            trouble.limited.push_back(now);
            None
        } else {
            let oldest = *trouble.limited.front().expect("full window");
            Some((LIMIT_WINDOW.saturating_sub(now - oldest)).as_secs().max(1))
        }
    };
    match wait {
        None => Json(items(3)).into_response(),
        Some(seconds) => (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, seconds.to_string())],
            Json(json!({ "error": "rate limited" })),
        )
            .into_response(),
    }
}

/// Every third call answers only after `SLOW_DELAY`, beyond a sensible timeout.
pub async fn slow(State(state): State<Shared>) -> Response {
    let call = {
        let mut trouble = state.trouble.lock().unwrap_or_else(|e| e.into_inner());
        trouble.slow_calls += 1;
        trouble.slow_calls
    };
    if call % 3 == 0 {
        tokio::time::sleep(SLOW_DELAY).await;
    }
    Json(items(4)).into_response()
}

/// Claims JSON, sends a truncated document.
pub async fn broken() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        r#"{"data": [{"id": 1}, {"id": 2"#,
    )
        .into_response()
}

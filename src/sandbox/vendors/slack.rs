//! Slack's `conversations.history`: newest first, an opaque cursor in
//! `response_metadata.next_cursor`, `oldest` exclusive, errors as 200 with
//! `{"ok": false}`, and 429 with `Retry-After` when rate limited.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;

use super::{VENDOR_TOKEN, bearer, items, number, throttled};
use crate::sandbox::Shared;

pub async fn history(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if bearer(&headers) != Some(VENDOR_TOKEN) {
        return Json(json!({ "ok": false, "error": "invalid_auth" })).into_response();
    }
    if throttled(&state, "slack") {
        let body = json!({ "ok": false, "error": "ratelimited" });
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(body),
        )
            .into_response();
    }
    let Some(channel) = query.get("channel").filter(|c| !c.is_empty()) else {
        return Json(json!({ "ok": false, "error": "channel_not_found" })).into_response();
    };
    let limit = number(&query, "limit").unwrap_or(100usize).clamp(1, 999);
    let oldest = query.get("oldest").and_then(|ts| ts_micros(ts));
    let skip = match query.get("cursor") {
        None => 0,
        Some(cursor) => match decode_cursor(cursor) {
            Some(skip) => skip,
            None => return Json(json!({ "ok": false, "error": "invalid_cursor" })).into_response(),
        },
    };
    let mut messages: Vec<(i64, serde_json::Value)> = items(&state)
        .map(|item| {
            let ts = format!("{}.{:06}", item.created.timestamp(), item.n);
            let message = json!({
                "type": "message",
                "user": format!("U0{:08}", item.n % 9),
                "text": format!("message {} in {channel}", item.n),
                "ts": ts,
            });
            (ts_micros(&ts).unwrap_or(0), message)
        })
        .filter(|(micros, _)| oldest.is_none_or(|oldest| *micros > oldest))
        .collect();
    messages.sort_by_key(|(micros, _)| std::cmp::Reverse(*micros));
    let has_more = skip.saturating_add(limit) < messages.len();
    let page: Vec<_> = messages
        .into_iter()
        .skip(skip)
        .take(limit)
        .map(|(_, m)| m)
        .collect();
    let next_cursor = if has_more {
        encode_cursor(skip + limit)
    } else {
        String::new()
    };
    Json(json!({
        "ok": true,
        "messages": page,
        "has_more": has_more,
        "pin_count": 0,
        "response_metadata": { "next_cursor": next_cursor },
    }))
    .into_response()
}

/// `1700000000.000123` → microseconds, compared exactly (an f64 would round).
fn ts_micros(ts: &str) -> Option<i64> {
    let (seconds, fraction) = ts.split_once('.').unwrap_or((ts, "0"));
    let seconds: i64 = seconds.parse().ok()?;
    let fraction: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(6)
        .collect();
    seconds
        .checked_mul(1_000_000)?
        .checked_add(fraction.parse().ok()?)
}

fn encode_cursor(skip: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("next_skip:{skip}"))
}

fn decode_cursor(cursor: &str) -> Option<usize> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("next_skip:")?
        .parse()
        .ok()
}

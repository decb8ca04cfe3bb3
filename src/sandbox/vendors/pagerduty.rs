//! PagerDuty's incident list: classic `offset`/`limit` pagination with `more` and
//! `total`, `Authorization: Token token=KEY`, `since` on `created_at`, 429 when rate
//! limited (no `Retry-After`: clients back off).

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{VENDOR_TOKEN, iso, items, number, throttled, time_param};
use crate::sandbox::Shared;

const STATUSES: [&str; 3] = ["triggered", "acknowledged", "resolved"];

pub async fn incidents(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let expected = format!("Token token={VENDOR_TOKEN}");
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a == expected);
    if !authorized {
        let body = json!({ "error": { "message": "Unauthorized", "code": 2006 } });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    if throttled(&state, "pagerduty") {
        let body = json!({ "error": { "message": "Rate Limit Exceeded", "code": 2020 } });
        return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
    }
    let limit = number(&query, "limit").unwrap_or(25usize).clamp(1, 100);
    let offset = number(&query, "offset").unwrap_or(0usize);
    let since = time_param(&query, "since");
    let matching: Vec<_> = items(&state)
        .filter(|item| since.is_none_or(|since| item.created >= since))
        .collect();
    let incidents: Vec<_> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|item| {
            json!({
                "id": format!("PINC{:05}", item.n),
                "type": "incident",
                "incident_number": item.n,
                "title": format!("Incident {}", item.n),
                "status": STATUSES[(item.n % 3) as usize],
                "urgency": if item.n % 4 == 0 { "high" } else { "low" },
                "created_at": iso(item.created),
                "html_url": format!("https://example.pagerduty.com/incidents/PINC{:05}", item.n),
            })
        })
        .collect();
    Json(json!({
        "incidents": incidents,
        "limit": limit,
        "offset": offset,
        "total": matching.len(),
        "more": offset.saturating_add(limit) < matching.len(),
    }))
    .into_response()
}

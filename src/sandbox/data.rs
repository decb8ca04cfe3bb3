//! Paginated collections, one per pagination style. Every record is computed from its
//! id and the time, so the data is the same on every machine, and `updated_at` moves
//! on while the sandbox runs so incremental syncs find changes.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::{Shared, credentials};

const USERS: u64 = 2_500;
const ORDERS: u64 = 3_000;
const EVENTS: u64 = 1_200;
const TICKETS: u64 = 800;
/// Each order is updated once per cycle, at its own offset within it.
const ORDER_CYCLE_SECS: i64 = 300;

const FIRST: [&str; 12] = [
    "Ada", "Grace", "Linus", "Ken", "Barbara", "Dennis", "Margaret", "Alan", "Radia", "Edsger",
    "Frances", "John",
];
const LAST: [&str; 10] = [
    "Lovelace", "Hopper", "Torvalds", "Thompson", "Liskov", "Ritchie", "Hamilton", "Turing",
    "Perlman", "Dijkstra",
];
const STATUSES: [&str; 4] = ["open", "paid", "shipped", "refunded"];
const EVENT_TYPES: [&str; 4] = ["deploy", "login", "alert", "backup"];
const PRIORITIES: [&str; 4] = ["low", "normal", "high", "urgent"];
const WAREHOUSES: [&str; 4] = ["ams", "fra", "iad", "sin"];

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn param<T: std::str::FromStr>(query: &HashMap<String, String>, name: &str) -> Option<T> {
    query.get(name).and_then(|v| v.parse().ok())
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": message }))).into_response()
}

fn user(id: u64, started: DateTime<Utc>) -> Value {
    let first = FIRST[(id % 12) as usize];
    let last = LAST[(id / 12 % 10) as usize];
    json!({
        "id": id,
        "name": format!("{first} {last}"),
        "email": format!("{}.{}{id}@example.test", first.to_lowercase(), last.to_lowercase()),
        "updated_at": iso(started - Duration::days(30) + Duration::minutes(id as i64)),
    })
}

/// `?cursor=<last id>&limit=N`, API key in `X-Api-Key`:
/// `{"users": [...], "next_cursor": "..." | null}`
pub async fn users(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if headers.get("x-api-key").and_then(|v| v.to_str().ok()) != Some(credentials::API_KEY) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "missing or wrong X-Api-Key" })),
        )
            .into_response();
    }
    let after: u64 = param(&query, "cursor").unwrap_or(0);
    let limit: u64 = param(&query, "limit").unwrap_or(100).clamp(1, 500);
    let ids: Vec<u64> = (after + 1..=USERS).take(limit as usize).collect();
    let next = ids
        .last()
        .filter(|last| **last < USERS)
        .map(|last| last.to_string());
    let users: Vec<Value> = ids.iter().map(|id| user(*id, state.started_at)).collect();
    Json(json!({ "users": users, "next_cursor": next })).into_response()
}

/// When order `id` was last updated by `now`: created in the past, then touched once
/// per cycle at its own offset after the sandbox started.
fn order_updated_at(id: u64, started: DateTime<Utc>, now: DateTime<Utc>) -> DateTime<Utc> {
    let offset = Duration::seconds((id as i64 * 37) % ORDER_CYCLE_SECS);
    let first_touch = started + offset;
    if now < first_touch {
        return started - Duration::days(10) + Duration::minutes(id as i64);
    }
    let cycles = (now - first_touch).num_seconds() / ORDER_CYCLE_SECS;
    first_touch + Duration::seconds(cycles * ORDER_CYCLE_SECS)
}

/// `?page=N&per_page=M&updated_since=<RFC 3339>`, ordered by `updated_at` then id:
/// `{"data": [...], "page": N, "total_pages": T}`
pub async fn orders(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let page: u64 = param(&query, "page").unwrap_or(1).max(1);
    let per_page: u64 = param(&query, "per_page").unwrap_or(100).clamp(1, 500);
    let since = match query.get("updated_since") {
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => return bad_request("updated_since must be an RFC 3339 time"),
        },
        None => None,
    };
    let now = Utc::now();
    let mut matching: Vec<(DateTime<Utc>, u64)> = (1..=ORDERS)
        .map(|id| (order_updated_at(id, state.started_at, now), id))
        .filter(|(updated, _)| since.is_none_or(|since| *updated >= since))
        .collect();
    matching.sort();
    let total_pages = (matching.len() as u64).div_ceil(per_page).max(1);
    let data: Vec<Value> = matching
        .iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .map(|(updated, id)| {
            json!({
                "id": id,
                "customer": user(id % USERS + 1, state.started_at)["name"],
                "amount_cents": 500 + (id * 7919) % 25_000,
                "status": STATUSES[((id + updated.timestamp() as u64 / ORDER_CYCLE_SECS as u64) % 4) as usize],
                "updated_at": iso(*updated),
            })
        })
        .collect();
    Json(json!({ "data": data, "page": page, "total_pages": total_pages })).into_response()
}

/// `?page=N` with `Link: <...?page=N+1>; rel="next"` while there are more.
pub async fn events(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let page: u64 = param(&query, "page").unwrap_or(1).max(1);
    let per_page = 100;
    let start = (page - 1) * per_page + 1;
    let items: Vec<Value> = (start..start + per_page)
        .filter(|id| *id <= EVENTS)
        .map(|id| {
            json!({
                "id": format!("evt_{id:05}"),
                "type": EVENT_TYPES[(id % 4) as usize],
                "at": iso(state.started_at - Duration::hours(48) + Duration::minutes(id as i64 * 2)),
            })
        })
        .collect();
    let mut headers = HeaderMap::new();
    if start + per_page <= EVENTS {
        let link = format!("</api/events?page={}>; rel=\"next\"", page + 1);
        headers.insert(header::LINK, link.parse().expect("a valid header"));
    }
    (headers, Json(Value::Array(items))).into_response()
}

/// `?offset=N&limit=M` with basic auth: `{"tickets": [...], "total": T}`
pub async fn tickets(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !basic_auth_ok(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"sandbox\"")],
            "",
        )
            .into_response();
    }
    let offset: u64 = param(&query, "offset").unwrap_or(0);
    let limit: u64 = param(&query, "limit").unwrap_or(50).clamp(1, 200);
    let tickets: Vec<Value> = (offset + 1..=TICKETS)
        .take(limit as usize)
        .map(|id| {
            json!({
                "id": id,
                "title": format!("Ticket #{id}"),
                "priority": PRIORITIES[(id % 4) as usize],
                "updated_at": iso(state.started_at - Duration::hours(id as i64)),
            })
        })
        .collect();
    Json(json!({ "tickets": tickets, "total": TICKETS })).into_response()
}

fn basic_auth_ok(headers: &HeaderMap) -> bool {
    use base64::Engine as _;
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::BASIC_USER,
        credentials::BASIC_PASSWORD
    ));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        == Some(expected.as_str())
}

const ARTICLES: u64 = 90;

/// `?page=N`: `{"articles": [...], "next": "/api/articles?page=N+1" | null}`
pub async fn articles(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let page: u64 = param(&query, "page").unwrap_or(1).max(1);
    let per_page = 25;
    let start = (page - 1) * per_page + 1;
    let articles: Vec<Value> = (start..start + per_page)
        .filter(|id| *id <= ARTICLES)
        .map(|id| json!({ "id": id, "title": format!("How we run integration #{id}"), "published_at": iso(state.started_at - Duration::days(id as i64)) }))
        .collect();
    let next = (start + per_page <= ARTICLES).then(|| format!("/api/articles?page={}", page + 1));
    Json(json!({ "articles": articles, "next": next })).into_response()
}

/// A large collection for benchmarks: `?cursor=<last id>&limit=N&total=T`, cursor
/// pagination, records generated on the fly.
pub async fn records(Query(query): Query<HashMap<String, String>>) -> Response {
    let total: u64 = param(&query, "total").unwrap_or(100_000);
    let after: u64 = param(&query, "cursor").unwrap_or(0);
    let limit: u64 = param(&query, "limit").unwrap_or(100).clamp(1, 1000);
    let records: Vec<Value> = (after + 1..=total)
        .take(limit as usize)
        .map(|id| {
            json!({
                "id": id,
                "sku": format!("SKU-{:06}", id * 7 % 1_000_000),
                "quantity": id % 17,
                "price_cents": 100 + id * 31 % 9_900,
                "warehouse": WAREHOUSES[(id % 4) as usize],
                "updated_at": "2026-01-01T00:00:00Z",
            })
        })
        .collect();
    let next = (after + limit < total).then(|| (after + limit).to_string());
    Json(json!({ "data": records, "next_cursor": next })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn orders_are_updated_once_per_cycle_after_start() {
        let started = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let before = order_updated_at(5, started, started);
        assert!(before < started, "not yet touched");
        let touched = order_updated_at(5, started, started + Duration::seconds(200));
        assert_eq!(touched, started + Duration::seconds(185), "offset 5 * 37 s");
        let later = order_updated_at(5, started, started + Duration::seconds(200 + 300));
        assert_eq!(later - touched, Duration::seconds(300));
    }
}

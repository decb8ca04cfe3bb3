//! Notion's database query: POST with `page_size`, `start_cursor`, `filter` and
//! `sorts` in the body, `next_cursor`/`has_more` in the answer, a required
//! `Notion-Version` header, and 429 with `Retry-After` when rate limited.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{VENDOR_TOKEN, bearer, iso, items, throttled};
use crate::sandbox::Shared;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body =
        json!({ "object": "error", "status": status.as_u16(), "code": code, "message": message });
    (status, Json(body)).into_response()
}

fn page_id(n: u64) -> String {
    format!("59833787-2cf9-4fdf-8782-{n:012x}")
}

pub async fn query(
    State(state): State<Shared>,
    Path(database): Path<String>,
    headers: HeaderMap,
    body: Option<Json<Value>>,
) -> Response {
    if bearer(&headers) != Some(VENDOR_TOKEN) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "API token is invalid.",
        );
    }
    if headers.get("notion-version").is_none() {
        return error(
            StatusCode::BAD_REQUEST,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined.",
        );
    }
    if throttled(&state, "notion") {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    }
    let body = body.map(|Json(body)| body).unwrap_or(Value::Null);
    let page_size = body["page_size"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    let after: Option<DateTime<Utc>> = body["filter"]["last_edited_time"]["on_or_after"]
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let matching: Vec<_> = items(&state)
        .filter(|item| after.is_none_or(|after| item.updated >= after))
        .collect();
    let start = match body["start_cursor"].as_str() {
        None => 0,
        Some(cursor) => match matching.iter().position(|item| page_id(item.n) == cursor) {
            Some(index) => index,
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "validation_error",
                    "start_cursor is not a valid cursor.",
                );
            }
        },
    };
    let results: Vec<_> = matching
        .iter()
        .skip(start)
        .take(page_size)
        .map(|item| {
            json!({
                "object": "page",
                "id": page_id(item.n),
                "created_time": iso(item.created),
                "last_edited_time": iso(item.updated),
                "parent": { "type": "database_id", "database_id": database },
                "properties": { "Name": { "type": "title", "title": [{ "plain_text": format!("Page {}", item.n) }] } },
            })
        })
        .collect();
    let next = matching.get(start + page_size).map(|item| page_id(item.n));
    Json(json!({
        "object": "list",
        "results": results,
        "has_more": next.is_some(),
        "next_cursor": next,
        "type": "page_or_database",
    }))
    .into_response()
}

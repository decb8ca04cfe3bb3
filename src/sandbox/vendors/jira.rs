//! Jira Cloud's JQL search: `startAt`/`maxResults` (at most 100), basic auth with an
//! account's email and API token, 429 with `Retry-After` when rate limited.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{JIRA_EMAIL, VENDOR_TOKEN, basic, iso, items, number, throttled};
use crate::sandbox::Shared;

const STATUSES: [&str; 3] = ["To Do", "In Progress", "Done"];

pub async fn search(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let authorized =
        basic(&headers).is_some_and(|(user, token)| user == JIRA_EMAIL && token == VENDOR_TOKEN);
    if !authorized {
        let body = json!({ "errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {} });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    if throttled(&state, "jira") {
        let body = json!({ "errorMessages": ["Rate limit exceeded."], "errors": {} });
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(body),
        )
            .into_response();
    }
    let Some(project) = query.get("jql").and_then(|jql| project_of(jql)) else {
        let body = json!({ "errorMessages": ["Error in the JQL Query: expected project = KEY."], "errors": {} });
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    };
    let start_at = number(&query, "startAt").unwrap_or(0u64);
    let max_results = number(&query, "maxResults").unwrap_or(50u64).clamp(1, 100);
    let all: Vec<_> = items(&state).collect();
    let issues: Vec<_> = all
        .iter()
        .skip(usize::try_from(start_at).unwrap_or(usize::MAX))
        .take(max_results as usize)
        .map(|item| {
            json!({
                "id": (10_000 + item.n).to_string(),
                "key": format!("{project}-{}", item.n),
                "fields": {
                    "summary": format!("Ticket {} of {project}", item.n),
                    "status": { "name": STATUSES[(item.n % 3) as usize] },
                    "created": iso(item.created),
                    "updated": iso(item.updated),
                }
            })
        })
        .collect();
    Json(json!({
        "expand": "names,schema",
        "startAt": start_at,
        "maxResults": max_results,
        "total": all.len(),
        "issues": issues,
    }))
    .into_response()
}

/// `project = "OPS" ORDER BY ...` → `OPS`.
fn project_of(jql: &str) -> Option<String> {
    let rest = jql
        .trim()
        .strip_prefix("project")?
        .trim_start()
        .strip_prefix('=')?;
    let key: String = rest
        .trim_start()
        .trim_start_matches('"')
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    (!key.is_empty()).then_some(key)
}

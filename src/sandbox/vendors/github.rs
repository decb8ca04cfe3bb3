//! GitHub's "list repository issues": `per_page`/`page` with a `Link` header,
//! `since` on `updated_at`, `X-RateLimit-*` on every answer, and a 403 with no quota
//! left when rate limited.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{
    Item, VENDOR_TOKEN, absolute, bearer, iso, items, number, throttled, time_param, with_param,
};
use crate::sandbox::Shared;

const QUOTA: u32 = 5_000;

pub async fn issues(
    State(state): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let reset = (chrono::Utc::now() + chrono::Duration::seconds(1)).timestamp();
    if bearer(&headers) != Some(VENDOR_TOKEN) {
        let body = json!({ "message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401" });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    if throttled(&state, "github") {
        let body = json!({ "message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api" });
        let mut response = (StatusCode::FORBIDDEN, Json(body)).into_response();
        quota_headers(response.headers_mut(), 0, reset);
        return response;
    }
    let remaining = {
        let mut vendors = state.vendors();
        if vendors.github_remaining == 0 {
            vendors.github_remaining = QUOTA;
        }
        vendors.github_remaining -= 1;
        vendors.github_remaining
    };
    let per_page = number(&query, "per_page").unwrap_or(30u64).clamp(1, 100);
    let page = number(&query, "page").unwrap_or(1u64).max(1);
    let since = time_param(&query, "since");
    let state_filter = query.get("state").map_or("open", String::as_str);
    let matching: Vec<Item> = items(&state)
        .filter(|item| since.is_none_or(|since| item.updated >= since))
        .filter(|item| match state_filter {
            "all" => true,
            "closed" => item.n % 3 == 0,
            _ => item.n % 3 != 0,
        })
        .collect();
    let skip = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let body: Vec<_> = matching
        .iter()
        .skip(skip)
        .take(per_page as usize)
        .map(|item| {
            json!({
                "id": 1_000_000 + item.n,
                "number": item.n,
                "title": format!("Issue {} in {owner}/{repo}", item.n),
                "state": if item.n % 3 == 0 { "closed" } else { "open" },
                "user": { "login": format!("dev{}", item.n % 7) },
                "created_at": iso(item.created),
                "updated_at": iso(item.updated),
            })
        })
        .collect();
    let mut response = Json(body).into_response();
    quota_headers(response.headers_mut(), remaining, reset);
    let path = format!("/github/repos/{owner}/{repo}/issues");
    if skip.saturating_add(per_page as usize) < matching.len() {
        let next = absolute(
            &headers,
            &path,
            &with_param(&query, "page", (page + 1).to_string()),
        );
        if let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    response
}

fn quota_headers(headers: &mut HeaderMap, remaining: u32, reset: i64) {
    for (name, value) in [
        ("x-ratelimit-limit", QUOTA.to_string()),
        ("x-ratelimit-remaining", remaining.to_string()),
        ("x-ratelimit-reset", reset.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
}

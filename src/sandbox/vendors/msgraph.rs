//! Microsoft Graph's user list: `$top` and an absolute `@odata.nextLink` carrying a
//! `$skiptoken`, tokens from the client-credentials grant (the sandbox's token
//! endpoint), 401 `InvalidAuthenticationToken`, 429 with `Retry-After`.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{absolute, bearer, items, number, throttled, with_param};
use crate::sandbox::Shared;

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message } })),
    )
        .into_response()
}

pub async fn users(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let valid = bearer(&headers).is_some_and(|token| {
        state
            .oauth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_valid(token)
    });
    if !valid {
        return error(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token validation failure.",
        );
    }
    if throttled(&state, "msgraph") {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests.",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        return response;
    }
    let top = number(&query, "$top").unwrap_or(100usize).clamp(1, 999);
    let skip = number(&query, "$skiptoken").unwrap_or(0usize);
    let all: Vec<_> = items(&state).collect();
    let value: Vec<_> = all
        .iter()
        .skip(skip)
        .take(top)
        .map(|item| {
            json!({
                "id": format!("87d349ed-44d7-43e1-9a83-{:012x}", item.n),
                "displayName": format!("User {}", item.n),
                "mail": format!("user{}@contoso.example.test", item.n),
                "userPrincipalName": format!("user{}@contoso.example.test", item.n),
                "accountEnabled": item.n % 10 != 0,
            })
        })
        .collect();
    let mut body = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#users",
        "value": value,
    });
    if skip.saturating_add(top) < all.len() {
        let next = with_param(&query, "$skiptoken", (skip + top).to_string());
        body["@odata.nextLink"] = json!(absolute(&headers, "/msgraph/v1.0/users", &next));
    }
    Json(body).into_response()
}

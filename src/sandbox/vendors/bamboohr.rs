//! BambooHR's employee directory: the API key as the basic-auth user, XML unless JSON
//! is asked for, `X-BambooHR-Error-Message` on a 401, 503 with `Retry-After` when busy.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::{VENDOR_TOKEN, basic, items, throttled};
use crate::sandbox::Shared;

const EMPLOYEES: usize = 40;
const DEPARTMENTS: [&str; 4] = ["Engineering", "Operations", "Sales", "Support"];

pub async fn directory(
    State(state): State<Shared>,
    Path(company): Path<String>,
    headers: HeaderMap,
) -> Response {
    let key_ok = matches!(basic(&headers), Some((key, _)) if key == VENDOR_TOKEN);
    if !key_ok {
        return (
            StatusCode::UNAUTHORIZED,
            [("x-bamboohr-error-message", "Invalid API key")],
        )
            .into_response();
    }
    if throttled(&state, "bamboohr") {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
        )
            .into_response();
    }
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("json"));
    if !wants_json {
        return (
            [(header::CONTENT_TYPE, "application/xml")],
            "<directory><employees/></directory>",
        )
            .into_response();
    }
    let employees: Vec<_> = items(&state)
        .take(EMPLOYEES)
        .map(|item| {
            json!({
                "id": item.n.to_string(),
                "displayName": format!("Employee {}", item.n),
                "jobTitle": "Operator",
                "workEmail": format!("employee{}@{company}.example.test", item.n),
                "department": DEPARTMENTS[(item.n % 4) as usize],
            })
        })
        .collect();
    Json(json!({
        "fields": [
            { "id": "displayName", "type": "text", "name": "Display name" },
            { "id": "jobTitle", "type": "list", "name": "Job title" },
            { "id": "workEmail", "type": "email", "name": "Work Email" },
            { "id": "department", "type": "list", "name": "Department" },
        ],
        "employees": employees,
    }))
    .into_response()
}

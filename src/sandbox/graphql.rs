//! One paginated GraphQL connection, `repositories(first, after)`, answered whatever the
//! query text; a query naming `brokenField` gets a GraphQL `errors` answer.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Shared;

const REPOSITORIES: u64 = 240;

#[derive(Deserialize)]
pub struct Request {
    query: String,
    #[serde(default)]
    variables: Value,
}

pub async fn query(State(state): State<Shared>, Json(request): Json<Request>) -> Response {
    if request.query.contains("brokenField") {
        return Json(json!({
            "data": null,
            "errors": [{ "message": "Cannot query field \"brokenField\" on type \"Repository\"." }]
        }))
        .into_response();
    }
    let first = request
        .variables
        .get("first")
        .and_then(Value::as_u64)
        .unwrap_or(50)
        .clamp(1, 100);
    let after = request
        .variables
        .get("after")
        .and_then(Value::as_str)
        .and_then(|c| c.strip_prefix("cursor:"))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    let stars_bump = state.elapsed_secs() / 30;
    let nodes: Vec<Value> = (after + 1..=REPOSITORIES)
        .take(first as usize)
        .map(|id| json!({ "id": format!("repo-{id}"), "name": format!("service-{id}"), "stars": id * 3 + stars_bump }))
        .collect();
    let end = after + nodes.len() as u64;
    Json(json!({
        "data": { "repositories": {
            "nodes": nodes,
            "pageInfo": { "endCursor": format!("cursor:{end}"), "hasNextPage": end < REPOSITORIES },
        }}
    }))
    .into_response()
}

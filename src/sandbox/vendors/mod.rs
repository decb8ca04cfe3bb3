//! Vendor-shaped routes for the shipped blueprints: each answers the way its vendor's
//! public API documentation says it does (pagination, error bodies, rate-limit
//! headers), over the same deterministic items, so a blueprint can be tested without
//! the vendor. `POST /vendors/{vendor}/throttle?times=N` makes the next N requests to
//! a vendor get its rate-limit answer.

mod bamboohr;
mod github;
mod jira;
mod msgraph;
mod notion;
mod pagerduty;
mod slack;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, SecondsFormat, Utc};

use super::Shared;

/// Items every vendor serves: enough for several pages at every vendor's page size.
const ITEMS: u64 = 230;

/// The credential every vendor route accepts (GitHub, Slack and Notion tokens, the
/// Jira API token, the BambooHR API key, the PagerDuty REST key).
pub const VENDOR_TOKEN: &str = "demo-vendor-token-8e21f0";
/// The Atlassian account the Jira API token belongs to.
pub const JIRA_EMAIL: &str = "ops@example.test";

#[derive(Default)]
pub struct VendorState {
    /// Requests still to be answered with the vendor's rate limit, by vendor.
    throttle: HashMap<String, u32>,
    /// GitHub's quota left in this hour.
    github_remaining: u32,
}

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/vendors/{vendor}/throttle", post(throttle))
        .route("/github/repos/{owner}/{repo}/issues", get(github::issues))
        .route("/jira/rest/api/3/search", get(jira::search))
        .route(
            "/bamboohr/api/gateway.php/{company}/v1/employees/directory",
            get(bamboohr::directory),
        )
        .route("/slack/conversations.history", get(slack::history))
        .route("/notion/v1/databases/{database}/query", post(notion::query))
        .route(
            "/msgraph/login/{tenant}/oauth2/v2.0/token",
            post(super::oauth::token),
        )
        .route("/msgraph/v1.0/users", get(msgraph::users))
        .route("/pagerduty/incidents", get(pagerduty::incidents))
}

/// `POST /vendors/{vendor}/throttle?times=N`
async fn throttle(
    State(state): State<Shared>,
    Path(vendor): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> StatusCode {
    let times = query
        .get("times")
        .and_then(|t| t.parse().ok())
        .unwrap_or(1u32)
        .min(1_000);
    state.vendors().throttle.insert(vendor, times);
    StatusCode::NO_CONTENT
}

/// Whether this request to `vendor` is one to answer with a rate limit.
fn throttled(state: &Shared, vendor: &str) -> bool {
    let mut vendors = state.vendors();
    match vendors.throttle.get_mut(vendor) {
        Some(left) if *left > 0 => {
            *left -= 1;
            true
        }
        _ => false,
    }
}

/// One item of the shared data: numbered from 1, created a minute apart, each
/// updated a while after it was created, in the same order.
struct Item {
    n: u64,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
}

fn items(state: &Shared) -> impl Iterator<Item = Item> {
    let base = state.started_at - Duration::days(30);
    (1..=ITEMS).map(move |n| {
        let created = base + Duration::minutes(n as i64);
        Item {
            n,
            created,
            updated: created + Duration::hours(2),
        }
    })
}

fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn number<T: std::str::FromStr>(query: &HashMap<String, String>, name: &str) -> Option<T> {
    query.get(name).and_then(|v| v.parse().ok())
}

/// A timestamp parameter (`since`, `oldest`), RFC 3339.
fn time_param(query: &HashMap<String, String>, name: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(query.get(name)?)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// `user:password` of a basic `Authorization` header.
fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    use base64::Engine as _;
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The absolute URL of this request with `query` as its query, for next-page links.
fn absolute(headers: &HeaderMap, path: &str, query: &[(String, String)]) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let query = query
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                percent_encoding::utf8_percent_encode(k, percent_encoding::NON_ALPHANUMERIC),
                percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&");
    format!("http://{host}{path}?{query}")
}

/// The query of this request with `name` set to `value`, in a stable order.
fn with_param(query: &HashMap<String, String>, name: &str, value: String) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = query
        .iter()
        .filter(|(k, _)| k.as_str() != name)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    pairs.push((name.to_owned(), value));
    pairs.sort();
    pairs
}

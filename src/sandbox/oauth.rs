//! A small OAuth2 authorization server: client credentials, refresh tokens that rotate
//! on every use, the device authorization grant (RFC 8628) approving after a few
//! polls, and the authorization-code grant that insists on PKCE (RFC 7636) and checks
//! it. Access tokens live 20 seconds, so refreshes happen during a demo.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Shared, credentials};

const ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(20);
/// Polls answered `authorization_pending` before a device code is approved.
const DEVICE_PENDING_POLLS: u32 = 2;
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

#[derive(Default)]
pub struct OAuthState {
    issued: u64,
    access: HashMap<String, Instant>,
    /// Refresh tokens still valid; the initial one until first used.
    refresh: Vec<String>,
    initial_refresh_used: bool,
    device_polls: HashMap<String, u32>,
    /// Authorization codes not yet redeemed, with what their request carried.
    codes: HashMap<String, PendingCode>,
}

/// What an authorization request promised, checked when its code is redeemed.
struct PendingCode {
    client_id: String,
    redirect_uri: String,
    /// The S256 PKCE challenge.
    challenge: String,
}

impl OAuthState {
    fn issue(&mut self) -> serde_json::Value {
        self.issued += 1;
        let access = format!("demo-access-{:06}", self.issued);
        let refresh = format!("demo-refresh-{:06}", self.issued);
        self.access
            .insert(access.clone(), Instant::now() + ACCESS_TOKEN_LIFETIME);
        self.refresh.push(refresh.clone());
        json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_LIFETIME.as_secs(),
            "refresh_token": refresh,
        })
    }

    pub fn is_valid(&self, token: &str) -> bool {
        self.access
            .get(token)
            .is_some_and(|expiry| Instant::now() < *expiry)
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

fn client_ok(form: &HashMap<String, String>, headers: &HeaderMap) -> bool {
    let in_form = form.get("client_id").map(String::as_str) == Some(credentials::CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(credentials::CLIENT_SECRET);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::CLIENT_ID,
        credentials::CLIENT_SECRET
    ));
    let in_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        == Some(basic.as_str());
    in_form || in_header
}

pub async fn token(
    State(state): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut oauth = state.oauth.lock().unwrap_or_else(|e| e.into_inner());
    match form.get("grant_type").map(String::as_str) {
        Some("client_credentials") if client_ok(&form, &headers) => {
            Json(oauth.issue()).into_response()
        }
        Some("client_credentials") => oauth_error(StatusCode::UNAUTHORIZED, "invalid_client"),
        Some("refresh_token") => {
            let Some(presented) = form.get("refresh_token") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            let initial =
                presented == credentials::INITIAL_REFRESH_TOKEN && !oauth.initial_refresh_used;
            let known = oauth.refresh.iter().position(|r| r == presented);
            match (initial, known) {
                (true, _) => oauth.initial_refresh_used = true,
                // Rotation: a refresh token works once.
                (false, Some(index)) => {
                    oauth.refresh.remove(index);
                }
                (false, None) => return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant"),
            }
            Json(oauth.issue()).into_response()
        }
        Some(DEVICE_GRANT) => {
            let Some(code) = form.get("device_code") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
            };
            let Some(polls) = oauth.device_polls.get_mut(code) else {
                return oauth_error(StatusCode::BAD_REQUEST, "expired_token");
            };
            *polls += 1;
            if *polls <= DEVICE_PENDING_POLLS {
                return oauth_error(StatusCode::BAD_REQUEST, "authorization_pending");
            }
            oauth.device_polls.remove(code);
            Json(oauth.issue()).into_response()
        }
        Some("authorization_code") => {
            let Some(pending) = form.get("code").and_then(|code| oauth.codes.remove(code)) else {
                // Unknown, or already redeemed: a code works once.
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            };
            let verifier = form.get("code_verifier").map_or("", String::as_str);
            let proof = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(Sha256::digest(verifier.as_bytes()));
            let matches =
                |key: &str, expected: &str| form.get(key).map(String::as_str) == Some(expected);
            if proof != pending.challenge
                || !matches("client_id", &pending.client_id)
                || !matches("redirect_uri", &pending.redirect_uri)
            {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
            }
            Json(oauth.issue()).into_response()
        }
        _ => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    }
}

/// The authorization endpoint (RFC 6749 §4.1.1 with RFC 7636): the sandbox's user
/// approves at once, and the browser is sent to `redirect_uri` with a code and the
/// request's `state`. Only S256 challenges are accepted.
pub async fn authorize(
    State(state): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let get = |key: &str| query.get(key).map(String::as_str).unwrap_or_default();
    let Ok(mut redirect) = reqwest::Url::parse(get("redirect_uri")) else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri is missing or not a URL",
        )
            .into_response();
    };
    if get("client_id") != credentials::CLIENT_ID {
        return (StatusCode::BAD_REQUEST, "unknown client_id").into_response();
    }
    let pkce = get("code_challenge_method") == "S256" && !get("code_challenge").is_empty();
    if get("response_type") != "code" || !pkce {
        redirect
            .query_pairs_mut()
            .append_pair("error", "invalid_request")
            .append_pair(
                "error_description",
                "response_type=code and an S256 code_challenge are required",
            )
            .append_pair("state", get("state"));
    } else {
        let mut oauth = state.oauth.lock().unwrap_or_else(|e| e.into_inner());
        oauth.issued += 1;
        let code = format!("demo-code-{:06}", oauth.issued);
        oauth.codes.insert(
            code.clone(),
            PendingCode {
                client_id: get("client_id").to_owned(),
                redirect_uri: get("redirect_uri").to_owned(),
                challenge: get("code_challenge").to_owned(),
            },
        );
        redirect
            .query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", get("state"));
    }
    (
        StatusCode::FOUND,
        [(header::LOCATION, redirect.to_string())],
    )
        .into_response()
}

/// RFC 8628 device authorization request.
pub async fn device(
    State(state): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("client_id").map(String::as_str) != Some(credentials::CLIENT_ID) {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let mut oauth = state.oauth.lock().unwrap_or_else(|e| e.into_inner());
    oauth.issued += 1;
    let code = format!("demo-device-{:06}", oauth.issued);
    oauth.device_polls.insert(code.clone(), 0);
    Json(json!({
        "device_code": code,
        "user_code": format!("PBAY-{:04}", oauth.issued % 10_000),
        "verification_uri": "https://sandbox.invalid/device",
        "expires_in": 300,
        "interval": 1,
    }))
    .into_response()
}

/// A resource behind OAuth: `{"data": [...]}` for a valid, unexpired access token.
pub async fn secure(State(state): State<Shared>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let valid = token.is_some_and(|t| {
        state
            .oauth
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_valid(t)
    });
    if !valid {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    let minute = state.elapsed_secs() / 60;
    let data: Vec<_> = (1..=20)
        .map(|i| json!({ "id": i, "metric": "cpu", "value": (i * 37 + minute) % 100 }))
        .collect();
    Json(json!({ "data": data })).into_response()
}

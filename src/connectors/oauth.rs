//! OAuth2 for integrations: client credentials, refresh tokens (rotated tokens are
//! written back to the vault at once), and tokens obtained by the device flow
//! (`patchbay auth NAME`).
//!
//! The token exchange goes through the engine's `HttpClient`, so token requests get
//! the same retries, rate limits, classification and metrics as every other request;
//! the protocol itself is a form POST and a JSON answer (RFC 6749 §4.4, §6; RFC 8628).

use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::Auth;
use crate::config::credential::Credential;
use crate::domain::Failure;
use crate::domain::run::ErrorClass;
use crate::runtime::context::RunContext;
use crate::runtime::tokens::Token;
use crate::secrets::Vault;

/// Refresh this long before the server's expiry, so a token never dies mid-request.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Where an integration's current access token is cached in the vault.
pub fn access_secret(integration: &str) -> String {
    format!("oauth.{integration}.access")
}

/// Where the device flow keeps an integration's refresh token.
pub fn refresh_secret(integration: &str) -> String {
    format!("oauth.{integration}.refresh")
}

/// The vault form of a cached token.
#[derive(Serialize, Deserialize)]
struct StoredToken {
    access_token: String,
    expires_at: Option<DateTime<Utc>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<u64>,
    refresh_token: Option<String>,
}

pub fn is_oauth(auth: &Auth) -> bool {
    matches!(
        auth,
        Auth::OAuth2ClientCredentials { .. }
            | Auth::OAuth2RefreshToken { .. }
            | Auth::OAuth2Device { .. }
            | Auth::OAuth2AuthorizationCode { .. }
    )
}

/// A valid access token for the integration: cached, from the vault, or fetched.
pub async fn access_token(ctx: &RunContext, auth: &Auth) -> Result<SecretString, Failure> {
    let name = &ctx.integration.name;
    let cache = &ctx.tokens();
    let now = ctx.now();
    if let Some(token) = cache.get(name).filter(|t| t.fresh(now)) {
        return Ok(token.access);
    }
    if let Some(token) = load(ctx.vault(), name).filter(|t| t.fresh(now)) {
        cache.put(name, token.clone());
        return Ok(token.access);
    }
    let token = fetch(ctx, auth).await?;
    cache.put(name, token.clone());
    save(ctx, name, &token);
    Ok(token.access)
}

fn load(vault: Option<&Vault>, name: &str) -> Option<Token> {
    let secret = vault?.get(&access_secret(name)).ok()?;
    let stored: StoredToken = serde_json::from_str(secret.expose_secret()).ok()?;
    Some(Token {
        access: SecretString::from(stored.access_token),
        expires_at: stored.expires_at,
    })
}

fn save(ctx: &RunContext, name: &str, token: &Token) {
    let Some(vault) = ctx.vault() else {
        return;
    };
    let stored = StoredToken {
        access_token: token.access.expose_secret().to_owned(),
        expires_at: token.expires_at,
    };
    let value = SecretString::from(serde_json::to_string(&stored).expect("a token serialises"));
    if let Err(error) = vault.cache(&access_secret(name), &value) {
        ctx.log(format!(
            "could not cache the access token in the vault: {error}"
        ));
    }
}

/// Asks the token endpoint for a new access token.
async fn fetch(ctx: &RunContext, auth: &Auth) -> Result<Token, Failure> {
    let name = ctx.integration.name.clone();
    let (token_url, mut form, rotation) = match auth {
        Auth::OAuth2ClientCredentials {
            token_url,
            client_id,
            client_secret,
            scopes,
        } => {
            let secret = ctx.resolve(client_secret)?;
            let mut form = vec![
                ("grant_type", "client_credentials".to_owned()),
                ("client_id", client_id.clone()),
                ("client_secret", secret.expose_secret().to_owned()),
            ];
            push_scopes(&mut form, scopes);
            (token_url, form, None)
        }
        Auth::OAuth2RefreshToken {
            token_url,
            client_id,
            client_secret,
            refresh_token,
            scopes,
        } => {
            let refresh = ctx.resolve(refresh_token)?;
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.expose_secret().to_owned()),
                ("client_id", client_id.clone()),
            ];
            if let Some(secret) = client_secret {
                form.push((
                    "client_secret",
                    ctx.resolve(secret)?.expose_secret().to_owned(),
                ));
            }
            push_scopes(&mut form, scopes);
            (token_url, form, Some(refresh_token.clone()))
        }
        // Both were authorized once by `patchbay auth NAME`, which stored the refresh
        // token; refreshing works as for `oauth2_refresh_token`.
        Auth::OAuth2Device {
            token_url,
            client_id,
            scopes,
            ..
        }
        | Auth::OAuth2AuthorizationCode {
            token_url,
            client_id,
            scopes,
            ..
        } => {
            let stored = Credential::Vault(refresh_secret(&name));
            let refresh = ctx.resolve(&stored).map_err(|_| {
                Failure::new(
                    ErrorClass::Auth,
                    format!("`{name}` has no token yet"),
                    format!("authorize it once with: patchbay auth {name}"),
                )
            })?;
            let mut form = vec![
                ("grant_type", "refresh_token".to_owned()),
                ("refresh_token", refresh.expose_secret().to_owned()),
                ("client_id", client_id.clone()),
            ];
            if let Auth::OAuth2AuthorizationCode {
                client_secret: Some(secret),
                ..
            } = auth
            {
                form.push((
                    "client_secret",
                    ctx.resolve(secret)?.expose_secret().to_owned(),
                ));
            }
            push_scopes(&mut form, scopes);
            (token_url, form, Some(stored))
        }
        _ => unreachable!("only OAuth2 auth types fetch tokens"),
    };
    let request = ctx
        .http()
        .reqwest()
        .post(token_url.url().clone())
        .form(&form)
        .build()
        .map_err(|e| Failure::config(format!("token_url `{token_url}`: {e}"), "fix token_url"))?;
    form.clear();
    let fetched = ctx
        .send(request)
        .await
        .map_err(|failure| token_failure(failure, &name))?;
    let response: TokenResponse = serde_json::from_slice(&fetched.body).map_err(|e| {
        Failure::new(
            ErrorClass::Decode,
            format!("the token endpoint's answer is not an OAuth2 token response: {e}"),
            "check token_url",
        )
    })?;
    crate::redact::global().add(&SecretString::from(response.access_token.clone()));
    if let (Some(new_refresh), Some(credential)) = (&response.refresh_token, &rotation) {
        rotate(ctx, credential, new_refresh)?;
    }
    ctx.log("obtained a new access token");
    Ok(Token {
        access: SecretString::from(response.access_token),
        expires_at: response
            .expires_in
            .map(|secs| expiry_after(ctx.now(), secs)),
    })
}

/// The longest lifetime or wait taken from a token server: a year. Servers send
/// nonsense (`"expires_in": 9223372036854775807`), and time arithmetic must not overflow.
const MAX_SERVER_SECONDS: u64 = 365 * 24 * 3600;

/// When a token that a server says lives `expires_in` seconds from `now` expires.
fn expiry_after(now: DateTime<Utc>, expires_in: u64) -> DateTime<Utc> {
    let secs = i64::try_from(expires_in.min(MAX_SERVER_SECONDS)).unwrap_or(0);
    now + chrono::Duration::seconds(secs)
}

fn push_scopes(form: &mut Vec<(&'static str, String)>, scopes: &[String]) {
    if !scopes.is_empty() {
        form.push(("scope", scopes.join(" ")));
    }
}

/// Stores a rotated refresh token at once: the old one is already spent.
fn rotate(ctx: &RunContext, credential: &Credential, new_refresh: &str) -> Result<(), Failure> {
    let value = SecretString::from(new_refresh.to_owned());
    crate::redact::global().add(&value);
    match (credential, ctx.vault()) {
        (Credential::Vault(secret), Some(vault)) => vault.cache(secret, &value).map_err(|e| {
            Failure::new(
                ErrorClass::Config,
                format!("the server rotated the refresh token, but storing it failed: {e}"),
                format!("the old token is spent; authorize again and set secret:{secret}"),
            )
        }),
        _ => {
            ctx.log("the server rotated the refresh token, but it is not read from the vault, so the new one cannot be kept; use secret:NAME");
            Ok(())
        }
    }
}

/// A token endpoint that refuses is an authentication problem, whatever its status.
fn token_failure(failure: Failure, integration: &str) -> Failure {
    match failure.class {
        ErrorClass::Client | ErrorClass::Auth => Failure::new(
            ErrorClass::Auth,
            format!(
                "the token endpoint refused the credentials ({})",
                failure.message
            ),
            format!(
                "check the client id, secret and refresh token of `{integration}`; for the device flow run: patchbay auth {integration}"
            ),
        ),
        _ => failure,
    }
}

/// What `patchbay auth NAME` shows the operator.
pub struct DeviceCode {
    pub verification_uri: String,
    pub user_code: String,
    pub device_code: String,
    pub interval: Duration,
    pub expires_in: Duration,
}

#[derive(Deserialize)]
struct DeviceResponse {
    device_code: String,
    user_code: String,
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    expires_in: u64,
    #[serde(default = "five")]
    interval: u64,
}

fn five() -> u64 {
    5
}

/// Starts the device authorization grant (RFC 8628 §3.1).
pub async fn start_device_flow(
    client: &reqwest::Client,
    auth: &Auth,
) -> Result<DeviceCode, String> {
    let Auth::OAuth2Device {
        device_authorization_url,
        client_id,
        scopes,
        ..
    } = auth
    else {
        return Err("this integration does not use `type = \"oauth2_device\"` auth".to_owned());
    };
    let mut form = vec![("client_id", client_id.clone())];
    push_scopes(&mut form, scopes);
    let response = client
        .post(device_authorization_url.url().clone())
        .form(&form)
        .send()
        .await
        .map_err(|e| format!("cannot reach {device_authorization_url}: {e}"))?;
    if !response.status().is_success() {
        return Err(format!(
            "{device_authorization_url} answered {}",
            response.status()
        ));
    }
    let device: DeviceResponse = response
        .json()
        .await
        .map_err(|e| format!("not a device authorization response: {e}"))?;
    Ok(DeviceCode {
        verification_uri: device
            .verification_uri_complete
            .unwrap_or(device.verification_uri),
        user_code: device.user_code,
        device_code: device.device_code,
        interval: Duration::from_secs(device.interval.clamp(1, 60)),
        expires_in: Duration::from_secs(device.expires_in.min(MAX_SERVER_SECONDS)),
    })
}

/// The tokens an authorization (`patchbay auth NAME`) ended with, in the form the
/// vault keeps them.
pub struct GrantedTokens {
    /// For `refresh_secret(NAME)`.
    pub refresh: SecretString,
    /// For `access_secret(NAME)`: the access token and its expiry, as JSON.
    pub access: SecretString,
}

/// Polls the token endpoint until the operator approves (RFC 8628 §3.4, §3.5).
pub async fn finish_device_flow(
    client: &reqwest::Client,
    auth: &Auth,
    code: &DeviceCode,
) -> Result<GrantedTokens, String> {
    let Auth::OAuth2Device {
        token_url,
        client_id,
        ..
    } = auth
    else {
        return Err("not a device-flow integration".to_owned());
    };
    let mut interval = code.interval;
    let deadline = tokio::time::Instant::now() + code.expires_in;
    loop {
        tokio::time::sleep(interval).await;
        if tokio::time::Instant::now() > deadline {
            return Err(
                "the code expired before it was approved; run the command again".to_owned(),
            );
        }
        let response = client
            .post(token_url.url().clone())
            .form(&[
                ("grant_type", DEVICE_GRANT),
                ("device_code", code.device_code.as_str()),
                ("client_id", client_id.as_str()),
            ])
            .send()
            .await
            .map_err(|e| format!("cannot reach {token_url}: {e}"))?;
        let ok = response.status().is_success();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("not a token response: {e}"))?;
        if ok {
            return granted(body);
        }
        match body.get("error").and_then(|e| e.as_str()) {
            Some("authorization_pending") => {}
            Some("slow_down") => interval += Duration::from_secs(5),
            Some("access_denied") => return Err("the request was denied".to_owned()),
            Some("expired_token") => {
                return Err("the code expired; run the command again".to_owned());
            }
            other => {
                return Err(format!(
                    "the token endpoint answered {}",
                    other.unwrap_or("an error")
                ));
            }
        }
    }
}

/// The tokens of a successful token response; it must carry a refresh token, or the
/// integration could not run again after the access token expires.
pub(super) fn granted(body: serde_json::Value) -> Result<GrantedTokens, String> {
    let token: TokenResponse =
        serde_json::from_value(body).map_err(|e| format!("not a token response: {e}"))?;
    let refresh = token.refresh_token.ok_or(
        "the server gave no refresh token; add the scope that grants one (often offline_access)",
    )?;
    let stored = StoredToken {
        access_token: token.access_token,
        expires_at: token.expires_in.map(|s| expiry_after(Utc::now(), s)),
    };
    Ok(GrantedTokens {
        refresh: SecretString::from(refresh),
        access: SecretString::from(serde_json::to_string(&stored).expect("a token serialises")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonsense_lifetime_from_the_token_server_is_clamped() {
        let now = Utc::now();
        assert_eq!(
            expiry_after(now, u64::MAX),
            now + chrono::Duration::days(365)
        );
        assert_eq!(expiry_after(now, 3600), now + chrono::Duration::hours(1));
    }
}

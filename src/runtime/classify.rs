//! Failure classes, and what an operator reads about them: a message that never shows
//! a credential, and a hint on what to do next.

use reqwest::StatusCode;

use crate::config::kinds::KindSettings;
use crate::config::{Auth, Integration};
use crate::domain::run::ErrorClass;
use crate::redact;

/// The class of an HTTP status that is not a success, before retries.
pub fn class_of_status(status: StatusCode, has_retry_after: bool) -> ErrorClass {
    match status.as_u16() {
        401 | 403 => ErrorClass::Auth,
        429 => ErrorClass::RateLimited,
        503 if has_retry_after => ErrorClass::RateLimited,
        500..=599 => ErrorClass::Server,
        _ => ErrorClass::Client,
    }
}

/// A URL as it may be shown or stored: no user info, and the values of query
/// parameters that carry credentials (or any known secret) masked.
pub fn display_url(url: &reqwest::Url, secret_params: &[&str]) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let masked =
                    secret_params.iter().any(|p| p.eq_ignore_ascii_case(&k)) || looks_secret(&k);
                (
                    k.into_owned(),
                    if masked {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    },
                )
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    redact::global().redact(shown.as_str()).into_owned()
}

fn looks_secret(param: &str) -> bool {
    let lower = param.to_ascii_lowercase();
    [
        "token",
        "key",
        "secret",
        "password",
        "signature",
        "sig",
        "auth",
    ]
    .iter()
    .any(|word| lower.contains(word))
}

/// What an operator can do about a run that panicked.
pub const INTERNAL_HINT: &str = "a bug in patchbay ended this run; the integration keeps its schedule. Please report it with the run log";

/// The hint for a failure of `class` in `integration`, naming the credential to fix.
pub fn hint(class: ErrorClass, integration: &Integration, host: &str) -> String {
    match class {
        ErrorClass::Auth => match (&integration.settings, credential_of(&integration.auth)) {
            (_, Some(name)) => format!(
                "the credential in secret:{name} was rejected; set a new one with: patchbay secret set {name}"
            ),
            // An output with no [integration.auth] is refused for its own credential.
            (KindSettings::Webhook(webhook), None) => match &webhook.signing_secret {
                Some(secret) => match secret.vault_name() {
                    Some(name) => format!(
                        "{host} refused the delivery: its key may not match `signing_secret` (secret:{name}); set the key it expects with: patchbay secret set {name}"
                    ),
                    None => format!("{host} refused the delivery: its key may not match `signing_secret`"),
                },
                None => format!("{host} refused the delivery: it may expect a signature (`signing_secret`) or a header (`headers`)"),
            },
            (_, None) => "the server refused the credentials; check [integration.auth]".to_owned(),
        },
        ErrorClass::RateLimited => format!(
            "{host} is limiting requests; lower `rate_limit` or raise `retry.max_delay`"
        ),
        ErrorClass::Server => format!("{host} failed on its side; it is retried automatically, check its status page if it persists"),
        ErrorClass::Network => format!("could not reach {host}: check the URL, DNS and firewall"),
        ErrorClass::Timeout => format!(
            "no complete answer from {host} within {}; raise `request_timeout` or check the endpoint",
            humantime::format_duration(integration.request_timeout)
        ),
        ErrorClass::Client => "the server rejected the request; check the URL, query and body".to_owned(),
        ErrorClass::Decode => "the response was not what this integration expects; check the endpoint and `records.path`".to_owned(),
                ErrorClass::Config => "fix connectors.toml; `patchbay check` shows every problem".to_owned(),
        ErrorClass::Check => format!("{host} did not meet the check's conditions"),
        ErrorClass::Internal => INTERNAL_HINT.to_owned(),
    }
}

/// The vault secret holding the integration's main credential, if it reads one.
fn credential_of(auth: &Auth) -> Option<&str> {
    match auth {
        Auth::None | Auth::OAuth2Device { .. } => None,
        Auth::ApiKey { key, .. } => key.vault_name(),
        Auth::Bearer { token } => token.vault_name(),
        Auth::Basic { username, password } => password.vault_name().or(username.vault_name()),
        Auth::OAuth2ClientCredentials { client_secret, .. } => client_secret.vault_name(),
        Auth::OAuth2RefreshToken { refresh_token, .. } => refresh_token.vault_name(),
        Auth::OAuth2AuthorizationCode { client_secret, .. } => {
            client_secret.as_ref().and_then(|s| s.vault_name())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_classes() {
        let class = |code: u16, retry_after| {
            class_of_status(StatusCode::from_u16(code).unwrap(), retry_after)
        };
        assert_eq!(class(401, false), ErrorClass::Auth);
        assert_eq!(class(403, false), ErrorClass::Auth);
        assert_eq!(class(429, false), ErrorClass::RateLimited);
        assert_eq!(class(503, true), ErrorClass::RateLimited);
        assert_eq!(class(503, false), ErrorClass::Server);
        assert_eq!(class(500, false), ErrorClass::Server);
        assert_eq!(class(404, false), ErrorClass::Client);
        assert_eq!(class(422, false), ErrorClass::Client);
    }

    #[test]
    fn shown_urls_hide_credentials() {
        let url =
            reqwest::Url::parse("https://user:pw@api.example.com/v1/x?page=2&api_key=abc123&k=v")
                .unwrap();
        assert_eq!(
            display_url(&url, &[]),
            "https://api.example.com/v1/x?page=2&api_key=***&k=v"
        );
        assert_eq!(
            display_url(&url, &["k"]),
            "https://api.example.com/v1/x?page=2&api_key=***&k=***"
        );
    }
}

//! The OAuth2 authorization-code grant with PKCE (RFC 6749 §4.1, RFC 7636), shaped for
//! an operator on SSH: patchbay prints the authorization URL, the operator opens it in
//! their own browser, and the provider redirects to a loopback address that nothing
//! serves on their laptop. They paste the address the browser shows (or just the code)
//! back, as rclone and gcloud do with `--no-browser`. Where the browser can reach this
//! host, [`Authorization::catch_redirect`] takes the redirect by itself.
//!
//! The state and the PKCE verifier live only in this process's memory: a pasted
//! address whose `state` is not the one sent is refused before anything is stored.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::oauth::{GrantedTokens, granted};
use crate::config::Auth;

/// The longest pasted address or code taken.
pub const MAX_PASTE: usize = 8 * 1024;
const UNRESERVED: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

/// One authorization in progress.
pub struct Authorization {
    /// Where to send the operator's browser.
    pub url: Url,
    redirect: Url,
    state: String,
    verifier: SecretString,
}

impl Authorization {
    /// A fresh state and PKCE verifier, and the URL that carries the challenge.
    pub fn start(auth: &Auth) -> Result<Self, String> {
        let Auth::OAuth2AuthorizationCode {
            authorize_url,
            client_id,
            scopes,
            redirect_uri,
            ..
        } = auth
        else {
            return Err(
                "this integration does not use `type = \"oauth2_authorization_code\"` auth"
                    .to_owned(),
            );
        };
        let state = random_text(32);
        let verifier = random_text(64);
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        let mut url = authorize_url.url().clone();
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", client_id)
                .append_pair("redirect_uri", redirect_uri.url().as_str())
                .append_pair("state", &state)
                .append_pair("code_challenge", &challenge)
                .append_pair("code_challenge_method", "S256");
            if !scopes.is_empty() {
                query.append_pair("scope", &scopes.join(" "));
            }
        }
        Ok(Self {
            url,
            redirect: redirect_uri.url().clone(),
            state,
            verifier: SecretString::from(verifier),
        })
    }

    pub fn redirect_uri(&self) -> &Url {
        &self.redirect
    }

    /// The code in what the operator pasted: the address the browser was sent to
    /// (whose `state` must be ours), its `?query` alone, or the bare code.
    pub fn code_from(&self, pasted: &str) -> Result<SecretString, String> {
        let pasted = pasted.trim();
        if pasted.is_empty() {
            return Err("nothing was pasted".to_owned());
        }
        if pasted.len() > MAX_PASTE {
            return Err(format!(
                "what was pasted is longer than {MAX_PASTE} bytes; paste only the address"
            ));
        }
        let address = pasted.starts_with(['/', '?'])
            || pasted.contains("://")
            || pasted.contains("code=")
            || pasted.contains("error=");
        if !address {
            // Codes may hold `/` or end in `=` (base64); only an address has these.
            return bare_code(pasted);
        }
        let url = self
            .redirect
            .join(pasted)
            .map_err(|e| format!("what was pasted is not an address ({e})"))?;
        let value = |name: &str| {
            url.query_pairs()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        if let Some(error) = value("error") {
            let description = value("error_description").unwrap_or_default();
            let said: String = format!("{error} {description}").chars().take(200).collect();
            return Err(format!(
                "the provider refused the authorization: {}",
                said.trim()
            ));
        }
        match value("state") {
            None => {
                return Err(
                    "the pasted address has no `state`; paste the whole address the browser was sent to"
                        .to_owned(),
                );
            }
            Some(state) if state != self.state => {
                return Err("the `state` in the pasted address is not the one this authorization sent (an old or foreign link); nothing was stored, run `patchbay auth` again".to_owned());
            }
            Some(_) => {}
        }
        value("code")
            .filter(|code| !code.is_empty())
            .map(SecretString::from)
            .ok_or_else(|| "the pasted address has no `code`".to_owned())
    }

    /// Trades the code and the PKCE verifier for tokens (RFC 6749 §4.1.3).
    pub async fn exchange(
        &self,
        client: &reqwest::Client,
        auth: &Auth,
        client_secret: Option<SecretString>,
        code: &SecretString,
    ) -> Result<GrantedTokens, String> {
        let Auth::OAuth2AuthorizationCode {
            token_url,
            client_id,
            ..
        } = auth
        else {
            return Err("not an authorization-code integration".to_owned());
        };
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.expose_secret()),
            ("redirect_uri", self.redirect.as_str()),
            ("client_id", client_id.as_str()),
            ("code_verifier", self.verifier.expose_secret()),
        ];
        if let Some(secret) = &client_secret {
            form.push(("client_secret", secret.expose_secret()));
        }
        let response = client
            .post(token_url.url().clone())
            .form(&form)
            .send()
            .await
            .map_err(|e| format!("cannot reach {token_url}: {e}"))?;
        let status = response.status();
        let body: serde_json::Value = response
            .json()
            .await
            .map_err(|e| format!("{token_url} did not answer with JSON: {e}"))?;
        if !status.is_success() {
            let error = body["error"].as_str().unwrap_or("an error");
            let error: String = error.chars().take(100).collect();
            return Err(format!(
                "the token endpoint answered {status}: {error}; nothing was stored, run `patchbay auth` again"
            ));
        }
        granted(body)
    }

    /// Serves the redirect address on this host until the provider's redirect arrives
    /// there, and returns it as if it had been pasted. Only a loopback address is
    /// served.
    pub async fn catch_redirect(&self, wait: Duration) -> Result<String, String> {
        let host = self.redirect.host_str().unwrap_or_default();
        let loopback = matches!(host, "127.0.0.1" | "localhost" | "[::1]");
        let port = self.redirect.port_or_known_default().unwrap_or(80);
        if !loopback {
            return Err(format!(
                "the redirect address {} is not on this host's loopback; paste the address instead",
                self.redirect
            ));
        }
        let listener = tokio::net::TcpListener::bind((host.trim_matches(['[', ']']), port))
            .await
            .map_err(|e| format!("cannot listen on {host}:{port} for the redirect: {e}"))?;
        let (sender, mut arrived) = tokio::sync::mpsc::channel::<String>(1);
        let path = self.redirect.path().to_owned();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let sender = sender.clone();
            let expected = uri.path() == path;
            async move {
                if !expected {
                    return (
                        axum::http::StatusCode::NOT_FOUND,
                        "not the redirect address",
                    );
                }
                let _ = sender.try_send(uri.to_string());
                (
                    axum::http::StatusCode::OK,
                    "patchbay got the answer; you can close this tab.",
                )
            }
        });
        let server = axum::serve(listener, app).with_graceful_shutdown(std::future::pending());
        tokio::select! {
            served = server => Err(format!("the redirect listener stopped: {served:?}")),
            received = arrived.recv() => received.ok_or_else(|| "the redirect listener stopped".to_owned()),
            () = tokio::time::sleep(wait) => Err(format!(
                "no redirect arrived in {}; run `patchbay auth` again",
                humantime::format_duration(wait)
            )),
        }
    }
}

/// A code pasted alone: one token of visible characters.
fn bare_code(pasted: &str) -> Result<SecretString, String> {
    if pasted.chars().all(|c| c.is_ascii_graphic()) {
        Ok(SecretString::from(pasted.to_owned()))
    } else {
        Err("what was pasted is neither an address nor a code".to_owned())
    }
}

/// `len` characters of RFC 3986's unreserved set, as PKCE verifiers must be.
fn random_text(len: usize) -> String {
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(UNRESERVED[rng.random_range(0..UNRESERVED.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SourceFile};
    use proptest::prelude::*;

    fn authorization() -> Authorization {
        let config = Config::parse(SourceFile::new(
            "c.toml",
            "[[integration]]\nname = \"a\"\nkind = \"http\"\nevery = \"1h\"\n[integration.auth]\ntype = \"oauth2_authorization_code\"\nauthorize_url = \"https://id.example/authorize\"\ntoken_url = \"https://id.example/token\"\nclient_id = \"cli\"\nscopes = [\"read\", \"offline_access\"]\n[integration.request]\nurl = \"https://api.example/x\"\n",
        ));
        assert!(config.is_valid(), "{}", config.render_problems());
        Authorization::start(&config.integrations[0].auth).unwrap()
    }

    fn query(url: &Url, name: &str) -> String {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap()
    }

    #[test]
    fn the_url_carries_an_s256_challenge_of_the_verifier_and_the_state() {
        let flow = authorization();
        let challenge = query(&flow.url, "code_challenge");
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(flow.verifier.expose_secret()));
        assert_eq!(challenge, expected);
        assert_eq!(query(&flow.url, "code_challenge_method"), "S256");
        assert_eq!(query(&flow.url, "state"), flow.state);
        assert_eq!(query(&flow.url, "scope"), "read offline_access");
        assert_eq!(
            query(&flow.url, "redirect_uri"),
            "http://127.0.0.1:8976/callback"
        );
        assert_ne!(authorization().state, flow.state, "each start is fresh");
        assert!((43..=128).contains(&flow.verifier.expose_secret().len()));
    }

    #[test]
    fn a_pasted_address_gives_its_code_only_with_our_state() {
        let flow = authorization();
        let state = flow.state.clone();
        let pasted = format!("http://127.0.0.1:8976/callback?code=abc123&state={state}");
        assert_eq!(flow.code_from(&pasted).unwrap().expose_secret(), "abc123");
        let query_only = format!("?state={state}&code=abc123");
        assert_eq!(
            flow.code_from(&query_only).unwrap().expose_secret(),
            "abc123"
        );
        assert_eq!(
            flow.code_from("  abc123\n").unwrap().expose_secret(),
            "abc123"
        );
        assert_eq!(
            flow.code_from("4/0Ab+x==").unwrap().expose_secret(),
            "4/0Ab+x=="
        );
        let foreign = flow
            .code_from("http://127.0.0.1:8976/callback?code=abc123&state=someone-elses")
            .err()
            .unwrap();
        assert!(foreign.contains("`state`"), "{foreign}");
        let stateless = flow
            .code_from("http://127.0.0.1:8976/callback?code=abc123")
            .err()
            .unwrap();
        assert!(stateless.contains("no `state`"), "{stateless}");
        let refused = flow
            .code_from(&format!(
                "/callback?error=access_denied&error_description=nope&state={state}"
            ))
            .err()
            .unwrap();
        assert!(refused.contains("access_denied nope"), "{refused}");
        assert!(flow.code_from("").is_err());
        assert!(flow.code_from("two words").is_err());
    }

    proptest! {
        #[test]
        fn anything_pasted_is_answered_without_panicking(pasted in ".{0,300}") {
            let flow = authorization();
            let _ = flow.code_from(&pasted);
        }
    }
}

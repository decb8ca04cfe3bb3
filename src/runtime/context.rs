//! What a running integration can use: HTTP with its policies, its credentials, its
//! cursor, a log that lands on the run record, and cancellation.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use secrecy::SecretString;
use tokio_util::sync::CancellationToken;
use ulid::Ulid;

use super::clock::Clock;
use super::counters::RunCounters;
use super::http::{Fetched, HttpClient, RequestPolicy};
use super::limits::RateLimiter;
use super::metrics::Metrics;
use crate::config::credential::Credential;
use crate::config::{ApiKeyLocation, Auth, Integration};
use crate::domain::Failure;
use crate::domain::trace::{RequestLog, RequestTrace};
use crate::redact;
use crate::runtime::tokens::TokenCache;
use crate::secrets::{Vault, VaultError};
use crate::store::Store;

/// Shared by every run of the engine.
pub struct Services {
    pub http: HttpClient,
    pub store: Arc<Store>,
    pub tokens: TokenCache,
    /// Where the inbound webhook listener listens, once it does.
    pub inbound_addr: std::sync::OnceLock<std::net::SocketAddr>,
    pub vault: Option<Arc<Vault>>,
    pub clock: Arc<dyn Clock>,
    pub metrics: Arc<Metrics>,
}

impl Services {
    /// Reads a credential, adding its value to the redactor.
    pub fn resolve(&self, credential: &Credential) -> Result<SecretString, Failure> {
        let value = match credential {
            Credential::Literal(value) => value.clone(),
            Credential::Env(var) => std::env::var(var).map(SecretString::from).map_err(|_| {
                Failure::config(
                    format!("environment variable {var} is not set"),
                    format!("export {var} before starting patchbay, or use secret:NAME"),
                )
            })?,
            Credential::Vault(name) => {
                let vault = self.vault.as_ref().ok_or_else(|| {
                    Failure::config(
                        format!("secret `{name}` is needed but no vault is open"),
                        "run patchbay with access to its data dir and identity",
                    )
                })?;
                vault.get(name).map_err(|error| match error {
                    VaultError::NotFound { .. } => Failure::config(
                        format!("secret `{name}` is not in the vault"),
                        format!("set it with: patchbay secret set {name}"),
                    ),
                    other => Failure::config(other.to_string(), "see `patchbay secret list`"),
                })?
            }
        };
        redact::global().add(&value);
        Ok(value)
    }
}

/// A run-log line as the run view shows it: `HH:MM:SS.mmm text`.
pub fn log_line(at: DateTime<Utc>, text: &str) -> String {
    format!("{} {text}", at.format("%H:%M:%S%.3f"))
}

/// What one run may do, and all a connector gets: send requests under its policies,
/// read its credentials and tokens, read its inbox, log, and know the time. The
/// engine's `Services` stay behind it.
pub struct RunContext {
    pub integration: Arc<Integration>,
    pub run_id: Ulid,
    pub counters: RunCounters,
    pub cancel: CancellationToken,
    services: Arc<Services>,
    pub limiter: Option<Arc<RateLimiter>>,
    /// The incremental cursor that the last successful run stored.
    pub cursor: Option<String>,
    log: Mutex<Vec<String>>,
    requests: Mutex<RequestLog>,
}

impl RunContext {
    pub fn new(
        integration: Arc<Integration>,
        run_id: Ulid,
        services: Arc<Services>,
        limiter: Option<Arc<RateLimiter>>,
        cursor: Option<String>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            integration,
            run_id,
            counters: RunCounters::default(),
            cancel,
            services,
            limiter,
            cursor,
            log: Mutex::new(Vec::new()),
            requests: Mutex::default(),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.services.clock.now()
    }

    /// The HTTP client that requests are built on; `http::send` applies the policies.
    pub fn http(&self) -> &HttpClient {
        &self.services.http
    }

    /// OAuth2 access tokens, by integration.
    pub fn tokens(&self) -> &TokenCache {
        &self.services.tokens
    }

    /// The vault, for the OAuth2 code that caches and rotates tokens in it.
    pub fn vault(&self) -> Option<&Vault> {
        self.services.vault.as_deref()
    }

    /// Up to `limit` inbound events waiting for this integration, oldest first.
    pub async fn inbox(&self, limit: usize) -> Result<Vec<(u128, Vec<u8>)>, Failure> {
        let store = Arc::clone(&self.services.store);
        let name = self.integration.name.clone();
        let failure =
            |e: String| Failure::config(format!("reading the inbox failed: {e}"), "see the logs");
        tokio::task::spawn_blocking(move || store.inbox(&name, limit))
            .await
            .map_err(|e| failure(e.to_string()))?
            .map_err(|e| failure(e.to_string()))
    }

    /// Where the inbound webhook listener listens, once it does.
    pub fn inbound_addr(&self) -> Option<std::net::SocketAddr> {
        self.services.inbound_addr.get().copied()
    }

    /// Adds a line to the run's log, without secrets. The process log has it at debug:
    /// there a run is one line when it ends (the engine writes it), so the Logs pane
    /// of a busy hub stays readable; the whole story is in the run's own log.
    pub fn log(&self, line: impl AsRef<str>) {
        let line = redact::global().redact(line.as_ref()).into_owned();
        tracing::debug!(integration = %self.integration.name, run = %self.run_id, "{line}");
        self.keep(line);
    }

    /// Like `log`, for what went wrong (a refused delivery, a failed page): a warning
    /// in the process log, so a `warn+` filter still shows it.
    pub fn warn(&self, line: impl AsRef<str>) {
        let line = redact::global().redact(line.as_ref()).into_owned();
        tracing::warn!(integration = %self.integration.name, run = %self.run_id, "{line}");
        self.keep(line);
    }

    fn keep(&self, line: String) {
        let stamped = log_line(self.now(), &line);
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(stamped);
    }

    /// Adds a request to the run's trace (bounded: the first and the last ones).
    pub fn trace_request(&self, trace: RequestTrace) {
        self.lock_requests().push(trace);
    }

    /// Says what the newest traced request led to ("retrying in 2s").
    pub fn note_request(&self, note: String) {
        self.lock_requests().note_last(note);
    }

    /// The traced requests: the first and the last of the run.
    pub fn take_requests(&self) -> Vec<RequestTrace> {
        self.lock_requests().take()
    }

    fn lock_requests(&self) -> std::sync::MutexGuard<'_, RequestLog> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut *self.log.lock().unwrap_or_else(|e| e.into_inner()))
    }

    pub fn metrics_request(&self, ok: bool, latency: Duration, rate_limited: bool) {
        self.services.metrics.record_request(
            &self.integration.name,
            self.now(),
            ok,
            latency,
            rate_limited,
        );
    }

    /// Query parameters whose values must never be shown.
    pub fn secret_query_params(&self) -> Vec<&str> {
        match &self.integration.auth {
            Auth::ApiKey {
                location: ApiKeyLocation::Query,
                name,
                ..
            } => vec![name.as_str()],
            _ => Vec::new(),
        }
    }

    pub fn resolve(&self, credential: &Credential) -> Result<SecretString, Failure> {
        self.services.resolve(credential)
    }

    pub async fn send(&self, request: reqwest::Request) -> Result<Fetched, Failure> {
        self.services
            .http
            .send(self, request, &RequestPolicy::default())
            .await
    }

    pub async fn send_with(
        &self,
        request: reqwest::Request,
        policy: &RequestPolicy<'_>,
    ) -> Result<Fetched, Failure> {
        self.services.http.send(self, request, policy).await
    }
}

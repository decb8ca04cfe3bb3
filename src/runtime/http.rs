//! Sending one logical request: rate limit, per-host concurrency, timeout, retries with
//! backoff or `Retry-After`, and classification of every failure.

use std::num::NonZeroU32;
use std::time::Duration;

use bytes::Bytes;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::{Request, StatusCode, Url};
use tokio::time::Instant;

use super::certificate;
use super::classify::{class_of_status, display_url, hint};
use super::context::RunContext;
use super::counters::RunCounters;
use super::limits::HostLimits;
use super::retry::{backoff, parse_retry_after, wait_from_seconds};
use super::trace::{TraceDraft, read_excerpt};
use crate::config::kinds::http::{Action, OnRateLimit, ResponseAction};
use crate::domain::Failure;
use crate::domain::run::ErrorClass;

pub struct HttpClient {
    client: reqwest::Client,
    hosts: HostLimits,
    max_body: usize,
}

/// How a source wants some responses treated, overriding the default classes.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestPolicy<'a> {
    pub response_actions: &'a [ResponseAction],
    pub on_rate_limit: OnRateLimit,
}

/// The TLS failure behind a request error, if that is what it was (an untrusted or
/// mismatched certificate), as rustls words it. It may sit inside an `io::Error`, whose
/// `source()` skips the error it wraps.
fn tls_problem(error: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        if let Some(tls) = current.downcast_ref::<rustls::Error>() {
            return Some(tls.to_string());
        }
        next = match current.downcast_ref::<std::io::Error>() {
            Some(io) => io
                .get_ref()
                .map(|inner| inner as &(dyn std::error::Error + 'static)),
            None => current.source(),
        };
    }
    None
}

/// Redirects followed before a request fails as a loop.
const MAX_REDIRECTS: usize = 5;

/// A successful response, read whole.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub url: Url,
}

impl Fetched {
    /// The body as JSON. UTF-8 is checked once for the whole body, which is several
    /// times cheaper than serde_json checking each string of a large page on its own.
    pub fn json(&self) -> Result<serde_json::Value, String> {
        let text = std::str::from_utf8(&self.body).map_err(|e| e.to_string())?;
        serde_json::from_str(text).map_err(|e| e.to_string())
    }
}

impl HttpClient {
    pub fn new(per_host: NonZeroU32) -> Self {
        install_tls_provider();
        let client = reqwest::Client::builder()
            .user_agent(concat!("patchbay/", env!("CARGO_PKG_VERSION")))
            // Redirects are followed by reqwest, which drops Authorization on a
            // redirect to another host.
            .redirect(reqwest::redirect::Policy::limited(MAX_REDIRECTS))
            // For the certificate's expiry, which every HTTPS run records.
            .tls_info(true)
            .build()
            .expect("the HTTP client configuration is static and valid");
        Self {
            client,
            hosts: HostLimits::new(per_host),
            max_body: crate::config::model::DEFAULT_MAX_BODY,
        }
    }

    pub fn with_max_body(mut self, max_body: usize) -> Self {
        self.max_body = max_body;
        self
    }

    pub fn reqwest(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request`, retrying what is worth retrying under the integration's policy.
    pub async fn send(
        &self,
        ctx: &RunContext,
        request: Request,
        policy: &RequestPolicy<'_>,
    ) -> Result<Fetched, Failure> {
        let retry = ctx.integration.retry;
        let host = request.url().host_str().unwrap_or("the server").to_owned();
        let shown_url = display_url(request.url(), &ctx.secret_query_params());
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some(attempt_request) = request.try_clone() else {
                return Err(Failure::config(
                    "the request body cannot be resent",
                    "use a buffered body",
                ));
            };
            let mut draft = TraceDraft::new(&attempt_request, &shown_url, attempt, ctx.now());
            let started = Instant::now();
            let outcome = self
                .attempt(ctx, attempt_request, &host, &shown_url, policy, &mut draft)
                .await;
            let failed = outcome.as_ref().err().map(|(failure, _)| failure);
            ctx.trace_request(draft.finish(started.elapsed(), failed));
            let (failure, wait) = match outcome {
                Ok(fetched) => return Ok(fetched),
                Err(failed) => failed,
            };
            let stop_on_limit = failure.class == ErrorClass::RateLimited
                && policy.on_rate_limit == OnRateLimit::Stop;
            if !failure.class.is_retryable()
                || stop_on_limit
                || attempt >= retry.max_attempts.max(1)
            {
                return Err(failure);
            }
            let wait = wait.unwrap_or_else(|| backoff(&retry, attempt, &mut rand::rng()));
            let wait = wait.min(retry.max_delay.as_std());
            RunCounters::add(&ctx.counters.retries);
            let retrying = format!("retrying in {}", humantime::format_duration(round_ms(wait)));
            ctx.log(format!(
                "attempt {attempt} failed ({}): {}; {retrying}",
                failure.class, failure.message,
            ));
            ctx.note_request(retrying);
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = ctx.cancel.cancelled() => return Err(failure),
            }
        }
    }

    /// One try. On failure, also the wait the server asked for, if it asked.
    async fn attempt(
        &self,
        ctx: &RunContext,
        mut request: Request,
        host: &str,
        shown_url: &str,
        policy: &RequestPolicy<'_>,
        draft: &mut TraceDraft,
    ) -> Result<Fetched, (Failure, Option<Duration>)> {
        if let Some(limiter) = &ctx.limiter {
            let max_wait = ctx.integration.retry.max_delay.as_std();
            match limiter.acquire(ctx.now(), max_wait).await {
                Ok(true) => RunCounters::add(&ctx.counters.rate_limit_waits),
                Ok(false) => {}
                Err(resets_in) => {
                    let message = format!(
                        "the API's quota is spent (it said so in its last answer); it resets in {}",
                        humantime::format_duration(Duration::from_secs(resets_in.as_secs()))
                    );
                    RunCounters::add(&ctx.counters.rate_limit_hits);
                    return Err((
                        Failure::new(
                            ErrorClass::RateLimited,
                            message,
                            hint(ErrorClass::RateLimited, &ctx.integration, host),
                        ),
                        Some(resets_in),
                    ));
                }
            }
        }
        let _permit = self.hosts.acquire(host).await;
        *request.timeout_mut() = Some(ctx.integration.request_timeout);
        let url = request.url().clone();
        RunCounters::add(&ctx.counters.requests);
        let started = Instant::now();
        let result = self.client.execute(request).await;
        let failure = |class: ErrorClass, message: String| {
            Failure::new(class, message, hint(class, &ctx.integration, host))
        };
        let response = match result {
            Ok(response) => {
                if let Some(not_after) = certificate::of_response(&response) {
                    ctx.counters.saw_certificate(not_after);
                }
                response
            }
            Err(error) => {
                ctx.metrics_request(false, started.elapsed(), false);
                if error.is_redirect() {
                    // Not the network: the server keeps sending us elsewhere.
                    return Err((
                        Failure::new(
                            ErrorClass::Client,
                            format!(
                                "too many redirects from {shown_url} (more than {MAX_REDIRECTS}, or a loop)"
                            ),
                            format!(
                                "{host} keeps redirecting; use the URL it finally serves from, or ask its owner why it loops"
                            ),
                        ),
                        None,
                    ));
                }
                if let Some(tls) = tls_problem(&error) {
                    // Not the network either: retrying meets the same certificate.
                    return Err((
                        Failure::new(
                            ErrorClass::Client,
                            format!("TLS with {shown_url} failed: {tls}"),
                            format!(
                                "{host}'s certificate is not trusted for this name; use the name it was issued for, or have it fixed (patchbay does not skip verification)"
                            ),
                        ),
                        None,
                    ));
                }
                let class = if error.is_timeout() {
                    ErrorClass::Timeout
                } else {
                    ErrorClass::Network
                };
                let what = if error.is_timeout() {
                    "timed out"
                } else {
                    "could not connect"
                };
                return Err((failure(class, format!("{what}: {shown_url}")), None));
            }
        };
        draft.answered(response.status(), response.headers());
        let quota_spent = match ctx
            .limiter
            .as_ref()
            .and_then(|l| l.observe(response.headers(), ctx.now()))
        {
            Some(left) => {
                ctx.counters.saw_quota(left);
                left.remaining == 0
            }
            None => false,
        };
        let status = response.status();
        let action = policy
            .response_actions
            .iter()
            .find(|a| a.status == status.as_u16())
            .map(|a| a.action);
        if action == Some(Action::Ignore) {
            ctx.metrics_request(true, started.elapsed(), false);
            ctx.log(format!(
                "{} from {shown_url} ignored (response_actions)",
                status_text(status)
            ));
            return Ok(Fetched {
                status,
                headers: response.headers().clone(),
                body: Bytes::new(),
                url,
            });
        }
        if !status.is_success() {
            let header_wait = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, ctx.now()));
            let class = match action {
                Some(Action::Retry) => ErrorClass::Server,
                Some(Action::Fail) => ErrorClass::Client,
                Some(Action::RateLimited) => ErrorClass::RateLimited,
                // GitHub answers a spent quota with 403, not 429.
                None if quota_spent && matches!(status.as_u16(), 403 | 429) => {
                    ErrorClass::RateLimited
                }
                Some(Action::Ignore) | None => class_of_status(status, header_wait.is_some()),
            };
            let body = draft.error_body(read_excerpt(response).await);
            // Some APIs (Discord) say how long to wait in the body instead of a header.
            let retry_after = match header_wait {
                None if status == StatusCode::TOO_MANY_REQUESTS => body_retry_after(&body),
                wait => wait,
            };
            ctx.metrics_request(false, started.elapsed(), class == ErrorClass::RateLimited);
            if class == ErrorClass::RateLimited {
                RunCounters::add(&ctx.counters.rate_limit_hits);
            }
            return Err((
                failure(class, format!("{} from {shown_url}", status_text(status))),
                retry_after,
            ));
        }
        let headers = response.headers().clone();
        let body = match read_limited(response, self.max_body).await {
            Ok(body) => body,
            Err(BodyError::TooLarge) => {
                ctx.metrics_request(false, started.elapsed(), false);
                let message = format!(
                    "the body from {shown_url} is larger than {} bytes",
                    self.max_body
                );
                let hint = "raise `settings.max_response_bytes`, or ask for smaller pages (a page size or limit parameter)";
                return Err((Failure::new(ErrorClass::Decode, message, hint), None));
            }
            Err(BodyError::Read(error)) => {
                ctx.metrics_request(false, started.elapsed(), false);
                let class = if error.is_timeout() {
                    ErrorClass::Timeout
                } else {
                    ErrorClass::Network
                };
                return Err((
                    failure(class, format!("reading the body from {shown_url} failed")),
                    None,
                ));
            }
        };
        draft.read(body.len());
        ctx.metrics_request(true, started.elapsed(), false);
        ctx.counters
            .bytes
            .fetch_add(body.len() as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(Fetched {
            status,
            headers,
            body,
            url,
        })
    }
}

/// reqwest is built without a default TLS backend (ring instead of aws-lc halves the
/// build); rustls needs its provider installed once per process.
pub fn install_tls_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Err only means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// `{"retry_after": 0.4}` in a 429 body, in seconds.
fn body_retry_after(body: &[u8]) -> Option<Duration> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    wait_from_seconds(json.get("retry_after")?.as_f64()?)
}

enum BodyError {
    TooLarge,
    Read(reqwest::Error),
}

async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Bytes, BodyError> {
    if response
        .content_length()
        .is_some_and(|len| len as usize > limit)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(body))
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn round_ms(duration: Duration) -> Duration {
    Duration::from_millis(duration.as_millis() as u64)
}

//! Building a request's trace while it is sent: the request's headers, the answer's
//! status and headers, the start of an error body, each masked or redacted as it is
//! taken, so nothing secret reaches the trace.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use reqwest::header::HeaderMap;

use crate::domain::Failure;
use crate::domain::trace::{BODY_EXCERPT_BYTES, RequestTrace, is_credential_header};
use crate::redact;

/// What is known of one attempt so far.
pub struct TraceDraft {
    at: DateTime<Utc>,
    method: String,
    url: String,
    attempt: u32,
    request_headers: Vec<(String, String)>,
    status: Option<u16>,
    response_headers: Vec<(String, String)>,
    bytes: u64,
    body_excerpt: Option<String>,
}

impl TraceDraft {
    /// `shown_url` is the URL with query credentials already masked.
    pub fn new(
        request: &reqwest::Request,
        shown_url: &str,
        attempt: u32,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            at,
            method: request.method().to_string(),
            url: shown_url.to_owned(),
            attempt,
            request_headers: masked(request.headers()),
            status: None,
            response_headers: Vec::new(),
            bytes: 0,
            body_excerpt: None,
        }
    }

    pub fn answered(&mut self, status: reqwest::StatusCode, headers: &HeaderMap) {
        self.status = Some(status.as_u16());
        self.response_headers = masked(headers);
    }

    pub fn read(&mut self, bytes: usize) {
        self.bytes = bytes as u64;
    }

    /// Keeps the start of an error body, redacted; returns the bytes for other uses
    /// (a `retry_after` in a 429's body).
    pub fn error_body(&mut self, body: Bytes) -> Bytes {
        self.bytes = body.len() as u64;
        let text = String::from_utf8_lossy(&body);
        self.body_excerpt = Some(redact::global().redact(&text).into_owned());
        body
    }

    pub fn finish(self, elapsed: Duration, failure: Option<&Failure>) -> RequestTrace {
        RequestTrace {
            at: self.at,
            method: self.method,
            url: self.url,
            attempt: self.attempt,
            status: self.status,
            duration_ms: u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
            bytes: self.bytes,
            outcome: failure.map_or_else(
                || "ok".to_owned(),
                |f| format!("{}: {}", f.class, f.message),
            ),
            note: None,
            request_headers: self.request_headers,
            response_headers: self.response_headers,
            body_excerpt: self.body_excerpt,
        }
    }
}

/// Header names and values as shown: credentials as `***`, anything else redacted of
/// every known secret value.
fn masked(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if is_credential_header(name.as_str()) {
                "***".to_owned()
            } else {
                let text = String::from_utf8_lossy(value.as_bytes());
                redact::global().redact(&text).into_owned()
            };
            (name.as_str().to_owned(), shown)
        })
        .collect()
}

/// At most the first `BODY_EXCERPT_BYTES` of a body; the rest is never read.
pub async fn read_excerpt(response: reqwest::Response) -> Bytes {
    let mut stream = response.bytes_stream();
    let mut kept = BytesMut::new();
    while kept.len() < BODY_EXCERPT_BYTES {
        match stream.next().await {
            Some(Ok(chunk)) => {
                let room = BODY_EXCERPT_BYTES - kept.len();
                kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
            }
            Some(Err(_)) | None => break,
        }
    }
    kept.freeze()
}

//! The requests of a run, as a browser's network tab shows them: what was asked, what
//! came back, how long it took, why it was retried, and the start of an error's body.
//! It answers "what did the API actually say?" without leaving the console.
//!
//! Everything here has passed the redactor and header masking before it is built:
//! a trace is stored and shown as is.

use std::collections::VecDeque;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Requests kept from the start of a run, and from its end: a failure late in a long
/// run is at the end, how it began at the start.
pub const TRACED_AT_START: usize = 50;
pub const TRACED_AT_END: usize = 50;
/// How much of an error's body is kept.
pub const BODY_EXCERPT_BYTES: usize = 2048;
/// Requests a successful run keeps from its start and from its end: enough to see how
/// it went, without a busy source's history growing by a hundred requests a run.
pub const KEPT_OF_A_SUCCESS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestTrace {
    pub at: DateTime<Utc>,
    pub method: String,
    /// Credentials in the query masked.
    pub url: String,
    /// 1 for the first try, 2 for the first retry, ...
    pub attempt: u32,
    /// `None` when no answer came (refused, timed out).
    pub status: Option<u16>,
    pub duration_ms: u64,
    pub bytes: u64,
    /// `ok`, or what went wrong.
    pub outcome: String,
    /// What happened next: "retrying in 2s", "waited 1s for the rate limit".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Header values that carry credentials are `***`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers: Vec<(String, String)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers: Vec<(String, String)>,
    /// The first `BODY_EXCERPT_BYTES` of an error answer's body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_excerpt: Option<String>,
}

impl RequestTrace {
    pub fn failed(&self) -> bool {
        self.outcome != "ok"
    }
}

/// A run's traced requests, bounded: the first and the last ones. How many in between
/// were not kept is the run's request count less these.
#[derive(Debug, Default)]
pub struct RequestLog {
    start: Vec<RequestTrace>,
    end: VecDeque<RequestTrace>,
}

impl RequestLog {
    pub fn push(&mut self, trace: RequestTrace) {
        if self.start.len() < TRACED_AT_START {
            self.start.push(trace);
            return;
        }
        if self.end.len() == TRACED_AT_END {
            self.end.pop_front();
        }
        self.end.push_back(trace);
    }

    /// Adds a note to the newest request (the retry it led to).
    pub fn note_last(&mut self, note: String) {
        if let Some(last) = self.end.back_mut().or(self.start.last_mut()) {
            last.note = Some(note);
        }
    }

    /// The requests kept, in order.
    pub fn take(&mut self) -> Vec<RequestTrace> {
        let mut all = std::mem::take(&mut self.start);
        all.extend(std::mem::take(&mut self.end));
        all
    }
}

/// What a finished run stores of its trace: all of it when the run did not succeed,
/// else its first and last few requests.
pub fn kept(succeeded: bool, mut traces: Vec<RequestTrace>) -> Vec<RequestTrace> {
    if succeeded && traces.len() > 2 * KEPT_OF_A_SUCCESS {
        traces.drain(KEPT_OF_A_SUCCESS..traces.len() - KEPT_OF_A_SUCCESS);
    }
    traces
}

/// Whether a header's value is a credential: shown as `***` whatever it holds.
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    [
        "authorization",
        "cookie",
        "token",
        "secret",
        "key",
        "signature",
        "session",
        "password",
    ]
    .iter()
    .any(|word| name.contains(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(n: u32) -> RequestTrace {
        RequestTrace {
            at: DateTime::from_timestamp(0, 0).unwrap(),
            method: "GET".into(),
            url: format!("https://x/{n}"),
            attempt: n,
            status: Some(200),
            duration_ms: 1,
            bytes: 1,
            outcome: "ok".into(),
            note: None,
            request_headers: Vec::new(),
            response_headers: Vec::new(),
            body_excerpt: None,
        }
    }

    #[test]
    fn a_long_run_keeps_its_first_and_last_requests() {
        let mut log = RequestLog::default();
        for n in 0..500 {
            log.push(trace(n));
        }
        log.note_last("retrying in 1s".into());
        let kept = log.take();
        assert_eq!(kept.len(), TRACED_AT_START + TRACED_AT_END);
        assert_eq!(kept[0].attempt, 0);
        assert_eq!(kept[TRACED_AT_START - 1].attempt, 49);
        assert_eq!(kept[TRACED_AT_START].attempt, 450);
        assert_eq!(kept.last().unwrap().attempt, 499);
        assert_eq!(kept.last().unwrap().note.as_deref(), Some("retrying in 1s"));
    }

    #[test]
    fn a_successful_run_keeps_only_its_first_and_last_few_requests() {
        let traces: Vec<RequestTrace> = (0..30).map(trace).collect();
        let kept_ok = kept(true, traces.clone());
        let attempts: Vec<u32> = kept_ok.iter().map(|t| t.attempt).collect();
        assert_eq!(attempts, [0, 1, 2, 3, 4, 25, 26, 27, 28, 29]);
        assert_eq!(
            kept(false, traces).len(),
            30,
            "a failed run keeps everything"
        );
    }

    #[test]
    fn credential_headers_are_recognised_by_name() {
        for name in [
            "Authorization",
            "X-Api-Key",
            "Cookie",
            "Set-Cookie",
            "X-Auth-Token",
            "X-Hub-Signature-256",
        ] {
            assert!(is_credential_header(name), "{name}");
        }
        for name in [
            "Content-Type",
            "Link",
            "X-RateLimit-Remaining",
            "Retry-After",
        ] {
            assert!(!is_credential_header(name), "{name}");
        }
    }
}

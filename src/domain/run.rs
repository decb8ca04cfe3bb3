//! A run: one execution of an integration, as the store keeps it and `history` shows it.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use super::failure::Failure;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    Schedule,
    Manual,
    Startup,
    Webhook,
    Retry,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Manual => "manual",
            Self::Startup => "startup",
            Self::Webhook => "webhook",
            Self::Retry => "retry",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Success,
    /// Some outputs or pages failed while others succeeded.
    Partial,
    Failed,
    Cancelled,
    /// Not started, for example because the previous run was still going.
    Skipped,
    /// Still `running` when patchbay stopped or crashed.
    Interrupted,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "running",
            Self::Success => "success",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
            Self::Interrupted => "interrupted",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a run failed, which decides whether it is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    Auth,
    RateLimited,
    Server,
    Network,
    Timeout,
    Client,
    Decode,
    Config,
    /// A health check's conditions were not met.
    Check,
    /// A bug in patchbay: the run panicked.
    Internal,
}

impl ErrorClass {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::RateLimited => "rate_limited",
            Self::Server => "server",
            Self::Network => "network",
            Self::Timeout => "timeout",
            Self::Client => "client",
            Self::Decode => "decode",
            Self::Config => "config",
            Self::Check => "check",
            Self::Internal => "internal",
        }
    }

    /// Worth another attempt: the same request may succeed later.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RateLimited | Self::Server | Self::Network | Self::Timeout
        )
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What one output did with a run's records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub output: String,
    pub ok: bool,
    /// Records this output accepted.
    pub records: u64,
    /// HTTP requests this output sent (none for `file`).
    #[serde(default)]
    pub requests: u32,
    pub attempts: u32,
    pub error: Option<String>,
    /// Why it failed, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<ErrorClass>,
}

impl Delivery {
    /// "archive: 24 records delivered" or "hook: FAILED after 3 attempt(s): ..."
    pub fn summary(&self) -> String {
        match &self.error {
            None if self.requests == 0 => {
                format!("{}: {} records delivered", self.output, self.records)
            }
            None => format!(
                "{}: {} records delivered in {} request(s)",
                self.output, self.records, self.requests
            ),
            Some(error) => format!(
                "{}: FAILED after {} attempt(s): {error}",
                self.output, self.attempts
            ),
        }
    }
}

/// How much of an API's quota was left, as its response headers said (`quota`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaLeft {
    pub remaining: u64,
    /// The full quota, when the API says it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
}

impl QuotaLeft {
    /// The share left, in percent, when the full quota is known.
    pub fn percent(&self) -> Option<f64> {
        let limit = self.limit.filter(|limit| *limit > 0)?;
        Some((self.remaining as f64 / limit as f64 * 100.0).min(100.0))
    }
}

/// One run, with exactly the field names that `history --json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: Ulid,
    pub integration: String,
    pub trigger: Trigger,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    pub attempts: u32,
    /// Requests to the source. The outputs' are in `deliveries` and `output_requests`.
    pub requests: u32,
    /// Requests the outputs sent, all together.
    #[serde(default)]
    pub output_requests: u32,
    /// Responses that said "too many requests" (429, or a configured rate-limit status).
    #[serde(default)]
    pub rate_limit_hits: u32,
    pub bytes: u64,
    pub records_in: u64,
    pub records_new: u64,
    pub records_changed: u64,
    pub records_unchanged: u64,
    /// Records that `drop_if` / `keep_if` dropped.
    #[serde(default)]
    pub records_dropped: u64,
    /// Records every output accepted; each output's own count is in `deliveries`.
    pub records_delivered: u64,
    pub error_class: Option<ErrorClass>,
    pub error_message: Option<String>,
    pub hint: Option<String>,
    #[serde(default)]
    pub deliveries: Vec<Delivery>,
    /// The earliest expiry of the TLS certificates the run's servers presented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_expires_at: Option<DateTime<Utc>>,
    /// The API's quota after the run's last request, for APIs that report it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_left: Option<QuotaLeft>,
    /// Later scheduled runs that succeeded just like this one, folded into it rather
    /// than stored one by one (a check every 10 s would store 8,640 a day).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub repeats: u32,
    /// When the last of those repeats finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeated_until: Option<DateTime<Utc>>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl RunRecord {
    /// A run that starts now; counters at zero.
    pub fn start(integration: &str, trigger: Trigger, started_at: DateTime<Utc>) -> Self {
        Self {
            id: Ulid::from_datetime(started_at.into()),
            integration: integration.to_owned(),
            trigger,
            status: RunStatus::Running,
            started_at,
            finished_at: None,
            duration_ms: None,
            attempts: 0,
            requests: 0,
            output_requests: 0,
            rate_limit_hits: 0,
            bytes: 0,
            records_in: 0,
            records_new: 0,
            records_changed: 0,
            records_unchanged: 0,
            records_dropped: 0,
            records_delivered: 0,
            error_class: None,
            error_message: None,
            hint: None,
            deliveries: Vec::new(),
            certificate_expires_at: None,
            quota_left: None,
            repeats: 0,
            repeated_until: None,
        }
    }

    /// "2026-11-22 10:00:18.230 UTC (schedule)"
    pub fn started_summary(&self) -> String {
        format!(
            "{} ({})",
            self.started_at.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
            self.trigger.as_str()
        )
    }

    /// "3 in 1 attempt(s), 4514 bytes"
    pub fn requests_summary(&self) -> String {
        let throttled = match self.rate_limit_hits {
            0 => String::new(),
            hits => format!(", rate-limited {hits} time(s)"),
        };
        let outputs = match self.output_requests {
            0 => String::new(),
            n => format!(" + {n} to outputs"),
        };
        format!(
            "{} to the source{outputs}, {} attempt(s), {} bytes{throttled}",
            self.requests, self.attempts, self.bytes
        )
    }

    /// "120 in: 20 new, 4 changed, 90 unchanged, 6 dropped; 24 delivered to every output"
    pub fn records_summary(&self) -> String {
        let dropped = match self.records_dropped {
            0 => String::new(),
            n => format!(", {n} dropped by the pipeline"),
        };
        let delivered = match self.deliveries.len() {
            0 => "nothing delivered".to_owned(),
            1 => format!("{} delivered", self.records_delivered),
            _ => format!("{} delivered to every output", self.records_delivered),
        };
        format!(
            "{} in: {} new, {} changed, {} unchanged{dropped}; {delivered}",
            self.records_in, self.records_new, self.records_changed, self.records_unchanged
        )
    }

    /// Whether this finished run only repeats `earlier`, the integration's run before
    /// it: both scheduled successes that came to the same records and deliveries.
    /// History then counts it on `earlier` instead of keeping it whole; failures,
    /// manual runs and changes are always kept.
    pub fn repeats(&self, earlier: &RunRecord) -> bool {
        let foldable =
            |run: &RunRecord| run.status == RunStatus::Success && run.trigger == Trigger::Schedule;
        let outcome = |run: &RunRecord| {
            (
                run.records_in,
                run.records_new,
                run.records_changed,
                run.records_delivered,
                run.records_dropped,
                run.deliveries
                    .iter()
                    .map(|d| (d.output.clone(), d.ok, d.records))
                    .collect::<Vec<_>>(),
            )
        };
        self.integration == earlier.integration
            && foldable(self)
            && foldable(earlier)
            && outcome(self) == outcome(earlier)
    }

    /// Counts `later`, which [`repeats`](Self::repeats) this run, on it.
    pub fn fold(&mut self, later: &RunRecord) {
        self.repeats = self.repeats.saturating_add(1).saturating_add(later.repeats);
        self.repeated_until = later.finished_at;
    }

    /// The status as history shows it: `success ×121` for a record that stands for
    /// 121 runs (itself and its repeats).
    pub fn status_text(&self) -> String {
        match self.repeats {
            0 => self.status.to_string(),
            n => format!("{} ×{}", self.status, u64::from(n) + 1),
        }
    }

    /// Notes why the run failed: the failure's class, message and hint.
    pub fn note_failure(&mut self, failure: Failure) {
        self.error_class = Some(failure.class);
        self.error_message = Some(failure.message);
        self.hint = Some(failure.hint);
    }

    /// Sets the final status and the timing fields.
    pub fn finish(&mut self, status: RunStatus, finished_at: DateTime<Utc>) {
        self.status = status;
        self.finished_at = Some(finished_at);
        self.duration_ms = Some((finished_at - self.started_at).num_milliseconds().max(0) as u64);
    }
}

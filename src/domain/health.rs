//! An integration's health and the state that must survive a restart: operator
//! overrides, the circuit breaker, and when it last and next runs.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::run::RunStatus;

/// An integration's health, from its runs and its thresholds. `paused` and disabled
/// are shown from the state itself, on top of this.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    #[default]
    Unknown,
    Up,
    /// Failing, but not yet `failure_threshold` times in a row.
    Pending,
    /// Runs succeed only in part.
    Degraded,
    /// Failed `failure_threshold` times in a row, and not yet `success_threshold`
    /// good runs since.
    Down,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unknown => "unknown",
            Self::Up => "up",
            Self::Pending => "pending",
            Self::Degraded => "degraded",
            Self::Down => "down",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IntegrationState {
    /// The operator's enable/disable, overriding `enabled` in the config when set.
    pub enabled: Option<bool>,
    pub paused: Option<PauseReason>,
    pub consecutive_failures: u32,
    #[serde(default)]
    pub consecutive_successes: u32,
    #[serde(default)]
    pub health: Health,
    /// The last failure was an authentication failure: the credential needs fixing.
    #[serde(default)]
    pub auth_failed: bool,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_status: Option<RunStatus>,
    pub next_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// When the server's certificate expires, as the last run that saw one found it.
    #[serde(default)]
    pub certificate_expires_at: Option<DateTime<Utc>>,
    /// The API's quota as the last run that saw it found it.
    #[serde(default)]
    pub quota_left: Option<crate::domain::run::QuotaLeft>,
    /// The last failed run's error and hint, for alert notices.
    #[serde(default)]
    pub last_error: Option<String>,
    #[serde(default)]
    pub last_hint: Option<String>,
    /// When patchbay first knew this integration: the dead-man's switch counts from
    /// here until its first success.
    #[serde(default)]
    pub watched_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum PauseReason {
    Operator {
        who: String,
        at: DateTime<Utc>,
    },
    CircuitBreaker {
        failures: u32,
        at: DateTime<Utc>,
        last_error: Option<String>,
    },
}

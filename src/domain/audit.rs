//! An audit entry: an operator action, who did it, and when.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// `$USER`, plus the SSH client address when the operator came in over SSH.
    pub who: String,
    /// What was done, e.g. `secret.set`, `run.manual`, `integration.pause`.
    pub action: String,
    /// What it was done to: an integration or a secret name (never a secret value).
    pub target: Option<String>,
    pub detail: Option<String>,
}

impl AuditEntry {
    pub fn now(action: &str, target: Option<&str>) -> Self {
        Self {
            at: Utc::now(),
            who: operator(),
            action: action.to_owned(),
            target: target.map(str::to_owned),
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// Who is acting: `$USER` (or `$LOGNAME`), and where from when over SSH.
pub fn operator() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".to_owned());
    match std::env::var("SSH_CONNECTION") {
        Ok(connection) => match connection.split_whitespace().next() {
            Some(client) => format!("{user} (ssh from {client})"),
            None => user,
        },
        Err(_) => user,
    }
}

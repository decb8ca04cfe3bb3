//! What the store keeps about alerts: each firing episode with its notification
//! attempts, and silences.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

/// How urgent an alert is, as its rule says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertSeverity {
    Info,
    #[default]
    Warning,
    Critical,
}

impl AlertSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }
}

use super::audit::{AuditEntry, Operator};
use super::suggest::did_you_mean;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
        }
    }
}

/// Why a notification went out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeEvent {
    Firing,
    Repeat,
    Resolved,
}

impl NoticeEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Repeat => "repeat",
            Self::Resolved => "resolved",
        }
    }
}

/// One firing episode of one rule on one integration, from firing to resolved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub id: Ulid,
    pub rule: String,
    pub integration: String,
    pub severity: AlertSeverity,
    /// The rule's `when`, as written.
    pub condition: String,
    pub status: AlertStatus,
    pub since: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// What the signal read at the last evaluation, in words.
    pub value: String,
    pub last_error: Option<String>,
    pub hint: Option<String>,
    /// Why notices are held back right now (a silence, a maintenance window).
    pub suppressed: Option<String>,
    /// When the firing notice went out; only then is a resolved notice owed.
    pub notified_at: Option<DateTime<Utc>>,
    /// The last firing or repeat notice, which `repeat` counts from.
    pub last_notified_at: Option<DateTime<Utc>>,
    pub resolve_notified_at: Option<DateTime<Utc>>,
    /// Every delivery of a notice about this alert, oldest first (the newest kept).
    pub attempts: Vec<Attempt>,
}

/// How many delivery attempts an alert keeps.
const ATTEMPTS_KEPT: usize = 50;

impl Alert {
    /// `rule/integration`: what `patchbay alert silence` takes to silence just this.
    pub fn key(&self) -> String {
        format!("{}/{}", self.rule, self.integration)
    }

    pub fn is_firing(&self) -> bool {
        self.status == AlertStatus::Firing
    }

    /// The engine still acts on it: firing, or resolved with its resolved notice owed
    /// (the firing notice went out, the resolved one not yet).
    pub fn is_open(&self) -> bool {
        let owed = self.notified_at.is_some() && self.resolve_notified_at.is_none();
        self.is_firing() || owed
    }

    pub fn record_attempt(&mut self, attempt: Attempt) {
        self.attempts.push(attempt);
        let excess = self.attempts.len().saturating_sub(ATTEMPTS_KEPT);
        self.attempts.drain(..excess);
    }

    /// The deliveries of the newest notice about this alert, one per output.
    pub fn last_notice(&self) -> impl Iterator<Item = &Attempt> {
        let newest = self.attempts.last().map(|a| a.notice);
        self.attempts
            .iter()
            .rev()
            .take_while(move |a| Some(a.notice) == newest)
    }

    /// The last notice about this alert did not reach every output it was sent to.
    pub fn undelivered(&self) -> bool {
        self.last_notice().any(|a| !a.ok)
    }
}

/// One notice sent to one output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    /// The notification it belonged to: a grouped notice is one id for many alerts.
    pub notice: Ulid,
    pub event: NoticeEvent,
    pub output: String,
    pub ok: bool,
    pub error: Option<String>,
}

/// What a silence covers: a rule, an integration, or one rule on one integration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceTarget {
    pub rule: Option<String>,
    pub integration: Option<String>,
}

impl SilenceTarget {
    /// Reads `NAME` as `rule/integration`, a rule name or an integration name.
    pub fn resolve<'a>(
        name: &str,
        rules: impl Iterator<Item = &'a str> + Clone,
        integrations: impl Iterator<Item = &'a str> + Clone,
    ) -> Result<Self, String> {
        if let Some((rule, integration)) = name.split_once('/') {
            if !contains(rules.clone(), rule) {
                return Err(unknown("alert rule", rule, rules));
            }
            if !contains(integrations.clone(), integration) {
                return Err(unknown("integration", integration, integrations));
            }
            return Ok(Self {
                rule: Some(rule.to_owned()),
                integration: Some(integration.to_owned()),
            });
        }
        if contains(rules.clone(), name) {
            return Ok(Self {
                rule: Some(name.to_owned()),
                integration: None,
            });
        }
        if contains(integrations.clone(), name) {
            return Ok(Self {
                rule: None,
                integration: Some(name.to_owned()),
            });
        }
        Err(unknown(
            "alert rule or integration",
            name,
            rules.chain(integrations),
        ))
    }

    /// `other` is this target or narrower: `failing` contains `failing/orders`.
    pub fn contains(&self, other: &SilenceTarget) -> bool {
        let within =
            |mine: &Option<String>, theirs: &Option<String>| mine.is_none() || mine == theirs;
        within(&self.rule, &other.rule) && within(&self.integration, &other.integration)
    }

    pub fn covers(&self, rule: &str, integration: &str) -> bool {
        self.rule.as_deref().is_none_or(|r| r == rule)
            && self.integration.as_deref().is_none_or(|i| i == integration)
    }
}

fn contains<'a>(mut names: impl Iterator<Item = &'a str>, name: &str) -> bool {
    names.any(|n| n == name)
}

fn unknown<'a>(what: &str, name: &str, names: impl Iterator<Item = &'a str>) -> String {
    match did_you_mean(name, names) {
        Some(close) => format!("no {what} is called `{name}`; did you mean `{close}`?"),
        None => format!("no {what} is called `{name}`; `patchbay alerts` lists the rules"),
    }
}

impl std::fmt::Display for SilenceTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.rule, &self.integration) {
            (Some(rule), Some(integration)) => write!(f, "{rule}/{integration}"),
            (Some(rule), None) => write!(f, "{rule} (every integration)"),
            (None, Some(integration)) => write!(f, "{integration} (every rule)"),
            (None, None) => f.write_str("everything"),
        }
    }
}

/// Notices of matching alerts are held until `until`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub id: Ulid,
    pub target: SilenceTarget,
    pub until: DateTime<Utc>,
    pub reason: String,
    pub who: String,
    pub created_at: DateTime<Utc>,
}

impl Silence {
    /// A silence from now for `duration`, by `who`.
    pub fn new(
        target: SilenceTarget,
        duration: std::time::Duration,
        reason: &str,
        who: &Operator,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: Ulid::from_datetime(now.into()),
            target,
            until: chrono::Duration::from_std(duration)
                .ok()
                .and_then(|d| now.checked_add_signed(d))
                .unwrap_or(DateTime::<Utc>::MAX_UTC),
            reason: reason.to_owned(),
            who: who.to_string(),
            created_at: now,
        }
    }

    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.until > now
    }

    /// What the audit log keeps of this silence being set: who, on what, how long, why.
    pub fn audit_entry(&self) -> AuditEntry {
        let length = (self.until - self.created_at).to_std().unwrap_or_default();
        let detail = format!(
            "for {}: {}",
            humantime::format_duration(length),
            self.reason
        );
        AuditEntry {
            who: self.who.clone(),
            ..AuditEntry::now("alert.silence", Some(&self.target.to_string()))
        }
        .with_detail(detail)
    }
}

/// The silences in force on `target` or narrower ones, ended at `now`: what to store
/// when an operator unsilences `target`.
pub fn ended_silences<'a>(
    silences: impl IntoIterator<Item = &'a Silence>,
    target: &SilenceTarget,
    now: DateTime<Utc>,
) -> Vec<Silence> {
    silences
        .into_iter()
        .filter(|s| s.is_active(now) && target.contains(&s.target))
        .map(|s| Silence {
            until: now,
            ..s.clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_silence_target_is_a_pair_a_rule_or_an_integration() {
        let rules = ["failing", "slow"];
        let integrations = ["orders", "users"];
        let resolve =
            |name| SilenceTarget::resolve(name, rules.into_iter(), integrations.into_iter());
        let pair = resolve("failing/orders").unwrap();
        assert!(pair.covers("failing", "orders") && !pair.covers("failing", "users"));
        let rule = resolve("slow").unwrap();
        assert!(rule.covers("slow", "users") && !rule.covers("failing", "users"));
        let integration = resolve("users").unwrap();
        assert!(integration.covers("slow", "users") && integration.covers("failing", "users"));
        assert!(rule.contains(&rule) && !rule.contains(&pair));
        assert!(resolve("failing").unwrap().contains(&pair) && !pair.contains(&rule));
        let error = resolve("failng").unwrap_err();
        assert!(error.contains("did you mean `failing`"), "{error}");
        assert!(
            resolve("failing/nobody")
                .unwrap_err()
                .contains("integration")
        );
    }
}

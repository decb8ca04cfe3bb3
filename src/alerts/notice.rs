//! A notification: one rule, one event, every alert grouped into it. Chat outputs post
//! its text; webhook and file outputs receive it as one JSON record.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::json;
use ulid::Ulid;

use crate::domain::AlertSeverity;
use crate::domain::{Alert, NoticeEvent};

#[derive(Debug, Clone)]
pub struct Notice {
    pub id: Ulid,
    pub rule: String,
    pub severity: AlertSeverity,
    pub event: NoticeEvent,
    pub condition: String,
    /// The alerts as they were when the notice was made.
    pub alerts: Vec<Alert>,
    /// The outputs it goes to.
    pub notify: Vec<String>,
    pub at: DateTime<Utc>,
}

impl Notice {
    /// The default message: what, where, since when, the last error and hint, and how
    /// to silence it.
    pub fn text(&self) -> String {
        let mut text = String::new();
        let label = match self.event {
            NoticeEvent::Firing => "FIRING",
            NoticeEvent::Repeat => "STILL FIRING",
            NoticeEvent::Resolved => "RESOLVED",
        };
        let where_ = match self.alerts.as_slice() {
            [one] => one.integration.clone(),
            many => format!("{} integrations", many.len()),
        };
        let _ = writeln!(
            text,
            "[{label}] {} ({}) on {where_}: {}",
            self.rule,
            self.severity.as_str(),
            self.condition
        );
        for alert in &self.alerts {
            let _ = write!(text, "- {}: {}", alert.integration, alert.value);
            match alert.resolved_at {
                Some(resolved) => {
                    let _ = write!(
                        text,
                        ", resolved at {} after {}",
                        clock(resolved),
                        super::reading::span((resolved - alert.since).to_std().unwrap_or_default())
                    );
                }
                None => {
                    let _ = write!(text, ", since {}", clock(alert.since));
                }
            }
            text.push('\n');
            if self.event != NoticeEvent::Resolved {
                if let Some(error) = &alert.last_error {
                    let _ = writeln!(text, "  last error: {error}");
                }
                if let Some(hint) = &alert.hint {
                    let _ = writeln!(text, "  hint: {hint}");
                }
            }
        }
        if self.event != NoticeEvent::Resolved {
            let target = match self.alerts.as_slice() {
                [one] => one.key(),
                _ => self.rule.clone(),
            };
            let _ = write!(
                text,
                "Silence: patchbay alert silence {target} --for 2h --reason \"...\" (or `S` in the console's Alerts pane)"
            );
        }
        text.trim_end().to_owned()
    }

    /// The notice as one record, for webhook and file outputs.
    pub fn to_json(&self) -> serde_json::Value {
        let alerts: Vec<_> = self
            .alerts
            .iter()
            .map(|a| {
                json!({
                    "id": a.id.to_string(),
                    "integration": a.integration,
                    "status": a.status.as_str(),
                    "since": a.since,
                    "resolved_at": a.resolved_at,
                    "value": a.value,
                    "last_error": a.last_error,
                    "hint": a.hint,
                })
            })
            .collect();
        json!({
            "type": "alert",
            "notice": self.id.to_string(),
            "event": self.event.as_str(),
            "rule": self.rule,
            "severity": self.severity.as_str(),
            "condition": self.condition,
            "at": self.at,
            "alerts": alerts,
            "text": self.text(),
        })
    }
}

fn clock(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

//! `patchbay status`: a one-screen summary of a running service, and the exit code that
//! cron, motd scripts and Nagios-style checks read (0 all up, 1 something down or an
//! alert firing; 2, no service answering, is the CLI's).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{Alert, Health};
use crate::engine::{AlertsView, EngineSnapshot, LagStats};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Summary {
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub version: String,
    pub integrations: usize,
    /// Integrations per state: up, pending, degraded, down, unknown, paused, disabled.
    pub states: BTreeMap<String, usize>,
    pub firing: Vec<FiringAlert>,
    /// Down, pending and degraded integrations, with their last error.
    pub failing: Vec<Failing>,
    pub lag: LagStats,
    pub store_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FiringAlert {
    pub alert: String,
    pub severity: String,
    pub since: DateTime<Utc>,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failing {
    pub integration: String,
    pub state: String,
    pub last_error: Option<String>,
    pub hint: Option<String>,
}

/// The process a summary describes.
pub struct Service {
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub store_bytes: u64,
}

impl Summary {
    pub fn new(service: Service, snapshot: &EngineSnapshot, alerts: &AlertsView) -> Self {
        let mut states: BTreeMap<String, usize> = BTreeMap::new();
        let mut failing = Vec::new();
        for view in &snapshot.integrations {
            let state = view.state_word();
            *states.entry(state.to_owned()).or_default() += 1;
            let troubled = matches!(
                view.state.health,
                Health::Down | Health::Pending | Health::Degraded
            );
            if troubled && view.enabled && view.paused.is_none() {
                failing.push(Failing {
                    integration: view.name.clone(),
                    state: state.to_owned(),
                    last_error: view.state.last_error.clone(),
                    hint: view.state.last_hint.clone(),
                });
            }
        }
        failing.sort_by_key(|f| (f.state != "down", f.integration.clone()));
        Self {
            pid: service.pid,
            started_at: service.started_at,
            version: env!("CARGO_PKG_VERSION").to_owned(),
            integrations: snapshot.integrations.len(),
            states,
            firing: alerts.firing.iter().map(firing).collect(),
            failing,
            lag: snapshot.status.lag,
            store_bytes: service.store_bytes,
        }
    }

    /// 1 when an integration is down or an alert fires, else 0.
    pub fn exit_code(&self) -> u8 {
        let down = self.states.get("down").copied().unwrap_or(0);
        u8::from(down > 0 || !self.firing.is_empty())
    }

    /// The summary as an operator reads it at a prompt.
    pub fn render(&self, now: DateTime<Utc>) -> String {
        let mut out = String::new();
        let verdict = if self.exit_code() == 0 {
            "OK"
        } else {
            "PROBLEM"
        };
        let up = crate::domain::stats::long_span((now - self.started_at).num_seconds());
        let _ = writeln!(
            out,
            "patchbay {verdict}: service pid {} up {up}, {} integrations",
            self.pid, self.integrations
        );
        let states: Vec<String> = self
            .states
            .iter()
            .map(|(state, count)| format!("{count} {state}"))
            .collect();
        let _ = writeln!(out, "  states     {}", states.join(", "));
        let _ = writeln!(
            out,
            "  scheduler  lag p99 {} ms in the last minute, {} ms since start ({} fires)",
            self.lag.recent_p99_us / 1000,
            self.lag.p99_us / 1000,
            self.lag.fires
        );
        let _ = writeln!(
            out,
            "  store      {:.1} MB",
            self.store_bytes as f64 / 1_000_000.0
        );
        if self.firing.is_empty() {
            let _ = writeln!(out, "  alerts     none firing");
        } else {
            let _ = writeln!(out, "  alerts     {} firing:", self.firing.len());
            for alert in &self.firing {
                let _ = writeln!(
                    out,
                    "    {} {} since {} ({})",
                    alert.severity,
                    alert.alert,
                    alert.since.format("%Y-%m-%d %H:%M UTC"),
                    alert.value
                );
            }
        }
        for failing in &self.failing {
            let _ = writeln!(
                out,
                "  {:<10} {}: {}",
                failing.state,
                failing.integration,
                failing.last_error.as_deref().unwrap_or("no error recorded")
            );
            if let Some(hint) = &failing.hint {
                let _ = writeln!(out, "             hint: {hint}");
            }
        }
        out
    }
}

fn firing(alert: &Alert) -> FiringAlert {
    FiringAlert {
        alert: alert.key(),
        severity: alert.severity.as_str().to_owned(),
        since: alert.since,
        value: alert.value.clone(),
    }
}

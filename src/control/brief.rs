//! Briefs: what a console needs of an integration that is not on its screen.
//!
//! A busy hub changes every integration every second. A console shows a few dozen of
//! them, so it asks (`Watch`) for those whole and gets the rest as briefs: enough to
//! count them by health and to sort by health, last run or next run, and nothing it
//! would parse only to throw away (errors, hints, quotas, certificates). Times go as
//! milliseconds since the epoch: parsing RFC 3339 text was a tenth of an attached
//! console's CPU.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::domain::run::RunStatus;
use crate::domain::{Health, PauseReason};
use crate::engine::{IntegrationChange, IntegrationView};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationBrief {
    pub name: String,
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<PauseReason>,
    pub health: Health,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_status: Option<RunStatus>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub last_run_at: Option<DateTime<Utc>>,
    #[serde(default, with = "chrono::serde::ts_milliseconds_option")]
    pub next_run: Option<DateTime<Utc>>,
    /// The run in progress, if any, and when it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<Ulid>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "chrono::serde::ts_milliseconds_option"
    )]
    pub running_since: Option<DateTime<Utc>>,
}

impl From<&IntegrationChange> for IntegrationBrief {
    fn from(change: &IntegrationChange) -> Self {
        Self {
            name: change.name.clone(),
            enabled: change.enabled,
            paused: change.paused.clone(),
            health: change.state.health,
            last_status: change.state.last_status,
            last_run_at: change.state.last_run_at,
            next_run: change.next_run,
            running: change.running.map(|(id, _)| id),
            running_since: change.running.map(|(_, since)| since),
        }
    }
}

/// How an integration stands as a console counts and sorts by health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Standing {
    enabled: bool,
    paused: bool,
    health: Health,
}

impl Standing {
    pub(super) fn of(change: &IntegrationChange) -> Self {
        Self {
            enabled: change.enabled,
            paused: change.paused.is_some(),
            health: change.state.health,
        }
    }
}

impl IntegrationBrief {
    /// Brings `view` up to this brief; the rest of its state waits until it is watched.
    pub fn apply_to(self, view: &mut IntegrationView) {
        view.enabled = self.enabled;
        view.paused = self.paused;
        view.state.health = self.health;
        view.state.last_status = self.last_status;
        view.state.last_run_at = self.last_run_at;
        view.next_run = self.next_run;
        view.running = self.running.zip(self.running_since);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_brief_is_a_fraction_of_the_change_and_round_trips() {
        let at = DateTime::from_timestamp_millis(1_764_000_000_123).unwrap();
        let change = IntegrationChange {
            name: "probe-00001".into(),
            cursor: None,
            enabled: true,
            paused: None,
            next_run: Some(at),
            running: Some((Ulid::nil(), at)),
            state: crate::domain::IntegrationState {
                health: Health::Up,
                last_status: Some(RunStatus::Success),
                last_run_at: Some(at),
                next_run_at: Some(at),
                last_success_at: Some(at),
                watched_since: Some(at),
                ..Default::default()
            },
            access_token: None,
        };
        let brief = IntegrationBrief::from(&change);
        let text = serde_json::to_string(&brief).unwrap();
        let whole = serde_json::to_string(&change).unwrap();
        assert!(text.len() * 2 < whole.len(), "{text}\n{whole}");
        assert_eq!(
            serde_json::from_str::<IntegrationBrief>(&text).unwrap(),
            brief
        );
        assert_eq!(brief.running.zip(brief.running_since), change.running);
    }
}

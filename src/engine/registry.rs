//! The integrations the engine runs: one slot each (its connector, limiter, lasting
//! state and cursor, and the run in progress), and applying a changed config.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use ulid::Ulid;

use super::actor::Engine;
use super::executor::Cancel;
use super::handle::{
    CommandError, EngineSnapshot, EngineStatus, IntegrationChange, IntegrationView, ReloadSummary,
};
use crate::config::{Config, Integration};
use crate::connectors::Connector;
use crate::domain::{IntegrationState, PauseReason};
use crate::runtime::limits::RateLimiter;
use crate::store::{Store, StoreError, WriteOp};

/// What a reload changes: integrations to add, to rebuild (their settings changed)
/// and to remove, by name; the rest run on undisturbed.
#[derive(Debug)]
pub(super) struct ReloadPlan<'a> {
    pub(super) added: Vec<&'a Integration>,
    pub(super) changed: Vec<&'a Integration>,
    pub(super) removed: Vec<String>,
    pub(super) unchanged: usize,
}

impl ReloadPlan<'_> {
    fn summary(&self) -> ReloadSummary {
        let names = |list: &[&Integration]| list.iter().map(|i| i.name.clone()).collect();
        ReloadSummary {
            added: names(&self.added),
            removed: self.removed.clone(),
            changed: names(&self.changed),
            unchanged: self.unchanged,
        }
    }
}

/// Compares the running integrations (name and fingerprint) with a new config's, in
/// one pass over each: 10,000 integrations cost 20,000 lookups, not 10,000².
pub(super) fn diff<'a>(running: &HashMap<&str, u64>, new: &'a [Integration]) -> ReloadPlan<'a> {
    let mut plan = ReloadPlan {
        added: Vec::new(),
        changed: Vec::new(),
        removed: Vec::new(),
        unchanged: 0,
    };
    for integration in new {
        match running.get(integration.name.as_str()) {
            None => plan.added.push(integration),
            Some(fingerprint) if *fingerprint == integration.fingerprint => plan.unchanged += 1,
            Some(_) => plan.changed.push(integration),
        }
    }
    let kept: std::collections::HashSet<&str> = new.iter().map(|i| i.name.as_str()).collect();
    plan.removed = running
        .keys()
        .filter(|name| !kept.contains(*name))
        .map(|name| (*name).to_owned())
        .collect();
    plan.removed.sort();
    plan
}

pub(super) struct Active {
    pub(super) run_id: Ulid,
    pub(super) cancel: Cancel,
    pub(super) started_at: DateTime<Utc>,
}

pub(super) struct Slot {
    pub(super) integration: Arc<Integration>,
    /// Where the integration stands in connectors.toml, for listing them in that order.
    pub(super) position: usize,
    pub(super) connector: Connector,
    pub(super) limiter: Option<Arc<RateLimiter>>,
    pub(super) state: IntegrationState,
    pub(super) cursor: Option<String>,
    pub(super) generation: u64,
    pub(super) next_due: Option<DateTime<Utc>>,
    pub(super) active: Option<Active>,
}

impl Slot {
    pub(super) fn new(
        integration: Integration,
        position: usize,
        store: &Store,
    ) -> Result<Self, StoreError> {
        let state = store.integration_state(&integration.name)?;
        let cursor = store.cursor(&integration.name)?.map(|c| c.value);
        Ok(Self {
            connector: Connector::build(&integration),
            limiter: RateLimiter::of(&integration),
            integration: Arc::new(integration),
            position,
            state,
            cursor,
            generation: 0,
            next_due: None,
            active: None,
        })
    }

    pub(super) fn enabled(&self) -> bool {
        self.state.enabled.unwrap_or(self.integration.enabled)
    }

    pub(super) fn schedulable(&self) -> bool {
        self.enabled() && self.state.paused.is_none() && self.integration.schedule.is_some()
    }

    /// Notes when patchbay first saw this integration, the first time; returns the
    /// state to store then. The dead-man's switch of an integration that never
    /// succeeded counts from here.
    pub(super) fn start_watching(&mut self, now: DateTime<Utc>) -> Option<IntegrationState> {
        if self.state.watched_since.is_some() {
            return None;
        }
        self.state.watched_since = Some(now);
        Some(self.state.clone())
    }

    /// It should be running: the circuit breaker's pause is a failure, not a decision.
    pub(super) fn expected_to_run(&self) -> bool {
        let operator_paused = matches!(self.state.paused, Some(PauseReason::Operator { .. }));
        self.enabled() && !operator_paused && self.integration.schedule.is_some()
    }
}

impl Engine {
    /// Applies a changed config file: added, removed and changed integrations take
    /// effect; unchanged ones are not disturbed. A config with errors is refused whole.
    pub(super) async fn reload(&mut self) -> Result<ReloadSummary, CommandError> {
        let path = self.config.source.path.clone();
        let mut config = Config::load(&path)
            .map_err(|e| CommandError::Failed(format!("cannot read {}: {e}", path.display())))?;
        if !config.is_valid() {
            return Err(CommandError::Failed(format!(
                "the new config has errors; the running one is kept:\n{}",
                config.render_problems()
            )));
        }
        let running: HashMap<&str, u64> = self
            .slots
            .iter()
            .map(|(name, slot)| (name.as_str(), slot.integration.fingerprint))
            .collect();
        let plan = diff(&running, &config.integrations);
        let summary = plan.summary();
        let now = self.services.clock.now();
        let mut pending_states = Vec::new();
        for integration in plan.changed {
            let slot = self.slots.get_mut(&integration.name).expect("running");
            // A run in progress finishes under the old settings; the next uses these.
            slot.connector = Connector::build(integration);
            slot.limiter = RateLimiter::of(integration);
            slot.integration = Arc::new(integration.clone());
            self.schedule(&integration.name, now);
        }
        for integration in plan.added {
            // Its position is set below, with everyone's.
            let mut slot = Slot::new(integration.clone(), 0, &self.store)
                .map_err(|e| CommandError::Failed(e.to_string()))?;
            if let Some(state) = slot.start_watching(now) {
                pending_states.push(WriteOp::State {
                    name: integration.name.clone(),
                    state,
                });
            }
            self.slots.insert(integration.name.clone(), slot);
            self.schedule(&integration.name, now);
        }
        for name in plan.removed {
            // A run in progress finishes and is recorded; nothing new starts.
            self.slots.remove(&name);
            self.services.metrics.forget(&name);
        }
        for op in pending_states {
            self.writer.write(op).await;
        }
        for (position, integration) in config.integrations.iter().enumerate() {
            if let Some(slot) = self.slots.get_mut(&integration.name) {
                slot.position = position;
            }
        }
        self.alerting
            .book
            .set_group_wait(config.settings.alert_group_wait.as_std());
        // As at start: the slots own the integrations.
        config.integrations = Vec::new();
        self.config = config;
        tracing::info!("reloaded: {summary}");
        Ok(summary)
    }

    /// What the console shows of one integration.
    fn view(&self, slot: &Slot) -> IntegrationView {
        let integration = &slot.integration;
        let live = self.change(slot);
        IntegrationView {
            name: live.name,
            kind: integration.kind.name.to_owned(),
            role: integration.kind.roles[0],
            auth: integration.auth.type_name().to_owned(),
            outputs: integration.outputs.clone(),
            secrets: integration.secrets.iter().map(|s| s.name.clone()).collect(),
            source_text: integration.source_text.clone(),
            blueprint: integration.blueprint.clone(),
            cursor: live.cursor,
            description: integration.description.clone(),
            tags: integration.tags.clone(),
            schedule: integration.schedule.as_ref().map(|s| s.describe()),
            enabled: live.enabled,
            paused: live.paused,
            next_run: live.next_run,
            running: live.running,
            state: live.state,
            access_token: live.access_token,
        }
    }

    /// The part of an integration's view that changes as it runs.
    fn change(&self, slot: &Slot) -> IntegrationChange {
        IntegrationChange {
            name: slot.integration.name.clone(),
            cursor: slot.cursor.clone(),
            enabled: slot.enabled(),
            paused: slot.state.paused.clone(),
            next_run: slot.next_due,
            running: slot.active.as_ref().map(|a| (a.run_id, a.started_at)),
            state: slot.state.clone(),
            access_token: self.services.tokens.peek(&slot.integration.name),
        }
    }

    /// How the named integrations that still exist stand now: what changed since a
    /// console's last look, without the cost of whole views.
    pub(super) fn changes(&self, names: &[String]) -> Vec<IntegrationChange> {
        names
            .iter()
            .filter_map(|name| self.slots.get(name))
            .map(|slot| self.change(slot))
            .collect()
    }

    pub(super) fn snapshot(&self) -> EngineSnapshot {
        let mut slots: Vec<&Slot> = self.slots.values().collect();
        slots.sort_by_key(|slot| slot.position);
        let integrations: Vec<IntegrationView> =
            slots.into_iter().map(|slot| self.view(slot)).collect();
        EngineSnapshot {
            integrations,
            webhook_listen: self.services.inbound_addr.get().copied(),
            status: self.status(),
            alerts: self.alert_counts(),
        }
    }

    /// Whether the engine schedules or stops, and how late its fires are.
    pub(super) fn status(&self) -> EngineStatus {
        EngineStatus {
            scheduling: self.scheduling,
            stopping: self.stopping.is_some(),
            lag: self.lag.stats(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SourceFile;

    fn integrations(text: &str) -> Vec<Integration> {
        let config = Config::parse(SourceFile::new("c.toml", text.to_owned()));
        assert!(config.is_valid(), "{}", config.render_problems());
        config.integrations
    }

    fn http(name: &str, url: &str) -> String {
        format!(
            "[[integration]]\nname = \"{name}\"\nkind = \"http\"\nevery = \"1m\"\n[integration.request]\nurl = \"{url}\"\n"
        )
    }

    #[test]
    fn a_reload_plan_names_what_was_added_changed_and_removed() {
        let old = integrations(
            &(http("kept", "http://a/")
                + &http("edited", "http://b/")
                + &http("gone", "http://c/")),
        );
        let running: HashMap<&str, u64> = old
            .iter()
            .map(|i| (i.name.as_str(), i.fingerprint))
            .collect();
        let new = integrations(
            &(http("kept", "http://a/")
                + &http("edited", "http://b2/")
                + &http("fresh", "http://d/")),
        );
        let plan = diff(&running, &new);
        let names = |list: &[&Integration]| list.iter().map(|i| i.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&plan.added), ["fresh"]);
        assert_eq!(names(&plan.changed), ["edited"]);
        assert_eq!(plan.removed, ["gone"]);
        assert_eq!(plan.unchanged, 1);
        assert_eq!(
            plan.summary().to_string(),
            "1 added (fresh), 1 removed (gone), 1 changed (edited), 1 unchanged"
        );
    }
}

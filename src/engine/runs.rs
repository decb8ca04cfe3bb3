//! Starting a run (its plan, its slot in the concurrency limit, its task) and
//! taking in its result (state, health, metrics, events).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use ulid::Ulid;

use super::actor::{Engine, RunDone};
use super::alerting::AlertPass;
use super::executor::{self, Cancel, OutputPlan, Plan};
use super::handle::{CommandError, EngineEvent};
use super::registry::{Active, Slot};
use super::transitions::{apply_delivery, apply_run};
use crate::config::kinds::KindSettings;
use crate::connectors::Connector;
use crate::domain::run::{ErrorClass, RunStatus, Trigger};
use crate::domain::{Health, IntegrationState, did_you_mean};
use crate::store::WriteOp;

impl Engine {
    pub(super) fn lookup(&self, name: &str) -> Result<&Slot, CommandError> {
        self.slots
            .get(name)
            .ok_or_else(|| CommandError::UnknownIntegration {
                name: name.to_owned(),
                suggestion: did_you_mean(name, self.slots.keys().map(String::as_str))
                    .map(str::to_owned),
            })
    }

    pub(super) fn start_run(&mut self, name: &str, trigger: Trigger) -> Result<Ulid, CommandError> {
        if self.stopping.is_some() {
            return Err(CommandError::Stopping);
        }
        let slot = self.lookup(name)?;
        let Connector::Source(source) = &slot.connector else {
            return Err(CommandError::NotRunnable(name.to_owned()));
        };
        if slot.active.is_some() {
            return Err(CommandError::AlreadyRunning(name.to_owned()));
        }
        let outputs = slot
            .integration
            .outputs
            .iter()
            .filter_map(|output| self.output_plan(output))
            .collect();
        let now = self.services.clock.now();
        let run_id = Ulid::from_datetime(now.into());
        let plan = Plan {
            run_id,
            trigger,
            integration: Arc::clone(&slot.integration),
            source: Arc::clone(source),
            limiter: slot.limiter.clone(),
            outputs,
            cursor: slot.cursor.clone(),
        };
        let cancel = Cancel::default();
        let slot = self.slots.get_mut(name).expect("looked up above");
        slot.active = Some(Active {
            run_id,
            cancel: cancel.clone(),
            started_at: now,
        });
        let services = Arc::clone(&self.services);
        let writer = self.writer.clone();
        let done = self.done_tx.clone();
        let run_slots = Arc::clone(&self.run_slots);
        let events = self.events.clone();
        let integration = name.to_owned();
        tokio::spawn(async move {
            // Waiting for a free slot is part of the run: a cancel or a shutdown ends it
            // (the executor then records it as cancelled or interrupted).
            let token = cancel.token();
            let permit = tokio::select! {
                permit = run_slots.acquire_owned() => permit.ok(),
                () = token.cancelled() => None,
            };
            let _ = events.send(EngineEvent::RunStarted {
                integration,
                run: run_id,
                at: services.clock.now(),
            });
            let (record, cursor) = executor::execute(plan, services, writer, cancel).await;
            drop(permit);
            let _ = done.send(RunDone { record, cursor });
        });
        Ok(run_id)
    }

    pub(super) async fn finish_run(&mut self, done: RunDone) {
        let RunDone { record, cursor } = done;
        let name = record.integration.clone();
        let finished_at = record
            .finished_at
            .unwrap_or_else(|| self.services.clock.now());
        let ok = matches!(record.status, RunStatus::Success | RunStatus::Partial);
        self.services.metrics.totals.run(&record);
        if matches!(
            record.status,
            RunStatus::Success | RunStatus::Partial | RunStatus::Failed
        ) {
            self.services
                .metrics
                .record_run(&name, finished_at, ok, record.records_in);
        }
        let mut tripped = false;
        if let Some(slot) = self.slots.get_mut(&name) {
            if slot.active.as_ref().is_some_and(|a| a.run_id == record.id) {
                slot.active = None;
            }
            if let Some(cursor) = cursor {
                slot.cursor = Some(cursor.value);
            }
            let changes = apply_run(&mut slot.state, &record, &slot.integration);
            tripped = changes.tripped;
            let state = slot.state.clone();
            self.keep_state(&name, state, changes.health).await;
        }
        for delivery in record.deliveries.iter().filter(|d| d.records > 0 || !d.ok) {
            self.output_worked(
                &delivery.output,
                delivery.ok,
                delivery.error_class,
                delivery.error.as_ref(),
                finished_at,
            )
            .await;
        }
        let inbox_waiting = record.status == RunStatus::Success
            && self
                .slots
                .get(&name)
                .is_some_and(|s| matches!(s.integration.settings, KindSettings::WebhookIn(_)))
            && self
                .store
                .inbox(&name, 1)
                .is_ok_and(|events| !events.is_empty());
        if inbox_waiting {
            self.events_arrived(&name);
        }
        if tripped {
            tracing::warn!(integration = %name, "paused by the circuit breaker after repeated failures");
            self.unschedule(&name);
            let _ = self.events.send(EngineEvent::IntegrationChanged {
                integration: name.clone(),
            });
        }
        if self.alerting_on() {
            self.evaluate_alerts(AlertPass::After(&name)).await;
        }
        // The one line a run leaves in the process log.
        let took = record.duration_ms.unwrap_or(0);
        if record.status == RunStatus::Failed {
            let error = record.error_message.as_deref().unwrap_or("");
            tracing::warn!(integration = %name, run = %record.id, ms = took, %error, "run failed");
        } else {
            tracing::info!(
                integration = %name,
                run = %record.id,
                "run {} in {took} ms: {} records in, {} delivered",
                record.status,
                record.records_in,
                record.records_delivered
            );
        }
        let _ = self.events.send(EngineEvent::RunFinished(Arc::new(record)));
    }

    /// What delivering to the output integration `name` needs, if it is one.
    pub(super) fn output_plan(&self, name: &str) -> Option<OutputPlan> {
        let target = self.slots.get(name)?;
        let Connector::Output(output) = &target.connector else {
            return None;
        };
        Some(OutputPlan {
            integration: Arc::clone(&target.integration),
            output: Arc::clone(output),
            limiter: target.limiter.clone(),
        })
    }

    /// An output delivered (records or an alert notice), or failed to: its own state
    /// and health follow, persisted and announced like a source's.
    pub(super) async fn output_worked(
        &mut self,
        output: &str,
        ok: bool,
        class: Option<ErrorClass>,
        error: Option<&String>,
        at: DateTime<Utc>,
    ) {
        let Some(slot) = self.slots.get_mut(output) else {
            return;
        };
        let change = apply_delivery(&mut slot.state, ok, class, error, at, &slot.integration);
        let state = slot.state.clone();
        self.keep_state(output, state, change).await;
    }

    /// Persists an integration's state after a run or a delivery, and announces its
    /// health change, if any.
    async fn keep_state(
        &self,
        name: &str,
        state: IntegrationState,
        change: Option<(Health, Health)>,
    ) {
        self.writer
            .write(WriteOp::State {
                name: name.to_owned(),
                state,
            })
            .await;
        if let Some((from, to)) = change {
            tracing::info!(integration = %name, from = from.as_str(), to = to.as_str(), "health changed");
            let _ = self.events.send(EngineEvent::HealthChanged {
                integration: name.to_owned(),
                from,
                to,
            });
        }
    }
}

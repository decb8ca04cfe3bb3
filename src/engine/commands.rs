//! What operators ask of an integration: pause, resume, enable, disable, test; each
//! persisted, rescheduled, audited and announced.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::oneshot;
use tokio::time::Instant;
use ulid::Ulid;

use super::actor::Engine;
use super::handle::{CommandError, EngineEvent};
use crate::connectors::{Connector, TestReport};
use crate::domain::{AuditEntry, IntegrationState, PauseReason};
use crate::pipeline::preview::PreviewRecord;
use crate::runtime::context::RunContext;
use crate::store::{Cursor, WriteOp};

impl Engine {
    pub(super) async fn audit(&self, action: &str, target: Option<&str>) {
        self.writer
            .write(WriteOp::Audit(AuditEntry::by(&self.acting, action, target)))
            .await;
    }

    pub(super) async fn set_paused(
        &mut self,
        name: &str,
        paused: bool,
    ) -> Result<(), CommandError> {
        if let (Connector::Output(_), true) = (&self.lookup(name)?.connector, paused) {
            return Err(CommandError::Failed(format!(
                "`{name}` is an output and runs only when sources deliver to it; pause those sources instead"
            )));
        }
        let who = self.acting.user.clone();
        let action = if paused {
            "integration.pause"
        } else {
            "integration.resume"
        };
        self.set_operator_state(name, action, |state, at| {
            if paused {
                state.paused = Some(PauseReason::Operator { who, at });
            } else {
                state.paused = None;
                state.consecutive_failures = 0;
            }
        })
        .await
    }

    pub(super) async fn set_enabled(
        &mut self,
        name: &str,
        enabled: bool,
    ) -> Result<(), CommandError> {
        let action = if enabled {
            "integration.enable"
        } else {
            "integration.disable"
        };
        self.set_operator_state(name, action, |state, _| state.enabled = Some(enabled))
            .await
    }

    /// An operator's cursor: stored, used by the next run, audited and announced. A
    /// running run would overwrite it when it finishes, so that is refused.
    pub(super) async fn set_cursor(
        &mut self,
        name: &str,
        value: Option<String>,
    ) -> Result<(), CommandError> {
        let slot = self.lookup(name)?;
        if let Connector::Output(_) = slot.connector {
            return Err(CommandError::Failed(format!(
                "`{name}` is an output and has no cursor"
            )));
        }
        if slot.active.is_some() {
            return Err(CommandError::AlreadyRunning(name.to_owned()));
        }
        let now = self.services.clock.now();
        let cursor = value.clone().map(|value| Cursor {
            value,
            run_id: None,
            updated_at: now,
        });
        self.writer
            .write(WriteOp::Cursor {
                name: name.to_owned(),
                cursor,
            })
            .await;
        let slot = self.slots.get_mut(name).expect("looked up");
        let before = std::mem::replace(&mut slot.cursor, value.clone());
        let action = if value.is_some() {
            "cursor.set"
        } else {
            "cursor.reset"
        };
        // What it was, so a mistaken change can be undone from the audit log.
        let detail = format!(
            "{} → {}",
            before.as_deref().unwrap_or("(none)"),
            value.as_deref().unwrap_or("(none)")
        );
        let entry = AuditEntry::by(&self.acting, action, Some(name)).with_detail(detail);
        self.writer.write(WriteOp::Audit(entry)).await;
        let _ = self.events.send(EngineEvent::IntegrationChanged {
            integration: name.to_owned(),
        });
        Ok(())
    }

    /// An operator's change to an integration's lasting state: applied, persisted,
    /// rescheduled (or unscheduled), audited and announced.
    pub(super) async fn set_operator_state(
        &mut self,
        name: &str,
        action: &str,
        change: impl FnOnce(&mut IntegrationState, DateTime<Utc>),
    ) -> Result<(), CommandError> {
        self.lookup(name)?;
        let now = self.services.clock.now();
        let slot = self.slots.get_mut(name).expect("looked up");
        change(&mut slot.state, now);
        let state = slot.state.clone();
        let runs_on_schedule = slot.schedulable();
        self.writer
            .write(WriteOp::State {
                name: name.to_owned(),
                state,
            })
            .await;
        if runs_on_schedule {
            self.schedule(name, now);
        } else {
            self.unschedule(name);
        }
        self.audit(action, Some(name)).await;
        let _ = self.events.send(EngineEvent::IntegrationChanged {
            integration: name.to_owned(),
        });
        Ok(())
    }

    pub(super) async fn test(
        &mut self,
        name: &str,
        reply: oneshot::Sender<Result<TestReport, CommandError>>,
    ) {
        let slot = match self.lookup(name) {
            Ok(slot) => slot,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let connector = slot.connector.clone();
        let ctx = self.side_context(slot);
        let timeout = slot.integration.timeout;
        self.audit("integration.test", Some(name)).await;
        tokio::spawn(async move {
            let started = Instant::now();
            let result = match tokio::time::timeout(timeout, connector.test(&ctx)).await {
                Ok(result) => result,
                Err(_) => Err(crate::domain::Failure::new(
                    crate::domain::run::ErrorClass::Timeout,
                    format!("no answer within {}", humantime::format_duration(timeout)),
                    "raise `timeout` or check the endpoint",
                )),
            };
            let _ = reply.send(Ok(TestReport::from_result(result, started.elapsed())));
        });
    }

    /// The first `limit` records of a source after the pipeline, each with what would
    /// become of it; nothing is delivered or stored.
    pub(super) async fn preview(
        &mut self,
        name: &str,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<PreviewRecord>, CommandError>>,
    ) {
        let slot = match self.lookup(name) {
            Ok(slot) => slot,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let Connector::Source(source) = slot.connector.clone() else {
            let _ = reply.send(Err(CommandError::Failed(format!(
                "`{name}` is an output: it has no records of its own to show"
            ))));
            return;
        };
        let ctx = self.side_context(slot);
        let services = Arc::clone(&self.services);
        let timeout = slot.integration.timeout;
        tokio::spawn(async move {
            let sampled = tokio::time::timeout(
                timeout,
                super::preview::sample(source, &ctx, &services, limit),
            )
            .await;
            let result = match sampled {
                Ok(Ok(records)) => Ok(records),
                Ok(Err(failure)) => Err(CommandError::Failed(format!(
                    "{}: {} ({})",
                    failure.class, failure.message, failure.hint
                ))),
                Err(_) => Err(CommandError::Failed(format!(
                    "no records within {}; raise `timeout` or check the endpoint",
                    humantime::format_duration(timeout)
                ))),
            };
            let _ = reply.send(result);
        });
    }

    /// A context for work beside the runs (a test, a preview): the integration's
    /// limits and cursor, its own id, nothing stored.
    fn side_context(&self, slot: &super::registry::Slot) -> RunContext {
        RunContext::new(
            Arc::clone(&slot.integration),
            Ulid::from_datetime(self.services.clock.now().into()),
            Arc::clone(&self.services),
            slot.limiter.clone(),
            slot.cursor.clone(),
            Default::default(),
        )
    }
}

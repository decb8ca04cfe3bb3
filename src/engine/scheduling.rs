//! When each integration fires: its next time on the timer heap, catch-up after
//! downtime, and fires that find the previous run still going.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use tokio::time::Instant;

use super::actor::Engine;
use super::handle::{CommandError, EngineEvent};
use super::scheduler::Due;
use crate::config::CatchUp;
use crate::domain::run::{RunRecord, RunStatus, Trigger};
use crate::store::WriteOp;

impl Engine {
    pub(super) fn schedule_all_at_start(&mut self, now: DateTime<Utc>) {
        let names: Vec<String> = self.slots.keys().cloned().collect();
        for name in names {
            let Some(slot) = self.slots.get(&name) else {
                continue;
            };
            if !slot.schedulable() {
                continue;
            }
            let schedule = slot.integration.schedule.as_ref().expect("schedulable");
            let missed = slot
                .state
                .last_run_at
                .and_then(|last| {
                    schedule.next_after(&last.with_timezone(&slot.integration.timezone))
                })
                .is_some_and(|next| next.with_timezone(&Utc) <= now);
            if missed {
                match slot.integration.catch_up {
                    CatchUp::Once => {
                        tracing::info!(integration = %name, "a fire was missed while patchbay was down; running once now");
                        if let Err(error) = self.start_run(&name, Trigger::Startup) {
                            tracing::warn!(integration = %name, %error, "catch-up run not started");
                        }
                    }
                    CatchUp::Skip => {
                        tracing::info!(integration = %name, "fires missed while patchbay was down are skipped (catch_up = \"skip\")");
                    }
                }
            }
            self.schedule(&name, now);
        }
    }

    /// Puts the integration's next fire after `after` on the queue, replacing any
    /// earlier entry (by bumping its generation).
    pub(super) fn schedule(&mut self, name: &str, after: DateTime<Utc>) {
        self.generation += 1;
        let generation = self.generation;
        let clock = Arc::clone(&self.services.clock);
        let Some(slot) = self.slots.get_mut(name) else {
            return;
        };
        slot.generation = generation;
        slot.next_due = None;
        if !self.scheduling || !slot.schedulable() {
            return;
        }
        let schedule = slot.integration.schedule.as_ref().expect("schedulable");
        let Some(next) = schedule.next_after(&after.with_timezone(&slot.integration.timezone))
        else {
            return;
        };
        let scheduled = next.with_timezone(&Utc);
        let jitter = slot.integration.jitter.map_or(Duration::ZERO, |max| {
            Duration::from_nanos(rand::rng().random_range(0..=max.as_nanos() as u64))
        });
        let due = scheduled + chrono::Duration::from_std(jitter).unwrap_or_default();
        slot.next_due = Some(due);
        self.queue.push(
            clock.instant_at(due),
            Arc::from(name),
            generation,
            scheduled,
            due,
        );
    }

    pub(super) fn unschedule(&mut self, name: &str) {
        self.generation += 1;
        if let Some(slot) = self.slots.get_mut(name) {
            slot.generation = self.generation;
            slot.next_due = None;
        }
    }

    pub(super) fn fire_due(&mut self) {
        let now = self.services.clock.now();
        for due in self.queue.pop_due(Instant::now()) {
            self.fire(due, now);
        }
    }

    pub(super) fn fire(&mut self, due: Due, now: DateTime<Utc>) {
        let name = due.name.to_string();
        let current = self
            .slots
            .get(&name)
            .is_some_and(|slot| slot.generation == due.generation && slot.schedulable());
        if !current {
            return;
        }
        let lag = (now - due.due).num_microseconds().unwrap_or(0).max(1) as u64;
        self.lag.record(lag);
        match self.start_run(&name, Trigger::Schedule) {
            Ok(_) => {}
            Err(CommandError::AlreadyRunning(_)) => self.record_skipped(&name, now),
            Err(error) => tracing::warn!(integration = %name, %error, "scheduled run not started"),
        }
        self.schedule(&name, due.scheduled);
    }

    /// A fire that found the previous run still going: recorded, never overlapped.
    pub(super) fn record_skipped(&mut self, name: &str, now: DateTime<Utc>) {
        let Some(active) = self.slots.get(name).and_then(|s| s.active.as_ref()) else {
            return;
        };
        let mut record = RunRecord::start(name, Trigger::Schedule, now);
        record.error_message = Some(format!(
            "skipped: the previous run {} was still running",
            active.run_id
        ));
        record.finish(RunStatus::Skipped, now);
        let writer = self.writer.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            writer.write(WriteOp::run_record(record.clone())).await;
            let _ = events.send(EngineEvent::RunFinished(Arc::new(record)));
        });
    }
}

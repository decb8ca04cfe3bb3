//! The engine's side of alerting: on each tick, read every rule's signal for every
//! integration it watches, let the [`AlertBook`] decide, and deliver its notices
//! through the rules' outputs. Deliveries run in their own tasks and report back, so
//! a Slack that does not answer never holds the engine up.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use std::time::Duration;

use chrono::{DateTime, NaiveTime, Utc};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use ulid::Ulid;

use super::executor::OutputPlan;
use super::handle::{AlertCounts, AlertsView, CommandError, EngineEvent};
use super::registry::Slot;
use crate::alerts::{AlertBook, Evaluation, Facts, Notice, Observation, RECENT_KEPT, Scope, read};
use crate::config::Integration;
use crate::config::alert::{AlertRule, Signal};
use crate::domain::IntegrationState;
use crate::domain::stats::Stats;
use crate::domain::{Attempt, Silence, SilenceTarget, ended_silences};
use crate::runtime::context::{RunContext, Services};
use crate::store::WriteOp;
use crate::store::{Store, StoreError};
use tokio::time::Instant;

/// An integration as the rules see it.
pub(super) struct Watched<'a> {
    pub integration: &'a Integration,
    pub state: &'a IntegrationState,
    pub expected_to_run: bool,
}

/// How one notice fared at one output.
pub(super) struct Delivered {
    pub alerts: Vec<Ulid>,
    pub attempt: Attempt,
}

pub(super) struct Alerting {
    pub book: AlertBook,
    delivered: mpsc::UnboundedSender<Delivered>,
}

impl Alerting {
    /// The book as the store left it.
    pub fn restore(
        store: &Store,
        group_wait: std::time::Duration,
        now: DateTime<Utc>,
    ) -> Result<(Self, mpsc::UnboundedReceiver<Delivered>), StoreError> {
        let (open, recent) = store.alerts_to_restore(RECENT_KEPT)?;
        let silences: Vec<Silence> = store
            .silences()?
            .into_iter()
            .filter(|s| s.is_active(now))
            .collect();
        let (delivered, results) = mpsc::unbounded_channel();
        let book = AlertBook::restore(group_wait, open, recent, silences, now);
        Ok((Self { book, delivered }, results))
    }

    /// Reads every rule for every integration it watches and updates the book.
    pub fn evaluate<'a>(
        &mut self,
        now: DateTime<Utc>,
        rules: &[AlertRule],
        watched: impl Iterator<Item = Watched<'a>>,
        scope: Scope,
        services: &Services,
    ) -> Evaluation {
        // Expiry dates do not change with runs: read on full passes only (a pass
        // without them leaves such alerts as they are).
        let wants_expiries = rules
            .iter()
            .any(|r| r.when.signal == Signal::SecretExpiresIn);
        let secret_expiries = if wants_expiries && scope == Scope::All {
            secret_expiries(&services.store)
        } else {
            HashMap::new()
        };
        let latency = rules
            .iter()
            .any(|r| matches!(r.when.signal, Signal::Latency { .. }));
        let mut observations = Vec::new();
        for item in watched {
            let integration = item.integration;
            let name = integration.name.as_str();
            // Rules over the same window read it once.
            let read_windows: RefCell<Vec<(Duration, Stats)>> = RefCell::default();
            let stats = |window| {
                let known = read_windows
                    .borrow()
                    .iter()
                    .find(|(w, _)| *w == window)
                    .cloned();
                known.map(|(_, stats)| stats).unwrap_or_else(|| {
                    let stats = services.metrics.stats_over(name, window, now, latency);
                    read_windows.borrow_mut().push((window, stats.clone()));
                    stats
                })
            };
            let first_secret_expiry = integration
                .secrets
                .iter()
                .filter_map(|s| Some((s.name.as_str(), *secret_expiries.get(&s.name)?)))
                .min_by_key(|(_, at)| *at);
            let facts = Facts {
                now,
                state: item.state,
                expected_to_run: item.expected_to_run,
                stats: &stats,
                first_secret_expiry,
            };
            let maintenance_until = || {
                integration.maintenance.as_ref().and_then(|m| {
                    m.window_end(&now.with_timezone(&integration.timezone))
                        .map(|end| end.with_timezone(&Utc))
                })
            };
            for rule in rules.iter().filter(|r| r.watches(name)) {
                let reading = read(&rule.when, &facts);
                // Most pairs are fine and not firing: nothing to tell the book.
                let breached = reading.as_ref().is_some_and(|r| r.breached);
                if !breached && !self.book.is_firing(&rule.name, name) {
                    continue;
                }
                observations.push(Observation {
                    rule,
                    integration: name,
                    reading,
                    maintenance_until: maintenance_until(),
                    last_error: item.state.last_error.as_deref(),
                    hint: item.state.last_hint.as_deref(),
                });
            }
        }
        self.book.evaluate(now, rules, observations, scope)
    }

    /// Ends the silences on `target` and within it now; returns them, ended, to store.
    pub fn unsilence(&mut self, target: &SilenceTarget, now: DateTime<Utc>) -> Vec<Silence> {
        let ended = ended_silences(self.book.silences(now), target, now);
        for silence in &ended {
            self.book.silence(silence.clone());
        }
        ended
    }

    /// Sends `notice` to one output in its own task; the outcome comes back as
    /// [`Delivered`].
    pub fn deliver(
        &self,
        notice: Arc<Notice>,
        output: Option<OutputPlan>,
        name: &str,
        services: &Arc<Services>,
    ) {
        let alerts: Vec<Ulid> = notice.alerts.iter().map(|a| a.id).collect();
        let Some(plan) = output else {
            // The config changed under the rule; say so on the alert instead of failing quietly.
            let error = format!("`{name}` is no longer an output in the config");
            let attempt = attempt(&notice, name, services.clock.now(), Some(error));
            let _ = self.delivered.send(Delivered { alerts, attempt });
            return;
        };
        let services = Arc::clone(services);
        let delivered = self.delivered.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            let ctx = RunContext::new(
                Arc::clone(&plan.integration),
                Ulid::from_datetime(services.clock.now().into()),
                Arc::clone(&services),
                plan.limiter.clone(),
                None,
                CancellationToken::new(),
            );
            let result =
                tokio::time::timeout(plan.integration.timeout, plan.output.notify(&ctx, &notice))
                    .await;
            let error = match result {
                Ok(Ok(())) => None,
                Ok(Err(failure)) => Some(failure.message),
                Err(_) => Some(format!(
                    "no answer within {}",
                    humantime::format_duration(plan.integration.timeout)
                )),
            };
            match &error {
                Some(error) => {
                    tracing::warn!(output = %name, rule = %notice.rule, %error, "alert notice not delivered")
                }
                None => {
                    tracing::info!(output = %name, rule = %notice.rule, event = notice.event.as_str(), "alert notice delivered")
                }
            }
            let attempt = attempt(&notice, &name, services.clock.now(), error);
            let _ = delivered.send(Delivered { alerts, attempt });
        });
    }
}

fn attempt(notice: &Notice, output: &str, at: DateTime<Utc>, error: Option<String>) -> Attempt {
    Attempt {
        at,
        notice: notice.id,
        event: notice.event,
        output: output.to_owned(),
        ok: error.is_none(),
        error,
    }
}

/// When each vault secret expires: the start of its expiry day, UTC.
fn secret_expiries(store: &Store) -> HashMap<String, DateTime<Utc>> {
    match store.secret_metas() {
        Ok(metas) => metas
            .into_iter()
            .filter_map(|(name, meta)| {
                let day = meta.expires_at?;
                Some((name, day.and_time(NaiveTime::MIN).and_utc()))
            })
            .collect(),
        Err(error) => {
            tracing::warn!(%error, "cannot read secret expiry dates; secret_expires_in rules wait");
            HashMap::new()
        }
    }
}

/// What an alert evaluation reads.
#[derive(Clone, Copy)]
pub(super) enum AlertPass<'a> {
    /// Every rule for every integration: on the tick, at start, after a silence.
    Full,
    /// One integration's rules, after its run.
    After(&'a str),
    /// No readings: only grouped notices that fell due.
    DueNotices,
}

impl super::actor::Engine {
    /// Evaluates the alert rules (for every integration, one, or none when only
    /// grouped notices fell due), stores what changed and delivers the notices due.
    pub(super) async fn evaluate_alerts(&mut self, pass: AlertPass<'_>) {
        if self.config.alerts.is_empty() && self.alerting.book.is_idle() {
            return;
        }
        let now = self.services.clock.now();
        let slots: Box<dyn Iterator<Item = &Slot>> = match pass {
            AlertPass::Full => Box::new(self.slots.values()),
            AlertPass::After(name) => Box::new(self.slots.get(name).into_iter()),
            AlertPass::DueNotices => Box::new(std::iter::empty()),
        };
        let watched = slots.map(|slot| Watched {
            integration: &slot.integration,
            state: &slot.state,
            expected_to_run: slot.expected_to_run(),
        });
        let scope = match pass {
            AlertPass::Full => Scope::All,
            AlertPass::After(_) | AlertPass::DueNotices => Scope::Some,
        };
        let evaluation =
            self.alerting
                .evaluate(now, &self.config.alerts, watched, scope, &self.services);
        let changed = !evaluation.changed.is_empty();
        for alert in evaluation.changed {
            self.writer.write(WriteOp::Alert(Box::new(alert))).await;
        }
        for notice in evaluation.notices {
            tracing::info!(rule = %notice.rule, event = notice.event.as_str(), alerts = notice.alerts.len(), "alert notice");
            let notice = Arc::new(notice);
            for output in &notice.notify {
                let plan = self.output_plan(output);
                self.alerting
                    .deliver(Arc::clone(&notice), plan, output, &self.services);
            }
        }
        if changed {
            let _ = self
                .events
                .send(EngineEvent::AlertsChanged(self.alert_counts()));
        }
    }

    pub(super) async fn delivered(&mut self, delivered: Delivered) {
        let attempt = &delivered.attempt;
        self.output_worked(
            &attempt.output,
            attempt.ok,
            None,
            attempt.error.as_ref(),
            attempt.at,
        )
        .await;
        let changed = self
            .alerting
            .book
            .record_delivery(&delivered.alerts, &delivered.attempt);
        for alert in changed {
            self.writer.write(WriteOp::Alert(Box::new(alert))).await;
        }
        let _ = self
            .events
            .send(EngineEvent::AlertsChanged(self.alert_counts()));
    }

    /// Alerts are the scheduler's business: one-shot commands (`run`, `test`) and a
    /// stopping engine notify no one.
    pub(super) fn alerting_on(&self) -> bool {
        self.scheduling && self.stopping.is_none()
    }

    /// When the next grouped notice is due, as a tokio instant.
    pub(super) fn alerts_due(&self) -> Option<Instant> {
        let due = self
            .alerting
            .book
            .next_due()
            .filter(|_| self.alerting_on())?;
        // A millisecond late, so that the clock has surely reached `due` on waking.
        Some(self.services.clock.instant_at(due) + Duration::from_millis(1))
    }

    pub(super) fn alert_counts(&self) -> AlertCounts {
        let firing = self.alerting.book.firing();
        AlertCounts {
            firing: firing.len(),
            undelivered: firing
                .iter()
                .copied()
                .chain(self.alerting.book.recent())
                .filter(|a| a.undelivered())
                .count(),
        }
    }

    pub(super) fn alerts_view(&self) -> AlertsView {
        let now = self.services.clock.now();
        let book = &self.alerting.book;
        AlertsView {
            firing: book.firing().into_iter().cloned().collect(),
            recent: book.recent().cloned().collect(),
            silences: book.silences(now).cloned().collect(),
        }
    }

    pub(super) fn silence_target(&self, target: &str) -> Result<SilenceTarget, CommandError> {
        SilenceTarget::resolve(
            target,
            self.config.alerts.iter().map(|r| r.name.as_str()),
            self.slots.keys().map(String::as_str),
        )
        .map_err(CommandError::Failed)
    }

    pub(super) async fn silence(
        &mut self,
        target: &str,
        duration: Duration,
        reason: &str,
    ) -> Result<Silence, CommandError> {
        let target = self.silence_target(target)?;
        let now = self.services.clock.now();
        let silence = Silence::new(target, duration, reason, &self.acting, now);
        self.alerting.book.silence(silence.clone());
        self.writer.write(WriteOp::Silence(silence.clone())).await;
        self.writer
            .write(WriteOp::Audit(silence.audit_entry()))
            .await;
        // Evaluate now, so the console shows the alert silenced at once.
        self.evaluate_alerts(AlertPass::Full).await;
        Ok(silence)
    }

    pub(super) async fn unsilence(&mut self, target: &str) -> Result<usize, CommandError> {
        let target = self.silence_target(target)?;
        let now = self.services.clock.now();
        let ended = self.alerting.unsilence(&target, now);
        for silence in &ended {
            self.writer.write(WriteOp::Silence(silence.clone())).await;
        }
        if !ended.is_empty() {
            self.audit("alert.unsilence", Some(&target.to_string()))
                .await;
            self.evaluate_alerts(AlertPass::Full).await;
        }
        Ok(ended.len())
    }
}

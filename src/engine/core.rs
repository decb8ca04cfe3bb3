//! The engine actor: one task owns every integration's state, the timer heap and the
//! running runs. Runs execute in their own tasks and report back here, so nothing is
//! shared behind a lock except the metrics.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hdrhistogram::Histogram;
use rand::Rng;
use tokio::sync::{Semaphore, broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use ulid::Ulid;

use super::alerting::{Alerting, Delivered, Watched};
use super::executor::{self, Cancel, CancelReason, OutputPlan, Plan};
use super::handle::{
    AlertCounts, AlertsView, Command, CommandError, EngineEvent, EngineHandle, EngineSnapshot,
    IntegrationView, LagStats, ReloadSummary,
};
use super::scheduler::{Due, DueQueue};
use super::transitions::apply_run;
use super::writer::Writer;
use crate::alerts::Scope;
use crate::config::kinds::KindSettings;
use crate::config::{CatchUp, Config, Integration};
use crate::connectors::webhook_in::{self, Route, Routes};
use crate::connectors::{Connector, TestReport};
use crate::domain::did_you_mean;
use crate::domain::run::{RunRecord, RunStatus, Trigger};
use crate::domain::{AuditEntry, IntegrationState, PauseReason, operator};
use crate::domain::{Silence, SilenceTarget};
use crate::runtime::clock::Clock;
use crate::runtime::context::{RunContext, Services};
use crate::runtime::http::HttpClient;
use crate::runtime::limits::RateLimiter;
use crate::runtime::metrics::Metrics;
use crate::secrets::Vault;
use crate::store::{Cursor, Store, StoreError, WriteOp};

/// How often metrics rollups are written and views are told to refresh.
const TICK: Duration = Duration::from_secs(5);
/// How long interrupted runs get to write their record after shutdown cancels them.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("the config has errors:\n{0}")]
    InvalidConfig(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct EngineOptions {
    pub clock: Arc<dyn Clock>,
    pub vault: Option<Arc<Vault>>,
    pub read_only: bool,
    /// Fire schedules. Off for one-shot commands (`run`, `test`) that act on request.
    pub scheduling: bool,
}

struct Active {
    run_id: Ulid,
    cancel: Cancel,
    started_at: DateTime<Utc>,
}

struct Slot {
    integration: Arc<Integration>,
    connector: Connector,
    limiter: Option<Arc<RateLimiter>>,
    state: IntegrationState,
    cursor: Option<String>,
    generation: u64,
    next_due: Option<DateTime<Utc>>,
    active: Option<Active>,
}

impl Slot {
    fn new(integration: Integration, store: &Store) -> Result<Self, StoreError> {
        let state = store.integration_state(&integration.name)?;
        let cursor = store.cursor(&integration.name)?.map(|c| c.value);
        Ok(Self {
            connector: Connector::build(&integration),
            limiter: integration
                .rate_limit
                .as_ref()
                .map(|l| Arc::new(RateLimiter::new(l))),
            integration: Arc::new(integration),
            state,
            cursor,
            generation: 0,
            next_due: None,
            active: None,
        })
    }

    fn enabled(&self) -> bool {
        self.state.enabled.unwrap_or(self.integration.enabled)
    }

    fn schedulable(&self) -> bool {
        self.enabled() && self.state.paused.is_none() && self.integration.schedule.is_some()
    }

    /// Notes when patchbay first saw this integration, the first time; returns the
    /// state to store then. The dead-man's switch of an integration that never
    /// succeeded counts from here.
    fn start_watching(&mut self, now: DateTime<Utc>) -> Option<IntegrationState> {
        if self.state.watched_since.is_some() {
            return None;
        }
        self.state.watched_since = Some(now);
        Some(self.state.clone())
    }

    /// It should be running: the circuit breaker's pause is a failure, not a decision.
    fn expected_to_run(&self) -> bool {
        let operator_paused = matches!(self.state.paused, Some(PauseReason::Operator { .. }));
        self.enabled() && !operator_paused && self.integration.schedule.is_some()
    }
}

/// What an alert evaluation reads.
#[derive(Clone, Copy)]
enum AlertPass<'a> {
    /// Every rule for every integration: on the tick, at start, after a silence.
    Full,
    /// One integration's rules, after its run.
    After(&'a str),
    /// No readings: only grouped notices that fell due.
    DueNotices,
}

struct RunDone {
    record: RunRecord,
    cursor: Option<Cursor>,
}

struct Stopping {
    deadline: Instant,
    interrupted: bool,
    replies: Vec<oneshot::Sender<()>>,
}

struct Engine {
    config: Config,
    /// Paths of the inbound webhook listener, by path.
    routes: Routes,
    arrived_tx: mpsc::UnboundedSender<String>,
    slots: HashMap<String, Slot>,
    queue: DueQueue,
    generation: u64,
    services: Arc<Services>,
    store: Arc<Store>,
    writer: Writer,
    events: broadcast::Sender<EngineEvent>,
    done_tx: mpsc::UnboundedSender<RunDone>,
    run_slots: Arc<Semaphore>,
    scheduling: bool,
    stopping: Option<Stopping>,
    lag: Histogram<u64>,
    alerting: Alerting,
}

/// Starts the engine on a valid config. Runs left `running` by a crash are marked
/// `interrupted` first; schedules missed while patchbay was down follow `catch_up`.
pub async fn start(
    config: Config,
    store: Arc<Store>,
    options: EngineOptions,
) -> Result<(EngineHandle, JoinHandle<()>), EngineError> {
    if !config.is_valid() {
        return Err(EngineError::InvalidConfig(config.render_problems()));
    }
    let now = options.clock.now();
    let interrupted = store.mark_interrupted(now)?;
    if interrupted > 0 {
        tracing::warn!(
            runs = interrupted,
            "marked runs left running by the last stop as interrupted"
        );
    }
    let settings = &config.settings;
    let services = Arc::new(Services {
        http: HttpClient::new(settings.max_concurrent_requests_per_host)
            .with_max_body(settings.max_response_bytes),
        store: Arc::clone(&store),
        tokens: Default::default(),
        inbound_addr: Default::default(),
        vault: options.vault,
        clock: options.clock,
        metrics: Arc::new(Metrics::default()),
    });
    let (writer, _writer_task) = Writer::spawn(Arc::clone(&store));
    let mut slots = HashMap::new();
    let mut first_seen = Vec::new();
    for integration in &config.integrations {
        let mut slot = Slot::new(integration.clone(), &store)?;
        if let Some(state) = slot.start_watching(now) {
            first_seen.push(WriteOp::State {
                name: integration.name.clone(),
                state,
            });
        }
        slots.insert(integration.name.clone(), slot);
    }
    for op in first_seen {
        writer.write(op).await;
    }
    let (alerting, delivered_rx) =
        Alerting::restore(&store, settings.alert_group_wait.as_std(), now)?;
    let (commands_tx, commands) = mpsc::channel(256);
    let (events, _) = broadcast::channel(4096);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let (arrived_tx, arrived_rx) = mpsc::unbounded_channel();
    let store_for_handle = Arc::clone(&store);
    let metrics = Arc::clone(&services.metrics);
    let config_path = config.source.path.clone();
    let pruner =
        crate::store::retention::spawn_pruner(Arc::clone(&store), settings.retention, PRUNE_EVERY);
    let mut engine = Engine {
        routes: Routes::default(),
        arrived_tx,
        run_slots: Arc::new(Semaphore::new(settings.max_concurrent_runs.max(1))),
        config,
        slots,
        queue: DueQueue::default(),
        generation: 0,
        services,
        store,
        writer,
        events: events.clone(),
        done_tx,
        scheduling: options.scheduling,
        stopping: None,
        lag: Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("static bounds"),
        alerting,
    };
    if engine.scheduling {
        engine.schedule_all_at_start(now);
        engine.update_inbound().await;
        engine.resume_inboxes();
    }
    let task = tokio::spawn(async move {
        engine
            .run(commands, done_rx, arrived_rx, delivered_rx)
            .await;
        pruner.abort();
    });
    let handle = EngineHandle::new(
        commands_tx,
        events,
        options.read_only,
        store_for_handle,
        metrics,
        config_path,
    );
    Ok((handle, task))
}

impl Engine {
    async fn run(
        &mut self,
        mut commands: mpsc::Receiver<Command>,
        mut done_rx: mpsc::UnboundedReceiver<RunDone>,
        mut arrived_rx: mpsc::UnboundedReceiver<String>,
        mut delivered_rx: mpsc::UnboundedReceiver<Delivered>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let next_fire = self.queue.next_at().filter(|_| self.scheduling);
            let alerts_due = self.alerts_due();
            let stop_deadline = self.stopping.as_ref().map(|s| s.deadline);
            // Due fires come first: lag is what a schedule is judged by, and a burst of
            // finishing runs must not hold the next starts back.
            tokio::select! {
                biased;
                () = sleep_until(next_fire) => self.fire_due(),
                command = commands.recv() => match command {
                    Some(command) => self.handle(command).await,
                    // Every handle is gone: nobody can ask for anything any more.
                    None if self.stopping.is_none() => self.begin_stop(Duration::from_secs(10), None),
                    None => {}
                },
                Some(done) = done_rx.recv() => self.finish_run(done).await,
                Some(name) = arrived_rx.recv() => self.events_arrived(&name),
                Some(delivered) = delivered_rx.recv() => self.delivered(delivered).await,
                () = sleep_until(stop_deadline) => self.interrupt_all(),
                () = sleep_until(alerts_due) => self.evaluate_alerts(AlertPass::DueNotices).await,
                _ = tick.tick() => self.tick().await,
            }
            if self.stopping.is_some() && self.slots.values().all(|s| s.active.is_none()) {
                break;
            }
        }
        self.tick().await;
        self.writer.flush().await;
        let _ = self.events.send(EngineEvent::Stopped);
        if let Some(stopping) = self.stopping.take() {
            for reply in stopping.replies {
                let _ = reply.send(());
            }
        }
    }

    // ---- scheduling ----

    fn schedule_all_at_start(&mut self, now: DateTime<Utc>) {
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
    fn schedule(&mut self, name: &str, after: DateTime<Utc>) {
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

    fn unschedule(&mut self, name: &str) {
        self.generation += 1;
        if let Some(slot) = self.slots.get_mut(name) {
            slot.generation = self.generation;
            slot.next_due = None;
        }
    }

    fn fire_due(&mut self) {
        let now = self.services.clock.now();
        for due in self.queue.pop_due(Instant::now()) {
            self.fire(due, now);
        }
    }

    fn fire(&mut self, due: Due, now: DateTime<Utc>) {
        let name = due.name.to_string();
        let current = self
            .slots
            .get(&name)
            .is_some_and(|slot| slot.generation == due.generation && slot.schedulable());
        if !current {
            return;
        }
        let lag = (now - due.due).num_microseconds().unwrap_or(0).max(1) as u64;
        self.lag.saturating_record(lag);
        match self.start_run(&name, Trigger::Schedule) {
            Ok(_) => {}
            Err(CommandError::AlreadyRunning(_)) => self.record_skipped(&name, now),
            Err(error) => tracing::warn!(integration = %name, %error, "scheduled run not started"),
        }
        self.schedule(&name, due.scheduled);
    }

    /// A fire that found the previous run still going: recorded, never overlapped.
    fn record_skipped(&mut self, name: &str, now: DateTime<Utc>) {
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
            writer
                .write(WriteOp::Run {
                    run: Box::new(record.clone()),
                    logs: Vec::new(),
                    progress: Default::default(),
                })
                .await;
            let _ = events.send(EngineEvent::RunFinished(Arc::new(record)));
        });
    }

    // ---- inbound webhooks ----

    /// Points the listener's routes at the current `webhook_in` integrations, and
    /// starts the listener the first time one exists.
    async fn update_inbound(&mut self) {
        let routes: HashMap<String, Route> = self
            .slots
            .values()
            .filter_map(|slot| match &slot.integration.settings {
                KindSettings::WebhookIn(settings) => Some((
                    settings.path.clone(),
                    Route {
                        integration: slot.integration.name.clone(),
                        settings: settings.clone(),
                    },
                )),
                _ => None,
            })
            .collect();
        let needed = !routes.is_empty();
        *self.routes.write().unwrap_or_else(|e| e.into_inner()) = routes;
        if needed && self.services.inbound_addr.get().is_none() {
            let addr = self.config.settings.webhook_listen;
            let listening = webhook_in::listen(
                addr,
                Arc::clone(&self.routes),
                Arc::clone(&self.services),
                self.arrived_tx.clone(),
            )
            .await;
            match listening {
                Ok(bound) => {
                    let _ = self.services.inbound_addr.set(bound);
                    tracing::info!(%bound, "receiving inbound webhooks");
                }
                Err(error) => {
                    tracing::error!(%addr, %error, "cannot listen for inbound webhooks; check settings.webhook_listen")
                }
            }
        }
    }

    /// Events accepted before a stop or crash and not yet delivered are processed at
    /// start, not only when the next event arrives.
    fn resume_inboxes(&mut self) {
        let waiting: Vec<String> = self
            .slots
            .values()
            .filter(|slot| matches!(slot.integration.settings, KindSettings::WebhookIn(_)))
            .filter(|slot| {
                self.store
                    .inbox(&slot.integration.name, 1)
                    .is_ok_and(|events| !events.is_empty())
            })
            .map(|slot| slot.integration.name.clone())
            .collect();
        for name in waiting {
            self.events_arrived(&name);
        }
    }

    /// New events for a `webhook_in` integration: run it, unless it is running (then
    /// the run that finishes starts the next).
    fn events_arrived(&mut self, name: &str) {
        let idle = self
            .slots
            .get(name)
            .is_some_and(|s| s.active.is_none() && s.enabled() && s.state.paused.is_none());
        if idle && let Err(error) = self.start_run(name, Trigger::Webhook) {
            tracing::warn!(integration = %name, %error, "inbound events not processed yet");
        }
    }

    // ---- runs ----

    fn lookup(&self, name: &str) -> Result<&Slot, CommandError> {
        self.slots
            .get(name)
            .ok_or_else(|| CommandError::UnknownIntegration {
                name: name.to_owned(),
                suggestion: did_you_mean(name, self.slots.keys().map(String::as_str))
                    .map(str::to_owned),
            })
    }

    fn start_run(&mut self, name: &str, trigger: Trigger) -> Result<Ulid, CommandError> {
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

    async fn finish_run(&mut self, done: RunDone) {
        let RunDone { record, cursor } = done;
        let name = record.integration.clone();
        let finished_at = record
            .finished_at
            .unwrap_or_else(|| self.services.clock.now());
        let ok = matches!(record.status, RunStatus::Success | RunStatus::Partial);
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
            if let Some((from, to)) = changes.health {
                tracing::info!(integration = %name, from = from.as_str(), to = to.as_str(), "health changed");
                let _ = self.events.send(EngineEvent::HealthChanged {
                    integration: name.clone(),
                    from,
                    to,
                });
            }
            let state = slot.state.clone();
            self.writer
                .write(WriteOp::State {
                    name: name.clone(),
                    state,
                })
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
        if record.status == RunStatus::Failed {
            let error = record.error_message.as_deref().unwrap_or("");
            tracing::warn!(integration = %name, run = %record.id, %error, "run failed");
        } else {
            tracing::info!(integration = %name, run = %record.id, status = %record.status, "run finished");
        }
        let _ = self.events.send(EngineEvent::RunFinished(Arc::new(record)));
    }

    // ---- commands ----

    async fn audit(&self, action: &str, target: Option<&str>) {
        self.writer
            .write(WriteOp::Audit(AuditEntry::now(action, target)))
            .await;
    }

    async fn handle(&mut self, command: Command) {
        match command {
            Command::RunNow { name, reply } => {
                let result = self.start_run(&name, Trigger::Manual);
                if result.is_ok() {
                    self.audit("run.manual", Some(&name)).await;
                }
                let _ = reply.send(result);
            }
            Command::Cancel { name, reply } => {
                let result = self.lookup(&name).and_then(|slot| match &slot.active {
                    Some(active) => {
                        active.cancel.cancel(CancelReason::Operator);
                        Ok(())
                    }
                    None => Err(CommandError::NotRunning(name.clone())),
                });
                if result.is_ok() {
                    self.audit("run.cancel", Some(&name)).await;
                }
                let _ = reply.send(result);
            }
            Command::SetPaused {
                name,
                paused,
                reply,
            } => {
                let _ = reply.send(self.set_paused(&name, paused).await);
            }
            Command::SetEnabled {
                name,
                enabled,
                reply,
            } => {
                let _ = reply.send(self.set_enabled(&name, enabled).await);
            }
            Command::Test { name, reply } => self.test(&name, reply).await,
            Command::Reload { reply } => {
                let result = self.reload().await;
                if result.is_ok() && self.scheduling {
                    self.update_inbound().await;
                }
                if let Ok(summary) = &result {
                    self.audit("config.reload", None).await;
                    let _ = self
                        .events
                        .send(EngineEvent::ConfigReloaded(summary.clone()));
                }
                let _ = reply.send(result);
            }
            Command::SetSecret {
                name,
                value,
                expires_at,
                reply,
            } => {
                let result = match self.services.vault.clone() {
                    None => Err(CommandError::Failed("no vault is open".to_owned())),
                    // The vault audits the change itself.
                    Some(vault) => {
                        tokio::task::spawn_blocking(move || vault.set(&name, &value, expires_at))
                            .await
                            .map_err(|e| CommandError::Failed(e.to_string()))
                            .and_then(|r| r.map_err(|e| CommandError::Failed(e.to_string())))
                    }
                };
                let _ = reply.send(result);
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
            Command::Alerts { reply } => {
                let _ = reply.send(self.alerts_view());
            }
            Command::Silence {
                target,
                duration,
                reason,
                reply,
            } => {
                let _ = reply.send(self.silence(&target, duration, &reason).await);
            }
            Command::Unsilence { target, reply } => {
                let _ = reply.send(self.unsilence(&target).await);
            }
            Command::Shutdown { grace, reply } => self.begin_stop(grace, Some(reply)),
        }
    }

    async fn set_paused(&mut self, name: &str, paused: bool) -> Result<(), CommandError> {
        if let (Connector::Output(_), true) = (&self.lookup(name)?.connector, paused) {
            return Err(CommandError::Failed(format!(
                "`{name}` is an output and runs only when sources deliver to it; pause those sources instead"
            )));
        }
        let who = operator();
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

    async fn set_enabled(&mut self, name: &str, enabled: bool) -> Result<(), CommandError> {
        let action = if enabled {
            "integration.enable"
        } else {
            "integration.disable"
        };
        self.set_operator_state(name, action, |state, _| state.enabled = Some(enabled))
            .await
    }

    /// An operator's change to an integration's lasting state: applied, persisted,
    /// rescheduled (or unscheduled), audited and announced.
    async fn set_operator_state(
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

    async fn test(&mut self, name: &str, reply: oneshot::Sender<Result<TestReport, CommandError>>) {
        let slot = match self.lookup(name) {
            Ok(slot) => slot,
            Err(error) => {
                let _ = reply.send(Err(error));
                return;
            }
        };
        let connector = slot.connector.clone();
        let ctx = RunContext::new(
            Arc::clone(&slot.integration),
            Ulid::from_datetime(self.services.clock.now().into()),
            Arc::clone(&self.services),
            slot.limiter.clone(),
            slot.cursor.clone(),
            Default::default(),
        );
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

    /// Applies a changed config file: added, removed and changed integrations take
    /// effect; unchanged ones are not disturbed. A config with errors is refused whole.
    async fn reload(&mut self) -> Result<ReloadSummary, CommandError> {
        let path = self.config.source.path.clone();
        let config = Config::load(&path)
            .map_err(|e| CommandError::Failed(format!("cannot read {}: {e}", path.display())))?;
        if !config.is_valid() {
            return Err(CommandError::Failed(format!(
                "the new config has errors; the running one is kept:\n{}",
                config.render_problems()
            )));
        }
        let mut summary = ReloadSummary::default();
        let mut pending_states = Vec::new();
        let now = self.services.clock.now();
        let mut remaining: Vec<String> = self.slots.keys().cloned().collect();
        for integration in &config.integrations {
            remaining.retain(|n| n != &integration.name);
            match self.slots.get_mut(&integration.name) {
                Some(slot) if slot.integration.fingerprint == integration.fingerprint => {
                    summary.unchanged += 1
                }
                Some(slot) => {
                    slot.connector = Connector::build(integration);
                    slot.limiter = integration
                        .rate_limit
                        .as_ref()
                        .map(|l| Arc::new(RateLimiter::new(l)));
                    slot.integration = Arc::new(integration.clone());
                    summary.changed.push(integration.name.clone());
                    self.schedule(&integration.name, now);
                }
                None => {
                    let mut slot = Slot::new(integration.clone(), &self.store)
                        .map_err(|e| CommandError::Failed(e.to_string()))?;
                    if let Some(state) = slot.start_watching(now) {
                        pending_states.push(WriteOp::State {
                            name: integration.name.clone(),
                            state,
                        });
                    }
                    self.slots.insert(integration.name.clone(), slot);
                    summary.added.push(integration.name.clone());
                    self.schedule(&integration.name, now);
                }
            }
        }
        for name in remaining {
            // A run in progress finishes and is recorded; nothing new starts.
            self.slots.remove(&name);
            self.services.metrics.forget(&name);
            summary.removed.push(name);
        }
        for op in pending_states {
            self.writer.write(op).await;
        }
        self.alerting
            .book
            .set_group_wait(config.settings.alert_group_wait.as_std());
        self.config = config;
        tracing::info!("reloaded: {summary}");
        Ok(summary)
    }

    fn snapshot(&self) -> EngineSnapshot {
        let mut integrations: Vec<IntegrationView> = self
            .slots
            .values()
            .map(|slot| IntegrationView {
                name: slot.integration.name.clone(),
                kind: slot.integration.kind.name,
                auth: slot.integration.auth.type_name(),
                outputs: slot.integration.outputs.clone(),
                secrets: slot
                    .integration
                    .secrets
                    .iter()
                    .map(|s| s.name.clone())
                    .collect(),
                source_text: slot.integration.source_text.clone(),
                cursor: slot.cursor.clone(),
                description: slot.integration.description.clone(),
                tags: slot.integration.tags.clone(),
                schedule: slot.integration.schedule.as_ref().map(|s| s.describe()),
                enabled: slot.enabled(),
                paused: slot.state.paused.clone(),
                next_run: slot.next_due,
                running: slot.active.as_ref().map(|a| (a.run_id, a.started_at)),
                state: slot.state.clone(),
                access_token: self.services.tokens.peek(&slot.integration.name),
            })
            .collect();
        let order: HashMap<&str, usize> = self
            .config
            .integrations
            .iter()
            .enumerate()
            .map(|(i, integration)| (integration.name.as_str(), i))
            .collect();
        integrations
            .sort_by_key(|view| order.get(view.name.as_str()).copied().unwrap_or(usize::MAX));
        EngineSnapshot {
            integrations,
            webhook_listen: self.services.inbound_addr.get().copied(),
            scheduling: self.scheduling,
            stopping: self.stopping.is_some(),
            lag: LagStats {
                fires: self.lag.len(),
                p50_us: self.lag.value_at_quantile(0.5),
                p99_us: self.lag.value_at_quantile(0.99),
                max_us: self.lag.max(),
            },
            alerts: self.alert_counts(),
        }
    }

    async fn tick(&mut self) {
        let rollups = self.services.metrics.take_finished_minutes();
        if !rollups.is_empty() {
            self.writer.write(WriteOp::Rollups(rollups)).await;
        }
        if self.alerting_on() {
            self.evaluate_alerts(AlertPass::Full).await;
        }
        let _ = self.events.send(EngineEvent::MetricsTick);
    }

    // ---- alerts ----

    /// Evaluates the alert rules (for every integration, one, or none when only
    /// grouped notices fell due), stores what changed and delivers the notices due.
    async fn evaluate_alerts(&mut self, pass: AlertPass<'_>) {
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

    async fn delivered(&mut self, delivered: Delivered) {
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
    fn alerting_on(&self) -> bool {
        self.scheduling && self.stopping.is_none()
    }

    /// When the next grouped notice is due, as a tokio instant.
    fn alerts_due(&self) -> Option<Instant> {
        let due = self
            .alerting
            .book
            .next_due()
            .filter(|_| self.alerting_on())?;
        // A millisecond late, so that the clock has surely reached `due` on waking.
        Some(self.services.clock.instant_at(due) + Duration::from_millis(1))
    }

    fn alert_counts(&self) -> AlertCounts {
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

    fn alerts_view(&self) -> AlertsView {
        let now = self.services.clock.now();
        let book = &self.alerting.book;
        AlertsView {
            firing: book.firing().into_iter().cloned().collect(),
            recent: book.recent().cloned().collect(),
            silences: book.silences(now).cloned().collect(),
        }
    }

    fn silence_target(&self, target: &str) -> Result<SilenceTarget, CommandError> {
        SilenceTarget::resolve(
            target,
            self.config.alerts.iter().map(|r| r.name.as_str()),
            self.slots.keys().map(String::as_str),
        )
        .map_err(CommandError::Failed)
    }

    async fn silence(
        &mut self,
        target: &str,
        duration: Duration,
        reason: &str,
    ) -> Result<Silence, CommandError> {
        let target = self.silence_target(target)?;
        let now = self.services.clock.now();
        let silence = Silence::new(target, duration, reason, now);
        self.alerting.book.silence(silence.clone());
        self.writer.write(WriteOp::Silence(silence.clone())).await;
        self.writer
            .write(WriteOp::Audit(silence.audit_entry()))
            .await;
        // Evaluate now, so the console shows the alert silenced at once.
        self.evaluate_alerts(AlertPass::Full).await;
        Ok(silence)
    }

    async fn unsilence(&mut self, target: &str) -> Result<usize, CommandError> {
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

    /// What delivering to the output integration `name` needs, if it is one.
    fn output_plan(&self, name: &str) -> Option<OutputPlan> {
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

    // ---- stopping ----

    fn begin_stop(&mut self, grace: Duration, reply: Option<oneshot::Sender<()>>) {
        self.scheduling = false;
        self.queue.clear();
        let stopping = self.stopping.get_or_insert_with(|| Stopping {
            deadline: Instant::now() + grace,
            interrupted: false,
            replies: Vec::new(),
        });
        stopping.replies.extend(reply);
        let running = self.slots.values().filter(|s| s.active.is_some()).count();
        if running > 0 {
            tracing::info!(running, grace = %humantime::format_duration(grace), "stopping: waiting for running runs");
        }
    }

    /// The grace period is over: whatever still runs is interrupted. If a run has not
    /// reported even `INTERRUPT_GRACE` after that, it is given up so the engine stops.
    fn interrupt_all(&mut self) {
        let Some(stopping) = self.stopping.as_mut() else {
            return;
        };
        if stopping.interrupted {
            for slot in self.slots.values_mut() {
                if let Some(active) = slot.active.take() {
                    tracing::error!(integration = %slot.integration.name, run = %active.run_id, "run did not stop when interrupted; leaving it to the next start");
                }
            }
            return;
        }
        stopping.interrupted = true;
        for slot in self.slots.values() {
            if let Some(active) = &slot.active {
                active.cancel.cancel(CancelReason::Shutdown);
            }
        }
        // Runs that cannot even record themselves in time are left to the next start,
        // which marks them interrupted from the store.
        stopping.deadline = Instant::now() + INTERRUPT_GRACE;
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

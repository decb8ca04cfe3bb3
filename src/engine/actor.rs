//! The engine actor: one task owns every integration's state, the timer heap and the
//! running runs. Runs execute in their own tasks and report back here, so nothing is
//! shared behind a lock except the metrics. This file is the mailbox: start-up, the
//! loop that waits on every source of work, and the dispatch of commands; each kind
//! of work is its own file (`scheduling`, `runs`, `inbound`, `commands`, `registry`,
//! `alerting`, `stopping`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::alerting::AlertPass;
use super::alerting::{Alerting, Delivered};
use super::executor::CancelReason;
use super::handle::{Command, CommandError, EngineEvent, EngineHandle, Envelope};
use super::registry::Slot;
use super::scheduler::DueQueue;
use super::stopping::Stopping;
use super::writer::Writer;
use crate::config::Config;
use crate::connectors::webhook_in::Routes;
use crate::domain::Operator;
use crate::domain::run::{RunRecord, Trigger};
use crate::runtime::clock::Clock;
use crate::runtime::context::Services;
use crate::runtime::http::HttpClient;
use crate::runtime::metrics::Metrics;
use crate::secrets::Vault;
use crate::store::{Cursor, Store, StoreError, WriteOp};

/// How often metrics rollups are written and views are told to refresh.
const TICK: Duration = Duration::from_secs(5);
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

pub(super) struct RunDone {
    pub(super) record: RunRecord,
    pub(super) cursor: Option<Cursor>,
}

pub(super) struct Engine {
    pub(super) config: Config,
    /// Paths of the inbound webhook listener, by path.
    pub(super) routes: Routes,
    pub(super) arrived_tx: mpsc::UnboundedSender<String>,
    pub(super) slots: HashMap<String, Slot>,
    pub(super) queue: DueQueue,
    pub(super) generation: u64,
    pub(super) services: Arc<Services>,
    pub(super) store: Arc<Store>,
    pub(super) writer: Writer,
    pub(super) events: broadcast::Sender<EngineEvent>,
    pub(super) done_tx: mpsc::UnboundedSender<RunDone>,
    pub(super) run_slots: Arc<Semaphore>,
    pub(super) scheduling: bool,
    pub(super) stopping: Option<Stopping>,
    pub(super) lag: super::lag::LagRecorder,
    pub(super) alerting: Alerting,
    /// Whom the command being handled is done for: the audit log names them.
    pub(super) acting: Arc<Operator>,
}

/// Starts the engine on a valid config. Runs left `running` by a crash are marked
/// `interrupted` first; schedules missed while patchbay was down follow `catch_up`.
pub async fn start(
    mut config: Config,
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
    // The slots own the integrations: the engine's config keeps none, so 10,000
    // integrations are held once, not twice.
    let config_integrations = std::mem::take(&mut config.integrations);
    for (position, integration) in config_integrations.into_iter().enumerate() {
        let name = integration.name.clone();
        let mut slot = Slot::new(integration, position, &store)?;
        if let Some(state) = slot.start_watching(now) {
            first_seen.push(WriteOp::State {
                name: name.clone(),
                state,
            });
        }
        slots.insert(name, slot);
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
        lag: super::lag::LagRecorder::new(),
        alerting,
        acting: Arc::new(Operator::this_process()),
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
        mut commands: mpsc::Receiver<Envelope>,
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

    async fn handle(&mut self, Envelope { by, command }: Envelope) {
        self.acting = by;
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
            Command::SetCursor { name, value, reply } => {
                let _ = reply.send(self.set_cursor(&name, value).await);
            }
            Command::Test { name, reply } => self.test(&name, reply).await,
            Command::Preview { name, limit, reply } => self.preview(&name, limit, reply).await,
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
                // The vault audits the change itself, as the acting operator.
                let result = self
                    .with_vault(move |vault, by| vault.set_by(by, &name, &value, expires_at))
                    .await;
                let _ = reply.send(result);
            }
            Command::RemoveSecret { name, reply } => {
                let result = self
                    .with_vault(move |vault, by| vault.remove_by(by, &name))
                    .await;
                let _ = reply.send(result);
            }
            Command::Snapshot { reply } => {
                let _ = reply.send(self.snapshot());
            }
            Command::Changes { names, reply } => {
                let _ = reply.send(self.changes(&names));
            }
            Command::Status { reply } => {
                let _ = reply.send(self.status());
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

    /// Runs a vault change off the async threads (age and redb block), for the
    /// operator whose command is being handled.
    async fn with_vault(
        &self,
        change: impl FnOnce(&Vault, &Operator) -> Result<(), crate::secrets::VaultError>
        + Send
        + 'static,
    ) -> Result<(), CommandError> {
        let Some(vault) = self.services.vault.clone() else {
            return Err(CommandError::Failed("no vault is open".to_owned()));
        };
        let by = Arc::clone(&self.acting);
        tokio::task::spawn_blocking(move || change(&vault, &by))
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?
            .map_err(|e| CommandError::Failed(e.to_string()))
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
}

pub(super) async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

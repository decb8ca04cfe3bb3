//! `EngineHandle`: the one door through which the console, the CLI and headless mode
//! use the engine: commands in, events and snapshots out.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc, oneshot};
use ulid::Ulid;

use crate::connectors::TestReport;
use crate::domain::run::RunRecord;
use crate::domain::stats::{MinuteRollup, Stats, Uptime};
use crate::domain::{Alert, AuditEntry, Silence};
use crate::domain::{Health, IntegrationState, Operator, PauseReason};
use crate::pipeline::preview::PreviewRecord;
use crate::runtime::metrics::{Metrics, Window};
use crate::runtime::tokens::AccessTokenInfo;
use crate::store::SecretMeta;
use crate::store::Store;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CommandError {
    #[error("no integration named `{name}`{}", suggestion.as_ref().map(|s| format!("; did you mean `{s}`?")).unwrap_or_default())]
    UnknownIntegration {
        name: String,
        suggestion: Option<String>,
    },
    #[error("`{0}` is not running")]
    NotRunning(String),
    #[error("`{0}` is already running; wait for it or cancel it first")]
    AlreadyRunning(String),
    #[error("`{0}` is an output: it runs when a source delivers records to it")]
    NotRunnable(String),
    #[error("read-only: {user} may view but not act")]
    ReadOnly { user: String },
    #[error("the engine is shutting down")]
    Stopping,
    #[error("the connection to the patchbay service was lost")]
    Disconnected,
    #[error("{0}")]
    Failed(String),
}

/// What changed in the engine, for whoever listens.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    RunStarted {
        integration: String,
        run: Ulid,
        at: DateTime<Utc>,
    },
    RunFinished(Arc<RunRecord>),
    /// An integration's state changed: paused, resumed, rescheduled.
    IntegrationChanged {
        integration: String,
    },
    HealthChanged {
        integration: String,
        from: Health,
        to: Health,
    },
    ConfigReloaded(ReloadSummary),
    /// An alert fired, resolved, was notified or silenced.
    AlertsChanged(AlertCounts),
    /// Sent every few seconds so views of time-based figures refresh.
    MetricsTick,
    Stopped,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadSummary {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
}

/// "1 added (x), 0 removed, 2 changed (a, b), 6 unchanged": what an operator reads in
/// the log and the status line after a reload.
impl std::fmt::Display for ReloadSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let part =
            |f: &mut std::fmt::Formatter<'_>, names: &[String], word: &str| -> std::fmt::Result {
                write!(f, "{} {word}", names.len())?;
                if !names.is_empty() {
                    write!(f, " ({})", names.join(", "))?;
                }
                Ok(())
            };
        part(f, &self.added, "added")?;
        f.write_str(", ")?;
        part(f, &self.removed, "removed")?;
        f.write_str(", ")?;
        part(f, &self.changed, "changed")?;
        write!(f, ", {} unchanged", self.unchanged)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationView {
    pub name: String,
    pub kind: String,
    /// Its role: a `sql` integration is a source or an output.
    pub role: crate::config::kinds::Role,
    pub auth: String,
    pub outputs: Vec<String>,
    /// The vault secrets its config names (`secret:NAME`), in file order; a secret
    /// used twice is named twice.
    pub secrets: Vec<String>,
    /// The integration's tables as written, literal credentials masked.
    pub source_text: String,
    /// The blueprint it is an instance of (`uses`).
    #[serde(default)]
    pub blueprint: Option<String>,
    /// The incremental cursor stored with the last run that earned one.
    pub cursor: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub schedule: Option<String>,
    /// Enabled in the config and not disabled by an operator.
    pub enabled: bool,
    pub paused: Option<PauseReason>,
    pub next_run: Option<DateTime<Utc>>,
    pub running: Option<(Ulid, DateTime<Utc>)>,
    pub state: IntegrationState,
    /// OAuth2 integrations: the access token cached since start, if any.
    pub access_token: Option<AccessTokenInfo>,
}

/// The part of an integration's view that changes as it runs: what an attached console
/// is sent when an integration changed, instead of its whole view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrationChange {
    pub name: String,
    pub cursor: Option<String>,
    pub enabled: bool,
    pub paused: Option<PauseReason>,
    pub next_run: Option<DateTime<Utc>>,
    pub running: Option<(Ulid, DateTime<Utc>)>,
    pub state: IntegrationState,
    pub access_token: Option<AccessTokenInfo>,
}

#[cfg(test)]
impl IntegrationChange {
    /// `name` now `health`, enabled, nothing else known.
    pub(crate) fn of_health(name: &str, health: Health) -> Self {
        Self {
            name: name.into(),
            cursor: None,
            enabled: true,
            paused: None,
            next_run: None,
            running: None,
            state: IntegrationState {
                health,
                ..IntegrationState::default()
            },
            access_token: None,
        }
    }
}

impl IntegrationView {
    /// `disabled`, `paused`, or its health (`up`, `down`, ...): the one word for how it
    /// stands, as `status` and `/metrics` name it.
    pub fn state_word(&self) -> &'static str {
        if !self.enabled {
            "disabled"
        } else if self.paused.is_some() {
            "paused"
        } else {
            self.state.health.as_str()
        }
    }

    pub fn apply(&mut self, change: IntegrationChange) {
        self.cursor = change.cursor;
        self.enabled = change.enabled;
        self.paused = change.paused;
        self.next_run = change.next_run;
        self.running = change.running;
        self.state = change.state;
        self.access_token = change.access_token;
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EngineSnapshot {
    pub integrations: Vec<IntegrationView>,
    /// Where inbound webhooks are received, when a `webhook_in` integration exists.
    pub webhook_listen: Option<std::net::SocketAddr>,
    pub status: EngineStatus,
    pub alerts: AlertCounts,
}

/// Whether the engine fires schedules or is stopping, and how late its fires are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineStatus {
    pub scheduling: bool,
    pub stopping: bool,
    pub lag: LagStats,
}

/// What the console's header shows about alerts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertCounts {
    pub firing: usize,
    /// Alerts whose last notice did not reach every output.
    pub undelivered: usize,
}

/// Alerts as the Alerts pane and `patchbay alerts` show them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AlertsView {
    /// Most severe and oldest first.
    pub firing: Vec<Alert>,
    /// Resolved, newest first.
    pub recent: Vec<Alert>,
    /// Silences in force.
    pub silences: Vec<Silence>,
}

/// Scheduling lag (actual start minus due time) over every fire since start, and the
/// p99 over about the last minute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LagStats {
    pub fires: u64,
    pub p50_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
    #[serde(default)]
    pub recent_fires: u64,
    #[serde(default)]
    pub recent_p99_us: u64,
}

/// A command with the operator it is done for, so the audit log names who acted.
pub(crate) struct Envelope {
    pub(crate) by: Arc<Operator>,
    pub(crate) command: Command,
}

pub(crate) enum Command {
    RunNow {
        name: String,
        reply: oneshot::Sender<Result<Ulid, CommandError>>,
    },
    Cancel {
        name: String,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    SetPaused {
        name: String,
        paused: bool,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    SetEnabled {
        name: String,
        enabled: bool,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    SetCursor {
        name: String,
        value: Option<String>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    Test {
        name: String,
        reply: oneshot::Sender<Result<TestReport, CommandError>>,
    },
    Preview {
        name: String,
        limit: usize,
        reply: oneshot::Sender<Result<Vec<PreviewRecord>, CommandError>>,
    },
    Reload {
        reply: oneshot::Sender<Result<ReloadSummary, CommandError>>,
    },
    SetSecret {
        name: String,
        value: SecretString,
        expires_at: Option<NaiveDate>,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    RemoveSecret {
        name: String,
        reply: oneshot::Sender<Result<(), CommandError>>,
    },
    Snapshot {
        reply: oneshot::Sender<EngineSnapshot>,
    },
    /// How these integrations (those that still exist) stand now.
    Changes {
        names: Vec<String>,
        reply: oneshot::Sender<Vec<IntegrationChange>>,
    },
    Status {
        reply: oneshot::Sender<EngineStatus>,
    },
    Alerts {
        reply: oneshot::Sender<AlertsView>,
    },
    /// Silences `target` (`rule/integration`, a rule or an integration) for `duration`.
    Silence {
        target: String,
        duration: Duration,
        reason: String,
        reply: oneshot::Sender<Result<Silence, CommandError>>,
    },
    /// Ends the silences on `target` and narrower ones now; answers how many there were.
    Unsilence {
        target: String,
        reply: oneshot::Sender<Result<usize, CommandError>>,
    },
    Shutdown {
        grace: Duration,
        reply: oneshot::Sender<()>,
    },
}

#[derive(Clone)]
pub struct EngineHandle {
    pub(crate) commands: mpsc::Sender<Envelope>,
    pub(crate) events: broadcast::Sender<EngineEvent>,
    read_only: bool,
    /// Whom the actions through this handle are done for.
    operator: Arc<Operator>,
    /// Read side for queries (history, logs, metrics); writes go through commands.
    store: Arc<Store>,
    metrics: Arc<Metrics>,
    config_path: std::path::PathBuf,
}

impl EngineHandle {
    pub(crate) fn new(
        commands: mpsc::Sender<Envelope>,
        events: broadcast::Sender<EngineEvent>,
        read_only: bool,
        store: Arc<Store>,
        metrics: Arc<Metrics>,
        config_path: std::path::PathBuf,
    ) -> Self {
        Self {
            commands,
            events,
            read_only,
            operator: Arc::new(Operator::this_process()),
            store,
            metrics,
            config_path,
        }
    }

    /// This engine, acting for `operator`: what a client of the service uses. A viewer
    /// stays read-only whatever it asks; a read-only engine stays read-only for all.
    pub fn acting_for(&self, operator: Operator, read_only: bool) -> Self {
        Self {
            read_only: self.read_only || read_only,
            operator: Arc::new(operator),
            ..self.clone()
        }
    }

    pub fn operator(&self) -> &Operator {
        &self.operator
    }

    /// The store's file, for `status` and backups.
    pub fn store_path(&self) -> &std::path::Path {
        self.store.path()
    }

    /// Writes a consistent copy of the store to `to` while the engine runs.
    pub async fn backup(&self, to: std::path::PathBuf) -> Result<u64, CommandError> {
        self.writable()?;
        self.query(move |store| store.backup_to(&to)).await
    }

    /// Runs a store read (or a backup) off the async threads; redb blocks.
    async fn query<T: Send + 'static>(
        &self,
        read: impl FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T, CommandError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || read(&store))
            .await
            .map_err(|e| CommandError::Failed(e.to_string()))?
            .map_err(|e| CommandError::Failed(e.to_string()))
    }

    pub fn config_path(&self) -> &std::path::Path {
        &self.config_path
    }

    pub fn data_dir(&self) -> Option<&std::path::Path> {
        self.store.path().parent()
    }

    /// A page of run history, newest first, older than `before`.
    pub async fn runs(
        &self,
        integration: Option<String>,
        before: Option<Ulid>,
        limit: usize,
    ) -> Result<Vec<RunRecord>, CommandError> {
        self.query(move |store| store.runs_before(integration.as_deref(), before, limit))
            .await
    }

    pub async fn run_logs(&self, run: Ulid) -> Result<Vec<String>, CommandError> {
        self.query(move |store| store.run_logs(run)).await
    }

    pub async fn run_requests(
        &self,
        run: Ulid,
    ) -> Result<Vec<crate::domain::trace::RequestTrace>, CommandError> {
        self.query(move |store| store.run_requests(run)).await
    }

    /// Request and webhook totals since start, for Prometheus.
    pub fn totals(&self) -> crate::runtime::totals::Totals {
        self.metrics.totals.clone()
    }

    /// Live figures of one integration, or all together, over each window.
    pub fn window_stats(
        &self,
        integration: Option<&str>,
        now: DateTime<Utc>,
    ) -> [crate::domain::stats::WindowStats; 3] {
        Window::ALL.map(|window| self.metrics.window_stats(integration, window, now))
    }

    /// Live figures of one integration over a window.
    pub fn stats(&self, integration: &str, window: Window, now: DateTime<Utc>) -> Stats {
        self.metrics.stats(integration, window, now)
    }

    /// Every vault secret's metadata (never a value): when it was set, when it expires.
    pub async fn secret_metas(&self) -> Result<Vec<(String, SecretMeta)>, CommandError> {
        self.query(move |store| store.secret_metas()).await
    }

    /// Stored alerts, newest first, firing and resolved.
    pub async fn stored_alerts(&self, limit: usize) -> Result<Vec<Alert>, CommandError> {
        self.query(move |store| store.alerts(limit)).await
    }

    /// The audit log, newest first: who did what, to what, when, from where.
    pub async fn audit_log(&self, limit: usize) -> Result<Vec<AuditEntry>, CommandError> {
        self.query(move |store| store.audit(limit)).await
    }

    /// Stored per-minute figures of one integration since `since_minute` (unix minutes).
    pub async fn rollups(
        &self,
        integration: String,
        since_minute: i64,
    ) -> Result<Vec<MinuteRollup>, CommandError> {
        self.query(move |store| store.rollups(&integration, since_minute))
            .await
    }

    /// Success over the last day, week and 30 days, from the stored rollups.
    pub async fn uptime(
        &self,
        integration: String,
        now: DateTime<Utc>,
    ) -> Result<Uptime, CommandError> {
        let now_minute = now.timestamp() / 60;
        let since = now_minute - Uptime::LONGEST_DAYS * 24 * 60;
        let rollups = self.rollups(integration, since).await?;
        Ok(Uptime::from_rollups(&rollups, now_minute))
    }

    pub fn read_only(&self) -> bool {
        self.read_only
    }

    pub fn subscribe(&self) -> broadcast::Receiver<EngineEvent> {
        self.events.subscribe()
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, CommandError> {
        let (reply, answer) = oneshot::channel();
        let envelope = Envelope {
            by: Arc::clone(&self.operator),
            command: make(reply),
        };
        self.commands
            .send(envelope)
            .await
            .map_err(|_| CommandError::Stopping)?;
        answer.await.map_err(|_| CommandError::Stopping)
    }

    fn writable(&self) -> Result<(), CommandError> {
        if self.read_only {
            Err(CommandError::ReadOnly {
                user: self.operator.user.clone(),
            })
        } else {
            Ok(())
        }
    }

    pub async fn run_now(&self, name: &str) -> Result<Ulid, CommandError> {
        self.writable()?;
        self.ask(|reply| Command::RunNow {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    pub async fn cancel(&self, name: &str) -> Result<(), CommandError> {
        self.writable()?;
        self.ask(|reply| Command::Cancel {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    pub async fn pause(&self, name: &str) -> Result<(), CommandError> {
        self.set_paused(name, true).await
    }

    pub async fn resume(&self, name: &str) -> Result<(), CommandError> {
        self.set_paused(name, false).await
    }

    async fn set_paused(&self, name: &str, paused: bool) -> Result<(), CommandError> {
        self.writable()?;
        self.ask(|reply| Command::SetPaused {
            name: name.to_owned(),
            paused,
            reply,
        })
        .await?
    }

    /// Sets (or, with `None`, forgets) the incremental cursor of a source that is not
    /// running, for a backfill or a replay.
    pub async fn set_cursor(&self, name: &str, value: Option<String>) -> Result<(), CommandError> {
        self.writable()?;
        self.ask(|reply| Command::SetCursor {
            name: name.to_owned(),
            value,
            reply,
        })
        .await?
    }

    pub async fn enable(&self, name: &str) -> Result<(), CommandError> {
        self.set_enabled(name, true).await
    }

    pub async fn disable(&self, name: &str) -> Result<(), CommandError> {
        self.set_enabled(name, false).await
    }

    async fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), CommandError> {
        self.writable()?;
        self.ask(|reply| Command::SetEnabled {
            name: name.to_owned(),
            enabled,
            reply,
        })
        .await?
    }

    /// A connection test sends requests but changes nothing, so viewers may run it.
    pub async fn test_connection(&self, name: &str) -> Result<TestReport, CommandError> {
        self.ask(|reply| Command::Test {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    /// A source's first `limit` records after the pipeline, with what would become of
    /// each; nothing delivered. Viewers may ask: it changes nothing.
    pub async fn preview(
        &self,
        name: &str,
        limit: usize,
    ) -> Result<Vec<PreviewRecord>, CommandError> {
        self.ask(|reply| Command::Preview {
            name: name.to_owned(),
            limit,
            reply,
        })
        .await?
    }

    pub async fn reload(&self) -> Result<ReloadSummary, CommandError> {
        self.writable()?;
        self.ask(|reply| Command::Reload { reply }).await?
    }

    pub async fn set_secret(
        &self,
        name: &str,
        value: SecretString,
        expires_at: Option<NaiveDate>,
    ) -> Result<(), CommandError> {
        self.writable()?;
        self.ask(|reply| Command::SetSecret {
            name: name.to_owned(),
            value,
            expires_at,
            reply,
        })
        .await?
    }

    pub async fn remove_secret(&self, name: &str) -> Result<(), CommandError> {
        self.writable()?;
        self.ask(|reply| Command::RemoveSecret {
            name: name.to_owned(),
            reply,
        })
        .await?
    }

    pub async fn snapshot(&self) -> Result<EngineSnapshot, CommandError> {
        self.ask(|reply| Command::Snapshot { reply }).await
    }

    /// How the named integrations stand now; names that no longer exist are left out.
    pub async fn changes(
        &self,
        names: Vec<String>,
    ) -> Result<Vec<IntegrationChange>, CommandError> {
        self.ask(|reply| Command::Changes { names, reply }).await
    }

    pub async fn status(&self) -> Result<EngineStatus, CommandError> {
        self.ask(|reply| Command::Status { reply }).await
    }

    pub async fn alerts(&self) -> Result<AlertsView, CommandError> {
        self.ask(|reply| Command::Alerts { reply }).await
    }

    /// Holds back the notices of `target`'s alerts for `duration`.
    pub async fn silence(
        &self,
        target: &str,
        duration: Duration,
        reason: &str,
    ) -> Result<Silence, CommandError> {
        self.writable()?;
        self.ask(|reply| Command::Silence {
            target: target.to_owned(),
            duration,
            reason: reason.to_owned(),
            reply,
        })
        .await?
    }

    /// Ends every silence on `target`, and narrower ones, now; returns how many ended.
    pub async fn unsilence(&self, target: &str) -> Result<usize, CommandError> {
        self.writable()?;
        self.ask(|reply| Command::Unsilence {
            target: target.to_owned(),
            reply,
        })
        .await?
    }

    /// Stops scheduling, gives running runs `grace` to finish, interrupts the rest and
    /// flushes the store. Returns when all of that is done.
    pub async fn shutdown(&self, grace: Duration) {
        let _ = self.ask(|reply| Command::Shutdown { grace, reply }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reload_summary_reads_as_a_sentence() {
        let summary = ReloadSummary {
            added: vec!["x".into()],
            removed: Vec::new(),
            changed: vec!["a".into(), "b".into()],
            unchanged: 6,
        };
        assert_eq!(
            summary.to_string(),
            "1 added (x), 0 removed, 2 changed (a, b), 6 unchanged"
        );
    }
}

//! What the console shows, built from engine snapshots and events. The views read only
//! this, so tests can render any screen from fixed data.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::control::{IntegrationBrief, Origin};
use crate::domain::AuditEntry;
use crate::domain::run::{RunRecord, RunStatus};
use crate::domain::stats::{MinuteRollup, Stats, Uptime, WindowStats};
use crate::engine::{
    AlertCounts, AlertsView, EngineSnapshot, EngineStatus, IntegrationChange, IntegrationView,
    ReloadSummary,
};
use crate::runtime::metrics::Window;
use crate::store::SecretMeta;
use crate::telemetry::LogEvent;

/// Statuses kept per integration for the sparkline of its last runs.
pub const RECENT_RUNS: usize = 30;
/// Runs kept in memory for the history pane; older ones are paged from the store.
pub const HISTORY_IN_MEMORY: usize = 2_000;

/// What the console shows for an integration: the engine's health, with paused and
/// disabled on top. Ordered worst first, for sorting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Down,
    Pending,
    Degraded,
    Paused,
    Unknown,
    Up,
    Disabled,
}

impl Health {
    pub const ALL: [Health; 7] = [
        Self::Down,
        Self::Pending,
        Self::Degraded,
        Self::Paused,
        Self::Unknown,
        Self::Up,
        Self::Disabled,
    ];

    /// A distinct shape per state, so it reads without colour.
    pub fn symbol(self) -> &'static str {
        match self {
            Self::Up => "●",
            Self::Pending => "◐",
            Self::Degraded => "▲",
            Self::Down => "✖",
            Self::Paused => "‖",
            Self::Disabled => "○",
            Self::Unknown => "·",
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            Self::Up => "up",
            Self::Pending => "pending",
            Self::Degraded => "degraded",
            Self::Down => "down",
            Self::Paused => "paused",
            Self::Disabled => "disabled",
            Self::Unknown => "unknown",
        }
    }
}

/// An integration's health as the engine judged it (an output's from its deliveries),
/// with the operator's pause and disable on top.
pub fn health(view: &IntegrationView) -> Health {
    use crate::domain::Health as Engine;
    if !view.enabled {
        Health::Disabled
    } else if view.paused.is_some() {
        Health::Paused
    } else {
        match view.state.health {
            Engine::Up => Health::Up,
            Engine::Pending => Health::Pending,
            Engine::Degraded => Health::Degraded,
            Engine::Down => Health::Down,
            Engine::Unknown => Health::Unknown,
        }
    }
}

/// See `Model::rows_generation`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowsGeneration {
    pub standing: u64,
    pub times: u64,
}

/// What of an integration the table's filter and sort read.
#[derive(PartialEq)]
struct RowKeys {
    health: Health,
    last_run_at: Option<DateTime<Utc>>,
    next_run: Option<DateTime<Utc>>,
}

impl RowKeys {
    fn of(view: &IntegrationView) -> Self {
        Self {
            health: health(view),
            last_run_at: view.state.last_run_at,
            next_run: view.next_run,
        }
    }
}

/// Live figures of one integration, per window.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub windows: [Stats; 3],
}

impl Figures {
    pub fn get(&self, window: Window) -> &Stats {
        &self.windows[Window::ALL.iter().position(|w| *w == window).unwrap_or(0)]
    }
}

#[derive(Debug, Clone)]
pub struct Model {
    pub now: DateTime<Utc>,
    pub config_path: String,
    pub data_dir: String,
    pub read_only: bool,
    /// The embedded engine, or the service this console is attached to.
    pub origin: Origin,
    pub engine_state: String,
    pub integrations: Vec<IntegrationView>,
    /// Where each integration is in `integrations`, by name.
    position: HashMap<String, usize>,
    /// Bumped when the table's rows may have changed: which there are or how they stand
    /// (filter and sort by health), and, apart, their last and next run times (sort by
    /// time). The table's order is kept until one it depends on moves: sorting 10,000
    /// rows on every batch from the hub was most of an attached console's CPU.
    pub(super) rows_generation: RowsGeneration,
    /// Newest first; the first page comes from the store, new runs from events.
    pub runs: VecDeque<Arc<RunRecord>>,
    /// The ids in `runs`, and each integration's newest run id (perhaps since dropped
    /// off its end): a busy hub adds hundreds of runs a second, and finding the one a
    /// run folds into by scanning 2,000 runs was half an attached console's CPU.
    run_ids: HashSet<ulid::Ulid>,
    newest_run: HashMap<String, ulid::Ulid>,
    /// No older runs than those in `runs` exist in the store.
    pub history_complete: bool,
    pub recent: HashMap<String, VecDeque<RunStatus>>,
    /// The newest failed or partial run of each integration, for its detail view.
    pub last_problem: HashMap<String, Arc<RunRecord>>,
    pub figures: HashMap<String, Figures>,
    /// The Metrics pane's figures per window: its integration's, or all together.
    pub pane_figures: Option<[WindowStats; 3]>,
    /// Per-minute figures for the metrics pane's integration, oldest first.
    pub rollups: Vec<MinuteRollup>,
    /// The last connection test of each integration (`t`): when, and what it said.
    pub tests: HashMap<String, (DateTime<Utc>, Result<String, String>)>,
    /// Vault secrets' metadata as of the last detail view opened, by name.
    pub secret_metas: HashMap<String, SecretMeta>,
    /// The uptime of the integration open in the detail view.
    pub uptime: Option<(String, Uptime)>,
    pub logs: VecDeque<LogEvent>,
    pub log_capacity: usize,
    /// The audit log as of when the audit view opened, newest first (`None`: loading).
    pub audit: Option<Vec<AuditEntry>>,
    /// The log lines of the run open in the run view.
    pub run_logs: Option<(ulid::Ulid, Vec<String>)>,
    /// The records preview open in the preview view (`None`: loading).
    pub preview: Option<(
        String,
        Result<Vec<crate::pipeline::preview::PreviewRecord>, String>,
    )>,
    /// The traced requests of the run open in the run view.
    pub run_requests: Option<(ulid::Ulid, Vec<crate::domain::trace::RequestTrace>)>,
    /// Firing and undelivered alerts, for the header.
    pub alert_counts: AlertCounts,
    /// The Alerts pane's alerts and silences.
    pub alerts: AlertsView,
}

impl Model {
    pub fn new(
        config_path: String,
        data_dir: String,
        read_only: bool,
        log_capacity: usize,
    ) -> Self {
        Self {
            now: Utc::now(),
            config_path,
            data_dir,
            read_only,
            origin: Origin::Local,
            engine_state: "starting".into(),
            integrations: Vec::new(),
            position: HashMap::new(),
            rows_generation: RowsGeneration::default(),
            runs: VecDeque::new(),
            run_ids: HashSet::new(),
            newest_run: HashMap::new(),
            history_complete: false,
            recent: HashMap::new(),
            last_problem: HashMap::new(),
            figures: HashMap::new(),
            pane_figures: None,
            rollups: Vec::new(),
            logs: VecDeque::new(),
            log_capacity: log_capacity.max(1),
            audit: None,
            run_logs: None,
            run_requests: None,
            preview: None,
            uptime: None,
            tests: HashMap::new(),
            secret_metas: HashMap::new(),
            alert_counts: AlertCounts::default(),
            alerts: AlertsView::default(),
        }
    }

    /// Adds a finished (or skipped) run at the front of history; a run that only
    /// repeats its integration's last one is counted on it, as the store does.
    pub fn add_run(&mut self, run: Arc<RunRecord>) {
        self.note_run(&run);
        // A run already shown (from the first page of history) comes again as an event.
        if let Some(at) = self.run_position(run.id) {
            self.runs.remove(at);
            self.run_ids.remove(&run.id);
        }
        let newest = self
            .newest_run
            .get(&run.integration)
            .and_then(|&id| self.run_position(id));
        if let Some(last) = newest.and_then(|at| self.runs.get_mut(at))
            && run.repeats(last)
        {
            Arc::make_mut(last).fold(&run);
            return;
        }
        self.newest_run.insert(run.integration.clone(), run.id);
        self.run_ids.insert(run.id);
        self.runs.push_front(run);
        if self.runs.len() > HISTORY_IN_MEMORY
            && let Some(dropped) = self.runs.pop_back()
        {
            self.run_ids.remove(&dropped.id);
            self.history_complete = false;
        }
    }

    /// Where the run with `id` is in `runs`, if it is there: most often it is not.
    fn run_position(&self, id: ulid::Ulid) -> Option<usize> {
        if !self.run_ids.contains(&id) {
            return None;
        }
        self.runs.iter().position(|r| r.id == id)
    }

    /// Forgets the runs in memory, before history is read again from the start.
    pub fn clear_history(&mut self) {
        self.runs.clear();
        self.run_ids.clear();
        self.newest_run.clear();
    }

    /// Appends older runs from the store (a page, newest first).
    pub fn extend_history(&mut self, page: Vec<RunRecord>, page_size: usize) {
        self.history_complete = page.len() < page_size;
        for run in page {
            let run = Arc::new(run);
            self.remember_problem(&run);
            self.newest_run
                .entry(run.integration.clone())
                .or_insert(run.id);
            self.run_ids.insert(run.id);
            self.runs.push_back(run);
        }
    }

    /// Seeds sparklines and problems from the first page of history (newest first).
    pub fn seed_history(&mut self, page: Vec<RunRecord>, page_size: usize) {
        self.history_complete = page.len() < page_size;
        for run in page.into_iter().rev() {
            let run = Arc::new(run);
            self.note_run(&run);
            self.newest_run.insert(run.integration.clone(), run.id);
            self.run_ids.insert(run.id);
            self.runs.push_front(run);
        }
    }

    fn note_run(&mut self, run: &Arc<RunRecord>) {
        let recent = self.recent.entry(run.integration.clone()).or_default();
        recent.push_back(run.status);
        while recent.len() > RECENT_RUNS {
            recent.pop_front();
        }
        self.remember_problem(run);
    }

    fn remember_problem(&mut self, run: &Arc<RunRecord>) {
        if matches!(run.status, RunStatus::Failed | RunStatus::Partial) {
            let newer = self
                .last_problem
                .get(&run.integration)
                .is_some_and(|known| known.id > run.id);
            if !newer {
                self.last_problem
                    .insert(run.integration.clone(), Arc::clone(run));
            }
        }
    }

    /// Adds log lines in sequence order. Lines fetched to catch up can arrive after
    /// newer streamed ones: they are merged in, and a line already here is not repeated.
    pub fn add_logs(&mut self, events: Vec<LogEvent>) {
        let newer = |event: &LogEvent, logs: &VecDeque<LogEvent>| {
            logs.back().is_none_or(|last| event.seq > last.seq)
        };
        if !events.iter().all(|event| newer(event, &self.logs)) {
            let mut merged: Vec<LogEvent> = self.logs.drain(..).chain(events).collect();
            merged.sort_by_key(|event| event.seq);
            merged.dedup_by_key(|event| event.seq);
            let excess = merged.len().saturating_sub(self.log_capacity);
            self.logs = merged.into_iter().skip(excess).collect();
            return;
        }
        for event in events {
            if self.logs.len() == self.log_capacity {
                self.logs.pop_front();
            }
            self.logs.push_back(event);
        }
    }

    /// How things stand as a whole: on attach, and after falling behind the events.
    pub fn set_snapshot(&mut self, snapshot: EngineSnapshot) {
        self.integrations = snapshot.integrations;
        self.index_integrations();
        self.rows_changed();
        self.set_status(snapshot.status);
        self.alert_counts = snapshot.alerts;
    }

    pub fn set_status(&mut self, status: EngineStatus) {
        self.engine_state = if status.stopping {
            "stopping"
        } else if status.scheduling {
            "running"
        } else {
            "idle"
        }
        .into();
    }

    /// Integrations that changed since the last look. A busy hub sends thousands a
    /// second, so each is found through an index by name, not a scan.
    pub fn apply_changes(&mut self, changes: Vec<IntegrationChange>) {
        for change in changes {
            if let Some(at) = self.row_of(&change.name) {
                self.update_row(at, |view| view.apply(change));
            }
        }
    }

    /// Briefs of integrations, most of them off screen.
    pub fn apply_briefs(&mut self, briefs: Vec<IntegrationBrief>) {
        for brief in briefs {
            if let Some(at) = self.row_of(&brief.name) {
                self.update_row(at, |view| brief.apply_to(view));
            }
        }
    }

    /// Updates the integration at `at`, noting whether what the table's filter and sort
    /// read of it moved.
    fn update_row(&mut self, at: usize, update: impl FnOnce(&mut IntegrationView)) {
        if let Some(view) = self.integrations.get_mut(at) {
            let before = RowKeys::of(view);
            update(view);
            let after = RowKeys::of(view);
            self.note_row_keys(&before, &after);
        }
    }

    fn note_row_keys(&mut self, before: &RowKeys, after: &RowKeys) {
        if before.health != after.health {
            self.rows_generation.standing += 1;
        }
        if (before.last_run_at, before.next_run) != (after.last_run_at, after.next_run) {
            self.rows_generation.times += 1;
        }
    }

    /// Which integrations there are changed, or anything about them may have.
    fn rows_changed(&mut self) {
        self.rows_generation.standing += 1;
        self.rows_generation.times += 1;
    }

    /// Where the integration `name` is in `integrations`.
    fn row_of(&mut self, name: &str) -> Option<usize> {
        match self.position.get(name) {
            Some(&at) if self.integrations.get(at).is_some_and(|v| v.name == name) => Some(at),
            // The list was replaced since the index was built.
            _ => {
                self.index_integrations();
                self.position.get(name).copied()
            }
        }
    }

    fn index_integrations(&mut self) {
        self.position = self
            .integrations
            .iter()
            .enumerate()
            .map(|(at, view)| (view.name.clone(), at))
            .collect();
    }

    /// A reload: removed integrations go; added and changed ones come whole.
    pub fn apply_reload(&mut self, summary: &ReloadSummary, views: Vec<IntegrationView>) {
        self.integrations
            .retain(|v| !summary.removed.contains(&v.name));
        for view in views {
            match self.integrations.iter_mut().find(|v| v.name == view.name) {
                Some(known) => *known = view,
                None => self.integrations.push(view),
            }
        }
        self.index_integrations();
        self.rows_changed();
    }

    /// The traced requests of run `id`, once loaded.
    pub fn requests_of(&self, id: ulid::Ulid) -> Option<&[crate::domain::trace::RequestTrace]> {
        match &self.run_requests {
            Some((loaded, requests)) if *loaded == id => Some(requests),
            _ => None,
        }
    }

    /// The integration `name`, found through the index `row_of` keeps (the detail view
    /// looks it up every frame, among 10,000).
    pub fn integration(&self, name: &str) -> Option<&IntegrationView> {
        let indexed = self
            .position
            .get(name)
            .and_then(|&at| self.integrations.get(at));
        match indexed {
            Some(view) if view.name == name => Some(view),
            // The list was replaced since the index was built.
            _ => self.integrations.iter().find(|i| i.name == name),
        }
    }
}

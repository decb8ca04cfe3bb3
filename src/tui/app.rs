//! The console's state and what keys do to it. Anything that needs the engine becomes
//! an [`Effect`] for the runner, whose answer comes back as a toast or as model data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use secrecy::SecretString;
use tracing::Level;

use super::keymap::{Action, Keymap};
use super::model::Model;
use super::theme::Theme;
use crate::domain::run::RunRecord;
use crate::runtime::metrics::Window;

pub const PANES: [&str; 5] = ["Integrations", "History", "Metrics", "Logs", "Alerts"];
const TOAST_FOR: Duration = Duration::from_secs(6);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pane {
    Integrations,
    History,
    Metrics,
    Logs,
    Alerts,
}

impl Pane {
    pub const ALL: [Pane; 5] = [
        Pane::Integrations,
        Pane::History,
        Pane::Metrics,
        Pane::Logs,
        Pane::Alerts,
    ];

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }
}

/// A view opened over the pane with Enter; Esc closes it.
#[derive(Debug, Clone)]
pub enum Drill {
    Integration(String),
    Run(Arc<RunRecord>),
    /// One traced request of a run: its headers and the start of its body.
    Request(Arc<RunRecord>, usize),
    /// A source's first records after the pipeline, and what would become of each.
    Preview(String),
    /// The audit log (`:audit`): who did what, to what, when, from where.
    Audit,
}

#[derive(Debug, Clone)]
pub enum Mode {
    Normal,
    Help,
    Command(String),
    Filter(String),
    Confirm { prompt: String, effect: Effect },
    SecretName(String),
    SecretValue { name: String, value: String },
}

/// Work for the runner: engine commands and data to fetch.
#[derive(Debug, Clone)]
pub enum Effect {
    RunNow(String),
    Pause(String),
    Resume(String),
    Cancel(String),
    Test(String),
    SetSecret {
        name: String,
        value: SecretString,
    },
    Reload,
    /// Holds back the notices of an alert rule, an integration or `rule/integration`.
    Silence {
        target: String,
        duration: Duration,
        reason: String,
    },
    Unsilence(String),
    /// Move a source's incremental cursor (`None`: forget it), for backfills and replays.
    SetCursor {
        name: String,
        value: Option<String>,
    },
    LoadRunLogs(ulid::Ulid),
    /// Samples a source's records through the pipeline, delivering nothing.
    LoadPreview(String),
    LoadOlderRuns,
    /// The newest audit entries, for the audit view.
    LoadAudit,
    LoadRollups(String),
    /// What the detail view reads from the store once when it opens: the
    /// integration's uptime (it moves by the minute) and its secrets' expiry.
    LoadDetail(String),
    Quit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToastLevel {
    Info,
    Error,
}

#[derive(Debug, Clone)]
pub struct Toast {
    pub text: String,
    pub level: ToastLevel,
    pub until: Instant,
}

/// Columns the integrations table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortBy {
    Name,
    Kind,
    Health,
    LastRun,
    NextRun,
}

impl SortBy {
    fn next(self) -> Self {
        match self {
            Self::Name => Self::Kind,
            Self::Kind => Self::Health,
            Self::Health => Self::LastRun,
            Self::LastRun => Self::NextRun,
            Self::NextRun => Self::Name,
        }
    }

    /// Whether the order reads run times, which change with every run: it must then be
    /// kept up with every integration's times, not only with how they stand.
    pub fn by_time(self) -> bool {
        matches!(self, Self::LastRun | Self::NextRun)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Kind => "kind",
            Self::Health => "health",
            Self::LastRun => "last run",
            Self::NextRun => "next run",
        }
    }
}

#[derive(Debug, Clone)]
pub struct LogsView {
    pub follow: bool,
    pub min_level: Option<Level>,
    pub timestamps: bool,
    pub wrap: bool,
    pub search: String,
    /// Lines scrolled up from the newest, when not following.
    pub scroll: usize,
}

pub struct App {
    pub model: Model,
    pub theme: Theme,
    pub keymap: Keymap,
    pub no_color: bool,
    pub pane: Pane,
    pub drill: Vec<Drill>,
    pub mode: Mode,
    pub filter: String,
    pub sort: SortBy,
    pub sort_reverse: bool,
    /// Selected row per pane (integrations, history), and scroll offsets of drill views.
    pub selected_integration: usize,
    /// The selected integration by name: the table re-sorts as runs finish, and the
    /// selection follows the integration, not the row (`clamp` finds it again), so
    /// `r` runs what the operator was reading.
    pub selected_name: Option<String>,
    pub selected_run: usize,
    pub selected_alert: usize,
    /// The traced request selected in the run view.
    pub selected_request: usize,
    pub detail_scroll: usize,
    pub help_scroll: usize,
    /// History, metrics and logs: every integration, or only the selected one.
    pub scope_all: bool,
    pub window: Window,
    pub logs: LogsView,
    pub toast: Option<Toast>,
    /// The run the operator started last, whose outcome the status line will show.
    pub awaited_run: Option<ulid::Ulid>,
    pub quit: bool,
    /// Where the last frame drew the main table, for mouse clicks.
    pub table_area: Rect,
    pub table_offset: usize,
    /// The table's rows as last filtered and sorted, and from what.
    pub(super) rows: std::cell::RefCell<Option<(super::selection::RowsKey, Vec<usize>)>>,
}

impl App {
    pub fn new(model: Model, theme: Theme, keymap: Keymap, no_color: bool) -> Self {
        Self {
            model,
            theme,
            keymap,
            no_color,
            pane: Pane::Integrations,
            drill: Vec::new(),
            mode: Mode::Normal,
            filter: String::new(),
            sort: SortBy::Name,
            sort_reverse: false,
            selected_integration: 0,
            selected_name: None,
            selected_run: 0,
            selected_alert: 0,
            selected_request: 0,
            detail_scroll: 0,
            help_scroll: 0,
            scope_all: true,
            window: Window::FiveMinutes,
            logs: LogsView {
                follow: true,
                min_level: None,
                timestamps: true,
                wrap: false,
                search: String::new(),
                scroll: 0,
            },
            toast: None,
            awaited_run: None,
            quit: false,
            table_area: Rect::default(),
            table_offset: 0,
            rows: std::cell::RefCell::default(),
        }
    }

    pub fn toast(&mut self, text: impl Into<String>, level: ToastLevel) {
        self.toast = Some(Toast {
            text: text.into(),
            level,
            until: Instant::now() + TOAST_FOR,
        });
    }

    pub fn on_mouse(&mut self, event: MouseEvent) -> Vec<Effect> {
        match event.kind {
            MouseEventKind::ScrollDown => self.move_selection(3),
            MouseEventKind::ScrollUp => self.move_selection(-3),
            MouseEventKind::Down(_) => {
                let area = self.table_area;
                // One header row above the data rows.
                if event.column >= area.x
                    && event.column < area.x + area.width
                    && event.row > area.y
                    && event.row < area.y + area.height
                {
                    let row = self.table_offset + (event.row - area.y - 1) as usize;
                    match self.pane {
                        Pane::Integrations => self.select_integration_row(row),
                        Pane::History => self.selected_run = row,
                        Pane::Alerts => self.selected_alert = row,
                        _ => {}
                    }
                    self.clamp();
                }
                Vec::new()
            }
            _ => Vec::new(),
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        match std::mem::replace(&mut self.mode, Mode::Normal) {
            Mode::Normal => self.normal_key(key),
            Mode::Help => {
                // j/k and the page keys scroll the help; any other key closes it (so
                // `q` there means "close", not "quit").
                let scroll = match self.keymap.action_for(key.code, key.modifiers) {
                    Some(Action::Down) => Some(1isize),
                    Some(Action::Up) => Some(-1),
                    Some(Action::PageDown) => Some(10),
                    Some(Action::PageUp) => Some(-10),
                    _ => None,
                };
                if let Some(by) = scroll {
                    self.help_scroll = (self.help_scroll as isize + by).max(0) as usize;
                    self.mode = Mode::Help;
                } else {
                    self.help_scroll = 0;
                }
                Vec::new()
            }
            Mode::Command(input) => {
                self.line_key(key, input, Mode::Command, Self::complete, |app, line| {
                    app.run_command(&line)
                })
            }
            Mode::Filter(input) => {
                let effects =
                    self.line_key(key, input, Mode::Filter, Self::complete, |app, line| {
                        app.apply_filter(line);
                        Vec::new()
                    });
                if let Mode::Filter(live) = &self.mode {
                    let live = live.clone();
                    self.apply_filter(live);
                }
                effects
            }
            Mode::Confirm { prompt, effect } => match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => vec![effect],
                KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => {
                    self.toast("not done", ToastLevel::Info);
                    Vec::new()
                }
                _ => {
                    self.mode = Mode::Confirm { prompt, effect };
                    Vec::new()
                }
            },
            Mode::SecretName(input) => self.line_key(
                key,
                input,
                Mode::SecretName,
                Self::complete_secret,
                |app, name| {
                    if crate::config::credential::is_valid_secret_name(&name) {
                        app.mode = Mode::SecretValue {
                            name,
                            value: String::new(),
                        };
                    } else {
                        app.toast(
                            format!("`{name}` is not a valid secret name"),
                            ToastLevel::Error,
                        );
                    }
                    Vec::new()
                },
            ),
            Mode::SecretValue { name, value } => match key.code {
                KeyCode::Enter if !value.is_empty() => vec![Effect::SetSecret {
                    name,
                    value: SecretString::from(value),
                }],
                KeyCode::Esc => Vec::new(),
                KeyCode::Backspace => {
                    let mut value = value;
                    value.pop();
                    self.mode = Mode::SecretValue { name, value };
                    Vec::new()
                }
                KeyCode::Char(c) => {
                    let mut value = value;
                    value.push(c);
                    self.mode = Mode::SecretValue { name, value };
                    Vec::new()
                }
                _ => {
                    self.mode = Mode::SecretValue { name, value };
                    Vec::new()
                }
            },
        }
    }

    /// Editing a one-line input; Tab calls `complete`, Enter calls `done`, Esc abandons.
    fn line_key(
        &mut self,
        key: KeyEvent,
        mut input: String,
        mode: fn(String) -> Mode,
        complete: fn(&Self, &str) -> String,
        done: impl FnOnce(&mut Self, String) -> Vec<Effect>,
    ) -> Vec<Effect> {
        match key.code {
            KeyCode::Enter => return done(self, input.trim().to_owned()),
            KeyCode::Esc => return Vec::new(),
            KeyCode::Backspace => {
                input.pop();
            }
            KeyCode::Tab => input = complete(self, &input),
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
            _ => {}
        }
        self.mode = mode(input);
        Vec::new()
    }

    fn apply_filter(&mut self, text: String) {
        if self.pane == Pane::Logs {
            self.logs.search = text;
        } else {
            self.filter = text;
            // The selected integration stays selected if the filter keeps it; else the
            // first match is.
            self.selected_integration = 0;
            self.clamp();
        }
    }

    /// Refuses changes in read-only mode; asks before the ones that stop work.
    pub(super) fn guarded(&mut self, effect: Effect) -> Vec<Effect> {
        if self.model.read_only && !matches!(effect, Effect::Test(_)) {
            self.toast("read-only: actions are disabled", ToastLevel::Error);
            return Vec::new();
        }
        let prompt = match &effect {
            Effect::Pause(name) => {
                Some(format!("pause {name}? it will not run until resumed (y/n)"))
            }
            Effect::Cancel(name) => Some(format!("cancel the running run of {name}? (y/n)")),
            Effect::SetCursor {
                name,
                value: Some(value),
            } => Some(format!("move the cursor of {name} to {value}? (y/n)")),
            Effect::SetCursor { name, value: None } => Some(format!(
                "reset the cursor of {name}? its next run starts over (y/n)"
            )),
            _ => None,
        };
        match prompt {
            Some(prompt) => {
                self.mode = Mode::Confirm { prompt, effect };
                Vec::new()
            }
            None => vec![effect],
        }
    }

    fn normal_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(action) = self.keymap.action_for(key.code, key.modifiers) else {
            return Vec::new();
        };
        match action {
            Action::Quit => return vec![Effect::Quit],
            Action::Help => self.mode = Mode::Help,
            Action::NextPane => self.switch(Pane::ALL[(self.pane.index() + 1) % Pane::ALL.len()]),
            Action::PrevPane => {
                self.switch(Pane::ALL[(self.pane.index() + Pane::ALL.len() - 1) % Pane::ALL.len()])
            }
            Action::Pane(i) => self.switch(Pane::ALL[i]),
            Action::Command => self.mode = Mode::Command(String::new()),
            Action::Filter => {
                let current = if self.pane == Pane::Logs {
                    self.logs.search.clone()
                } else {
                    self.filter.clone()
                };
                self.mode = Mode::Filter(current);
            }
            Action::Up => return self.move_selection(-1),
            Action::Down => return self.move_selection(1),
            Action::PageUp => return self.move_selection(-10),
            Action::PageDown => return self.move_selection(10),
            Action::Top => return self.move_selection(isize::MIN / 2),
            Action::Bottom => return self.move_selection(isize::MAX / 2),
            Action::Open => return self.open(),
            Action::Back => {
                if self.drill.pop().is_none() {
                    self.filter.clear();
                    self.logs.search.clear();
                    self.clamp();
                }
                self.detail_scroll = 0;
            }
            Action::Sort => {
                self.sort = self.sort.next();
                self.clamp();
            }
            Action::SortReverse => {
                self.sort_reverse = !self.sort_reverse;
                self.clamp();
            }
            Action::ToggleScope => self.scope_all = !self.scope_all,
            Action::CycleWindow => {
                let i = Window::ALL
                    .iter()
                    .position(|w| *w == self.window)
                    .unwrap_or(0);
                self.window = Window::ALL[(i + 1) % Window::ALL.len()];
            }
            Action::Follow => {
                self.logs.follow = !self.logs.follow;
                self.logs.scroll = 0;
            }
            Action::CycleLevel => {
                self.logs.min_level = match self.logs.min_level {
                    None => Some(Level::INFO),
                    Some(Level::INFO) => Some(Level::WARN),
                    Some(Level::WARN) => Some(Level::ERROR),
                    _ => None,
                }
            }
            Action::Timestamps => self.logs.timestamps = !self.logs.timestamps,
            Action::Wrap => self.logs.wrap = !self.logs.wrap,
            Action::RunNow
            | Action::PauseResume
            | Action::Cancel
            | Action::Test
            | Action::SetSecret => return self.act(action),
            Action::Silence => self.start_silence(),
            Action::Preview => {
                return match self.selected_name() {
                    Some(name) => self.open_preview(name),
                    None => Vec::new(),
                };
            }
        }
        Vec::new()
    }

    /// Opens the records preview of `name`; it changes nothing, so viewers may too.
    pub(super) fn open_preview(&mut self, name: String) -> Vec<Effect> {
        self.model.preview = None;
        self.detail_scroll = 0;
        self.drill.push(Drill::Preview(name.clone()));
        vec![Effect::LoadPreview(name)]
    }

    /// Opens the command line on `silence TARGET 2h `, for the operator to adjust the
    /// time and say why: the selected alert in the Alerts pane, else the integration.
    fn start_silence(&mut self) {
        if self.model.read_only {
            self.toast("read-only: alerts cannot be silenced", ToastLevel::Error);
            return;
        }
        let target = match self.pane {
            Pane::Alerts if self.drill.is_empty() => self
                .visible_alerts()
                .get(self.selected_alert)
                .map(|a| a.key()),
            _ => self.selected_name(),
        };
        match target {
            Some(target) => self.mode = Mode::Command(format!("silence {target} 2h ")),
            None => self.toast("nothing selected to silence", ToastLevel::Error),
        }
    }

    fn act(&mut self, action: Action) -> Vec<Effect> {
        if action == Action::SetSecret {
            return self.run_command("secret set");
        }
        let Some(view) = self
            .selected_name()
            .and_then(|name| self.model.integration(&name).cloned())
        else {
            self.toast("no integration selected", ToastLevel::Error);
            return Vec::new();
        };
        let effect = match action {
            Action::RunNow => Effect::RunNow(view.name),
            Action::PauseResume if view.paused.is_some() => Effect::Resume(view.name),
            Action::PauseResume => Effect::Pause(view.name),
            Action::Cancel => Effect::Cancel(view.name),
            _ => Effect::Test(view.name),
        };
        self.guarded(effect)
    }

    /// A run's traced requests have loaded: the selection starts on the last one that
    /// failed, the one an operator opened the run for.
    pub fn show_run_requests(
        &mut self,
        run: ulid::Ulid,
        requests: Vec<crate::domain::trace::RequestTrace>,
    ) {
        self.selected_request = requests.iter().rposition(|r| r.failed()).unwrap_or(0);
        self.model.run_requests = Some((run, requests));
    }

    fn switch(&mut self, pane: Pane) {
        self.pane = pane;
        self.drill.clear();
        self.detail_scroll = 0;
    }

    fn open(&mut self) -> Vec<Effect> {
        if let Some(Drill::Run(run)) = self.drill.last()
            && self.run_requests(run).is_some_and(|r| !r.is_empty())
        {
            self.drill
                .push(Drill::Request(Arc::clone(run), self.selected_request));
            self.detail_scroll = 0;
            return Vec::new();
        }
        if self.drill.is_empty() {
            match self.pane {
                Pane::Integrations | Pane::Metrics => {
                    if let Some(view) = self.selected() {
                        let name = view.name.clone();
                        self.drill.push(Drill::Integration(name.clone()));
                        return vec![Effect::LoadDetail(name)];
                    }
                }
                Pane::History => {
                    if let Some(run) = self
                        .visible_runs()
                        .get(self.selected_run)
                        .map(|r| Arc::clone(r))
                    {
                        let id = run.id;
                        self.drill.push(Drill::Run(run));
                        return vec![Effect::LoadRunLogs(id)];
                    }
                }
                Pane::Alerts => {
                    let integration = self
                        .visible_alerts()
                        .get(self.selected_alert)
                        .map(|a| a.integration.clone());
                    if let Some(name) = integration.filter(|n| self.model.integration(n).is_some())
                    {
                        self.drill.push(Drill::Integration(name.clone()));
                        return vec![Effect::LoadDetail(name)];
                    }
                }
                Pane::Logs => return self.open_logged_run(),
            }
        }
        Vec::new()
    }

    /// Opens the run the Logs pane's bottom line is about, if it is still in memory.
    fn open_logged_run(&mut self) -> Vec<Effect> {
        let shown = self.visible_logs();
        let end = self.logs_end(shown.len());
        let Some(id) = end.checked_sub(1).and_then(|i| shown[i].run) else {
            self.toast("this line is not about a run", ToastLevel::Info);
            return Vec::new();
        };
        match self.model.runs.iter().find(|r| r.id == id).map(Arc::clone) {
            Some(run) => {
                self.drill.push(Drill::Run(run));
                vec![Effect::LoadRunLogs(id)]
            }
            None => {
                self.toast(
                    format!("run {id} is no longer in memory; History pages in older runs"),
                    ToastLevel::Info,
                );
                Vec::new()
            }
        }
    }

    fn move_selection(&mut self, by: isize) -> Vec<Effect> {
        let step = |value: usize| (value as isize).saturating_add(by).max(0) as usize;
        if let Some(Drill::Run(run)) = self.drill.last()
            && let Some(count) = self.run_requests(run).map(<[_]>::len)
            && count > 0
            && by.abs() == 1
        {
            // Up and down pick a request, as in a browser's network tab; the pages
            // scroll the view.
            self.selected_request = step(self.selected_request).min(count - 1);
            return Vec::new();
        }
        if !self.drill.is_empty() {
            self.detail_scroll = step(self.detail_scroll);
            return Vec::new();
        }
        match self.pane {
            Pane::Integrations | Pane::Metrics => {
                self.select_integration_row(step(self.selected_integration))
            }
            Pane::History => self.selected_run = step(self.selected_run),
            Pane::Alerts => self.selected_alert = step(self.selected_alert),
            Pane::Logs => {
                self.logs.follow = false;
                self.logs.scroll = (self.logs.scroll as isize).saturating_sub(by).max(0) as usize;
            }
        }
        self.clamp();
        // Near the end of the runs in memory: fetch the next page from the store.
        if self.pane == Pane::History
            && !self.model.history_complete
            && self.selected_run + 20 >= self.visible_runs().len()
        {
            return vec![Effect::LoadOlderRuns];
        }
        Vec::new()
    }
}

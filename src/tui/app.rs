//! The console's router: which pane is on screen, the input mode (command line,
//! filter, confirmation, secret prompt) and the actions that mean the same on every
//! pane; other keys go to the pane or the view opened over it (`panes`). Anything that
//! needs the engine becomes an [`Effect`] for the runner, whose answer comes back as a
//! toast or as model data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use secrecy::SecretString;

use super::keymap::{Action, Keymap};
use super::model::Model;
use super::panes::{AlertsPane, DrillStack, HistoryPane, IntegrationsPane, LogsPane, MetricsPane};
pub use super::panes::{Drill, SortBy};
use super::theme::Theme;

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

pub struct App {
    pub model: Model,
    pub theme: Theme,
    pub keymap: Keymap,
    pub no_color: bool,
    pub pane: Pane,
    pub integrations: IntegrationsPane,
    pub history: HistoryPane,
    pub metrics: MetricsPane,
    pub logs: LogsPane,
    pub alerts: AlertsPane,
    /// The views opened over the pane.
    pub drill: DrillStack,
    pub mode: Mode,
    pub help_scroll: usize,
    /// History, metrics and logs: every integration, or only the selected one.
    pub scope_all: bool,
    pub toast: Option<Toast>,
    /// The run the operator started last, whose outcome the status line will show.
    pub awaited_run: Option<ulid::Ulid>,
    pub quit: bool,
    /// Where the last frame drew the pane's table, for mouse clicks.
    pub table_area: Rect,
}

impl App {
    pub fn new(model: Model, theme: Theme, keymap: Keymap, no_color: bool) -> Self {
        Self {
            model,
            theme,
            keymap,
            no_color,
            pane: Pane::Integrations,
            integrations: IntegrationsPane::default(),
            history: HistoryPane::default(),
            metrics: MetricsPane::default(),
            logs: LogsPane::default(),
            alerts: AlertsPane::default(),
            drill: DrillStack::default(),
            mode: Mode::Normal,
            help_scroll: 0,
            scope_all: true,
            toast: None,
            awaited_run: None,
            quit: false,
            table_area: Rect::default(),
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
        let step = match event.kind {
            MouseEventKind::ScrollDown => Action::Down,
            MouseEventKind::ScrollUp => Action::Up,
            MouseEventKind::Down(_) => {
                self.click(event.column, event.row);
                return Vec::new();
            }
            _ => return Vec::new(),
        };
        // A wheel notch moves three rows; only the last move's effects are kept, so
        // History asks for the next page of runs once, not three times.
        (0..3).fold(Vec::new(), |_, _| self.route(step))
    }

    /// Selects the row clicked in the pane's table.
    fn click(&mut self, column: u16, row: u16) {
        let area = self.table_area;
        // One header row above the data rows.
        let inside = column >= area.x
            && column < area.x + area.width
            && row > area.y
            && row < area.y + area.height;
        if !inside || !self.drill.is_empty() {
            return;
        }
        let clicked = usize::from(row - area.y - 1);
        let scope = self.scope();
        match self.pane {
            Pane::Integrations => self
                .integrations
                .select_row(self.integrations.offset + clicked, &self.model),
            Pane::History => self.history.select_row(
                self.history.offset + clicked,
                &self.model,
                scope.as_deref(),
            ),
            Pane::Alerts => {
                self.alerts.row = self.alerts.offset + clicked;
                self.alerts.clamp(&self.model);
            }
            Pane::Metrics | Pane::Logs => {}
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
            self.integrations.set_filter(text, &self.model);
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
        match self.global_action(action) {
            Some(effects) => effects,
            None => self.route(action),
        }
    }

    /// Actions that mean the same on every pane; `None` for the others.
    fn global_action(&mut self, action: Action) -> Option<Vec<Effect>> {
        let panes = Pane::ALL.len();
        match action {
            Action::Quit => return Some(vec![Effect::Quit]),
            Action::Help => self.mode = Mode::Help,
            Action::NextPane => self.switch(Pane::ALL[(self.pane.index() + 1) % panes]),
            Action::PrevPane => self.switch(Pane::ALL[(self.pane.index() + panes - 1) % panes]),
            Action::Pane(i) => self.switch(Pane::ALL[i]),
            Action::Command => self.mode = Mode::Command(String::new()),
            Action::Filter => {
                let current = if self.pane == Pane::Logs {
                    &self.logs.search
                } else {
                    &self.integrations.filter
                };
                self.mode = Mode::Filter(current.clone());
            }
            Action::Back => {
                if self.drill.pop().is_none() {
                    self.integrations.filter.clear();
                    self.logs.search.clear();
                    self.clamp();
                }
            }
            Action::ToggleScope => {
                self.scope_all = !self.scope_all;
                self.clamp();
            }
            Action::RunNow
            | Action::PauseResume
            | Action::Cancel
            | Action::Test
            | Action::SetSecret => return Some(self.act(action)),
            Action::Silence => self.start_silence(),
            Action::Preview => {
                return Some(match self.selected_name() {
                    Some(name) => self.open_preview(name),
                    None => Vec::new(),
                });
            }
            _ => return None,
        }
        Some(Vec::new())
    }

    /// Hands `action` to what is on screen: the view opened over the pane, else the
    /// pane. The Metrics pane moves through the integrations it charts.
    fn route(&mut self, action: Action) -> Vec<Effect> {
        if !self.drill.is_empty() {
            self.drill.on_action(action, &self.model);
            return Vec::new();
        }
        if action == Action::Open {
            return self.open();
        }
        let model = &self.model;
        match self.pane {
            Pane::Integrations => {
                self.integrations.on_action(action, model);
            }
            Pane::Metrics => {
                if !self.metrics.on_action(action) {
                    self.integrations.on_action(action, model);
                }
            }
            Pane::History => {
                let scope = self.scope();
                return (self.history)
                    .on_action(action, &self.model, scope.as_deref())
                    .unwrap_or_default();
            }
            Pane::Logs => {
                self.logs.on_action(action, model);
            }
            Pane::Alerts => {
                self.alerts.on_action(action, model);
            }
        }
        Vec::new()
    }

    /// Opens the records preview of `name`; it changes nothing, so viewers may too.
    pub(super) fn open_preview(&mut self, name: String) -> Vec<Effect> {
        self.model.preview = None;
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
            Pane::Alerts if self.drill.is_empty() => {
                self.alerts.selected(&self.model).map(|a| a.key())
            }
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
        self.drill.request = requests.iter().rposition(|r| r.failed()).unwrap_or(0);
        self.model.run_requests = Some((run, requests));
    }

    fn switch(&mut self, pane: Pane) {
        self.pane = pane;
        self.drill.clear();
    }

    /// Enter on a pane: opens what its selected row is about.
    fn open(&mut self) -> Vec<Effect> {
        match self.pane {
            Pane::Integrations | Pane::Metrics => match self.integrations.selected(&self.model) {
                Some(view) => {
                    let name = view.name.clone();
                    self.open_integration(name)
                }
                None => Vec::new(),
            },
            Pane::History => {
                let scope = self.scope();
                match self.history.selected(&self.model, scope.as_deref()) {
                    Some(run) => {
                        let id = run.id;
                        self.drill.push(Drill::Run(run));
                        vec![Effect::LoadRunLogs(id)]
                    }
                    None => Vec::new(),
                }
            }
            Pane::Alerts => {
                let integration = self
                    .alerts
                    .selected(&self.model)
                    .map(|a| a.integration.clone());
                match integration.filter(|n| self.model.integration(n).is_some()) {
                    Some(name) => self.open_integration(name),
                    None => Vec::new(),
                }
            }
            Pane::Logs => self.open_logged_run(),
        }
    }

    fn open_integration(&mut self, name: String) -> Vec<Effect> {
        self.drill.push(Drill::Integration(name.clone()));
        vec![Effect::LoadDetail(name)]
    }

    /// Opens the run the Logs pane's bottom line is about, if it is still in memory.
    fn open_logged_run(&mut self) -> Vec<Effect> {
        let scope = self.scope();
        let shown = self.logs.visible(&self.model, scope.as_deref());
        let end = self.logs.end(shown.len());
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

    /// The integration the screen is about: the one the open view shows, else the
    /// selected row's.
    pub fn selected_name(&self) -> Option<String> {
        match self.drill.last().and_then(Drill::integration) {
            Some(name) => Some(name.to_owned()),
            None => self
                .integrations
                .selected(&self.model)
                .map(|i| i.name.clone()),
        }
    }

    /// The integration History, Metrics and Logs show alone; `None` when they show all.
    pub fn scope(&self) -> Option<String> {
        (!self.scope_all).then(|| self.selected_name()).flatten()
    }

    /// Keeps every pane's selection in range after the data, filter or sort changed.
    pub fn clamp(&mut self) {
        self.integrations.clamp(&self.model);
        let scope = self.scope();
        self.history.clamp(&self.model, scope.as_deref());
        self.alerts.clamp(&self.model);
        self.logs.clamp(&self.model);
    }

    /// The integrations on screen or a scroll away.
    pub fn names_on_screen(&self) -> Vec<String> {
        self.integrations
            .names_around(&self.model, self.table_area.height)
    }

    /// The integrations whose figures the screen shows: the open integration's, or the
    /// rows of an Integrations table wide enough for its figure columns. The Metrics
    /// pane asks for its own.
    pub fn names_with_figures(&self) -> Vec<String> {
        match self.drill.last() {
            Some(Drill::Integration(name)) => vec![name.clone()],
            Some(_) => Vec::new(),
            None if self.pane == Pane::Integrations && self.integrations.figures_shown => {
                self.names_on_screen()
            }
            None => Vec::new(),
        }
    }
}

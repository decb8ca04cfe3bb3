//! The event loop. The screen is redrawn only when something changed: within 50 ms of
//! a key, and at most once a second for the engine's changes (a busy hub changes
//! something every few milliseconds, and a slow link gains nothing from more).
//! `terminal.rs` wraps each frame in synchronized output so a slow link never shows
//! half a frame. The terminal is restored on exit, on a panic, and on SIGHUP (the
//! SSH connection dropped) or SIGTERM.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::app::{App, Effect, Mode, Pane, ToastLevel};
use super::keymap::Keymap;
use super::model::{Figures, Model};
use super::terminal::ConsoleTerminal;
use super::theme::Theme;
use super::view;
use crate::control::protocol::{self as q, Event as HubEvent};
use crate::control::{Hub, Origin};
use crate::domain::{RunRecord, RunStatus};
use crate::engine::{CommandError, EngineSnapshot};
use crate::pipeline::preview::PreviewRecord;

/// Audit entries the audit view reads when it opens, newest first.
const AUDIT_ENTRIES: usize = 500;
use secrecy::ExposeSecret;

/// How soon the screen follows a key, and how often the engine's changes and the
/// clock: once a second, as the service sends changes, so a batch and the clock's
/// tick share one frame.
const FRAME_INTERVAL: Duration = Duration::from_millis(50);
const DATA_FRAME_INTERVAL: Duration = Duration::from_secs(1);
/// The clock and "in 12s" labels change with time alone.
const CLOCK_TICK: Duration = Duration::from_secs(1);
const HISTORY_PAGE: usize = 200;

pub struct ConsoleOptions {
    pub theme: String,
    pub keys: Keymap,
    pub log_capacity: usize,
}

pub async fn run(mut hub: Hub, options: ConsoleOptions) -> io::Result<()> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(&options.theme, no_color).map_err(io::Error::other)?;
    let model = Model::new(
        hub.config_path(),
        hub.data_dir(),
        hub.read_only(),
        options.log_capacity,
    );
    let mut app = App::new(model, theme, options.keys, no_color);
    // Subscribed before the first look, so no change after it is missed.
    let mut events = hub.subscribe();
    // The first frame comes from the store and the engine's state, before any run.
    start_over(&mut app, &hub).await;
    // What the service was last told the screen shows: the clock's first tick, right
    // after the first frame, tells it (and fetches the figures on screen).
    let mut shown: Option<Shown> = None;
    // A service that went away: where to find it again.
    let mut lost: Option<PathBuf> = None;

    let mut console = ConsoleTerminal::enter()?;
    let mut input = EventStream::new();
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut clock = tokio::time::interval(CLOCK_TICK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut redraw = Redraw::new();
    let (finished_tx, mut finished) = mpsc::unbounded_channel::<Finished>();
    loop {
        if redraw.is_due() {
            app.model.now = chrono::Utc::now();
            console.terminal.draw(|frame| view::draw(frame, &mut app))?;
            redraw.done();
        }
        if app.quit {
            break;
        }
        let next_frame = redraw.due_at();
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    let closing_help = matches!(app.mode, Mode::Help);
                    let effects = app.on_key(key);
                    if !closing_help || !effects.is_empty() {
                        perform(&mut app, &hub, &finished_tx, effects).await;
                    }
                    watch_screen(&mut app, &hub, &mut shown).await;
                    redraw.within(FRAME_INTERVAL);
                }
                Some(Ok(Event::Mouse(mouse))) => {
                    let effects = app.on_mouse(mouse);
                    perform(&mut app, &hub, &finished_tx, effects).await;
                    watch_screen(&mut app, &hub, &mut shown).await;
                    redraw.within(FRAME_INTERVAL);
                }
                Some(Ok(Event::Resize(_, _))) => redraw.within(FRAME_INTERVAL),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            event = events.recv(), if lost.is_none() => {
                match event {
                    Ok(published) => match &published.event.event {
                        HubEvent::Stopped => match hub.origin() {
                            // Quitting is the operator's call: wait for the service.
                            Origin::Attached { socket, .. } => {
                                app.model.engine_state = "service gone; reattaching…".into();
                                lost = Some(socket);
                            }
                            Origin::Local => break,
                        },
                        event => {
                            if apply(&mut app, &hub, event).await {
                                redraw.within(DATA_FRAME_INTERVAL);
                            }
                        }
                    },
                    Err(RecvError::Lagged(_)) => {
                        events = events.resubscribe();
                        start_over(&mut app, &hub).await;
                        shown = None;
                        redraw.within(DATA_FRAME_INTERVAL);
                    }
                    Err(RecvError::Closed) => break,
                }
            }
            _ = clock.tick() => {
                if let Some(socket) = &lost
                    && let Ok(again) = Hub::attach(socket, app.model.read_only).await
                {
                    hub = again;
                    events = hub.subscribe();
                    lost = None;
                    start_over(&mut app, &hub).await;
                    // A new connection watches nothing yet.
                    shown = None;
                    app.toast("reattached to the service", ToastLevel::Info);
                }
                if lost.is_none() {
                    watch_screen(&mut app, &hub, &mut shown).await;
                    load_figures(&mut app, &hub).await;
                }
                if app.toast.as_ref().is_some_and(|t| t.until <= std::time::Instant::now()) {
                    app.toast = None;
                }
                redraw.within(DATA_FRAME_INTERVAL);
            }
            Some(done) = finished.recv() => {
                match done {
                    Finished::Tested(name, outcome) => {
                        match &outcome {
                            Ok(text) => app.toast(text.clone(), ToastLevel::Info),
                            Err(text) => app.toast(text.clone(), ToastLevel::Error),
                        }
                        // The detail view keeps showing it after the toast is gone.
                        app.model.tests.insert(name, (chrono::Utc::now(), outcome));
                    }
                    Finished::Previewed(name, records) => app.model.preview = Some((name, records)),
                }
                redraw.within(FRAME_INTERVAL);
            }
            () = sleep_until(next_frame) => {}
            _ = hangup.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    drop(console);
    Ok(())
}

/// When the next frame is due: the soonest any change asked for, counted from the last.
struct Redraw {
    within: Option<Duration>,
    last: Instant,
}

impl Redraw {
    /// The first frame is due at once.
    fn new() -> Self {
        Self {
            within: Some(Duration::ZERO),
            last: Instant::now(),
        }
    }

    fn within(&mut self, interval: Duration) {
        self.within = Some(self.within.map_or(interval, |w| w.min(interval)));
    }

    fn due_at(&self) -> Option<Instant> {
        self.within.map(|w| self.last + w)
    }

    fn is_due(&self) -> bool {
        self.due_at().is_some_and(|at| at <= Instant::now())
    }

    fn done(&mut self) {
        self.within = None;
        self.last = Instant::now();
    }
}

/// Applies one event; answers whether the screen changed.
async fn apply(app: &mut App, hub: &Hub, event: &HubEvent) -> bool {
    match event {
        HubEvent::Snapshot(snapshot) => app.model.set_snapshot(EngineSnapshot::clone(snapshot)),
        HubEvent::Changed(changes) => app.model.apply_changes(changes.clone()),
        HubEvent::Briefs(briefs) => {
            // Briefs are of rows off screen (those on it come whole as well): they
            // change the screen only through the counts or the order.
            let before = app.model.rows_generation;
            app.model.apply_briefs(briefs.clone());
            let after = app.model.rows_generation;
            let by_time = app.integrations.sort.by_time();
            if before.standing == after.standing && (!by_time || before.times == after.times) {
                return false;
            }
        }
        HubEvent::RunsFinished { runs, .. } => {
            for run in runs {
                if app.awaited_run == Some(run.id) {
                    app.awaited_run = None;
                    let (text, level) = outcome(run);
                    app.toast(text, level);
                }
                app.model.add_run(Arc::new(run.clone()));
            }
        }
        HubEvent::Reloaded { summary, views } => app.model.apply_reload(summary, views.clone()),
        HubEvent::Alerts(counts) => {
            app.model.alert_counts = *counts;
            load_alerts(app, hub).await;
        }
        HubEvent::Status(status) => app.model.set_status(*status),
        HubEvent::Logs(entries) => {
            app.model.add_logs(entries.clone());
            // Only the Logs pane shows them.
            return app.pane == Pane::Logs && app.drill.is_empty();
        }
        HubEvent::Stopped => return false,
    }
    app.clamp();
    true
}

/// What the service was last told this console shows (`Watch`).
#[derive(Debug, Default, PartialEq)]
struct Shown {
    names: Vec<String>,
    every_brief: bool,
    logs: bool,
}

/// Tells an attached service what the screen shows, when that changed: the rows on
/// it (their changes come whole, the others' in brief), whether the table is sorted
/// by a time (then it needs everyone's times), whether the Logs pane is open. What it
/// stopped sending meanwhile is fetched once when it is wanted again. In-process
/// everything comes anyway.
async fn watch_screen(app: &mut App, hub: &Hub, shown: &mut Option<Shown>) {
    if !hub.is_attached() {
        return;
    }
    let mut names = app.names_on_screen();
    if let Some(focus) = app.selected_name()
        && !names.contains(&focus)
    {
        names.push(focus);
    }
    let now = Shown {
        names,
        every_brief: app.integrations.sort.by_time(),
        logs: app.pane == Pane::Logs,
    };
    if shown.as_ref() == Some(&now) {
        return;
    }
    // Until its first `Watch` a connection is sent everything: nothing to catch up.
    let times_missed = now.every_brief && shown.as_ref().is_some_and(|s| !s.every_brief);
    let logs_missed = now.logs && shown.as_ref().is_some_and(|s| !s.logs);
    // Before the stream resumes and adds newer lines.
    let logs_since = app.model.logs.back().map_or(0, |e| e.seq + 1);
    let Ok(changes) = hub
        .ask(q::Watch {
            names: now.names.clone(),
            every_brief: now.every_brief,
            logs: now.logs,
        })
        .await
    else {
        return;
    };
    app.model.apply_changes(changes);
    if times_missed && let Ok(snapshot) = hub.ask(q::Snapshot {}).await {
        app.model.set_snapshot(snapshot);
    }
    if logs_missed && let Ok(lines) = hub.ask(q::Logs { since: logs_since }).await {
        app.model.add_logs(lines);
    }
    app.clamp();
    *shown = Some(now);
}

/// Everything from the start: the engine's state, the first page of history, the
/// service's recent log lines, the alerts; the figures on screen follow with the
/// clock's next tick. On attach, on reattach, and after falling behind.
async fn start_over(app: &mut App, hub: &Hub) {
    app.model.origin = hub.origin();
    app.model.read_only = hub.read_only();
    // Asked together: a busy service answers each in its turn, and the first frame
    // waits for the slowest, not for the sum.
    let since = app.model.logs.back().map_or(0, |e| e.seq + 1);
    let (snapshot, page, lines, alerts) = tokio::join!(
        hub.ask(q::Snapshot {}),
        hub.ask(q::Runs {
            integration: None,
            before: None,
            limit: HISTORY_PAGE,
        }),
        hub.ask(q::Logs { since }),
        hub.ask(q::Alerts {}),
    );
    match snapshot {
        Ok(snapshot) => app.model.set_snapshot(snapshot),
        Err(_) => app.model.engine_state = "stopped".into(),
    }
    if let Ok(page) = page {
        app.model.clear_history();
        app.model.seed_history(page, HISTORY_PAGE);
    }
    if let Ok(lines) = lines {
        app.model.add_logs(lines);
    }
    if let Ok(alerts) = alerts {
        app.model.alerts = alerts;
    }
    app.clamp();
}

/// The status line for a run the operator started: how it ended, and why if badly.
fn outcome(run: &RunRecord) -> (String, ToastLevel) {
    let name = &run.integration;
    match (run.status, &run.error_message) {
        (RunStatus::Success, _) => (
            format!("{name}: run succeeded: {}", run.records_summary()),
            ToastLevel::Info,
        ),
        (status, Some(error)) => (format!("{name}: run {status}: {error}"), ToastLevel::Error),
        (status, None) => (format!("{name}: run {status}"), ToastLevel::Error),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Live figures of the integrations whose figures are on screen, and the Metrics
/// pane's: its window figures (the selected integration's or all together) and stored
/// minutes. A narrow table shows none, and asks for none.
async fn load_figures(app: &mut App, hub: &Hub) {
    let names = app.names_with_figures();
    if !names.is_empty()
        && let Ok(figures) = hub.ask(q::Figures { names }).await
    {
        for (name, windows) in figures {
            app.model.figures.insert(name, Figures { windows });
        }
    }
    if app.pane != Pane::Metrics {
        return;
    }
    let integration = app.scope();
    if let Ok(windows) = hub.ask(q::WindowFigures { integration }).await {
        app.model.pane_figures = Some(*windows);
    }
    if let Some(name) = app.selected_name() {
        load_rollups(app, hub, name).await;
    }
}

/// The Alerts pane's firing and recent alerts and the silences in force.
async fn load_alerts(app: &mut App, hub: &Hub) {
    if let Ok(alerts) = hub.ask(q::Alerts {}).await {
        app.model.alerts = alerts;
        app.clamp();
    }
}

/// Every vault secret's metadata, for the detail view (values are never read).
async fn load_secret_metas(app: &mut App, hub: &Hub) {
    if let Ok(metas) = hub.ask(q::SecretMetas {}).await {
        app.model.secret_metas = metas.into_iter().collect();
    }
}

/// The metrics pane's stored minutes for `name`: the last hour, or day with the 24h
/// window, for its charts.
async fn load_rollups(app: &mut App, hub: &Hub, integration: String) {
    let since_minute = chrono::Utc::now().timestamp() / 60 - app.metrics.chart_minutes();
    if let Ok(rollups) = hub
        .ask(q::Rollups {
            integration,
            since_minute,
        })
        .await
    {
        app.model.rollups = rollups;
    }
}

/// A slow ask that finished in the background.
enum Finished {
    /// A connection test: the integration and what the test said.
    Tested(String, Result<String, String>),
    /// A records preview of the integration, or why there is none.
    Previewed(String, Result<Vec<PreviewRecord>, String>),
}

/// Records a preview shows.
const PREVIEW_RECORDS: usize = 20;

/// Tests a connection; the text is what the status line and the detail view show.
async fn test_connection(hub: &Hub, name: String) -> Result<String, String> {
    match hub.ask(q::Test { name: name.clone() }).await {
        Ok(report) if report.ok => Ok(format!(
            "{name}: ok in {} ms: {}",
            report.latency_ms, report.message
        )),
        Ok(report) => Err(format!(
            "{name}: FAILED: {}{}",
            report.message,
            report
                .hint
                .map(|h| format!(" (hint: {h})"))
                .unwrap_or_default()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// The status line's text for an action that names its target.
fn said<T>(
    result: Result<T, CommandError>,
    text: impl FnOnce(T) -> String,
) -> Result<String, String> {
    result.map(text).map_err(|e| e.to_string())
}

/// Carries out effects through the hub and reports back on the status line. Slow
/// ones (connection tests, previews) report through `finished` when they are done.
async fn perform(
    app: &mut App,
    hub: &Hub,
    finished: &mpsc::UnboundedSender<Finished>,
    effects: Vec<Effect>,
) {
    for effect in effects {
        let outcome: Result<String, String> = match effect {
            Effect::Quit => {
                app.quit = true;
                continue;
            }
            Effect::RunNow(name) => match hub.ask(q::RunNow { name: name.clone() }).await {
                Ok(id) => {
                    // Its outcome replaces this line when it finishes.
                    app.awaited_run = Some(id);
                    Ok(format!("{name}: run {id} started"))
                }
                Err(error) => Err(error.to_string()),
            },
            Effect::SetCursor { name, value } => {
                let request = q::SetCursor {
                    name: name.clone(),
                    value: value.clone(),
                };
                said(hub.ask(request).await, |()| match value {
                    Some(value) => format!("cursor of {name} set to {value}"),
                    None => format!("cursor of {name} reset"),
                })
            }
            Effect::Pause(name) => said(hub.ask(q::Pause { name: name.clone() }).await, |()| {
                format!("{name} paused")
            }),
            Effect::Resume(name) => said(hub.ask(q::Resume { name: name.clone() }).await, |()| {
                format!("{name} resumed")
            }),
            Effect::Cancel(name) => said(hub.ask(q::Cancel { name: name.clone() }).await, |()| {
                format!("{name}: cancelling")
            }),
            Effect::Test(name) => {
                // A test may wait for its timeout on an unreachable host: in the
                // background, so the console stays live; the loop reports the result.
                let started = format!("{name}: testing the connection…");
                let hub = hub.clone();
                let finished = finished.clone();
                tokio::spawn(async move {
                    let outcome = test_connection(&hub, name.clone()).await;
                    let _ = finished.send(Finished::Tested(name, outcome));
                });
                Ok(started)
            }
            Effect::LoadPreview(name) => {
                // A source may take a while to answer; the view says it is loading.
                let hub = hub.clone();
                let finished = finished.clone();
                tokio::spawn(async move {
                    let request = q::Preview {
                        name: name.clone(),
                        limit: PREVIEW_RECORDS,
                    };
                    let records = hub.ask(request).await.map_err(|e| e.to_string());
                    let _ = finished.send(Finished::Previewed(name, records));
                });
                continue;
            }
            Effect::SetSecret { name, value } => {
                let request = q::SetSecret {
                    name: name.clone(),
                    value: q::SecretValue(value.expose_secret().to_owned()),
                    expires_at: None,
                };
                let stored = said(hub.ask(request).await, |()| format!("secret {name} stored"));
                // The detail view shows when each secret was set.
                load_secret_metas(app, hub).await;
                stored
            }
            Effect::Reload => hub
                .ask(q::Reload {})
                .await
                .map(|summary| format!("reloaded: {summary}"))
                .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_owned()),
            Effect::Silence {
                target,
                duration,
                reason,
            } => {
                let request = q::Silence {
                    target,
                    duration,
                    reason,
                };
                let silenced = said(hub.ask(request).await, |s| {
                    format!(
                        "silenced {} until {}",
                        s.target,
                        s.until.format("%H:%M UTC")
                    )
                });
                load_alerts(app, hub).await;
                silenced
            }
            Effect::Unsilence(target) => {
                let ended = said(
                    hub.ask(q::Unsilence {
                        target: target.clone(),
                    })
                    .await,
                    |n| match n {
                        0 => format!("no silence on {target} was in force"),
                        n => format!("ended {n} silence(s) on {target}"),
                    },
                );
                load_alerts(app, hub).await;
                ended
            }
            Effect::LoadRunLogs(run) => {
                if let Ok(lines) = hub.ask(q::RunLogs { run }).await {
                    app.model.run_logs = Some((run, lines));
                }
                if let Ok(requests) = hub.ask(q::RunRequests { run }).await {
                    app.show_run_requests(run, requests);
                }
                continue;
            }
            Effect::LoadAudit => {
                match hub
                    .ask(q::Audit {
                        limit: AUDIT_ENTRIES,
                    })
                    .await
                {
                    Ok(entries) => app.model.audit = Some(entries),
                    Err(error) => app.toast(format!("audit log: {error}"), ToastLevel::Error),
                }
                continue;
            }
            Effect::LoadOlderRuns => {
                let before = app.model.runs.back().map(|r| r.id);
                let request = q::Runs {
                    integration: None,
                    before,
                    limit: HISTORY_PAGE,
                };
                if let Ok(page) = hub.ask(request).await {
                    app.model.extend_history(page, HISTORY_PAGE);
                }
                continue;
            }
            Effect::LoadDetail(name) => {
                let request = q::Uptime {
                    integration: name.clone(),
                };
                if let Ok(uptime) = hub.ask(request).await {
                    app.model.uptime = Some((name, uptime));
                }
                load_secret_metas(app, hub).await;
                continue;
            }
            Effect::LoadRollups(name) => {
                load_rollups(app, hub, name).await;
                continue;
            }
        };
        match outcome {
            Ok(text) => app.toast(text, ToastLevel::Info),
            Err(text) => app.toast(text, ToastLevel::Error),
        }
    }
}

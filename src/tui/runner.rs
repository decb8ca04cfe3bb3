//! The event loop. The screen is redrawn only when something changed, at most 20 times
//! a second; `terminal.rs` wraps each frame in synchronized output so a slow link never
//! shows half a frame. The terminal is restored on exit, on a panic, and on SIGHUP (the
//! SSH connection dropped) or SIGTERM.

use std::io;
use std::time::Duration;

use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::app::{App, Effect, Mode, Pane, ToastLevel};
use super::keymap::Keymap;
use super::model::{Figures, Model};
use super::terminal::ConsoleTerminal;
use super::theme::Theme;
use super::view;
use crate::domain::{RunRecord, RunStatus};
use crate::engine::{EngineEvent, EngineHandle};
use crate::runtime::metrics::Window;
use crate::telemetry::LogRing;

const FRAME_INTERVAL: Duration = Duration::from_millis(50);
/// The clock and "in 12s" labels change with time alone.
const CLOCK_TICK: Duration = Duration::from_secs(1);
const HISTORY_PAGE: usize = 200;

pub struct ConsoleOptions {
    pub theme: String,
    pub keys: Keymap,
    pub read_only: bool,
    pub log_capacity: usize,
}

pub async fn run(engine: EngineHandle, logs: LogRing, options: ConsoleOptions) -> io::Result<()> {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let theme = Theme::load(&options.theme, no_color).map_err(io::Error::other)?;
    let data_dir = engine
        .data_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let model = Model::new(
        engine.config_path().display().to_string(),
        data_dir,
        options.read_only,
        options.log_capacity,
    );
    let mut app = App::new(model, theme, options.keys, no_color);
    // The first frame comes from the store and the engine's state, before any run.
    refresh(&mut app, &engine).await;
    if let Ok(page) = engine.runs(None, None, HISTORY_PAGE).await {
        app.model.seed_history(page, HISTORY_PAGE);
    }
    app.model.add_logs(logs.since(0));
    let mut log_seq = app.model.logs.back().map_or(0, |e| e.seq + 1);

    let mut console = ConsoleTerminal::enter()?;
    let mut input = EventStream::new();
    let mut events = engine.subscribe();
    let mut hangup = signal(SignalKind::hangup())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut clock = tokio::time::interval(CLOCK_TICK);
    clock.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME_INTERVAL;
    let mut refresh_due = false;
    let (tested_tx, mut tested) = mpsc::unbounded_channel::<Tested>();
    loop {
        if dirty && last_frame.elapsed() >= FRAME_INTERVAL {
            app.model.now = chrono::Utc::now();
            console.terminal.draw(|frame| view::draw(frame, &mut app))?;
            last_frame = Instant::now();
            dirty = false;
        }
        if app.quit {
            break;
        }
        let next_frame = dirty.then(|| last_frame + FRAME_INTERVAL);
        tokio::select! {
            event = input.next() => match event {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    let closing_help = matches!(app.mode, Mode::Help);
                    let effects = app.on_key(key);
                    if !closing_help || !effects.is_empty() {
                        perform(&mut app, &engine, &tested_tx, effects).await;
                    }
                    dirty = true;
                }
                Some(Ok(Event::Mouse(mouse))) => {
                    let effects = app.on_mouse(mouse);
                    perform(&mut app, &engine, &tested_tx, effects).await;
                    dirty = true;
                }
                Some(Ok(Event::Resize(_, _))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            event = events.recv() => {
                match event {
                    Ok(EngineEvent::RunFinished(run)) => {
                        if app.awaited_run == Some(run.id) {
                            app.awaited_run = None;
                            let (text, level) = outcome(&run);
                            app.toast(text, level);
                        }
                        app.model.add_run(run);
                        refresh_due = true;
                    }
                    Ok(EngineEvent::AlertsChanged(counts)) => {
                        app.model.alert_counts = counts;
                        load_alerts(&mut app, &engine).await;
                    }
                    Ok(EngineEvent::Stopped) => break,
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => refresh_due = true,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
                dirty = true;
            }
            () = logs.pushed() => {
                let fresh = logs.since(log_seq);
                if let Some(last) = fresh.last() {
                    log_seq = last.seq + 1;
                    app.model.add_logs(fresh);
                    // Only the Logs pane shows them.
                    dirty |= app.pane == Pane::Logs && app.drill.is_empty();
                }
            }
            _ = clock.tick() => {
                if refresh_due || app.pane != Pane::Logs {
                    refresh(&mut app, &engine).await;
                    refresh_due = false;
                    dirty = true;
                }
                if app.toast.as_ref().is_some_and(|t| t.until <= std::time::Instant::now()) {
                    app.toast = None;
                    dirty = true;
                }
            }
            Some((name, outcome)) = tested.recv() => {
                match &outcome {
                    Ok(text) => app.toast(text.clone(), ToastLevel::Info),
                    Err(text) => app.toast(text.clone(), ToastLevel::Error),
                }
                // The detail view keeps showing it after the toast is gone.
                app.model.tests.insert(name, (chrono::Utc::now(), outcome));
                dirty = true;
            }
            () = sleep_until(next_frame) => {}
            _ = hangup.recv() => break,
            _ = terminate.recv() => break,
        }
    }
    drop(console);
    Ok(())
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

/// The engine's state and the live figures of what is on screen.
async fn refresh(app: &mut App, engine: &EngineHandle) {
    let Ok(snapshot) = engine.snapshot().await else {
        app.model.engine_state = "stopped".into();
        return;
    };
    app.model.engine_state = if snapshot.stopping {
        "stopping".into()
    } else if snapshot.scheduling {
        "running".into()
    } else {
        "idle".into()
    };
    let now = chrono::Utc::now();
    app.model.figures = snapshot
        .integrations
        .iter()
        .map(|view| {
            let windows = Window::ALL.map(|window| engine.stats(&view.name, window, now));
            (view.name.clone(), Figures { windows })
        })
        .collect();
    app.model.integrations = snapshot.integrations;
    if app.pane == Pane::Alerts || snapshot.alerts != app.model.alert_counts {
        app.model.alert_counts = snapshot.alerts;
        load_alerts(app, engine).await;
    }
    app.clamp();
    if app.pane == Pane::Metrics
        && let Some(name) = app.focus_name()
    {
        load_rollups(app, engine, name).await;
    }
}

/// The Alerts pane's firing and recent alerts and the silences in force.
async fn load_alerts(app: &mut App, engine: &EngineHandle) {
    if let Ok(alerts) = engine.alerts().await {
        app.model.alerts = alerts;
        app.clamp();
    }
}

/// Every vault secret's metadata, for the detail view (values are never read).
async fn load_secret_metas(app: &mut App, engine: &EngineHandle) {
    if let Ok(metas) = engine.secret_metas().await {
        app.model.secret_metas = metas.into_iter().collect();
    }
}

/// The metrics pane's last hour of stored minutes for `name`.
async fn load_rollups(app: &mut App, engine: &EngineHandle, name: String) {
    let since = chrono::Utc::now().timestamp() / 60 - 60;
    if let Ok(rollups) = engine.rollups(name, since).await {
        app.model.rollups = rollups;
    }
}

/// A finished connection test: the integration and what the test said.
type Tested = (String, Result<String, String>);

/// Tests a connection; the text is what the status line and the detail view show.
async fn test_connection(engine: &EngineHandle, name: &str) -> Result<String, String> {
    match engine.test_connection(name).await {
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

/// Carries out effects through the engine and reports back on the status line. Slow
/// ones (connection tests) report through `tested` when they finish.
async fn perform(
    app: &mut App,
    engine: &EngineHandle,
    tested: &mpsc::UnboundedSender<Tested>,
    effects: Vec<Effect>,
) {
    for effect in effects {
        let outcome: Result<String, String> = match effect {
            Effect::Quit => {
                app.quit = true;
                continue;
            }
            Effect::RunNow(name) => engine
                .run_now(&name)
                .await
                .map(|id| {
                    // Its outcome replaces this line when it finishes.
                    app.awaited_run = Some(id);
                    format!("{name}: run {id} started")
                })
                .map_err(|e| e.to_string()),
            Effect::Pause(name) => engine
                .pause(&name)
                .await
                .map(|()| format!("{name} paused"))
                .map_err(|e| e.to_string()),
            Effect::Resume(name) => engine
                .resume(&name)
                .await
                .map(|()| format!("{name} resumed"))
                .map_err(|e| e.to_string()),
            Effect::Cancel(name) => engine
                .cancel(&name)
                .await
                .map(|()| format!("{name}: cancelling"))
                .map_err(|e| e.to_string()),
            Effect::Test(name) => {
                // A test may wait for its timeout on an unreachable host: in the
                // background, so the console stays live; the loop reports the result.
                let started = format!("{name}: testing the connection…");
                let engine = engine.clone();
                let tested = tested.clone();
                tokio::spawn(async move {
                    let outcome = test_connection(&engine, &name).await;
                    let _ = tested.send((name, outcome));
                });
                Ok(started)
            }
            Effect::SetSecret { name, value } => {
                let stored = engine
                    .set_secret(&name, value, None)
                    .await
                    .map(|()| format!("secret {name} stored"))
                    .map_err(|e| e.to_string());
                // The detail view shows when each secret was set.
                load_secret_metas(app, engine).await;
                stored
            }
            Effect::Reload => engine
                .reload()
                .await
                .map(|summary| format!("reloaded: {summary}"))
                .map_err(|e| e.to_string().lines().next().unwrap_or_default().to_owned()),
            Effect::Silence {
                target,
                duration,
                reason,
            } => {
                let silenced = engine
                    .silence(&target, duration, &reason)
                    .await
                    .map(|s| {
                        format!(
                            "silenced {} until {}",
                            s.target,
                            s.until.format("%H:%M UTC")
                        )
                    })
                    .map_err(|e| e.to_string());
                load_alerts(app, engine).await;
                silenced
            }
            Effect::Unsilence(target) => {
                let ended = engine
                    .unsilence(&target)
                    .await
                    .map(|n| match n {
                        0 => format!("no silence on {target} was in force"),
                        n => format!("ended {n} silence(s) on {target}"),
                    })
                    .map_err(|e| e.to_string());
                load_alerts(app, engine).await;
                ended
            }
            Effect::LoadRunLogs(id) => {
                if let Ok(lines) = engine.run_logs(id).await {
                    app.model.run_logs = Some((id, lines));
                }
                continue;
            }
            Effect::LoadOlderRuns => {
                let before = app.model.runs.back().map(|r| r.id);
                if let Ok(page) = engine.runs(None, before, HISTORY_PAGE).await {
                    app.model.extend_history(page, HISTORY_PAGE);
                }
                continue;
            }
            Effect::LoadDetail(name) => {
                if let Ok(uptime) = engine.uptime(name.clone(), chrono::Utc::now()).await {
                    app.model.uptime = Some((name, uptime));
                }
                load_secret_metas(app, engine).await;
                continue;
            }
            Effect::LoadRollups(name) => {
                load_rollups(app, engine, name).await;
                continue;
            }
        };
        match outcome {
            Ok(text) => app.toast(text, ToastLevel::Info),
            Err(text) => app.toast(text, ToastLevel::Error),
        }
    }
}

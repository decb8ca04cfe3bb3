//! The console: render time per frame at 200x60 with 10,000 integrations and 2,000 runs
//! in memory (TestBackend, so the figure is patchbay's drawing, not the terminal's);
//! then `patchbay demo` in a pseudo-terminal: launch to first frame, CPU over an idle
//! minute (the demo's integrations keep running), and peak RSS.
//!
//! `cargo bench --bench console` (PATCHBAY_BENCH_IDLE_SECONDS overrides 60).

#[path = "measure.rs"]
mod measure;
#[path = "../tests/common/pty.rs"]
mod pty;

use std::time::{Duration, Instant};

use patchbay::domain::IntegrationState;
use patchbay::domain::run::{RunRecord, RunStatus, Trigger};
use patchbay::domain::stats::{MinuteRollup, Stats};
use patchbay::engine::IntegrationView;
use patchbay::runtime::metrics::Window;
use patchbay::tui::app::App;
use patchbay::tui::app::Pane;
use patchbay::tui::keymap::Keymap;
use patchbay::tui::model::Model;
use patchbay::tui::theme::Theme;
use pty::Console;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn main() {
    frames();
    demo_process();
}

fn frames() {
    let now = chrono::Utc::now();
    let mut model = Model::new(
        "connectors.toml".into(),
        "/var/lib/patchbay".into(),
        false,
        5000,
    );
    model.integrations = (0..10_000)
        .map(|i| IntegrationView {
            name: format!("integration-{i:05}"),
            kind: ["http", "graphql", "feed"][i % 3].to_owned(),
            role: patchbay::config::kinds::Role::Source,
            auth: "bearer".to_owned(),
            outputs: vec!["archive".into()],
            secrets: Vec::new(),
            source_text: String::new(),
            blueprint: None,
            cursor: None,
            description: Some("benchmark integration".into()),
            tags: vec!["bench".into()],
            schedule: Some("every 1m".into()),
            enabled: true,
            paused: None,
            next_run: Some(now + chrono::Duration::seconds((i % 60) as i64)),
            running: None,
            access_token: None,
            state: IntegrationState {
                last_status: Some(if i % 7 == 0 {
                    RunStatus::Failed
                } else {
                    RunStatus::Success
                }),
                last_run_at: Some(now - chrono::Duration::seconds((i % 300) as i64)),
                ..IntegrationState::default()
            },
        })
        .collect();
    let runs: Vec<RunRecord> = (0..2000)
        .map(|i| {
            let mut run = RunRecord::start(
                &format!("integration-{:05}", i % 10_000),
                Trigger::Schedule,
                now - chrono::Duration::seconds(i),
            );
            run.finish(RunStatus::Success, run.started_at);
            run
        })
        .collect();
    model.seed_history(runs, 2000);
    let mut app = App::new(
        model,
        Theme::load("default", false).expect("theme"),
        Keymap::default(),
        false,
    );
    let integrations = frame_times(&mut app, |app, frame| {
        // Move the selection so every frame has something new to draw.
        app.integrations.row = frame * 25 % 10_000;
    });
    report("console_frame_200x60_10000_integrations", &integrations);
    // The metrics pane with its charts over a day of stored minutes (the 24h window).
    app.pane = Pane::Metrics;
    app.metrics.window = Window::Day;
    app.model.rollups = (0..1_440)
        .map(|minute| MinuteRollup {
            integration: "integration-00000".into(),
            minute: now.timestamp() / 60 - 1_440 + minute,
            stats: Stats {
                requests_ok: (minute as u64 * 7) % 60,
                requests_failed: (minute as u64) % 3,
                records: (minute as u64 * 13) % 500,
                p50_ms: Some(40 + minute as u64 % 20),
                p95_ms: Some(200 + minute as u64 % 90),
                p99_ms: Some(700 + minute as u64 % 300),
                ..Stats::default()
            },
        })
        .collect();
    let charts = frame_times(&mut app, |app, frame| {
        app.integrations.row = frame % 2;
    });
    report("console_frame_200x60_metrics_charts_24h", &charts);
}

/// 400 frames at 200x60, each after `change`; their draw times, sorted.
fn frame_times(app: &mut App, change: impl Fn(&mut App, usize)) -> Vec<Duration> {
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).expect("terminal");
    let mut samples = Vec::new();
    for frame in 0..400 {
        change(app, frame);
        let started = Instant::now();
        terminal
            .draw(|f| patchbay::tui::view::draw(f, app))
            .expect("draw");
        samples.push(started.elapsed());
    }
    samples.sort();
    samples
}

fn report(name: &str, samples: &[Duration]) {
    let ms = |d: Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
    measure::report(
        name,
        &[
            ("frames", samples.len().to_string()),
            ("p50_ms", ms(samples[samples.len() / 2])),
            ("p99_ms", ms(samples[samples.len() * 99 / 100])),
        ],
    );
}

fn demo_process() {
    let idle_seconds: u64 = std::env::var("PATCHBAY_BENCH_IDLE_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let home = tempfile::tempdir().expect("temp dir");
    let mut console = Console::spawn(env!("CARGO_BIN_EXE_patchbay"), &["demo"], home.path());
    let first_frame = console.wait_for("1 Integrations", Duration::from_secs(60));
    let pid = console.pid();
    std::thread::sleep(Duration::from_secs(5));
    let ticks_before = measure::cpu_ticks_of(pid);
    let bytes_before = console.raw().len();
    std::thread::sleep(Duration::from_secs(idle_seconds));
    let cpu_percent = (measure::cpu_ticks_of(pid) - ticks_before) as f64 / idle_seconds as f64; // 100 ticks a second
    let bytes = console.raw().len() - bytes_before;
    let rss = measure::peak_rss_mib_of(pid);
    console.press("q");
    let _ = console.wait_exit(Duration::from_secs(30));
    measure::report(
        "console_demo",
        &[
            ("first_frame_ms", first_frame.as_millis().to_string()),
            ("idle_seconds", idle_seconds.to_string()),
            ("cpu_percent", format!("{cpu_percent:.2}")),
            (
                "bytes_to_terminal_per_second",
                format!("{:.0}", bytes as f64 / idle_seconds as f64),
            ),
            ("peak_rss_mib", format!("{rss:.1}")),
        ],
    );
}

//! The console on fixed data: snapshots of every pane and view (ratatui TestBackend +
//! insta, text and styles) at 80x24 and 200x60 in the default and high-contrast
//! themes, and the update logic from keys to state and effects.

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::{App, Drill, Effect, Mode, Pane, SortBy};
use super::keymap::Keymap;
use super::model::{Figures, Model};
use super::theme::Theme;
use super::view;
use crate::domain::AlertSeverity;
use crate::domain::run::{Delivery, ErrorClass, RunRecord, RunStatus, Trigger};
use crate::domain::stats::{MinuteRollup, Stats, WindowStats};
use crate::domain::{Alert, AlertStatus, Attempt, NoticeEvent, Silence, SilenceTarget};
use crate::domain::{IntegrationState, PauseReason};
use crate::engine::IntegrationView;
use crate::telemetry::LogEvent;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap()
}

fn view(
    name: &str,
    kind: &'static str,
    schedule: Option<&str>,
    last: Option<RunStatus>,
) -> IntegrationView {
    IntegrationView {
        name: name.into(),
        kind: kind.to_owned(),
        role: crate::config::kinds::resolve(kind, |_| false)
            .map_or(crate::config::kinds::Role::Source, |k| k.roles[0]),
        auth: "bearer".to_owned(),
        outputs: vec!["orders-archive".into()],
        secrets: vec!["api_token".into()],
        source_text: format!(
            "[[integration]]\nname = \"{name}\"\nkind = \"{kind}\"\n[integration.auth]\ntype = \"bearer\"\ntoken = \"secret:api_token\""
        ),
        blueprint: None,
        cursor: Some("2026-11-22T09:58:00Z".into()),
        description: None,
        tags: vec!["shop".into()],
        schedule: schedule.map(str::to_owned),
        enabled: true,
        paused: None,
        next_run: schedule.map(|_| now() + Duration::seconds(12)),
        running: None,
        access_token: None,
        state: IntegrationState {
            health: match last {
                Some(RunStatus::Success) => crate::domain::Health::Up,
                Some(RunStatus::Partial) => crate::domain::Health::Degraded,
                Some(RunStatus::Failed) => crate::domain::Health::Down,
                _ => crate::domain::Health::Unknown,
            },
            last_status: last,
            last_run_at: last.map(|_| now() - Duration::seconds(42)),
            last_success_at: Some(now() - Duration::minutes(5)),
            ..IntegrationState::default()
        },
    }
}

fn run(name: &str, seconds_ago: i64, status: RunStatus) -> RunRecord {
    let mut run = RunRecord::start(
        name,
        Trigger::Schedule,
        now() - Duration::seconds(seconds_ago),
    );
    run.id = ulid::Ulid::from_parts(
        (now() - Duration::seconds(seconds_ago)).timestamp_millis() as u64,
        7,
    );
    run.requests = 3;
    run.records_in = 120;
    run.records_new = 20;
    run.records_changed = 4;
    run.records_unchanged = 90;
    run.records_dropped = 6;
    run.records_delivered = 24;
    run.deliveries = vec![Delivery {
        output: "orders-archive".into(),
        ok: true,
        records: 24,
        requests: 0,
        attempts: 1,
        error: None,
        error_class: None,
    }];
    if status == RunStatus::Failed {
        run.error_class = Some(ErrorClass::Auth);
        run.error_message = Some("401 Unauthorized from http://127.0.0.1:8080/api/private".into());
        run.hint = Some("the credential in secret:api_token was rejected; set a new one with: patchbay secret set api_token".into());
        run.records_delivered = 0;
        run.deliveries.clear();
    }
    run.finish(status, run.started_at + Duration::milliseconds(230));
    run
}

/// How `view` stands, as the hub sends a change.
fn change_of(view: &IntegrationView) -> crate::engine::IntegrationChange {
    crate::engine::IntegrationChange {
        name: view.name.clone(),
        cursor: view.cursor.clone(),
        enabled: view.enabled,
        paused: view.paused.clone(),
        next_run: view.next_run,
        running: view.running,
        state: view.state.clone(),
        access_token: view.access_token,
    }
}

fn model(read_only: bool) -> Model {
    let mut model = Model::new(
        "/srv/patchbay/connectors.toml".into(),
        "/var/lib/patchbay".into(),
        read_only,
        100,
    );
    model.now = now();
    model.engine_state = "running".into();
    let mut failing = view(
        "crm-contacts",
        "http",
        Some("every 1m"),
        Some(RunStatus::Failed),
    );
    failing.state.consecutive_failures = 3;
    failing.state.auth_failed = true;
    failing.blueprint = Some("hubspot-contacts".into());
    let mut breaker = view(
        "billing-invoices",
        "graphql",
        Some("at 02:00"),
        Some(RunStatus::Failed),
    );
    breaker.paused = Some(PauseReason::CircuitBreaker {
        failures: 5,
        at: now() - Duration::minutes(3),
        last_error: Some("503 Service Unavailable from https://billing.example.com/graphql".into()),
    });
    breaker.next_run = None;
    let mut running = view(
        "shop-orders",
        "http",
        Some("every 15s"),
        Some(RunStatus::Success),
    );
    running.running = Some((ulid::Ulid::nil(), now() - Duration::seconds(3)));
    running.description = Some("Orders changed since the last run".into());
    let mut disabled = view("legacy-ftp", "feed", Some("every 1h"), None);
    disabled.enabled = false;
    disabled.next_run = None;
    // An output's state comes from its deliveries, as the engine keeps it.
    let mut archive = view("orders-archive", "file", None, Some(RunStatus::Success));
    archive.next_run = None;
    archive.outputs.clear();
    model.integrations = vec![
        running,
        view(
            "release-notes",
            "feed",
            Some("every 20s"),
            Some(RunStatus::Partial),
        ),
        failing,
        breaker,
        disabled,
        archive,
    ];
    let history: Vec<RunRecord> = vec![
        run("shop-orders", 15, RunStatus::Success),
        run("crm-contacts", 42, RunStatus::Failed),
        run("release-notes", 50, RunStatus::Partial),
        // A success that 120 later scheduled runs repeated, folded into it.
        RunRecord {
            repeats: 120,
            ..run("shop-orders", 30, RunStatus::Success)
        },
        run("shop-orders", 45, RunStatus::Skipped),
    ];
    model.seed_history(history, 200);
    let stats = Stats {
        requests_ok: 300,
        requests_failed: 6,
        rate_limit_hits: 2,
        records: 1200,
        runs_ok: 19,
        runs_failed: 1,
        p50_ms: Some(41),
        p95_ms: Some(180),
        p99_ms: Some(612),
    };
    model.figures.insert(
        "shop-orders".into(),
        Figures {
            windows: [stats.clone(), stats.clone(), stats.clone()],
        },
    );
    // Started 12 minutes ago: the 1 h and 24 h rates are per minute of those 12.
    model.pane_figures = Some([300, 720, 720].map(|covered_seconds| WindowStats {
        stats: stats.clone(),
        covered_seconds,
    }));
    model.rollups = (0..30)
        .map(|i| MinuteRollup {
            integration: "shop-orders".into(),
            minute: now().timestamp() / 60 - 30 + i,
            stats: Stats {
                requests_ok: (i as u64 * 7) % 23 + 4,
                requests_failed: u64::from(i % 9 == 0),
                records: (i as u64 * 13) % 40 + 10,
                p50_ms: Some(40 + (i as u64 % 5) * 3),
                p95_ms: Some(180 + (i as u64 * 17) % 60),
                p99_ms: Some(600 + (i as u64 * 31) % 200),
                ..Stats::default()
            },
        })
        .collect();
    let events = [
        (
            tracing::Level::INFO,
            Some("shop-orders"),
            "fetched 120 records in 3 pages",
        ),
        (
            tracing::Level::WARN,
            Some("crm-contacts"),
            "run failed error=401 Unauthorized from http://127.0.0.1:8080/api/private",
        ),
        (tracing::Level::INFO, None, "config reloaded"),
        (
            tracing::Level::ERROR,
            Some("billing-invoices"),
            "paused by the circuit breaker after repeated failures",
        ),
    ];
    model.add_logs(
        events
            .iter()
            .enumerate()
            .map(|(i, (level, integration, message))| LogEvent {
                seq: i as u64,
                at: now() - Duration::seconds(40 - i as i64 * 10),
                level: *level,
                target: "patchbay".into(),
                integration: integration.map(str::to_owned),
                message: (*message).into(),
                run: None,
            })
            .collect(),
    );
    model.alerts = alerts();
    model.alert_counts = crate::engine::AlertCounts {
        firing: 3,
        undelivered: 1,
    };
    model
}

fn alert(rule: &str, integration: &str, minutes_ago: i64, value: &str) -> Alert {
    Alert {
        id: ulid::Ulid::from_parts(minutes_ago as u64, 7),
        rule: rule.into(),
        integration: integration.into(),
        severity: AlertSeverity::Warning,
        condition: "consecutive_failures >= 3".into(),
        status: AlertStatus::Firing,
        since: now() - Duration::minutes(minutes_ago),
        resolved_at: None,
        value: value.into(),
        last_error: Some("HTTP 401 Unauthorized".into()),
        hint: Some("set the token again".into()),
        suppressed: None,
        notified_at: None,
        last_notified_at: None,
        resolve_notified_at: None,
        attempts: Vec::new(),
    }
}

fn attempt(output: &str, error: Option<&str>) -> Attempt {
    Attempt {
        at: now() - Duration::minutes(1),
        notice: ulid::Ulid::from_parts(1, 1),
        event: NoticeEvent::Firing,
        output: output.into(),
        ok: error.is_none(),
        error: error.map(str::to_owned),
    }
}

/// Firing (notified, undelivered, held by a silence) and resolved alerts.
fn alerts() -> crate::engine::AlertsView {
    let mut down = alert("health-down", "payments-health", 12, "health is down");
    down.severity = AlertSeverity::Critical;
    down.attempts = vec![attempt("team-slack", None), attempt("orders-hook", None)];
    let mut failing = alert("failing", "crm-contacts", 8, "3 failures in a row");
    failing.attempts = vec![attempt("team-slack", Some("HTTP 404 Not Found"))];
    let silenced_until = now() + Duration::hours(2);
    let mut held = alert("failing", "billing-invoices", 30, "7 failures in a row");
    held.suppressed = Some("silenced until 12:00 UTC by ops: vendor maintenance".into());
    let mut resolved = alert("failing", "shop-orders", 90, "no longer failing");
    resolved.status = AlertStatus::Resolved;
    resolved.resolved_at = Some(now() - Duration::minutes(60));
    crate::engine::AlertsView {
        firing: vec![down, failing, held],
        recent: vec![resolved],
        silences: vec![Silence {
            id: ulid::Ulid::from_parts(2, 2),
            target: SilenceTarget {
                rule: Some("failing".into()),
                integration: Some("billing-invoices".into()),
            },
            until: silenced_until,
            reason: "vendor maintenance".into(),
            who: "ops".into(),
            created_at: now() - Duration::minutes(5),
        }],
    }
}

/// Three records through a pipeline with a filter and a primary key.
fn previewed_records() -> Vec<crate::pipeline::preview::PreviewRecord> {
    use crate::pipeline::preview::{PreviewRecord, Verdict};
    let record = |id: u64, status: &str, verdict: Verdict, delivered: bool| PreviewRecord {
        record: serde_json::json!({"id": id, "email": format!("c{id}@example.com"), "status": status}),
        verdict,
        delivered,
    };
    vec![
        record(1, "active", Verdict::New, true),
        record(2, "active", Verdict::Unchanged, false),
        record(
            3,
            "deleted",
            Verdict::Filtered("drop_if `status == \"deleted\"`".into()),
            false,
        ),
        record(4, "active", Verdict::Changed, true),
    ]
}

/// A run's requests as traced: a page, then a refused token request.
fn traced_requests() -> Vec<crate::domain::trace::RequestTrace> {
    let request = |status: u16, url: &str, outcome: &str, body: Option<&str>| {
        crate::domain::trace::RequestTrace {
            at: now() - Duration::seconds(42),
            method: "GET".into(),
            url: url.into(),
            attempt: 1,
            status: Some(status),
            duration_ms: 231,
            bytes: body.map_or(48_213, |b| b.len() as u64),
            outcome: outcome.into(),
            note: (status == 401)
                .then(|| "not retried: auth failures need a new credential".into()),
            request_headers: vec![
                ("authorization".into(), "***".into()),
                ("accept".into(), "application/json".into()),
            ],
            response_headers: vec![
                ("content-type".into(), "application/json".into()),
                (
                    "www-authenticate".into(),
                    "Bearer error=\"invalid_token\"".into(),
                ),
            ],
            body_excerpt: body.map(str::to_owned),
        }
    };
    vec![
        request(
            200,
            "https://crm.example.com/api/contacts?page=1",
            "ok",
            None,
        ),
        request(
            401,
            "https://crm.example.com/api/contacts?page=2",
            "auth: 401 Unauthorized from https://crm.example.com/api/contacts?page=2",
            Some(
                "{\"error\": \"invalid_token\", \"error_description\": \"The access token expired\"}",
            ),
        ),
    ]
}

fn app(theme: &str, read_only: bool) -> App {
    App::new(
        model(read_only),
        Theme::load(theme, false).unwrap(),
        Keymap::default(),
        false,
    )
}

fn render(app: &mut App, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| view::draw(frame, app)).unwrap();
    format!("{:?}", terminal.backend().buffer())
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The app set up to show one view.
fn showing(theme: &str, screen: &str) -> App {
    let mut app = app(theme, false);
    match screen {
        "integrations" => {}
        "history" => app.pane = Pane::History,
        "metrics" => app.pane = Pane::Metrics,
        "logs" => app.pane = Pane::Logs,
        "alerts" => app.pane = Pane::Alerts,
        "detail" => {
            app.drill.push(Drill::Integration("crm-contacts".into()));
            let uptime = crate::domain::stats::Uptime {
                day: Some(crate::domain::stats::Share { ok: 40, total: 40 }),
                week: Some(crate::domain::stats::Share {
                    ok: 99_987,
                    total: 100_000,
                }),
                month: None,
            };
            app.model.uptime = Some(("crm-contacts".into(), uptime));
            let crm = app
                .model
                .integrations
                .iter_mut()
                .find(|i| i.name == "crm-contacts")
                .unwrap();
            crm.state.certificate_expires_at = Some(now() + Duration::days(9));
            crm.auth = "oauth2_client_credentials".to_owned();
            crm.access_token = Some(crate::runtime::tokens::AccessTokenInfo {
                expires_at: Some(now() + Duration::minutes(42)),
            });
            let tested = Err("crm-contacts: FAILED: HTTP 401 (hint: check the token)".to_owned());
            app.model.tests.insert(
                "crm-contacts".into(),
                (now() - Duration::minutes(2), tested),
            );
            let token = crate::store::SecretMeta {
                created_at: now() - Duration::days(30),
                updated_at: now() - Duration::days(3),
                expires_at: Some((now() + Duration::days(5)).date_naive()),
                last_used_at: None,
            };
            app.model.secret_metas.insert("api_token".into(), token);
        }
        "run" | "request" => {
            let run = Arc::clone(
                app.model
                    .runs
                    .iter()
                    .find(|r| r.status == RunStatus::Failed)
                    .unwrap(),
            );
            app.model.run_logs = Some((
                run.id,
                vec![
                    "10:00:18.000 run started (schedule)".into(),
                    "10:00:18.230 auth: 401 Unauthorized".into(),
                ],
            ));
            app.show_run_requests(run.id, traced_requests());
            app.drill.push(Drill::Run(Arc::clone(&run)));
            if screen == "request" {
                app.on_key(key(KeyCode::Enter));
            }
        }
        "preview" => {
            app.open_preview("crm-contacts".into());
            app.model.preview = Some(("crm-contacts".into(), Ok(previewed_records())));
        }
        "help" => app.mode = Mode::Help,
        "audit" => {
            let entry =
                |minutes_ago: i64, who: &str, action: &str, target: &str, detail: Option<&str>| {
                    crate::domain::AuditEntry {
                        at: now() - Duration::minutes(minutes_ago),
                        who: who.into(),
                        action: action.into(),
                        target: Some(target.into()),
                        detail: detail.map(str::to_owned),
                    }
                };
            app.model.audit = Some(vec![
                entry(
                    2,
                    "alice (pid 4121, ssh 10.0.0.7)",
                    "cursor.set",
                    "shop-orders",
                    Some("2026-11-30T00:00:00Z → 2026-11-01T00:00:00Z"),
                ),
                entry(
                    9,
                    "bob (pid 977, ssh 10.0.0.9)",
                    "integration.pause",
                    "crm-contacts",
                    None,
                ),
                entry(64, "root (pid 12)", "secret.set", "api_token", None),
            ]);
            app.drill.push(Drill::Audit);
        }
        other => unreachable!("{other}"),
    }
    app
}

#[test]
fn snapshots_of_every_view_at_both_sizes_in_both_themes() {
    for theme in ["default", "high-contrast"] {
        for screen in [
            "integrations",
            "history",
            "metrics",
            "logs",
            "alerts",
            "detail",
            "run",
            "request",
            "preview",
            "help",
            "audit",
        ] {
            for (width, height) in [(80, 24), (200, 60)] {
                let mut app = showing(theme, screen);
                let name = format!("{screen}_{width}x{height}_{theme}");
                insta::assert_snapshot!(name, render(&mut app, width, height));
            }
        }
    }
}

#[test]
fn the_header_says_which_engine_the_console_shows() {
    let mut app = app("default", true);
    app.model.origin = crate::control::Origin::Attached {
        pid: 4121,
        started_at: now() - chrono::Duration::seconds(3 * 86_400 + 4 * 3600 + 60),
        socket: "/var/lib/patchbay/patchbay.sock".into(),
    };
    let wide = render(&mut app, 200, 60);
    assert!(wide.contains("attached · pid 4121 · up 3d 4h"), "{wide}");
    insta::assert_snapshot!("attached_80x24", render(&mut app, 80, 24));
    let local = render(&mut self::app("default", false), 200, 60);
    assert!(local.contains("local engine · running"), "{local}");
}

#[test]
fn a_too_small_terminal_says_so() {
    let text = render(&mut app("default", false), 40, 10);
    assert!(text.contains("patchbay needs at least 60x12"), "{text}");
}

#[test]
fn keys_move_open_and_go_back() {
    let mut app = app("default", false);
    assert_eq!(
        app.integrations.selected(&app.model).unwrap().name,
        "billing-invoices",
        "sorted by name"
    );
    app.on_key(key(KeyCode::Char('j')));
    assert_eq!(
        app.integrations.selected(&app.model).unwrap().name,
        "crm-contacts"
    );
    assert!(
        matches!(&app.on_key(key(KeyCode::Enter))[..], [Effect::LoadDetail(name)] if name == "crm-contacts")
    );
    assert!(matches!(app.drill.last(), Some(Drill::Integration(name)) if name == "crm-contacts"));
    app.on_key(key(KeyCode::Esc));
    assert!(app.drill.is_empty());
    app.on_key(key(KeyCode::Char('2')));
    assert_eq!(app.pane, Pane::History);
    let effects = app.on_key(key(KeyCode::Enter));
    assert!(matches!(effects[..], [Effect::LoadRunLogs(_)]));
    let Some(Drill::Run(run)) = app.drill.last().cloned() else {
        panic!("the run view opened")
    };
    // Its requests load with the failed one selected; up and down pick, Enter opens.
    app.show_run_requests(run.id, traced_requests());
    assert_eq!(app.drill.request, 1, "the failed request is selected");
    app.on_key(key(KeyCode::Up));
    assert_eq!(app.drill.request, 0);
    app.on_key(key(KeyCode::Down));
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(app.drill.last(), Some(Drill::Request(_, 1))));
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("invalid_token"), "{screen}");
    app.on_key(key(KeyCode::Esc));
    assert!(matches!(app.drill.last(), Some(Drill::Run(_))));
    app.on_key(key(KeyCode::Tab));
    assert_eq!((app.pane, app.drill.len()), (Pane::Metrics, 0));
}

#[test]
fn rebound_keys_drive_the_console_and_its_help() {
    let mut app = app("default", false);
    let f5 = crate::config::keys::KeyChord::parse("f5").unwrap();
    app.keymap.rebind("run", vec![f5]).unwrap();
    app.on_key(key(KeyCode::Char('j'))); // crm-contacts
    assert!(
        app.on_key(key(KeyCode::Char('r'))).is_empty(),
        "r is no longer run"
    );
    assert!(
        matches!(&app.on_key(key(KeyCode::F(5)))[..], [Effect::RunNow(n)] if n == "crm-contacts")
    );
    app.on_key(key(KeyCode::Char('?')));
    let screen = render(&mut app, 100, 40);
    assert!(
        screen.contains("F5") && screen.contains("run the selected integration now"),
        "{screen}"
    );
}

#[test]
fn actions_become_effects_and_stopping_ones_ask_first() {
    let mut app = app("default", false);
    app.on_key(key(KeyCode::Char('j'))); // crm-contacts
    assert!(
        matches!(&app.on_key(key(KeyCode::Char('r')))[..], [Effect::RunNow(n)] if n == "crm-contacts")
    );
    assert!(
        matches!(&app.on_key(key(KeyCode::Char('t')))[..], [Effect::Test(n)] if n == "crm-contacts")
    );
    assert!(app.on_key(key(KeyCode::Char('c'))).is_empty());
    assert!(
        matches!(&app.mode, Mode::Confirm { prompt, .. } if prompt.starts_with("cancel the running run of crm-contacts"))
    );
    assert!(
        matches!(&app.on_key(key(KeyCode::Char('y')))[..], [Effect::Cancel(n)] if n == "crm-contacts")
    );
    app.on_key(key(KeyCode::Char('p')));
    assert!(app.on_key(key(KeyCode::Char('n'))).is_empty(), "n declines");
    app.on_key(key(KeyCode::Char('k'))); // billing-invoices, paused by the breaker
    assert!(
        matches!(&app.on_key(key(KeyCode::Char('p')))[..], [Effect::Resume(n)] if n == "billing-invoices"),
        "resuming asks nothing"
    );
}

#[test]
fn read_only_refuses_every_action_but_the_connection_test() {
    let mut app = app("default", true);
    for action in ['r', 'p', 'c', 's'] {
        assert!(
            app.on_key(key(KeyCode::Char(action))).is_empty(),
            "{action}"
        );
        assert!(matches!(app.mode, Mode::Normal), "{action}");
    }
    assert!(app.toast.as_ref().unwrap().text.contains("read-only"));
    for command in [
        ":run shop-orders",
        ":pause shop-orders",
        ":reload",
        ":secret set x",
    ] {
        app.on_key(key(KeyCode::Char(':')));
        for c in command[1..].chars() {
            app.on_key(key(KeyCode::Char(c)));
        }
        assert!(app.on_key(key(KeyCode::Enter)).is_empty(), "{command}");
    }
    assert!(matches!(
        &app.on_key(key(KeyCode::Char('t')))[..],
        [Effect::Test(_)]
    ));
    let help = render(&mut showing_read_only_help(), 80, 24);
    assert!(!help.contains("run the selected integration now"));
}

fn showing_read_only_help() -> App {
    let mut app = app("default", true);
    app.mode = Mode::Help;
    app
}

#[test]
fn command_mode_completes_and_runs() {
    let mut app = app("default", false);
    app.on_key(key(KeyCode::Char(':')));
    for c in "pa".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert!(matches!(&app.mode, Mode::Command(line) if line == "pause "));
    for c in "sh".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert!(matches!(&app.mode, Mode::Command(line) if line == "pause shop-orders"));
    app.on_key(key(KeyCode::Enter));
    assert!(matches!(&app.mode, Mode::Confirm { .. }));
    assert!(
        matches!(&app.on_key(key(KeyCode::Char('y')))[..], [Effect::Pause(n)] if n == "shop-orders")
    );
    app.on_key(key(KeyCode::Char(':')));
    for c in "theme high-contrast".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.theme.name, "high-contrast");
    app.on_key(key(KeyCode::Char(':')));
    app.on_key(key(KeyCode::Char('q')));
    assert!(matches!(
        &app.on_key(key(KeyCode::Enter))[..],
        [Effect::Quit]
    ));
}

#[test]
fn secret_values_are_typed_masked_and_never_drawn() {
    let mut app = app("default", false);
    app.on_key(key(KeyCode::Char('s')));
    // The prompt offers the secret the selected integration reads.
    assert!(matches!(&app.mode, Mode::SecretName(name) if name == "api_token"));
    app.on_key(key(KeyCode::Enter));
    for c in "sk-live-9z9z".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    let screen = render(&mut app, 80, 24);
    assert!(
        !screen.contains("sk-live-9z9z") && screen.contains("••••••••••••"),
        "{screen}"
    );
    let effects = app.on_key(key(KeyCode::Enter));
    assert!(matches!(&effects[..], [Effect::SetSecret { name, .. }] if name == "api_token"));
}

#[test]
fn the_secret_prompt_completes_secret_names_not_commands() {
    let mut app = app("default", false);
    app.on_key(key(KeyCode::Char('s')));
    for _ in "api_token".chars() {
        app.on_key(key(KeyCode::Backspace));
    }
    app.on_key(key(KeyCode::Char('a')));
    app.on_key(key(KeyCode::Tab));
    assert!(matches!(&app.mode, Mode::SecretName(name) if name == "api_token"));
}

#[test]
fn the_filter_matches_name_kind_health_and_tag() {
    let mut app = app("default", false);
    for (text, expected) in [
        ("graph", 1),
        ("down", 1),
        ("shop", 6),
        ("feed", 2),
        ("zzz", 0),
    ] {
        app.integrations.filter = text.into();
        assert_eq!(
            app.integrations.visible(&app.model).len(),
            expected,
            "{text}"
        );
    }
}

#[test]
fn an_alert_is_silenced_from_its_pane_with_a_time_and_a_reason() {
    let mut app = app("default", false);
    app.on_key(key(KeyCode::Char('5')));
    assert_eq!(app.pane, Pane::Alerts);
    app.on_key(key(KeyCode::Char('j'))); // failing/crm-contacts
    app.on_key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));
    assert!(
        matches!(&app.mode, Mode::Command(line) if line == "silence failing/crm-contacts 2h "),
        "{:?}",
        app.mode
    );
    app.on_key(key(KeyCode::Enter));
    assert!(
        app.toast.as_ref().unwrap().text.contains("say why"),
        "a silence needs a reason"
    );
    app.on_key(key(KeyCode::Char(':')));
    for c in "silence failing/crm-contacts 30m rotating the token".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    let effects = app.on_key(key(KeyCode::Enter));
    assert!(
        matches!(&effects[..], [Effect::Silence { target, duration, reason }]
            if target == "failing/crm-contacts" && duration.as_secs() == 1800 && reason == "rotating the token"),
        "{effects:?}"
    );
    app.on_key(key(KeyCode::Char(':')));
    for c in "unsilence fail".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Tab));
    assert!(matches!(&app.mode, Mode::Command(line) if line.starts_with("unsilence failing")));
    // Enter on an alert opens its integration.
    app.mode = Mode::Normal;
    assert!(
        matches!(&app.on_key(key(KeyCode::Enter))[..], [Effect::LoadDetail(n)] if n == "crm-contacts")
    );
}

#[test]
fn read_only_cannot_silence() {
    let mut app = app("default", true);
    app.pane = Pane::Alerts;
    app.on_key(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT));
    assert!(matches!(app.mode, Mode::Normal));
    app.on_key(key(KeyCode::Char(':')));
    for c in "silence failing 2h because".chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    assert!(app.on_key(key(KeyCode::Enter)).is_empty());
    assert!(app.toast.as_ref().unwrap().text.contains("read-only"));
}

#[test]
fn changes_from_the_hub_land_on_the_right_integration_even_after_the_list_changed() {
    let mut model = model(false);
    let change =
        |name: &str| crate::engine::IntegrationChange::of_health(name, crate::domain::Health::Down);
    let target = model.integrations[1].name.clone();
    model.apply_changes(vec![change(&target)]);
    assert_eq!(
        model.integration(&target).unwrap().state.health,
        crate::domain::Health::Down
    );
    // Replaced behind the index's back (a test, a reload): still the right row.
    model.integrations.reverse();
    let other = model.integrations[0].name.clone();
    model.apply_changes(vec![change(&other), change("no-such-integration")]);
    assert_eq!(
        model.integration(&other).unwrap().state.health,
        crate::domain::Health::Down
    );
}

fn command(app: &mut App, line: &str) -> Vec<Effect> {
    app.on_key(key(KeyCode::Char(':')));
    for c in line.chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Enter))
}

/// `:cursor` shows a source's cursor, and sets or resets it only after a yes; a
/// read-only console may look but not move it.
#[test]
fn the_cursor_command_shows_sets_and_resets_after_asking() {
    let mut app = app("default", false);
    for view in app.model.integrations.iter_mut() {
        if view.name == "crm-contacts" {
            view.cursor = Some("2026-11-30T00:00:00Z".into());
        }
    }
    assert!(command(&mut app, "cursor crm-contacts").is_empty());
    let toast = app.toast.as_ref().unwrap().text.clone();
    assert_eq!(toast, "cursor of crm-contacts: 2026-11-30T00:00:00Z");

    assert!(command(&mut app, "cursor crm-contacts 2026-11-01T00:00:00Z").is_empty());
    assert!(
        matches!(&app.mode, Mode::Confirm { prompt, .. } if prompt.starts_with("move the cursor of crm-contacts to 2026-11-01T00:00:00Z?"))
    );
    assert!(matches!(
        &app.on_key(key(KeyCode::Char('y')))[..],
        [Effect::SetCursor { name, value: Some(v) }] if name == "crm-contacts" && v == "2026-11-01T00:00:00Z"
    ));
    command(&mut app, "cursor crm-contacts reset");
    assert!(app.on_key(key(KeyCode::Char('n'))).is_empty(), "n declines");
    command(&mut app, "cursor crm-contacts reset");
    assert!(matches!(
        &app.on_key(key(KeyCode::Char('y')))[..],
        [Effect::SetCursor { name, value: None }] if name == "crm-contacts"
    ));

    let mut viewer = app_read_only_on("crm-contacts");
    assert!(command(&mut viewer, "cursor 42").is_empty());
    assert!(matches!(viewer.mode, Mode::Normal));
    assert!(viewer.toast.as_ref().unwrap().text.starts_with("read-only"));
}

/// A read-only console with `name` selected.
fn app_read_only_on(name: &str) -> App {
    let mut app = app("default", true);
    while app
        .integrations
        .selected(&app.model)
        .is_some_and(|v| v.name != name)
    {
        app.on_key(key(KeyCode::Char('j')));
    }
    app
}

/// `:audit` opens the audit log and asks the engine for it; Esc goes back.
#[test]
fn the_audit_command_opens_the_audit_log() {
    let mut app = app("default", true);
    let effects = command(&mut app, "audit");
    assert!(
        matches!(&effects[..], [Effect::LoadAudit]),
        "read-only may read it"
    );
    assert!(matches!(app.drill.last(), Some(Drill::Audit)));
    assert!(render(&mut app, 80, 24).contains("loading"));
    app.on_key(key(KeyCode::Esc));
    assert!(app.drill.is_empty());
}

/// The table re-sorts as runs finish; the selection stays on the integration the
/// operator was reading, and `r` runs that one, not whatever slid under the cursor.
#[test]
fn re_sorting_under_the_cursor_keeps_the_selected_integration() {
    let mut app = app("default", false);
    app.integrations.sort = SortBy::LastRun;
    app.clamp();
    app.on_key(key(KeyCode::Char('j')));
    app.on_key(key(KeyCode::Char('j')));
    let chosen = app.integrations.selected(&app.model).unwrap().name.clone();
    let row = app.integrations.row;
    // Every other integration finishes a run now: each moves above the chosen one.
    let others: Vec<String> = app
        .model
        .integrations
        .iter()
        .map(|v| v.name.clone())
        .filter(|name| *name != chosen)
        .collect();
    let finished: Vec<IntegrationView> = app
        .model
        .integrations
        .iter()
        .filter(|view| others.contains(&view.name))
        .map(|view| {
            let mut view = view.clone();
            view.state.last_run_at = Some(now());
            view
        })
        .collect();
    app.model
        .apply_changes(finished.iter().map(change_of).collect());
    assert_ne!(
        app.integrations.visible(&app.model)[row].name,
        chosen,
        "the re-sort moved another integration onto the selected row"
    );
    app.clamp(); // what the runner does after every batch from the hub
    assert_eq!(app.integrations.selected(&app.model).unwrap().name, chosen);
    assert!(
        matches!(&app.on_key(key(KeyCode::Char('r')))[..], [Effect::RunNow(n)] if *n == chosen)
    );
    // A filter that keeps it keeps it selected; one that hides it selects the first
    // match, and clearing the filter (Esc) does not jump elsewhere.
    app.on_key(key(KeyCode::Char('/')));
    for c in chosen[..4].chars() {
        app.on_key(key(KeyCode::Char(c)));
    }
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.integrations.selected(&app.model).unwrap().name, chosen);
    app.on_key(key(KeyCode::Esc));
    assert!(app.integrations.filter.is_empty());
    assert_eq!(app.integrations.selected(&app.model).unwrap().name, chosen);
    app.on_key(key(KeyCode::Char('o'))); // the next sort order
    assert_ne!(app.integrations.sort, SortBy::LastRun);
    assert_eq!(app.integrations.selected(&app.model).unwrap().name, chosen);
}

/// Live history counts a repeated success on its integration's last run, as the store
/// does; a failure and a success after it get rows of their own.
#[test]
fn live_history_folds_repeated_successes_like_the_store() {
    let mut model = model(false);
    model.clear_history();
    for (seconds_ago, status) in [
        (40, RunStatus::Success),
        (30, RunStatus::Success),
        (20, RunStatus::Success),
        (10, RunStatus::Failed),
        (5, RunStatus::Success),
    ] {
        model.add_run(Arc::new(run("db-check", seconds_ago, status)));
    }
    let rows: Vec<String> = model.runs.iter().map(|r| r.status_text()).collect();
    assert_eq!(rows, ["success", "failed", "success ×3"]);
}

#[test]
fn the_preview_key_samples_the_selected_source_also_for_viewers() {
    let mut app = app_read_only_on("crm-contacts");
    let effects = app.on_key(key(KeyCode::Char('P')));
    assert!(matches!(&effects[..], [Effect::LoadPreview(name)] if name == "crm-contacts"));
    assert!(matches!(app.drill.last(), Some(Drill::Preview(_))));
    assert!(render(&mut app, 80, 24).contains("fetching the first records"));
    app.model.preview = Some(("crm-contacts".into(), Ok(previewed_records())));
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("2 would be delivered (+), 2 not (-)"),
        "{screen}"
    );
    assert!(screen.contains("dropped by drop_if"), "{screen}");
    let effects = command(&mut app, "preview billing-invoices");
    assert!(matches!(&effects[..], [Effect::LoadPreview(name)] if name == "billing-invoices"));
}

#[test]
fn enter_in_the_logs_opens_the_run_of_the_bottom_line() {
    let mut app = app("default", false);
    let failed = app
        .model
        .runs
        .iter()
        .find(|r| r.status == RunStatus::Failed)
        .map(|r| (r.id, r.integration.clone()))
        .unwrap();
    app.model.add_logs(vec![LogEvent {
        seq: 100,
        at: now(),
        level: tracing::Level::WARN,
        target: "patchbay".into(),
        integration: Some(failed.1.clone()),
        message: "run failed in 230 ms".into(),
        run: Some(failed.0),
    }]);
    app.on_key(key(KeyCode::Char('4')));
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("Enter opens its run"), "{screen}");
    let effects = app.on_key(key(KeyCode::Enter));
    assert!(matches!(&effects[..], [Effect::LoadRunLogs(id)] if *id == failed.0));
    assert!(matches!(app.drill.last(), Some(Drill::Run(run)) if run.id == failed.0));
    // A line without a run says so rather than opening another.
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Up));
    assert!(app.on_key(key(KeyCode::Enter)).is_empty());
    assert!(app.drill.is_empty());
}

/// Briefs keep rows off screen countable and sortable: a change of health or times
/// moves the generation the table's order is kept by.
#[test]
fn a_brief_updates_health_and_times_and_says_when_a_row_moved() {
    use crate::control::IntegrationBrief;
    let mut model = model(false);
    let notes = model
        .integrations
        .iter_mut()
        .find(|v| v.name == "release-notes")
        .unwrap();
    notes.state.consecutive_failures = 2;
    notes.state.last_error = Some("timed out".into());
    let before = notes.clone();
    let later = now() + Duration::seconds(5);
    let brief = |health| IntegrationBrief {
        name: "release-notes".into(),
        enabled: true,
        paused: None,
        health,
        last_status: Some(RunStatus::Success),
        last_run_at: Some(later),
        next_run: Some(later + Duration::seconds(20)),
        running: None,
        running_since: None,
    };
    let generation = model.rows_generation;
    model.apply_briefs(vec![brief(before.state.health)]);
    assert_eq!(model.rows_generation.standing, generation.standing);
    assert!(model.rows_generation.times > generation.times);
    let after = model.integration("release-notes").unwrap();
    assert_eq!(after.state.last_run_at, Some(later));
    assert_eq!(after.state.last_status, Some(RunStatus::Success));
    assert_eq!(
        (after.state.consecutive_failures, &after.state.last_error),
        (2, &before.state.last_error),
        "the rest of its state waits until it is watched"
    );
    model.apply_briefs(vec![brief(crate::domain::Health::Down)]);
    assert!(model.rows_generation.standing > generation.standing);
    assert_eq!(
        super::model::health(model.integration("release-notes").unwrap()),
        super::model::Health::Down
    );
}

/// Lines fetched to catch up after the Logs pane opens can arrive after newer streamed
/// ones: they are merged in order, each once, within the capacity.
#[test]
fn caught_up_log_lines_merge_in_order_without_repeats() {
    let line = |seq: u64| LogEvent {
        seq,
        at: now(),
        level: tracing::Level::INFO,
        target: "patchbay".into(),
        integration: None,
        message: format!("line {seq}"),
        run: None,
    };
    let mut model = Model::new(String::new(), String::new(), false, 5);
    model.add_logs(vec![line(1), line(7), line(8)]);
    model.add_logs((2..=7).map(line).collect());
    let seqs: Vec<u64> = model.logs.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        [4, 5, 6, 7, 8],
        "the newest five, in order, once each"
    );
}

/// Figures are fetched only for what shows them: a wide table's rows, or the open
/// integration; an 80-column table has no figure columns and asks for none.
#[test]
fn figures_are_asked_for_only_where_the_screen_shows_them() {
    let mut app = app("default", false);
    render(&mut app, 200, 60);
    assert_eq!(
        app.names_with_figures().len(),
        6,
        "every row of the wide table"
    );
    render(&mut app, 80, 24);
    assert!(app.names_with_figures().is_empty());
    app.on_key(key(KeyCode::Enter));
    assert_eq!(app.names_with_figures(), ["billing-invoices"]);
    app.on_key(key(KeyCode::Esc));
    app.on_key(key(KeyCode::Char('2')));
    render(&mut app, 200, 60);
    assert!(app.names_with_figures().is_empty(), "History shows none");
}

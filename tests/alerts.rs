//! Alerting through the engine: the dead-man's switch across a restart (on tokio's
//! paused clock), notices reaching a local sink, a failed delivery recorded and shown,
//! resolution, silences from the console's handle and from the CLI.

mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use common::Home;
use common::harness::Harness;
use patchbay::config::Config;
use patchbay::domain::IntegrationState;
use patchbay::domain::{Alert, NoticeEvent};
use patchbay::engine::{AlertsView, EngineHandle, EngineOptions};
use patchbay::runtime::clock::TokioClock;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
}

async fn start_at(harness: &Harness, at: DateTime<Utc>) -> EngineHandle {
    let config = Config::load(&harness.config_path()).unwrap();
    assert!(config.is_valid(), "{}", config.render_problems());
    let options = EngineOptions {
        clock: Arc::new(TokioClock::starting_at(at)),
        vault: Some(Arc::clone(&harness.vault)),
        read_only: false,
        scheduling: true,
    };
    patchbay::engine::start(config, Arc::clone(&harness.store), options)
        .await
        .unwrap()
        .0
}

/// `nightly` (daily at 03:00, never reached in a test) watched by the dead-man's switch
/// `stale`, which notifies the file output `pager`; `extra` goes into `nightly`.
fn stale_config(pager: &std::path::Path, group_wait: &str, extra: &str) -> String {
    format!(
        r#"[settings]
alert_group_wait = "{group_wait}"

[[integration]]
name = "nightly"
kind = "http"
cron = "0 0 3 * * *"
{extra}
[integration.request]
url = "http://127.0.0.1:9/never-contacted"

[[integration]]
name = "pager"
kind = "file"
path = "{}"

[[alert]]
name = "stale"
when = "no_success_for > 2h"
integrations = ["nightly"]
notify = ["pager"]
severity = "critical"
"#,
        pager.display()
    )
}

fn last_succeeded_three_hours_before_t0(harness: &Harness) {
    let state = IntegrationState {
        last_success_at: Some(t0() - chrono::Duration::hours(3)),
        ..IntegrationState::default()
    };
    harness
        .store
        .put_integration_state("nightly", &state)
        .unwrap();
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_dead_mans_switch_fires_at_start_after_downtime_and_a_restart_neither_resends_nor_forgets()
 {
    let out = tempfile::tempdir().unwrap();
    let pager = out.path().join("pager.jsonl");
    // `nightly` runs at 03:00; it last succeeded three hours before patchbay starts.
    let config = stale_config(&pager, "10s", "");
    let harness = Harness::new(&config);
    last_succeeded_three_hours_before_t0(&harness);

    let engine = start_at(&harness, t0()).await;
    // Fired at start; the notice waits `alert_group_wait` for company, then goes out.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(lines(&pager).is_empty(), "the group is still waiting");
    tokio::time::sleep(Duration::from_secs(10)).await;
    let AlertsView { firing, .. } = engine.alerts().await.unwrap();
    assert_eq!(firing.len(), 1);
    let alert = &firing[0];
    assert_eq!(alert.key(), "stale/nightly");
    assert_eq!(alert.since, t0(), "checked at start");
    assert_eq!(alert.value, "no success for 3h");
    assert!(alert.attempts.iter().all(|a| a.ok) && alert.attempts.len() == 1);
    let notices = lines(&pager);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["event"], "firing");
    assert_eq!(notices[0]["rule"], "stale");
    assert_eq!(notices[0]["severity"], "critical");
    assert_eq!(notices[0]["alerts"][0]["integration"], "nightly");
    let text = notices[0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("[FIRING] stale (critical) on nightly: no_success_for > 2h"),
        "{text}"
    );
    assert!(
        text.contains("patchbay alert silence stale/nightly --for 2h"),
        "{text}"
    );
    engine.shutdown(Duration::from_secs(1)).await;

    // Twenty minutes later patchbay starts again: the alert is still firing, and its
    // notice is not sent twice.
    let engine = start_at(&harness, t0() + chrono::Duration::minutes(20)).await;
    tokio::time::sleep(Duration::from_secs(60)).await;
    let after = engine.alerts().await.unwrap();
    assert_eq!(after.firing.len(), 1);
    assert_eq!(after.firing[0].id, alert.id);
    assert_eq!(after.firing[0].value, "no success for 3h 20m");
    assert_eq!(lines(&pager).len(), 1, "no second notice");
    let counts = engine.snapshot().await.unwrap().alerts;
    assert_eq!((counts.firing, counts.undelivered), (1, 0));

    // Silenced from the console's side: held, audited, and the silence is listed.
    let silence = engine
        .silence("stale", Duration::from_secs(3600), "vendor outage")
        .await
        .unwrap();
    assert_eq!(silence.target.rule.as_deref(), Some("stale"));
    let held = engine.alerts().await.unwrap();
    let why = held.firing[0].suppressed.as_deref().unwrap();
    assert!(why.contains("vendor outage"), "{why}");
    assert_eq!(held.silences.len(), 1);
    assert_eq!(engine.unsilence("stale").await.unwrap(), 1);
    assert!(engine.alerts().await.unwrap().silences.is_empty());
    let unknown = engine.silence("stael", Duration::from_secs(60), "x").await;
    assert!(
        unknown
            .unwrap_err()
            .to_string()
            .contains("did you mean `stale`")
    );
    engine.shutdown(Duration::from_secs(1)).await;
    let actions = harness.audit_actions();
    assert!(actions.contains(&"alert.silence".to_owned()), "{actions:?}");
    assert!(
        actions.contains(&"alert.unsilence".to_owned()),
        "{actions:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_maintenance_window_holds_notices_until_it_ends() {
    let out = tempfile::tempdir().unwrap();
    let pager = out.path().join("pager.jsonl");
    // Maintenance from 11:00 for two hours; patchbay starts at 12:00, inside it.
    let maintenance = r#"maintenance = { cron = "0 0 11 * * *", for = "2h" }"#;
    let config = stale_config(&pager, "0s", maintenance);
    let harness = Harness::new(&config);
    last_succeeded_three_hours_before_t0(&harness);
    let engine = start_at(&harness, t0()).await;
    tokio::time::sleep(Duration::from_secs(30 * 60)).await;
    let held = engine.alerts().await.unwrap();
    let why = held.firing[0].suppressed.as_deref().unwrap();
    assert_eq!(why, "in a maintenance window until 2026-11-22 13:00 UTC");
    assert!(
        lines(&pager).is_empty(),
        "nothing is sent during maintenance"
    );
    // 13:00: the window is over and the alert still fires, so it is told now.
    tokio::time::sleep(Duration::from_secs(30 * 60 + 10)).await;
    let notices = lines(&pager);
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0]["alerts"][0]["integration"], "nightly");
    assert!(
        engine.alerts().await.unwrap().firing[0]
            .suppressed
            .is_none()
    );
    engine.shutdown(Duration::from_secs(1)).await;
}

/// Runs `check` every 100 ms (real time) until it holds, for up to 20 s.
async fn eventually<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test]
async fn notices_reach_a_local_sink_a_failed_delivery_is_recorded_and_recovery_resolves() {
    let api = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&api)
        .await;
    let sink = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&sink)
        .await;
    Mock::given(method("POST"))
        .and(path("/wrong"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&sink)
        .await;
    let config = format!(
        r#"[settings]
alert_group_wait = "0s"

[[integration]]
name = "orders"
kind = "http"
every = "1s"
retry = {{ max_attempts = 1 }}
[integration.auth]
type = "bearer"
token = "secret:api_token"
[integration.request]
url = "{api}/items"
[integration.records]
path = "$.data[*]"

[[integration]]
name = "oncall"
kind = "webhook"
url = "{sink}/hook"
signing_secret = "secret:hook_key"

[[integration]]
name = "team-slack"
kind = "slack"
url = "secret:slack_url"

[[alert]]
name = "failing"
when = "consecutive_failures >= 2"
integrations = ["orders"]
notify = ["oncall", "team-slack"]
severity = "critical"
"#,
        api = api.uri(),
        sink = sink.uri()
    );
    let harness = Harness::new(&config);
    let signing_key = "hook-signing-key-4f1e0c";
    harness.set_secret("hook_key", signing_key);
    let api_token = "orders-api-token-91c2aa";
    harness.set_secret("api_token", api_token);
    harness.set_secret("slack_url", &format!("{}/wrong", sink.uri()));
    let engine = harness.start(true).await;

    let alert = eventually("both deliveries of the firing notice", async || {
        let firing = engine.alerts().await.ok()?.firing;
        firing.into_iter().find(|a| a.attempts.len() == 2)
    })
    .await;
    assert_eq!(alert.key(), "failing/orders");
    let by_output = |name: &str| alert.attempts.iter().find(|a| a.output == name).unwrap();
    assert!(by_output("oncall").ok);
    let failed = by_output("team-slack");
    assert!(!failed.ok);
    assert!(
        failed.error.as_deref().unwrap().contains("404"),
        "{failed:?}"
    );
    assert!(alert.undelivered());
    let snapshot = engine.snapshot().await.unwrap();
    assert_eq!(snapshot.alerts.undelivered, 1);
    // Each output's own state follows its notice deliveries.
    let state = |name: &str| {
        snapshot
            .integrations
            .iter()
            .find(|i| i.name == name)
            .map(|i| i.state.clone())
            .unwrap()
    };
    assert!(state("oncall").last_success_at.is_some());
    assert!(
        state("team-slack")
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("404")),
        "{:?}",
        state("team-slack")
    );

    let hook = sink.received_requests().await.unwrap();
    let firing = hook.iter().find(|r| r.url.path() == "/hook").unwrap();
    assert!(firing.headers.contains_key("x-patchbay-signature"));
    let body: Value = serde_json::from_slice(&firing.body).unwrap();
    assert_eq!(
        (body["event"].as_str(), body["rule"].as_str()),
        (Some("firing"), Some("failing"))
    );
    assert_eq!(body["alerts"][0]["integration"], "orders");
    assert!(
        body["alerts"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("500"),
        "{body:#}"
    );
    let slack = hook.iter().find(|r| r.url.path() == "/wrong").unwrap();
    let slack: Value = serde_json::from_slice(&slack.body).unwrap();
    assert!(
        slack["text"]
            .as_str()
            .unwrap()
            .starts_with("[FIRING] failing (critical) on orders")
    );
    for request in &hook {
        let body = String::from_utf8_lossy(&request.body);
        for secret in [signing_key, api_token] {
            assert!(!body.contains(secret), "a notice carried a secret: {body}");
        }
    }

    // The API recovers: the alert resolves and its resolved notice goes out.
    api.reset().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"data": []}"#))
        .mount(&api)
        .await;
    let resolved = eventually("the resolved notice", async || {
        let view = engine.alerts().await.ok()?;
        // Resolved, and the resolved notice's delivery to `oncall` came back.
        let delivered = |a: &Alert| {
            a.attempts
                .iter()
                .any(|x| x.event == NoticeEvent::Resolved && x.output == "oncall")
        };
        let done = view.recent.into_iter().find(delivered);
        done.filter(|_| view.firing.is_empty())
    })
    .await;
    assert_eq!(resolved.id, alert.id);
    let notices = sink.received_requests().await.unwrap();
    let resolved_notice = notices
        .iter()
        .filter(|r| r.url.path() == "/hook")
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .find(|b| b["event"] == "resolved");
    assert!(
        resolved_notice.is_some(),
        "no resolved notice reached the sink"
    );
    engine.shutdown(Duration::from_secs(2)).await;
    let stored = harness.store.alerts(10).unwrap();
    assert_eq!(stored[0].id, alert.id);
    assert!(
        !stored[0].is_firing() && stored[0].attempts.len() >= 4,
        "{:?}",
        stored[0]
    );
}

#[test]
fn silences_from_the_cli_are_listed_by_patchbay_alerts() {
    let home = Home::new();
    let config = home.path("connectors.toml");
    std::fs::write(
        &config,
        "[[integration]]\nname = \"orders\"\nkind = \"http\"\nevery = \"1m\"\n[integration.request]\nurl = \"http://127.0.0.1:1/\"\n\n[[alert]]\nname = \"failing\"\nwhen = \"consecutive_failures >= 3\"\n",
    )
    .unwrap();
    let patchbay = |args: &[&str]| {
        let output = home
            .patchbay()
            .arg("--config")
            .arg(&config)
            .args(args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.code().unwrap(), text)
    };
    let (code, text) = patchbay(&[
        "alert",
        "silence",
        "failing/orders",
        "--for",
        "2h",
        "--reason",
        "deploy",
    ]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("silenced failing/orders until"), "{text}");
    let (code, text) = patchbay(&["alert", "silence", "failng", "--for", "2h", "--reason", "x"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("did you mean `failing`"), "{text}");
    let (code, text) = patchbay(&["alerts", "--json"]);
    assert_eq!(code, 0, "{text}");
    let listed: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(listed["silences"][0]["reason"], "deploy");
    assert_eq!(listed["silences"][0]["target"]["integration"], "orders");
    let (code, text) = patchbay(&["alert", "unsilence", "failing/orders"]);
    assert_eq!(
        (code, text.contains("ended 1 silence")),
        (0, true),
        "{text}"
    );
    let (_, text) = patchbay(&["alerts"]);
    assert!(
        text.contains("no alerts recorded") && !text.contains("silenced:"),
        "{text}"
    );
}

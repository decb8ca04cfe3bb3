//! The engine against local HTTP servers: scheduling, no overlap, retries per error
//! class, Retry-After, the circuit breaker, cancellation, shutdown, restarts, reloads.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::harness::{Harness, finished};
use patchbay::config::Config;
use patchbay::domain::PauseReason;
use patchbay::domain::run::{ErrorClass, RunRecord, RunStatus, Trigger};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn source(name: &str, url: &str, extra: &str) -> String {
    format!(
        "[[integration]]\nname = \"{name}\"\nkind = \"http\"\n{extra}\nretry = {{ max_attempts = 3, base_delay = \"10ms\", max_delay = \"2s\" }}\n[integration.request]\nurl = \"{url}\"\n[integration.records]\npath = \"$.data[*]\"\n"
    )
}

/// A server whose `/items` answers only after 30 s: runs against it stay running.
async fn never_answering_server() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&server)
        .await;
    server
}

async fn server_with(status: u16, body: &str) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/items"))
        .respond_with(ResponseTemplate::new(status).set_body_string(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn a_manual_run_fetches_records_and_is_recorded() {
    let server = server_with(200, r#"{"data": [{"id": 1}, {"id": 2}, {"id": 3}]}"#).await;
    let out = tempfile::tempdir().unwrap();
    let out_file = out.path().join("out.jsonl");
    let config = format!(
        "{}[[integration]]\nname = \"archive\"\nkind = \"file\"\npath = \"{}\"\n",
        source(
            "items",
            &format!("{}/items", server.uri()),
            "every = \"1h\"\noutputs = [\"archive\"]"
        ),
        out_file.display()
    );
    let harness = Harness::new(&config);
    let engine = harness.start(true).await;
    let mut events = engine.subscribe();
    let id = engine.run_now("items").await.unwrap();
    let run = finished(&mut events, |r| r.id == id).await;
    assert_eq!(run.status, RunStatus::Success, "{run:?}");
    assert_eq!(run.trigger, Trigger::Manual);
    assert_eq!(
        (run.records_in, run.records_delivered, run.requests),
        (3, 3, 1)
    );
    assert_eq!(run.deliveries.len(), 1);
    assert!(run.deliveries[0].ok);
    assert_eq!(
        std::fs::read_to_string(&out_file).unwrap().lines().count(),
        3
    );
    engine.shutdown(Duration::from_secs(1)).await;
    let stored = harness.runs("items");
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0], *run);
    assert!(!harness.store.run_logs(id).unwrap().is_empty());
    assert!(harness.audit_actions().contains(&"run.manual".to_owned()));
}

/// The run record says what the pipeline dropped, and `patchbay run` labels it.
#[tokio::test]
async fn records_dropped_by_the_pipeline_are_counted() {
    let server = server_with(
        200,
        r#"{"data": [{"id": 1, "status": "open"}, {"id": 2, "status": "refunded"}, {"id": 3, "status": "refunded"}]}"#,
    )
    .await;
    let harness = Harness::new(
        &(source(
            "items",
            &format!("{}/items", server.uri()),
            "every = \"1h\"",
        ) + "[integration.pipeline]\ndrop_if = 'status == \"refunded\"'\n"),
    );
    let engine = harness.start(false).await;
    let run = common::harness::run_once(&engine, "items").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!((run.records_in, run.records_dropped), (3, 2), "{run:?}");
    assert_eq!(
        run.records_summary(),
        "3 in: 1 new, 0 changed, 0 unchanged, 2 dropped by the pipeline; nothing delivered"
    );
}

#[tokio::test]
async fn server_errors_are_retried_up_to_max_attempts() {
    let server = server_with(500, "oops").await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"",
    ));
    let engine = harness.start(false).await;
    let mut events = engine.subscribe();
    let id = engine.run_now("items").await.unwrap();
    let run = finished(&mut events, |r| r.id == id).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.error_class, Some(ErrorClass::Server));
    assert_eq!((run.requests, run.attempts), (3, 3));
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    assert!(
        run.error_message
            .as_deref()
            .unwrap()
            .starts_with("500 Internal Server Error from http://127.0.0.1")
    );
}

#[tokio::test]
async fn auth_and_client_errors_are_not_retried() {
    for (status, class) in [
        (401, ErrorClass::Auth),
        (403, ErrorClass::Auth),
        (404, ErrorClass::Client),
    ] {
        let server = server_with(status, "no").await;
        let harness = Harness::new(&source(
            "items",
            &format!("{}/items", server.uri()),
            "every = \"1h\"",
        ));
        let engine = harness.start(false).await;
        let mut events = engine.subscribe();
        let id = engine.run_now("items").await.unwrap();
        let run = finished(&mut events, |r| r.id == id).await;
        assert_eq!(
            (run.status, run.error_class, run.requests),
            (RunStatus::Failed, Some(class), 1),
            "{status}"
        );
        assert!(run.hint.is_some());
        engine.shutdown(Duration::ZERO).await;
        if class == ErrorClass::Auth {
            assert!(
                harness
                    .store
                    .integration_state("items")
                    .unwrap()
                    .auth_failed
            );
        }
    }
}

#[tokio::test]
async fn an_auth_failure_names_the_secret_to_fix() {
    let server = server_with(401, "no").await;
    let config = format!(
        "[[integration]]\nname = \"items\"\nkind = \"http\"\nevery = \"1h\"\n[integration.auth]\ntype = \"bearer\"\ntoken = \"env:PATCHBAY_ENGINE_TEST_TOKEN\"\n[integration.request]\nurl = \"{}/items\"\n",
        server.uri()
    );
    // SAFETY: this test binary sets this variable only here, before the engine reads it.
    unsafe { std::env::set_var("PATCHBAY_ENGINE_TEST_TOKEN", "tok-engine-test-9f8e7d") };
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let mut events = engine.subscribe();
    let id = engine.run_now("items").await.unwrap();
    let run = finished(&mut events, |r| r.id == id).await;
    assert_eq!(run.error_class, Some(ErrorClass::Auth));
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(
        request.headers.get("authorization").unwrap(),
        "Bearer tok-engine-test-9f8e7d"
    );
    let text = serde_json::to_string(&*run).unwrap();
    assert!(
        !text.contains("tok-engine-test-9f8e7d"),
        "the run record holds the token"
    );
}

#[tokio::test]
async fn rate_limited_responses_wait_for_retry_after_then_succeed() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"data": [{"id": 1}]}"#))
        .mount(&server)
        .await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"",
    ));
    let engine = harness.start(false).await;
    let mut events = engine.subscribe();
    let id = engine.run_now("items").await.unwrap();
    let run = finished(&mut events, |r| r.id == id).await;
    assert_eq!(run.status, RunStatus::Success);
    assert_eq!((run.requests, run.attempts, run.rate_limit_hits), (2, 2, 1));
    let view = engine.snapshot().await.unwrap().integrations.remove(0);
    assert_eq!(
        view.state.health,
        patchbay::domain::Health::Degraded,
        "throttled is degraded"
    );
    let received = server.received_requests().await.unwrap();
    let logs = {
        engine.shutdown(Duration::ZERO).await;
        harness.store.run_logs(id).unwrap().join("\n")
    };
    assert!(
        logs.contains("(rate_limited)") && logs.contains("retrying in 1s"),
        "{logs}"
    );
    assert_eq!(received.len(), 2);
}

#[tokio::test]
async fn a_fire_during_a_running_run_is_skipped_not_overlapped() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string(r#"{"data": []}"#)
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&server)
        .await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"200ms\"",
    ));
    let engine = harness.start(true).await;
    let mut events = engine.subscribe();
    let skipped = finished(&mut events, |r| r.status == RunStatus::Skipped).await;
    assert!(
        skipped
            .error_message
            .as_deref()
            .unwrap()
            .contains("still running")
    );
    let done = finished(&mut events, |r| r.status == RunStatus::Success).await;
    assert_eq!(done.trigger, Trigger::Schedule);
    engine.shutdown(Duration::ZERO).await;
    // Never two requests at once: every request but the first waited for the one before.
    let requests = server.received_requests().await.unwrap().len();
    let successes = harness
        .runs("items")
        .iter()
        .filter(|r| r.status == RunStatus::Success)
        .count();
    assert!(
        requests <= successes + 1,
        "{requests} requests for {successes} completed runs"
    );
}

#[tokio::test]
async fn the_circuit_breaker_pauses_and_resume_clears_it_across_a_restart() {
    let server = server_with(500, "down").await;
    let config = source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"100ms\"\npause_after_failures = 2",
    )
    .replace("max_attempts = 3", "max_attempts = 1");
    let harness = Harness::new(&config);
    let engine = harness.start(true).await;
    let mut events = engine.subscribe();
    finished(&mut events, |r| r.status == RunStatus::Failed).await;
    finished(&mut events, |r| r.status == RunStatus::Failed).await;
    let snapshot = engine.snapshot().await.unwrap();
    let view = &snapshot.integrations[0];
    assert!(
        matches!(
            view.paused,
            Some(PauseReason::CircuitBreaker { failures: 2, .. })
        ),
        "{view:?}"
    );
    assert_eq!(view.next_run, None);
    engine.shutdown(Duration::from_secs(1)).await;

    // Paused survives a restart, and nothing runs.
    let engine = harness.start(true).await;
    let before = harness.runs("items").len();
    let requests_before = server.received_requests().await.unwrap().len();
    // Four schedule periods: unpaused, it would have run.
    tokio::time::sleep(Duration::from_millis(400)).await;
    let view = engine.snapshot().await.unwrap().integrations.remove(0);
    assert!(view.paused.is_some());
    assert_eq!(
        harness.runs("items").len(),
        before,
        "nothing ran while paused"
    );
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        requests_before
    );
    engine.resume("items").await.unwrap();
    let view = engine.snapshot().await.unwrap().integrations.remove(0);
    assert!(view.paused.is_none() && view.next_run.is_some());
    assert_eq!(view.state.consecutive_failures, 0);
    engine.shutdown(Duration::from_secs(1)).await;
    assert!(
        harness
            .audit_actions()
            .contains(&"integration.resume".to_owned())
    );
}

#[tokio::test]
async fn operator_pause_persists_across_a_restart() {
    let server = server_with(200, r#"{"data": []}"#).await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"",
    ));
    let engine = harness.start(true).await;
    engine.pause("items").await.unwrap();
    engine.shutdown(Duration::ZERO).await;
    let engine = harness.start(true).await;
    let view = engine.snapshot().await.unwrap().integrations.remove(0);
    assert!(matches!(view.paused, Some(PauseReason::Operator { .. })));
    assert_eq!(view.next_run, None);
    engine.shutdown(Duration::ZERO).await;
}

#[tokio::test]
async fn cancelling_a_running_run_records_it_cancelled() {
    let server = never_answering_server().await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"\ntimeout = \"60s\"",
    ));
    let engine = harness.start(false).await;
    let mut events = engine.subscribe();
    let id = engine.run_now("items").await.unwrap();
    assert_eq!(
        engine.run_now("items").await,
        Err(patchbay::engine::CommandError::AlreadyRunning(
            "items".into()
        ))
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    engine.cancel("items").await.unwrap();
    let run = finished(&mut events, |r| r.id == id).await;
    assert_eq!(run.status, RunStatus::Cancelled);
    assert!(
        engine.cancel("items").await.is_err(),
        "nothing left to cancel"
    );
}

#[tokio::test]
async fn shutdown_interrupts_what_outlives_the_grace_period() {
    let server = never_answering_server().await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"\ntimeout = \"60s\"",
    ));
    let engine = harness.start(false).await;
    let id = engine.run_now("items").await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    engine.shutdown(Duration::from_millis(200)).await;
    let run = harness.store.run("items", id).unwrap().unwrap();
    assert_eq!(run.status, RunStatus::Interrupted);
    assert_eq!(
        harness.store.mark_interrupted(chrono::Utc::now()).unwrap(),
        0,
        "nothing left running"
    );
}

#[tokio::test]
async fn a_crash_leftover_becomes_interrupted_at_start() {
    let server = server_with(200, r#"{"data": []}"#).await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"",
    ));
    let leftover = RunRecord::start("items", Trigger::Schedule, chrono::Utc::now());
    harness.store.put_run(&leftover).unwrap();
    let engine = harness.start(true).await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        harness
            .store
            .run("items", leftover.id)
            .unwrap()
            .unwrap()
            .status,
        RunStatus::Interrupted
    );
}

#[tokio::test]
async fn catch_up_once_runs_a_missed_schedule_at_start_and_skip_does_not() {
    for (policy, expected) in [("once", 1), ("skip", 0)] {
        let server = server_with(200, r#"{"data": []}"#).await;
        let config = source(
            "items",
            &format!("{}/items", server.uri()),
            &format!("every = \"1h\"\ncatch_up = \"{policy}\""),
        );
        let harness = Harness::new(&config);
        let mut state = harness.store.integration_state("items").unwrap();
        state.last_run_at = Some(chrono::Utc::now() - chrono::Duration::hours(3));
        harness
            .store
            .put_integration_state("items", &state)
            .unwrap();
        let engine = harness.start(true).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        engine.shutdown(Duration::from_secs(2)).await;
        let startup: Vec<_> = harness
            .runs("items")
            .into_iter()
            .filter(|r| r.trigger == Trigger::Startup)
            .collect();
        assert_eq!(startup.len(), expected, "catch_up = {policy}");
    }
}

#[tokio::test]
async fn a_reload_applies_changes_and_keeps_the_old_config_on_error() {
    let server = server_with(200, r#"{"data": []}"#).await;
    let one = source("one", &format!("{}/items", server.uri()), "every = \"1h\"");
    let two = source("two", &format!("{}/items", server.uri()), "every = \"1h\"");
    let harness = Harness::new(&one);
    let engine = harness.start(true).await;
    let before = engine.snapshot().await.unwrap().integrations[0].next_run;

    harness.write_config(&format!("{one}\nbroken = ["));
    let error = engine.reload().await.unwrap_err().to_string();
    assert!(
        error.contains("the running one is kept") && error.contains("connectors.toml:"),
        "{error}"
    );
    assert_eq!(engine.snapshot().await.unwrap().integrations.len(), 1);

    harness.write_config(&format!("{one}\n{two}"));
    let summary = engine.reload().await.unwrap();
    assert_eq!(
        (summary.added, summary.unchanged),
        (vec!["two".to_owned()], 1)
    );
    let snapshot = engine.snapshot().await.unwrap();
    assert_eq!(snapshot.integrations.len(), 2);
    assert_eq!(
        snapshot.integrations[0].next_run, before,
        "the unchanged one was not rescheduled"
    );

    harness.write_config(&two);
    let summary = engine.reload().await.unwrap();
    assert_eq!(summary.removed, ["one"]);
    engine.shutdown(Duration::ZERO).await;
}

#[tokio::test]
async fn read_only_handles_refuse_every_action() {
    let server = server_with(200, r#"{"data": []}"#).await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"",
    ));
    let config = Config::load(&harness.config_path()).unwrap();
    let (engine, _) = patchbay::engine::start(
        config,
        Arc::clone(&harness.store),
        harness.options(true, true),
    )
    .await
    .unwrap();
    let refused = Err(patchbay::engine::CommandError::ReadOnly {
        user: engine.operator().user.clone(),
    });
    assert_eq!(
        engine.run_now("items").await,
        refused.clone().map(|()| ulid::Ulid::nil())
    );
    assert_eq!(engine.pause("items").await, refused);
    assert_eq!(engine.resume("items").await, refused);
    assert_eq!(engine.cancel("items").await, refused);
    assert_eq!(engine.disable("items").await, refused);
    assert_eq!(engine.enable("items").await, refused);
    assert_eq!(engine.remove_secret("s").await, refused);
    assert_eq!(
        engine.reload().await.map(|_| ()),
        refused,
        "a viewer cannot reload"
    );
    let secret = secrecy::SecretString::from("value-0000");
    assert_eq!(engine.set_secret("s", secret, None).await, refused);
    let hour = Duration::from_secs(3600);
    assert_eq!(
        engine.silence("items", hour, "viewer").await.map(|_| ()),
        refused
    );
    assert_eq!(engine.unsilence("items").await.map(|_| ()), refused);
    assert!(engine.snapshot().await.is_ok(), "viewing is allowed");
    assert!(
        engine.test_connection("items").await.is_ok(),
        "so is a test"
    );
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        harness.audit_actions(),
        ["integration.test"],
        "nothing was done but the test"
    );
    assert!(harness.vault.get("s").is_err());
}

#[tokio::test]
async fn timeouts_and_network_failures_are_retried() {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_millis(800)))
        .mount(&server)
        .await;
    let slow = source(
        "slow",
        &format!("{}/items", server.uri()),
        "every = \"1h\"\nrequest_timeout = \"100ms\"",
    );
    // Nothing listens on port 9 of the loopback: the connection is refused.
    let closed = source("closed", "http://127.0.0.1:9/items", "every = \"1h\"");
    let harness = Harness::new(&format!("{slow}\n{closed}"));
    let engine = harness.start(false).await;
    let mut events = engine.subscribe();
    let ids = [
        engine.run_now("slow").await.unwrap(),
        engine.run_now("closed").await.unwrap(),
    ];
    let first = finished(&mut events, |r| ids.contains(&r.id)).await;
    let second = finished(&mut events, |r| ids.contains(&r.id) && r.id != first.id).await;
    let (slow_run, closed_run) = if first.id == ids[0] {
        (first, second)
    } else {
        (second, first)
    };
    assert_eq!(
        (slow_run.error_class, slow_run.requests),
        (Some(ErrorClass::Timeout), 3)
    );
    assert!(
        slow_run
            .hint
            .as_deref()
            .unwrap()
            .contains("request_timeout")
    );
    assert_eq!(
        (closed_run.error_class, closed_run.requests),
        (Some(ErrorClass::Network), 3)
    );
    engine.shutdown(Duration::ZERO).await;
}

#[tokio::test]
async fn jitter_delays_a_fire_by_at_most_its_bound() {
    let server = server_with(200, r#"{"data": []}"#).await;
    let harness = Harness::new(&source(
        "items",
        &format!("{}/items", server.uri()),
        "every = \"1h\"\njitter = \"5s\"",
    ));
    let config = Config::load(&harness.config_path()).unwrap();
    let schedule = config.integrations[0].schedule.clone().unwrap();
    for _ in 0..5 {
        let before = chrono::Utc::now();
        let engine = harness.start(true).await;
        let after = chrono::Utc::now();
        let next = engine.snapshot().await.unwrap().integrations[0]
            .next_run
            .unwrap();
        let earliest = schedule.next_after(&before).unwrap();
        let latest = schedule.next_after(&after).unwrap() + chrono::Duration::seconds(5);
        assert!(
            next >= earliest && next <= latest,
            "{next} outside [{earliest}, {latest}]"
        );
        engine.shutdown(Duration::ZERO).await;
    }
}

/// An output's health follows its own deliveries through its own thresholds, and its
/// state says when it last delivered and why it last failed.
#[tokio::test]
async fn an_output_has_its_own_truthful_state() {
    let server = server_with(200, r#"{"data": [{"id": 1}]}"#).await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let harness = Harness::new(
        &(source(
            "items",
            &format!("{}/items", server.uri()),
            "every = \"1h\"\noutputs = [\"hook\"]",
        ) + &format!(
            "[[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nfailure_threshold = 2\nretry = {{ max_attempts = 1 }}\n",
            server.uri()
        )),
    );
    let engine = harness.start(false).await;
    let hook = |snapshot: patchbay::engine::EngineSnapshot| {
        snapshot
            .integrations
            .into_iter()
            .find(|i| i.name == "hook")
            .unwrap()
    };
    common::harness::run_once(&engine, "items").await;
    let once = hook(engine.snapshot().await.unwrap());
    assert_eq!(
        once.state.health,
        patchbay::domain::Health::Pending,
        "one refusal of two"
    );
    assert_eq!(once.state.consecutive_failures, 1);
    assert!(once.state.last_run_at.is_some());
    assert!(
        once.state
            .last_error
            .as_deref()
            .is_some_and(|e| e.starts_with("401")),
        "{:?}",
        once.state
    );
    assert!(once.state.auth_failed);
    common::harness::run_once(&engine, "items").await;
    let twice = hook(engine.snapshot().await.unwrap());
    assert_eq!(twice.state.health, patchbay::domain::Health::Down);
    engine.shutdown(Duration::ZERO).await;
}

//! Every integration of the shipped (demo) config, run once through the engine against
//! the sandbox: each ends as the demo means it to, for the reason it means.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use patchbay::run::{ErrorClass, RunStatus};
use patchbay::sandbox::{Sandbox, demo_secrets};

#[tokio::test]
async fn every_demo_integration_runs_as_the_demo_means() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let shipped = std::fs::read_to_string(common::repo_file("connectors.toml")).unwrap();
    // What `patchbay demo` does through PATCHBAY_SANDBOX_URL, without touching the
    // environment of a multi-threaded test.
    let config = shipped.replace(
        "${PATCHBAY_SANDBOX_URL:-http://127.0.0.1:8080}",
        &sandbox.url(),
    );
    let harness = Harness::new(&config);
    for (name, value) in demo_secrets(&sandbox.url()) {
        harness.set_secret(name, &value);
    }
    let engine = harness.start(false).await;
    let snapshot = engine.snapshot().await.unwrap();
    let expected: &[(&str, RunStatus, Option<ErrorClass>, Option<u64>)] = &[
        ("shop-orders", RunStatus::Success, None, Some(3000)),
        ("crm-users", RunStatus::Success, None, Some(2500)),
        ("private-api", RunStatus::Success, None, Some(5)),
        ("repositories", RunStatus::Success, None, Some(240)),
        ("release-notes", RunStatus::Success, None, Some(20)),
        ("ops-events", RunStatus::Success, None, Some(1200)),
        ("helpdesk-tickets", RunStatus::Success, None, Some(800)),
        ("blog-articles", RunStatus::Success, None, Some(90)),
        ("metrics-api", RunStatus::Success, None, Some(20)),
        ("crm-oauth", RunStatus::Success, None, Some(20)),
        // Not authorized yet: the hint says to run `patchbay auth device-app`.
        (
            "device-app",
            RunStatus::Failed,
            Some(ErrorClass::Auth),
            None,
        ),
        (
            "partner-api",
            RunStatus::Failed,
            Some(ErrorClass::Auth),
            None,
        ),
        ("inventory", RunStatus::Success, None, Some(10)),
        ("pricing", RunStatus::Success, None, Some(3)),
        (
            "legacy-export",
            RunStatus::Failed,
            Some(ErrorClass::Decode),
            None,
        ),
        ("api-health", RunStatus::Success, None, Some(1)),
        (
            "search-health",
            RunStatus::Failed,
            Some(ErrorClass::Check),
            None,
        ),
        ("payments-health", RunStatus::Success, None, Some(1)),
    ];
    let runnable: Vec<&str> = snapshot
        .integrations
        .iter()
        .filter(|i| i.schedule.is_some())
        .map(|i| i.name.as_str())
        .collect();
    let covered: Vec<&str> = expected.iter().map(|(name, ..)| *name).collect();
    assert_eq!(
        runnable, covered,
        "every scheduled demo integration has an expectation"
    );
    for (name, status, class, records) in expected {
        let run = run_once(&engine, name).await;
        assert_eq!(
            (run.status, run.error_class),
            (*status, *class),
            "{name}: {:?}",
            run.error_message
        );
        if let Some(records) = records {
            assert_eq!(run.records_in, *records, "{name}");
        }
        assert!(
            run.status == RunStatus::Success || run.hint.is_some(),
            "{name}: a failure explains itself"
        );
    }
    engine.shutdown(Duration::from_secs(2)).await;
    let stats = sandbox.state.sink_stats();
    assert!(
        stats.webhook_deliveries > 0 && stats.webhook_rejected == 0,
        "signed deliveries accepted: {stats:?}"
    );
    assert!(
        stats.slack_messages > 0,
        "the team channel heard of new records"
    );
    sandbox.stop().await;
}

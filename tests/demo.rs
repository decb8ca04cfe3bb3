//! Every integration of the shipped (demo) config, run once through the engine against
//! the sandbox: each ends as the demo means it to, for the reason it means.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use patchbay::domain::run::{ErrorClass, RunStatus};
use patchbay::sandbox::{Sandbox, create_warehouse, demo_secrets};

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
    create_warehouse(&harness.dir.path().join("warehouse.db"))
        .await
        .unwrap();
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
        // Blueprint instances against the sandbox's GitHub and PagerDuty shapes.
        ("shop-issues", RunStatus::Success, None, Some(230)),
        ("oncall-incidents", RunStatus::Success, None, Some(230)),
        // The orders of at least 100.00 that shop-orders upserted into the warehouse:
        // how many depends on the sandbox's clock, so counted below.
        ("warehouse-orders", RunStatus::Success, None, None),
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
    let mut warehouse_rows = 0;
    for (name, status, class, records) in expected {
        let run = run_once(&engine, name).await;
        if *name == "warehouse-orders" {
            warehouse_rows = run.records_in;
        }
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
    let again = run_once(&engine, "warehouse-orders").await;
    engine.shutdown(Duration::from_secs(2)).await;
    let warehouse = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        harness.dir.path().join("warehouse.db").display()
    ))
    .await
    .unwrap();
    let large: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE amount_cents >= 10000")
        .fetch_one(&warehouse)
        .await
        .unwrap();
    assert!(large > 0, "shop-orders filled the warehouse");
    assert_eq!(
        warehouse_rows, large as u64,
        "every large order, read back once"
    );
    assert_eq!(again.records_in, 0, "the keyset cursor: nothing new");
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

/// `patchbay demo --headless --for 65s` leaves a store in which every scheduled demo
/// integration has run and alerts of at least three rule types fired and were notified.
#[test]
fn the_headless_demo_runs_everything_and_raises_alerts() {
    let home = common::Home::new();
    let data = home.path("demo-data");
    let demo = home
        .patchbay()
        .arg("--data-dir")
        .arg(&data)
        .args(["demo", "--headless", "--for", "65s"])
        .output()
        .unwrap();
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let json = |args: &[&str]| {
        let output = home
            .patchbay()
            .arg("--data-dir")
            .arg(&data)
            .arg("--config")
            .arg(common::repo_file("connectors.toml"))
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let checked: serde_json::Value = serde_json::from_str(&json(&["check", "--json"])).unwrap();
    let history = json(&["history", "--json", "--limit", "100000"]);
    for integration in checked["integrations"].as_array().unwrap() {
        if integration["schedule"].is_string() {
            let name = integration["name"].as_str().unwrap();
            assert!(
                history.contains(&format!("\"integration\":\"{name}\"")),
                "{name} never ran"
            );
        }
    }
    let alerts: serde_json::Value = serde_json::from_str(&json(&["alerts", "--json"])).unwrap();
    let alerts = alerts["alerts"].as_array().unwrap();
    let mut rules: Vec<&str> = alerts.iter().map(|a| a["rule"].as_str().unwrap()).collect();
    rules.sort_unstable();
    rules.dedup();
    assert!(rules.len() >= 3, "rules that fired: {rules:?}");
    let delivered = alerts
        .iter()
        .flat_map(|a| a["attempts"].as_array().unwrap())
        .any(|attempt| attempt["ok"] == true);
    assert!(
        delivered,
        "a notice reached the sandbox's sinks: {alerts:?}"
    );
}

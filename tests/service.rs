//! `patchbay headless` as a process, as systemd runs it: SIGTERM stops it with the
//! store flushed, SIGHUP reloads (a broken file is refused and the old config keeps
//! running, a changed integration that is running finishes first), and an inbound
//! event answered 202 survives SIGKILL.

mod common;

use std::time::Duration;

use common::Home;
use common::service::{Service, wait_until};
use patchbay::domain::run::RunStatus;
use patchbay::store::Store;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const LIMIT: Duration = Duration::from_secs(30);

fn source(name: &str, url: &str, out: &str) -> String {
    format!(
        "[[integration]]\nname = \"{name}\"\nkind = \"http\"\nevery = \"1s\"\noutputs = [\"{name}-file\"]\n\
         [integration.request]\nurl = \"{url}\"\n[integration.records]\npath = \"$.data[*]\"\n\
         [[integration]]\nname = \"{name}-file\"\nkind = \"file\"\npath = \"{out}\"\n"
    )
}

async fn api(delay: Duration) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": [{"id": 1}, {"id": 2}]}))
                .set_delay(delay),
        )
        .mount(&server)
        .await;
    server
}

fn lines(home: &Home, file: &str) -> usize {
    std::fs::read_to_string(home.path(file))
        .map(|text| text.lines().count())
        .unwrap_or(0)
}

fn wait_for_lines(home: &Home, file: &str, at_least: usize) {
    wait_until(LIMIT, || lines(home, file) >= at_least)
        .unwrap_or_else(|()| panic!("{file} never reached {at_least} lines"));
}

#[tokio::test]
async fn sigterm_stops_the_service_with_every_run_recorded() {
    let server = api(Duration::from_millis(300)).await;
    let home = Home::new();
    let url = format!("{}/items", server.uri());
    std::fs::write(
        home.path("connectors.toml"),
        source("items", &url, "items.jsonl"),
    )
    .unwrap();
    let mut service = Service::start(&home, &["--grace", "10s"]);
    wait_for_lines(&home, "items.jsonl", 4);
    service.signal("TERM");
    let status = service.wait_exit(LIMIT);
    assert!(status.success(), "{status:?}\n{}", service.stderr());
    assert!(service.stderr().contains("stopped; the store is flushed"));
    let store = Store::open_in(&home.data_dir()).expect("the store opens after a stop");
    let runs = store.runs(Some("items"), 100).unwrap();
    // Repeated successes fold into one record that counts them.
    let recorded: u32 = runs.iter().map(|r| 1 + r.repeats).sum();
    assert!(recorded >= 2, "{runs:?}");
    assert!(
        runs.iter().all(|r| r.status == RunStatus::Success),
        "every run finished and was recorded, none left running: {runs:?}"
    );
}

#[tokio::test]
async fn sighup_reloads_and_a_broken_config_leaves_the_running_one_in_place() {
    let server = api(Duration::ZERO).await;
    let home = Home::new();
    let url = format!("{}/items", server.uri());
    let config = home.path("connectors.toml");
    std::fs::write(&config, source("items", &url, "items.jsonl")).unwrap();
    let mut service = Service::start(&home, &["--grace", "5s"]);
    wait_for_lines(&home, "items.jsonl", 2);

    let grown = source("items", &url, "items.jsonl") + &source("extra", &url, "extra.jsonl");
    std::fs::write(&config, &grown).unwrap();
    service.signal("HUP");
    service.wait_for_log("reloaded: 2 added (extra, extra-file)", 1, LIMIT);
    wait_for_lines(&home, "extra.jsonl", 2);

    // Valid TOML, invalid config: a duplicate name and an output that is no integration.
    let broken = grown.clone()
        + &source("items", &url, "other.jsonl").replace("items-file\"]", "nowhere\"]");
    std::fs::write(&config, broken).unwrap();
    service.signal("HUP");
    service.wait_for_log("config reload refused", 1, LIMIT);
    let stderr = service.stderr();
    assert!(
        stderr.contains("duplicate integration name `items`"),
        "{stderr}"
    );
    let before = (lines(&home, "items.jsonl"), lines(&home, "extra.jsonl"));
    wait_for_lines(&home, "items.jsonl", before.0 + 2);
    wait_for_lines(&home, "extra.jsonl", before.1 + 2);
    assert_eq!(
        lines(&home, "other.jsonl"),
        0,
        "the broken config never ran"
    );

    service.signal("TERM");
    assert!(service.wait_exit(LIMIT).success());
}

#[tokio::test]
async fn a_reload_while_the_changed_integration_runs_lets_that_run_finish() {
    let server = api(Duration::from_secs(3)).await;
    let home = Home::new();
    let url = format!("{}/items", server.uri());
    let config = home.path("connectors.toml");
    std::fs::write(&config, source("slow", &url, "slow.jsonl")).unwrap();
    let mut service = Service::start(&home, &["--grace", "10s"]);
    // The first run is waiting for its slow answer when the config changes under it.
    wait_until(LIMIT, || {
        futures::executor::block_on(server.received_requests())
            .unwrap()
            .len()
            == 1
    })
    .unwrap();
    let changed = source("slow", &format!("{url}?version=2"), "slow.jsonl");
    std::fs::write(&config, changed).unwrap();
    service.signal("HUP");
    service.wait_for_log("1 changed (slow)", 1, LIMIT);
    wait_until(LIMIT, || {
        futures::executor::block_on(server.received_requests())
            .unwrap()
            .iter()
            .any(|r| r.url.query() == Some("version=2"))
    })
    .expect("the next run uses the new config");
    service.signal("TERM");
    assert!(service.wait_exit(LIMIT).success());
    let store = Store::open_in(&home.data_dir()).unwrap();
    let runs = store.runs(Some("slow"), 100).unwrap();
    let first = runs.last().expect("the first run was recorded");
    assert_eq!(first.status, RunStatus::Success, "{runs:?}");
    assert_eq!(lines(&home, "slow.jsonl") % 2, 0, "whole runs delivered");
    assert!(lines(&home, "slow.jsonl") >= 2);
}

fn inbound(port: u16, out: &str) -> String {
    format!(
        "[settings]\nwebhook_listen = \"127.0.0.1:{port}\"\n\
         [[integration]]\nname = \"events\"\nkind = \"webhook_in\"\npath = \"/hooks/events\"\noutputs = [\"archive\"]\n\
         [[integration]]\nname = \"archive\"\nkind = \"file\"\npath = \"{out}\"\nretry = {{ max_attempts = 1 }}\n"
    )
}

#[tokio::test]
async fn an_event_answered_202_survives_sigkill_and_is_delivered_after_restart() {
    let home = Home::new();
    let port = common::free_port();
    let config = home.path("connectors.toml");
    // The output cannot write yet, so the event can only be in the store's inbox.
    std::fs::write(
        &config,
        inbound(port, "/proc/patchbay-cannot-write-here/events.jsonl"),
    )
    .unwrap();
    let service = Service::start(&home, &[]);
    service.wait_for_log("receiving inbound webhooks", 1, LIMIT);
    patchbay::runtime::http::install_tls_provider();
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{port}/hooks/events"))
        .body(r#"{"id":"evt-42"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    service.wait_for_log("run failed", 1, LIMIT);
    service.signal("KILL");
    drop(service);

    std::fs::write(&config, inbound(port, "events.jsonl")).unwrap();
    let mut restarted = Service::start(&home, &[]);
    wait_for_lines(&home, "events.jsonl", 1);
    let delivered = std::fs::read_to_string(home.path("events.jsonl")).unwrap();
    assert!(delivered.contains("evt-42"), "{delivered}");
    restarted.signal("TERM");
    let stopped = restarted.wait_exit(LIMIT);
    assert!(stopped.success(), "{stopped:?}: {}", restarted.stderr());
    let store = Store::open_in(&home.data_dir()).unwrap();
    assert!(
        store.inbox("events", 10).unwrap().is_empty(),
        "delivered events leave the inbox"
    );
}

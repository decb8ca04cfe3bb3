//! Health checks against local servers: TCP, HTTP with every kind of condition, and a
//! TLS server with a self-signed certificate made here, for certificate expiry; then
//! thresholds flipping health through the engine.

mod common;

use std::time::Duration;

use common::harness::{Harness, finished, run_once};
use common::tls::tls_server;
use patchbay::config::{Config, SourceFile};
use patchbay::domain::Health;
use patchbay::domain::run::{ErrorClass, RunStatus};
use patchbay::engine::EngineEvent;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn check(name: &str, probe: &str, conditions: &[&str], extra: &str) -> String {
    let conditions: Vec<String> = conditions.iter().map(|c| format!("'{c}'")).collect();
    format!(
        "[[integration]]\nname = \"{name}\"\nkind = \"check\"\nevery = \"1h\"\n{extra}\nprobe = {probe}\nconditions = [{}]\n",
        conditions.join(", ")
    )
}

#[tokio::test]
async fn tcp_http_and_tls_probes_are_judged_by_their_conditions() {
    let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_addr = open.local_addr().unwrap();
    let server = MockServer::start().await;
    Mock::given(path("/health"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(
                    r#"{"status": "UP", "version": "2.4.1"}"#,
                    "application/json",
                )
                .set_delay(Duration::from_millis(150)),
        )
        .mount(&server)
        .await;
    let (tls, _) = tls_server(30).await;
    let http = format!("{{ http = \"{}/health\", timeout = \"3s\" }}", server.uri());
    let config = [
        check(
            "tcp-up",
            &format!("{{ tcp = \"{open_addr}\" }}"),
            &["[CONNECTED] == true"],
            "",
        ),
        check(
            "tcp-down",
            "{ tcp = \"127.0.0.1:9\" }",
            &["[CONNECTED] == true"],
            "",
        ),
        check(
            "http-good",
            &http,
            &[
                "[STATUS] == any(200, 204)",
                "[RESPONSE_TIME] >= 100",
                "[BODY].status == \"UP\"",
                "[HEADER].content-type contains \"json\"",
                "[BODY].version matches \"^2\\.\"",
            ],
            "",
        ),
        check(
            "http-slow",
            &http,
            &["[STATUS] == 200", "[RESPONSE_TIME] < 50"],
            "",
        ),
        check(
            "tls-fresh",
            &format!("{{ tls = \"localhost:{}\" }}", tls.port()),
            &["[CONNECTED] == true", "[CERTIFICATE_EXPIRATION] > 14d"],
            "",
        ),
        check(
            "tls-soon",
            &format!("{{ tls = \"localhost:{}\" }}", tls.port()),
            &["[CERTIFICATE_EXPIRATION] > 60d"],
            "",
        ),
    ]
    .concat();
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    for (name, expected) in [
        ("tcp-up", RunStatus::Success),
        ("http-good", RunStatus::Success),
        ("tls-fresh", RunStatus::Success),
    ] {
        let run = run_once(&engine, name).await;
        assert_eq!(run.status, expected, "{name}: {:?}", run.error_message);
    }
    let down = run_once(&engine, "tcp-down").await;
    assert_eq!(
        (down.status, down.error_class),
        (RunStatus::Failed, Some(ErrorClass::Check))
    );
    assert_eq!(
        down.error_message.as_deref(),
        Some("[CONNECTED] == true failed: false")
    );
    let slow = run_once(&engine, "http-slow").await;
    let message = slow.error_message.clone().unwrap();
    assert!(
        message.starts_with("[RESPONSE_TIME] < 50 failed: ") && message.ends_with(" ms"),
        "{message}"
    );
    let soon = run_once(&engine, "tls-soon").await;
    let message = soon.error_message.clone().unwrap();
    assert!(
        message == "[CERTIFICATE_EXPIRATION] > 60d failed: 29 d"
            || message == "[CERTIFICATE_EXPIRATION] > 60d failed: 30 d",
        "{message}"
    );
    // The failed run still records the expiry, and the integration keeps it for its view.
    let days_left = |at: Option<chrono::DateTime<chrono::Utc>>| {
        (at.expect("certificate expiry recorded") - chrono::Utc::now()).num_days()
    };
    assert!((29..=30).contains(&days_left(soon.certificate_expires_at)));
    let snapshot = engine.snapshot().await.unwrap();
    let view = snapshot
        .integrations
        .iter()
        .find(|i| i.name == "tls-soon")
        .unwrap();
    assert!((29..=30).contains(&days_left(view.state.certificate_expires_at)));
    let tcp = snapshot
        .integrations
        .iter()
        .find(|i| i.name == "tcp-up")
        .unwrap();
    assert_eq!(
        tcp.state.certificate_expires_at, None,
        "no TLS, no certificate"
    );
    engine.shutdown(Duration::ZERO).await;
}

#[tokio::test]
async fn health_goes_pending_then_down_exactly_at_the_failure_threshold() {
    let harness = Harness::new(&check(
        "db",
        "{ tcp = \"127.0.0.1:9\" }",
        &["[CONNECTED] == true"],
        "failure_threshold = 2",
    ));
    let engine = harness.start(false).await;
    let mut events = engine.subscribe();
    // A second listener keeps every event; `finished` reads past the ones it skips.
    let mut watched = engine.subscribe();
    run_once(&engine, "db").await;
    let health = || async {
        engine.snapshot().await.unwrap().integrations[0]
            .state
            .health
    };
    assert_eq!(health().await, Health::Pending);
    let id = engine.run_now("db").await.unwrap();
    finished(&mut events, |r| r.id == id).await;
    assert_eq!(health().await, Health::Down);
    let mut changes = Vec::new();
    while let Ok(event) = watched.try_recv() {
        if let EngineEvent::HealthChanged { from, to, .. } = event {
            changes.push((from, to));
        }
    }
    assert!(
        changes.contains(&(Health::Pending, Health::Down)),
        "{changes:?}"
    );
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        harness.store.integration_state("db").unwrap().health,
        Health::Down,
        "health is kept"
    );
}

#[test]
fn a_bad_condition_or_probe_is_a_located_config_error() {
    let text = check(
        "db",
        "{ tcp = \"127.0.0.1:5432\" }",
        &["[STATUS] = 200"],
        "",
    ) + &check("api", "{ http = \"http://x\", tcp = \"y:1\" }", &[], "");
    let config = Config::parse(SourceFile::new("c.toml", text.clone()));
    let messages: Vec<_> = config
        .problems
        .iter()
        .map(|p| (p.message.clone(), p.span.clone().map(|s| &text[s])))
        .collect();
    assert!(
        messages
            .iter()
            .any(|(m, at)| m.contains("expected an operator") && *at == Some("'[STATUS] = 200'")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|(m, _)| m.contains("exactly one of `http`, `tcp`, `tls` or `sql`")),
        "{messages:?}"
    );
}

#[tokio::test]
async fn an_https_source_records_when_its_certificate_expires() {
    let (server, ca_pem) = tls_server(45).await;
    let home = common::Home::new();
    let ca_file = home.path("ca.pem");
    std::fs::write(&ca_file, ca_pem).unwrap();
    let config = home.path("connectors.toml");
    std::fs::write(
        &config,
        format!(
            "[[integration]]\nname = \"secure\"\nkind = \"http\"\nevery = \"1h\"\n[integration.request]\nurl = \"https://localhost:{}/items\"\n",
            server.port()
        ),
    )
    .unwrap();
    let mut command = home.patchbay();
    // rustls-native-certs reads the trusted roots from SSL_CERT_FILE.
    command
        .env("SSL_CERT_FILE", &ca_file)
        .arg("--config")
        .arg(&config)
        .args(["run", "secure", "--json"]);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let record: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{e}: {stdout} {}", String::from_utf8_lossy(&output.stderr)));
    assert_eq!(record["status"], "success", "{record:#}");
    let expires: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(record["certificate_expires_at"].clone()).unwrap();
    assert!(
        (44..=45).contains(&(expires - chrono::Utc::now()).num_days()),
        "{expires}"
    );
}

//! What the process log says about a run, as the Logs pane and a `warn+` filter see it:
//! a refused delivery and a failed page are warnings, not buried at INFO.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use patchbay::telemetry::LogFormat;
use tracing::Level;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn a_refused_delivery_is_a_warning() {
    let logs = tempfile::tempdir().unwrap();
    let telemetry = common::capture_logs(logs.path(), LogFormat::Text);
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": 1}]})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&server)
        .await;
    let harness = Harness::new(&format!(
        "[[integration]]\nname = \"items\"\nkind = \"http\"\nevery = \"1h\"\noutputs = [\"hook\"]\n\
         [integration.request]\nurl = \"{0}/items\"\n[integration.records]\npath = \"$.data[*]\"\n\
         [[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{0}/hook\"\n",
        server.uri()
    ));
    let engine = harness.start(false).await;
    run_once(&engine, "items").await;
    engine.shutdown(Duration::ZERO).await;
    let warnings: Vec<String> = telemetry
        .ring
        .since(0)
        .into_iter()
        .filter(|event| event.level == Level::WARN)
        .map(|event| event.message)
        .collect();
    assert!(
        warnings
            .iter()
            .any(|m| m.starts_with("delivery to hook failed: 401")),
        "{warnings:?}"
    );
}

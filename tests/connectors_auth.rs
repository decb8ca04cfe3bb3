//! OAuth2 for integrations: tokens cached, refreshed before expiry and after a 401,
//! rotated refresh tokens kept, and the device flow.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use patchbay::connectors::oauth;
use patchbay::domain::run::{ErrorClass, RunStatus};
use patchbay::sandbox::{Sandbox, credentials};
use secrecy::ExposeSecret;
use wiremock::matchers::{body_string_contains, header, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client_credentials(name: &str, base: &str) -> String {
    format!(
        "[[integration]]\nname = \"{name}\"\nkind = \"http\"\nevery = \"1h\"\n\
         [integration.auth]\ntype = \"oauth2_client_credentials\"\ntoken_url = \"{base}/token\"\nclient_id = \"patchbay\"\nclient_secret = \"secret:client_secret\"\nscopes = [\"read\"]\n\
         [integration.request]\nurl = \"{base}/data\"\n[integration.records]\npath = \"$.data[*]\"\n"
    )
}

async fn token_server(expires_in: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/token"))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_secret=client-secret-xyz"))
        .and(body_string_contains("scope=read"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "access-token-1", "token_type": "Bearer", "expires_in": expires_in
        })))
        .mount(&server)
        .await;
    server
}

/// A token server whose tokens live `expires_in` seconds, an empty `/data` behind
/// it, and an engine with a client-credentials integration `cc` on them.
async fn token_and_data(expires_in: u64) -> (MockServer, Harness, patchbay::engine::EngineHandle) {
    let server = token_server(expires_in).await;
    Mock::given(path("/data"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": []})))
        .mount(&server)
        .await;
    let harness = Harness::new(&client_credentials("cc", &server.uri()));
    harness.set_secret("client_secret", "client-secret-xyz");
    let engine = harness.start(false).await;
    (server, harness, engine)
}

fn token_calls(requests: &[wiremock::Request]) -> usize {
    requests.iter().filter(|r| r.url.path() == "/token").count()
}

#[tokio::test]
async fn client_credentials_are_exchanged_once_and_the_token_is_cached() {
    let server = token_server(3600).await;
    Mock::given(path("/data"))
        .and(header("authorization", "Bearer access-token-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": 1}]})),
        )
        .mount(&server)
        .await;
    let harness = Harness::new(&client_credentials("cc", &server.uri()));
    harness.set_secret("client_secret", "client-secret-xyz");
    let engine = harness.start(false).await;
    assert_eq!(run_once(&engine, "cc").await.status, RunStatus::Success);
    assert_eq!(run_once(&engine, "cc").await.status, RunStatus::Success);
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        token_calls(&server.received_requests().await.unwrap()),
        1,
        "the second run used the cached token"
    );
    // The token is cached encrypted in the vault, for the next start.
    let cached = harness.vault.get(&oauth::access_secret("cc")).unwrap();
    assert!(cached.expose_secret().contains("access-token-1"));
    let secret_actions: Vec<_> = harness
        .audit_actions()
        .into_iter()
        .filter(|a| a.starts_with("secret."))
        .collect();
    assert_eq!(
        secret_actions,
        ["secret.set"],
        "only the operator's own set; token caching is not audited"
    );
}

/// `"expires_in": i64::MAX` once made the run's task panic (time overflow), which left
/// the integration running for good and SIGTERM waiting for it.
#[tokio::test]
async fn a_nonsense_token_lifetime_is_clamped_and_the_run_succeeds() {
    let (_server, _harness, engine) = token_and_data(i64::MAX as u64).await;
    let run = run_once(&engine, "cc").await;
    assert_eq!(run.status, RunStatus::Success, "{run:?}");
    assert_eq!(run_once(&engine, "cc").await.status, RunStatus::Success);
    tokio::time::timeout(
        Duration::from_secs(60),
        engine.shutdown(Duration::from_secs(1)),
    )
    .await
    .expect("shutdown returned instead of waiting for a wedged run");
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_use() {
    let (server, _harness, engine) = token_and_data(1).await;
    run_once(&engine, "cc").await;
    run_once(&engine, "cc").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(token_calls(&server.received_requests().await.unwrap()), 2);
}

#[tokio::test]
async fn a_refused_token_is_replaced_once_before_the_run_fails_as_auth() {
    let server = token_server(3600).await;
    Mock::given(path("/data"))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/data"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": 1}]})),
        )
        .mount(&server)
        .await;
    let harness = Harness::new(&client_credentials("cc", &server.uri()));
    harness.set_secret("client_secret", "client-secret-xyz");
    let engine = harness.start(false).await;
    let recovered = run_once(&engine, "cc").await;
    assert_eq!(recovered.status, RunStatus::Success, "{recovered:?}");
    assert_eq!(
        token_calls(&server.received_requests().await.unwrap()),
        2,
        "a new token after the 401"
    );
    engine.shutdown(Duration::ZERO).await;

    let refusing = MockServer::start().await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(401))
        .mount(&refusing)
        .await;
    let harness = Harness::new(&client_credentials("cc", &refusing.uri()));
    harness.set_secret("client_secret", "client-secret-xyz");
    let engine = harness.start(false).await;
    let failed = run_once(&engine, "cc").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        (failed.status, failed.error_class),
        (RunStatus::Failed, Some(ErrorClass::Auth))
    );
    assert!(
        failed
            .hint
            .as_deref()
            .unwrap()
            .contains("client id, secret"),
        "{:?}",
        failed.hint
    );
}

fn sandbox_oauth(name: &str, base: &str, auth: &str) -> String {
    format!(
        "[[integration]]\nname = \"{name}\"\nkind = \"http\"\nevery = \"1h\"\n[integration.auth]\n{auth}\n\
         [integration.request]\nurl = \"{base}/api/secure\"\n[integration.records]\npath = \"$.data[*]\"\n"
    )
}

#[tokio::test]
async fn a_rotated_refresh_token_is_kept_in_the_vault() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let auth = format!(
        "type = \"oauth2_refresh_token\"\ntoken_url = \"{base}/oauth/token\"\nclient_id = \"{}\"\nrefresh_token = \"secret:crm_refresh\"",
        credentials::CLIENT_ID
    );
    let harness = Harness::new(&sandbox_oauth("crm", &base, &auth));
    harness.set_secret("crm_refresh", credentials::INITIAL_REFRESH_TOKEN);
    let engine = harness.start(false).await;
    assert_eq!(run_once(&engine, "crm").await.status, RunStatus::Success);
    engine.shutdown(Duration::ZERO).await;
    let rotated = harness.vault.get("crm_refresh").unwrap();
    assert_ne!(
        rotated.expose_secret(),
        credentials::INITIAL_REFRESH_TOKEN,
        "the new refresh token replaced the spent one"
    );

    // A fresh engine without a cached access token must refresh with the rotated token
    // (the sandbox refuses the spent initial one).
    harness.vault.forget(&oauth::access_secret("crm")).unwrap();
    let engine = harness.start(false).await;
    let run = run_once(&engine, "crm").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(run.status, RunStatus::Success, "{run:?}");
    sandbox.stop().await;
}

/// As an operator does it: `patchbay run` fails with a hint, `patchbay auth` shows the
/// URL and code and waits for approval, and the next `patchbay run` uses the tokens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_device_flow_stores_tokens_that_runs_then_use() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let auth = format!(
        "type = \"oauth2_device\"\ndevice_authorization_url = \"{base}/oauth/device\"\ntoken_url = \"{base}/oauth/token\"\nclient_id = \"{}\"",
        credentials::CLIENT_ID
    );
    let home = common::Home::new();
    std::fs::write(
        home.path("connectors.toml"),
        sandbox_oauth("device", &base, &auth),
    )
    .unwrap();
    let patchbay = |args: &'static [&'static str]| {
        let mut command = home.patchbay();
        command.args(args);
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };

    let before = patchbay(&["run", "device", "--json"]).await.unwrap();
    assert_eq!(before.status.code(), Some(1));
    let record: serde_json::Value = serde_json::from_slice(&before.stdout).unwrap();
    assert_eq!(record["error_class"], "auth");
    assert!(
        record["hint"]
            .as_str()
            .unwrap()
            .contains("patchbay auth device"),
        "{record}"
    );

    let authorized = patchbay(&["auth", "device"]).await.unwrap();
    let shown = String::from_utf8_lossy(&authorized.stdout);
    assert!(authorized.status.success(), "{shown}{authorized:?}");
    assert!(
        shown.contains("enter the code") && shown.contains("PBAY-"),
        "{shown}"
    );
    assert!(shown.contains("Authorized: `device`"), "{shown}");

    let after = patchbay(&["run", "device", "--json"]).await.unwrap();
    let record: serde_json::Value = serde_json::from_slice(&after.stdout).unwrap();
    assert_eq!(
        (record["status"].as_str(), record["records_in"].as_u64()),
        (Some("success"), Some(20)),
        "{record}"
    );
    sandbox.stop().await;
}

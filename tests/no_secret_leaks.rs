//! Every credential kind in use, in runs that succeed and runs that fail: no secret
//! value may appear in the store file, a log file, the in-memory log ring behind the
//! Logs pane, a run record, a run log, an error or a connection-test report; and, for
//! `patchbay headless` as a process, its stderr and `patchbay history --json`.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use common::{contains_bytes, files_under};
use patchbay::sandbox::{Sandbox, credentials};
use patchbay::telemetry::LogFormat;

const WRONG_TOKEN: &str = "wrong-bearer-token-0a0a0a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_any_output() {
    let logs = tempfile::tempdir().unwrap();
    let telemetry = common::capture_logs(logs.path(), LogFormat::Json);

    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let config = format!(
        "[[integration]]\nname = \"private\"\nkind = \"http\"\nevery = \"1h\"\noutputs = [\"hook\", \"slack\", \"discord\"]\n\
         [integration.auth]\ntype = \"bearer\"\ntoken = \"secret:private_token\"\n\
         [integration.request]\nurl = \"{base}/api/private\"\n[integration.records]\npath = \"$.data[*]\"\n\
         [[integration]]\nname = \"wrong\"\nkind = \"http\"\nevery = \"1h\"\n\
         [integration.auth]\ntype = \"bearer\"\ntoken = \"secret:wrong_token\"\n[integration.request]\nurl = \"{base}/api/private\"\n\
         [[integration]]\nname = \"users\"\nkind = \"http\"\nevery = \"1h\"\n\
         [integration.auth]\ntype = \"api_key\"\nname = \"X-Api-Key\"\nkey = \"secret:api_key\"\n[integration.request]\nurl = \"{base}/api/users\"\n[integration.records]\npath = \"$.users[*]\"\n\
         [[integration]]\nname = \"tickets\"\nkind = \"http\"\nevery = \"1h\"\n\
         [integration.auth]\ntype = \"basic\"\nusername = \"ops\"\npassword = \"secret:basic_password\"\n[integration.request]\nurl = \"{base}/api/tickets\"\n\
         [[integration]]\nname = \"metrics\"\nkind = \"http\"\nevery = \"1h\"\n\
         [integration.auth]\ntype = \"oauth2_client_credentials\"\ntoken_url = \"{base}/oauth/token\"\nclient_id = \"{id}\"\nclient_secret = \"secret:client_secret\"\n\
         [integration.request]\nurl = \"{base}/api/secure\"\n[integration.records]\npath = \"$.data[*]\"\n\
         [[integration]]\nname = \"rotating\"\nkind = \"http\"\nevery = \"1h\"\n\
         [integration.auth]\ntype = \"oauth2_refresh_token\"\ntoken_url = \"{base}/oauth/token\"\nclient_id = \"{id}\"\nrefresh_token = \"secret:refresh\"\n\
         [integration.request]\nurl = \"{base}/api/secure\"\n\
         [[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{base}/sink/webhook\"\nsigning_secret = \"secret:hook_key\"\n\
         [[integration]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"secret:slack_url\"\n\
         [[integration]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"secret:discord_url\"\nretry = {{ max_attempts = 1 }}\n\
         [[integration]]\nname = \"moved\"\nkind = \"http\"\nevery = \"1h\"\noutputs = [\"gone\"]\n[integration.request]\nurl = \"{base}/api/orders\"\n[integration.records]\npath = \"$.data[*]\"\n\
         [[integration]]\nname = \"gone\"\nkind = \"slack\"\nurl = \"secret:gone_url\"\nretry = {{ max_attempts = 1 }}\n",
        id = credentials::CLIENT_ID
    );
    // Slack and Discord put the credential in the path, as the last segment.
    let slack_url = format!("{base}/services/T000/B000/{SLACK_PATH_TOKEN}");
    let discord_url = format!("{base}/api/webhooks/000/{DISCORD_PATH_TOKEN}");
    // A webhook URL that no longer exists: its 404 must not show the token either.
    let gone_url = format!("{base}/services/T000/B999/retired/{GONE_PATH_TOKEN}");
    let secrets = [
        ("private_token", credentials::PRIVATE_TOKEN),
        ("wrong_token", WRONG_TOKEN),
        ("api_key", credentials::API_KEY),
        ("basic_password", credentials::BASIC_PASSWORD),
        ("client_secret", credentials::CLIENT_SECRET),
        ("refresh", credentials::INITIAL_REFRESH_TOKEN),
        ("hook_key", credentials::WEBHOOK_SIGNING_KEY),
        ("slack_url", slack_url.as_str()),
        ("discord_url", discord_url.as_str()),
        ("gone_url", gone_url.as_str()),
    ];
    let harness = Harness::new(&config);
    for (name, value) in secrets {
        harness.set_secret(name, value);
    }
    let engine = harness.start(false).await;
    let mut shown = String::new();
    for name in [
        "private", "wrong", "users", "tickets", "metrics", "rotating", "rotating", "moved",
    ] {
        let run = run_once(&engine, name).await;
        shown.push_str(&serde_json::to_string(&*run).unwrap());
        shown.push_str(&harness.store.run_logs(run.id).unwrap().join("\n"));
        let requests = harness.store.run_requests(run.id).unwrap();
        assert!(!requests.is_empty(), "{name}'s requests were traced");
        shown.push_str(&serde_json::to_string(&requests).unwrap());
    }
    for name in [
        "private", "wrong", "metrics", "hook", "slack", "discord", "gone",
    ] {
        let report = engine.test_connection(name).await.unwrap();
        shown.push_str(&serde_json::to_string(&report).unwrap());
    }
    assert!(
        shown.contains("\"status\":\"failed\""),
        "the search covers failures too"
    );
    engine.shutdown(Duration::from_secs(2)).await;
    sandbox.stop().await;
    assert!(
        shown.contains("\"output\":\"gone\",\"ok\":false"),
        "a delivery to a URL with a path token failed"
    );
    let store_bytes = std::fs::read(harness.store.path()).unwrap();
    let ring: String = telemetry
        .ring
        .since(0)
        .iter()
        .map(|e| format!("{} {:?} {}\n", e.target, e.integration, e.message))
        .collect();
    assert!(ring.contains("moved"), "the ring saw the runs");
    drop(telemetry); // flushes the log files

    let mut values = secret_values(&secrets);
    // Tokens the sandbox issued along the way are secrets as well.
    values.extend((1..=20).flat_map(|n| {
        [
            format!("demo-access-{n:06}"),
            format!("demo-refresh-{n:06}"),
        ]
    }));
    let log_files = files_under(logs.path());
    assert!(!log_files.is_empty());
    let mut outputs: Vec<(String, Vec<u8>)> = log_files
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    outputs.push(("store".into(), store_bytes));
    outputs.push(("the Logs pane's ring".into(), ring.into_bytes()));
    outputs.push((
        "run records, run logs, request traces and test reports".into(),
        shown.into_bytes(),
    ));
    let logged: usize = outputs[..log_files.len()]
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    assert!(logged > 1000, "the runs were logged ({logged} bytes)");
    assert_no_secret_in(&outputs, &values);
}

const SLACK_PATH_TOKEN: &str = "slack-path-token-7b7b7b";
const DISCORD_PATH_TOKEN: &str = "discord-path-token-8c8c8c";
const GONE_PATH_TOKEN: &str = "gone-path-token-9d9d9d";

/// The values to search for: each secret, the path tokens on their own, and the forms
/// a secret travels in (Basic auth's base64 `user:password`).
fn secret_values(secrets: &[(&str, &str)]) -> Vec<String> {
    use base64::Engine;
    let mut values: Vec<String> = secrets.iter().map(|(_, v)| (*v).to_owned()).collect();
    values.extend([SLACK_PATH_TOKEN, DISCORD_PATH_TOKEN, GONE_PATH_TOKEN].map(str::to_owned));
    let basic = format!(
        "{}:{}",
        credentials::BASIC_USER,
        credentials::BASIC_PASSWORD
    );
    values.push(base64::engine::general_purpose::STANDARD.encode(basic));
    values
}

fn assert_no_secret_in(outputs: &[(String, Vec<u8>)], values: &[String]) {
    for (what, bytes) in outputs {
        for value in values {
            assert!(
                !contains_bytes(bytes, value),
                "{what} contains the secret value {value:?}"
            );
        }
    }
}

/// `patchbay headless` with text logs, as an operator runs it: a Basic-auth source, a
/// Slack URL with its token in the path, one that answers 404, and an inbound webhook
/// with a verify secret (a signed event and a forged one). Neither stderr, the log
/// files, the store nor `history --json` holds a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_the_output_of_a_headless_process() {
    use common::Home;
    use common::service::Service;

    const INBOUND_KEY: &str = "inbound-verify-key-4e4e4e";
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let port = common::free_port();
    let home = Home::new();
    let config = format!(
        "[settings]\nwebhook_listen = \"127.0.0.1:{port}\"\n\
         [[integration]]\nname = \"tickets\"\nkind = \"http\"\nevery = \"1s\"\noutputs = [\"slack\", \"gone\"]\n\
         [integration.auth]\ntype = \"basic\"\nusername = \"{user}\"\npassword = \"secret:basic_password\"\n\
         [integration.request]\nurl = \"{base}/api/tickets\"\n[integration.records]\npath = \"$.tickets[*]\"\nprimary_key = \"id\"\n\
         [[integration]]\nname = \"slack\"\nkind = \"slack\"\nurl = \"secret:slack_url\"\n\
         [[integration]]\nname = \"gone\"\nkind = \"discord\"\nurl = \"secret:gone_url\"\nretry = {{ max_attempts = 1 }}\n\
         [[integration]]\nname = \"inbound\"\nkind = \"webhook_in\"\npath = \"/hooks/in\"\noutputs = [\"slack\"]\n\
         verify = {{ type = \"hmac_sha256\", header = \"X-Signature\", secret = \"secret:inbound_key\" }}\n",
        user = credentials::BASIC_USER,
    );
    std::fs::write(home.path("connectors.toml"), config).unwrap();
    let slack_url = format!("{base}/services/T000/B000/{SLACK_PATH_TOKEN}");
    let gone_url = format!("{base}/api/webhooks/000/retired/{GONE_PATH_TOKEN}");
    let secrets = [
        ("basic_password", credentials::BASIC_PASSWORD),
        ("slack_url", slack_url.as_str()),
        ("gone_url", gone_url.as_str()),
        ("inbound_key", INBOUND_KEY),
    ];
    for (name, value) in secrets {
        let set = home
            .patchbay()
            .args(["secret", "set", name])
            .write_stdin(value)
            .output()
            .unwrap();
        assert!(set.status.success(), "{set:?}");
    }

    let mut service = Service::start(&home, &["--log-format", "text"]);
    service.wait_for_log("receiving inbound webhooks", 1, Duration::from_secs(30));
    patchbay::runtime::http::install_tls_provider();
    let client = reqwest::Client::new();
    let body = br#"{"id":"evt-1"}"#;
    let signed = {
        use hmac::{Hmac, KeyInit, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(INBOUND_KEY.as_bytes()).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    };
    for (signature, expected) in [(signed.as_str(), 202), ("sha256=forged", 401)] {
        let answer = client
            .post(format!("http://127.0.0.1:{port}/hooks/in"))
            .header("X-Signature", signature)
            .body(body.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), expected);
    }
    service.wait_for_log("integration=tickets", 4, Duration::from_secs(30));
    service.wait_for_log("integration=inbound", 1, Duration::from_secs(30));
    service.signal("TERM");
    assert!(service.wait_exit(Duration::from_secs(30)).success());
    sandbox.stop().await;

    let history = home
        .patchbay()
        .args(["history", "--json", "--limit", "100"])
        .output()
        .unwrap();
    assert!(history.status.success());
    let stderr = service.stderr();
    assert!(
        stderr.contains("bad signature") && stderr.contains("404"),
        "the failures were logged: {stderr}"
    );
    let mut outputs: Vec<(String, Vec<u8>)> = files_under(&home.log_dir())
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    assert!(!outputs.is_empty(), "text log files were written");
    outputs.push(("stderr".into(), stderr.into_bytes()));
    outputs.push(("history --json".into(), history.stdout));
    outputs.push(("store".into(), std::fs::read(home.store_file()).unwrap()));
    assert_no_secret_in(&outputs, &secret_values(&secrets));
}

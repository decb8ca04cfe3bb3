//! Every credential kind in use, in runs that succeed and runs that fail: no secret
//! value may appear in the store file, a log file, a run record, a run log, an error
//! or a connection-test report.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use common::{contains_bytes, files_under};
use patchbay::sandbox::{Sandbox, credentials};
use patchbay::telemetry::{self, LogFormat, TelemetryOptions};

const WRONG_TOKEN: &str = "wrong-bearer-token-0a0a0a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_value_reaches_any_output() {
    let logs = tempfile::tempdir().unwrap();
    let telemetry = telemetry::init(TelemetryOptions {
        log_dir: logs.path().to_owned(),
        format: LogFormat::Json,
        keep_files: 2,
        stderr: None,
        ring_capacity: 10_000,
    })
    .unwrap();

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
         [[integration]]\nname = \"discord\"\nkind = \"discord\"\nurl = \"secret:discord_url\"\nretry = {{ max_attempts = 1 }}\n",
        id = credentials::CLIENT_ID
    );
    let slack_url = format!("{base}/sink/slack?token=slack-url-token-7b7b7b");
    let discord_url = format!("{base}/sink/discord?token=discord-url-token-8c8c8c");
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
    ];
    let harness = Harness::new(&config);
    for (name, value) in secrets {
        harness.set_secret(name, value);
    }
    let engine = harness.start(false).await;
    let mut shown = String::new();
    for name in [
        "private", "wrong", "users", "tickets", "metrics", "rotating", "rotating",
    ] {
        let run = run_once(&engine, name).await;
        shown.push_str(&serde_json::to_string(&*run).unwrap());
        shown.push_str(&harness.store.run_logs(run.id).unwrap().join("\n"));
    }
    for name in ["private", "wrong", "metrics", "hook", "slack", "discord"] {
        let report = engine.test_connection(name).await.unwrap();
        shown.push_str(&serde_json::to_string(&report).unwrap());
    }
    assert!(
        shown.contains("\"status\":\"failed\""),
        "the search covers failures too"
    );
    engine.shutdown(Duration::from_secs(2)).await;
    sandbox.stop().await;
    let store_bytes = std::fs::read(harness.store.path()).unwrap();
    drop(telemetry); // flushes the log files

    let mut values: Vec<String> = secrets.iter().map(|(_, v)| (*v).to_owned()).collect();
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
    outputs.push((
        "run records, run logs and test reports".into(),
        shown.into_bytes(),
    ));
    let logged: usize = outputs[..log_files.len()]
        .iter()
        .map(|(_, b)| b.len())
        .sum();
    assert!(logged > 1000, "the runs were logged ({logged} bytes)");
    for (what, bytes) in &outputs {
        for value in &values {
            assert!(
                !contains_bytes(bytes, value),
                "{what} contains the secret value {value:?}"
            );
        }
    }
}

//! `patchbay demo`: the shipped connectors.toml against the built-in sandbox, with a
//! throw-away data dir and vault holding the sandbox's credentials, so a new user sees
//! patchbay working within seconds, with no accounts and no internet.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use tokio::task::JoinHandle;

use super::{CliError, CliResult, Context, console, runtime};
use crate::config::url::ConfigUrl;
use crate::connectors::oauth;
use crate::engine::EngineHandle;
use crate::sandbox::{Sandbox, create_warehouse, demo_secrets, send_events};

/// How often the sandbox sends an event to the demo's `webhook_in`.
const EVENT_EVERY: Duration = Duration::from_secs(7);
/// The demo integration that uses the device flow.
const DEVICE_APP: &str = "device-app";

/// The shipped config, built in so the demo runs from any directory.
pub const DEMO_CONFIG: &str = include_str!("../../connectors.toml");
pub const SANDBOX_URL_VAR: &str = "PATCHBAY_SANDBOX_URL";

pub fn run(
    context: &Context,
    headless: bool,
    duration: Option<Duration>,
    own_data_dir: bool,
) -> CliResult {
    // Bound before any thread exists, so the variable the config reads can be set
    // safely; the sandbox then serves on this very socket.
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(CliError::runtime)?;
    let url = format!(
        "http://{}",
        listener.local_addr().map_err(CliError::runtime)?
    );
    // SAFETY: the process is still single-threaded here: no runtime, no logger yet.
    unsafe { std::env::set_var(SANDBOX_URL_VAR, &url) };
    let scratch = tempfile::Builder::new()
        .prefix("patchbay-demo-")
        .tempdir()
        .map_err(CliError::runtime)?;
    let data_dir = if own_data_dir {
        context.data_dir()
    } else {
        scratch.path().join("data")
    };
    let config = scratch.path().join("connectors.toml");
    std::fs::write(&config, DEMO_CONFIG).map_err(CliError::runtime)?;
    let demo = context.with_paths(
        config,
        data_dir.clone(),
        scratch.path().join("identity.txt"),
    );
    store_demo_secrets(&demo, &url)?;
    let warehouse = scratch.path().join("warehouse.db");
    let runtime = runtime()?;
    runtime.block_on(async {
        create_warehouse(&warehouse)
            .await
            .map_err(CliError::runtime)?;
        listener.set_nonblocking(true).map_err(CliError::runtime)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(CliError::runtime)?;
        let sandbox = Sandbox::serve(listener).map_err(CliError::runtime)?;
        let result = if headless {
            run_headless(&demo, duration, &data_dir).await
        } else {
            console::run_with(&demo, |engine| alongside(engine, &url)).await
        };
        sandbox.stop().await;
        result
    })
}

/// What runs beside the engine in the demo: the sandbox sending signed events to the
/// `webhook_in` integration, and the device authorization of `device-app` (approved
/// by the sandbox after a few polls, as an operator would in a browser).
fn alongside(engine: &EngineHandle, sandbox_url: &str) -> Vec<JoinHandle<()>> {
    let events = {
        let engine = engine.clone();
        tokio::spawn(async move {
            if let Ok(snapshot) = engine.snapshot().await
                && let Some(listen) = snapshot.webhook_listen
            {
                let _ = send_events(format!("http://{listen}/hooks/github"), EVENT_EVERY).await;
            }
        })
    };
    let device = {
        let engine = engine.clone();
        let urls = ConfigUrl::parse(&format!("{sandbox_url}/oauth/device")).and_then(|device| {
            Ok((
                device,
                ConfigUrl::parse(&format!("{sandbox_url}/oauth/token"))?,
            ))
        });
        tokio::spawn(async move {
            let Ok((device_authorization_url, token_url)) = urls else {
                return;
            };
            let auth = crate::config::Auth::OAuth2Device {
                device_authorization_url,
                token_url,
                client_id: crate::sandbox::credentials::CLIENT_ID.to_owned(),
                scopes: Vec::new(),
            };
            let client = reqwest::Client::new();
            let Ok(code) = oauth::start_device_flow(&client, &auth).await else {
                return;
            };
            tracing::info!(integration = DEVICE_APP, code = %code.user_code, "the demo authorizes the device flow as an operator would");
            if let Ok(tokens) = oauth::finish_device_flow(&client, &auth, &code).await {
                let _ = engine
                    .set_secret(&oauth::refresh_secret(DEVICE_APP), tokens.refresh, None)
                    .await;
            }
        })
    };
    vec![events, device]
}

fn sandbox_url() -> Result<String, CliError> {
    std::env::var(SANDBOX_URL_VAR).map_err(|_| CliError::runtime("the demo lost its sandbox URL"))
}

fn store_demo_secrets(context: &Context, sandbox_url: &str) -> Result<(), CliError> {
    let store = context.open_store()?;
    let vault = context.vault(Arc::clone(&store));
    for (name, value) in demo_secrets(sandbox_url) {
        vault
            .set(name, &SecretString::from(value), None)
            .map_err(CliError::runtime)?;
    }
    Ok(())
}

async fn run_headless(context: &Context, duration: Option<Duration>, data_dir: &Path) -> CliResult {
    let _telemetry = context.telemetry(Some(tracing::Level::INFO))?;
    let engine = context.start_engine(true).await?;
    let side_tasks = alongside(&engine.handle, &sandbox_url()?);
    eprintln!(
        "demo running against the sandbox; data in {}",
        data_dir.display()
    );
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    side_tasks.iter().for_each(JoinHandle::abort);
    let handle = engine.handle.clone();
    engine.stop(Duration::from_secs(10)).await;
    let runs = handle
        .runs(None, None, 10_000)
        .await
        .map_err(CliError::runtime)?;
    let mut by_integration: std::collections::BTreeMap<&str, (usize, usize)> =
        std::collections::BTreeMap::new();
    for run in &runs {
        let entry = by_integration.entry(run.integration.as_str()).or_default();
        entry.0 += 1;
        if run.status == crate::domain::run::RunStatus::Success {
            entry.1 += 1;
        }
    }
    for (name, (total, ok)) in by_integration {
        println!("{name}: {total} runs, {ok} succeeded");
    }
    Ok(ExitCode::SUCCESS)
}

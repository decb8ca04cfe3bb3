//! `patchbay demo`: the shipped connectors.toml against the built-in sandbox, with a
//! throw-away data dir and vault holding the sandbox's credentials, so a new user sees
//! patchbay working within seconds, with no accounts and no internet.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use super::{CliError, CliResult, Context, console, runtime};
use crate::sandbox::{Sandbox, demo_secrets};

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
    let runtime = runtime()?;
    runtime.block_on(async {
        listener.set_nonblocking(true).map_err(CliError::runtime)?;
        let listener = tokio::net::TcpListener::from_std(listener).map_err(CliError::runtime)?;
        let sandbox = Sandbox::serve(listener).map_err(CliError::runtime)?;
        let result = if headless {
            run_headless(&demo, duration, &data_dir).await
        } else {
            console::run(&demo).await
        };
        sandbox.stop().await;
        result
    })
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
    let (engine, task) = context.start_engine(true).await?;
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
    engine.shutdown(Duration::from_secs(10)).await;
    let _ = task.await;
    let runs = engine
        .runs(None, None, 10_000)
        .await
        .map_err(CliError::runtime)?;
    let mut by_integration: std::collections::BTreeMap<&str, (usize, usize)> =
        std::collections::BTreeMap::new();
    for run in &runs {
        let entry = by_integration.entry(run.integration.as_str()).or_default();
        entry.0 += 1;
        if run.status == crate::run::RunStatus::Success {
            entry.1 += 1;
        }
    }
    for (name, (total, ok)) in by_integration {
        println!("{name}: {total} runs, {ok} succeeded");
    }
    Ok(ExitCode::SUCCESS)
}

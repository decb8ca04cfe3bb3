//! `patchbay headless`: the engine as a service. SIGTERM or SIGINT stop it gracefully;
//! SIGHUP reloads connectors.toml (a broken file is refused and the old one kept).

use std::process::ExitCode;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};

use super::{CliError, CliResult, Context};

pub async fn run(context: &Context, grace: Duration) -> CliResult {
    let (engine, task) = context.start_engine(true).await?;
    let mut terminate = signal(SignalKind::terminate()).map_err(CliError::runtime)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::runtime)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(CliError::runtime)?;
    let snapshot = engine.snapshot().await.map_err(CliError::runtime)?;
    tracing::info!(
        integrations = snapshot.integrations.len(),
        "patchbay running headless; SIGTERM stops, SIGHUP reloads"
    );
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => match engine.reload().await {
                // The engine logs what changed; this says why it reloaded.
                Ok(_) => tracing::info!("config reloaded on SIGHUP"),
                Err(error) => tracing::error!(%error, "config reload refused; the running config is kept"),
            },
        }
    }
    tracing::info!(grace = %humantime::format_duration(grace), "stopping");
    engine.shutdown(grace).await;
    let _ = task.await;
    tracing::info!("stopped; the store is flushed");
    Ok(ExitCode::SUCCESS)
}

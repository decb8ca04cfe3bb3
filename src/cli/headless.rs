//! `patchbay headless`: the engine as a service. It owns the store, answers consoles
//! and CLI commands on its control socket, serves Prometheus metrics when asked to,
//! and tells systemd when it is ready (`Type=notify`). SIGTERM or SIGINT stop it
//! gracefully; SIGHUP reloads connectors.toml (a broken file is refused and the old
//! one kept).

use std::process::ExitCode;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};
use tokio::task::JoinHandle;

use super::{CliError, CliResult, Context};
use crate::config::Settings;
use crate::control::server::{self, Access, ControlSocket};
use crate::control::{self, Feed, Process, Viewers};
use crate::engine::EngineHandle;
use crate::telemetry::LogRing;

pub async fn run(context: &Context, grace: Duration) -> CliResult {
    let settings = context.load_config()?.settings;
    let telemetry = context.telemetry_with_ring(Some(tracing::Level::INFO), settings.log_buffer)?;
    // Before the engine starts working: a SIGTERM that arrives while it starts (the
    // inbox replayed, the first runs going) is then held and stops it gracefully,
    // instead of killing the process with the default action.
    let mut terminate = signal(SignalKind::terminate()).map_err(CliError::runtime)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::runtime)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(CliError::runtime)?;
    let engine = context.start_engine(true).await?;
    let (socket, _metrics) =
        match serve(context, &settings, &engine.handle, telemetry.ring.clone()).await {
            Ok(served) => served,
            Err(error) => {
                engine.stop(Duration::ZERO).await;
                return Err(error);
            }
        };
    let snapshot = engine.handle.snapshot().await.map_err(CliError::runtime)?;
    tracing::info!(
        integrations = snapshot.integrations.len(),
        socket = %socket.path().display(),
        "patchbay running as a service; consoles attach with `patchbay`; SIGTERM stops, SIGHUP reloads"
    );
    // Without $NOTIFY_SOCKET (not under systemd) this does nothing.
    let _ = sd_notify::notify(&[NotifyState::Ready]);
    loop {
        tokio::select! {
            _ = terminate.recv() => break,
            _ = interrupt.recv() => break,
            _ = hangup.recv() => match engine.handle.reload().await {
                // The engine logs what changed; this says why it reloaded.
                Ok(_) => tracing::info!("config reloaded on SIGHUP"),
                Err(error) => tracing::error!(%error, "config reload refused; the running config is kept"),
            },
        }
    }
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
    tracing::info!(grace = %humantime::format_duration(grace), "stopping");
    engine.stop(grace).await;
    // Attached consoles have seen the engine stop; now the socket goes.
    drop(socket);
    tracing::info!("stopped; the store is flushed");
    Ok(ExitCode::SUCCESS)
}

/// The control socket, and Prometheus when `settings.metrics_listen` asks for it.
async fn serve(
    context: &Context,
    settings: &Settings,
    engine: &EngineHandle,
    logs: LogRing,
) -> Result<(ControlSocket, Option<JoinHandle<()>>), CliError> {
    let feed = Feed::start(engine.clone(), logs.clone());
    let access = Access {
        group: settings.console_group.clone(),
        viewers: Viewers::new(&settings.viewers),
    };
    let socket_path = control::socket_path(&context.data_dir());
    let socket = server::listen(
        &socket_path,
        engine.clone(),
        Process::this(logs),
        feed,
        access,
    )
    .await
    .map_err(CliError::runtime)?;
    let Some(addr) = settings.metrics_listen else {
        return Ok((socket, None));
    };
    let (bound, task) = control::metrics::serve(addr, engine.clone())
        .await
        .map_err(|error| {
            CliError::runtime(format!(
                "settings.metrics_listen: cannot listen on {addr}: {error}"
            ))
        })?;
    tracing::info!(%bound, "serving Prometheus /metrics and /healthz");
    Ok((socket, Some(task)))
}

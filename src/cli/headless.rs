//! `patchbay headless`: the engine as a service. It owns the store, answers consoles
//! and CLI commands on its control socket, serves Prometheus metrics when asked to,
//! and tells systemd when it is ready (`Type=notify`). SIGTERM or SIGINT stop it
//! gracefully; SIGHUP reloads connectors.toml (a broken file is refused and the old
//! one kept).

use std::process::ExitCode;
use std::time::Duration;

use sd_notify::NotifyState;
use tokio::signal::unix::{SignalKind, signal};

use super::{CliError, CliResult, Context};
use crate::control::server::{self, Access};
use crate::control::{self, Feed, Process, Viewers};

pub async fn run(context: &Context, grace: Duration) -> CliResult {
    let settings = context.load_config()?.settings;
    let telemetry = context.telemetry_with_ring(Some(tracing::Level::INFO), settings.log_buffer)?;
    let (engine, task) = context.start_engine(true).await?;
    let logs = telemetry.ring.clone();
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
        feed.clone(),
        access,
    )
    .await;
    let socket = match socket {
        Ok(socket) => socket,
        Err(error) => {
            engine.shutdown(Duration::ZERO).await;
            let _ = task.await;
            return Err(CliError::runtime(error));
        }
    };
    let _metrics = match settings.metrics_listen {
        Some(addr) => match control::metrics::serve(addr, engine.clone()).await {
            Ok((bound, task)) => {
                tracing::info!(%bound, "serving Prometheus /metrics and /healthz");
                Some(task)
            }
            Err(error) => {
                engine.shutdown(Duration::ZERO).await;
                let _ = task.await;
                return Err(CliError::runtime(format!(
                    "settings.metrics_listen: cannot listen on {addr}: {error}"
                )));
            }
        },
        None => None,
    };
    let mut terminate = signal(SignalKind::terminate()).map_err(CliError::runtime)?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(CliError::runtime)?;
    let mut hangup = signal(SignalKind::hangup()).map_err(CliError::runtime)?;
    let snapshot = engine.snapshot().await.map_err(CliError::runtime)?;
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
            _ = hangup.recv() => match engine.reload().await {
                // The engine logs what changed; this says why it reloaded.
                Ok(_) => tracing::info!("config reloaded on SIGHUP"),
                Err(error) => tracing::error!(%error, "config reload refused; the running config is kept"),
            },
        }
    }
    let _ = sd_notify::notify(&[NotifyState::Stopping]);
    tracing::info!(grace = %humantime::format_duration(grace), "stopping");
    engine.shutdown(grace).await;
    let _ = task.await;
    // Attached consoles have seen the engine stop; now the socket goes.
    drop(socket);
    tracing::info!("stopped; the store is flushed");
    Ok(ExitCode::SUCCESS)
}

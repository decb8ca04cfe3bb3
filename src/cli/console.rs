//! `patchbay` with no command: the console. It attaches to the service running on the
//! same data dir (or `--attach SOCKET`); quitting it then leaves the service running.
//! With no service it runs an engine of its own, which stops gracefully when the
//! console closes (quit, SIGHUP or SIGTERM).

use std::process::ExitCode;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{CliError, CliResult, Context};
use crate::config::{Config, Settings};
use crate::control::Hub;
use crate::engine::EngineHandle;
use crate::tui::keymap::Keymap;
use crate::tui::runner::{self, ConsoleOptions};

/// What running runs get to finish when the console closes.
const GRACE: Duration = Duration::from_secs(10);

pub async fn run(context: &Context) -> CliResult {
    run_with(context, |_| Vec::new()).await
}

/// The console, with `alongside` started once an engine of its own runs (and stopped
/// with it); attached to a service, there is nothing to start alongside.
pub async fn run_with(
    context: &Context,
    alongside: impl FnOnce(&EngineHandle) -> Vec<JoinHandle<()>>,
) -> CliResult {
    if let Some(hub) = context.service().await? {
        // Theme and keys are the operator's own; the service's config may be
        // unreadable to them.
        let (settings, keys) = context
            .load_settings()
            .unwrap_or_else(|_| (Settings::default(), Keymap::default()));
        let _telemetry = context.telemetry(None)?;
        let result = runner::run(hub, options(settings, keys)).await;
        return result
            .map(|()| ExitCode::SUCCESS)
            .map_err(|e| CliError::runtime(format!("the console failed: {e}")));
    }
    let Config { settings, keys, .. } = context.load_config()?;
    let telemetry = context.telemetry_with_ring(None, settings.log_buffer)?;
    // A viewer only looks: its engine neither runs schedules nor delivers anything.
    let engine = context.start_engine(!context.read_only).await?;
    let side_tasks = alongside(&engine.handle);
    let hub = Hub::local(engine.handle.clone(), telemetry.ring.clone());
    let result = runner::run(hub, options(settings, keys)).await;
    side_tasks.iter().for_each(JoinHandle::abort);
    eprintln!(
        "stopping: running runs get up to {}s to finish…",
        GRACE.as_secs()
    );
    engine.stop(GRACE).await;
    result.map_err(|e| CliError::runtime(format!("the console failed: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

fn options(settings: Settings, keys: Keymap) -> ConsoleOptions {
    ConsoleOptions {
        theme: settings.theme,
        keys,
        log_capacity: settings.log_buffer,
    }
}

//! `patchbay` with no command: the engine with the console on top. Quitting (or
//! SIGHUP/SIGTERM) restores the terminal, then stops the engine gracefully.

use std::process::ExitCode;
use std::time::Duration;

use tokio::task::JoinHandle;

use super::{CliError, CliResult, Context};
use crate::engine::EngineHandle;
use crate::tui::runner::{self, ConsoleOptions};

/// What running runs get to finish when the console closes.
const GRACE: Duration = Duration::from_secs(10);

pub async fn run(context: &Context) -> CliResult {
    run_with(context, |_| Vec::new()).await
}

/// The console, with `alongside` started once the engine runs (and stopped with it).
pub async fn run_with(
    context: &Context,
    alongside: impl FnOnce(&EngineHandle) -> Vec<JoinHandle<()>>,
) -> CliResult {
    let config = context.load_config()?;
    let settings = config.settings;
    let telemetry = context.telemetry_with_ring(None, settings.log_buffer)?;
    // A viewer only looks: its engine neither runs schedules nor delivers anything.
    let (engine, task) = context.start_engine(!context.read_only).await?;
    let side_tasks = alongside(&engine);
    let options = ConsoleOptions {
        theme: settings.theme,
        keys: config.keys,
        read_only: context.read_only,
        log_capacity: settings.log_buffer,
    };
    let result = runner::run(engine.clone(), telemetry.ring.clone(), options).await;
    side_tasks.iter().for_each(JoinHandle::abort);
    eprintln!(
        "stopping: running runs get up to {}s to finish…",
        GRACE.as_secs()
    );
    engine.shutdown(GRACE).await;
    let _ = task.await;
    result.map_err(|e| CliError::runtime(format!("the console failed: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

//! `patchbay` with no command: the engine with the console on top. Quitting (or
//! SIGHUP/SIGTERM) restores the terminal, then stops the engine gracefully.

use std::process::ExitCode;
use std::time::Duration;

use super::{CliError, CliResult, Context};
use crate::tui::runner::{self, ConsoleOptions};

/// What running runs get to finish when the console closes.
const GRACE: Duration = Duration::from_secs(10);

pub async fn run(context: &Context) -> CliResult {
    let settings = context.load_config()?.settings;
    let telemetry = context.telemetry_with_ring(None, settings.log_buffer)?;
    let (engine, task) = context.start_engine(true).await?;
    let options = ConsoleOptions {
        theme: settings.theme,
        read_only: context.read_only,
        log_capacity: settings.log_buffer,
    };
    let result = runner::run(engine.clone(), telemetry.ring.clone(), options).await;
    eprintln!(
        "stopping: running runs get up to {}s to finish…",
        GRACE.as_secs()
    );
    engine.shutdown(GRACE).await;
    let _ = task.await;
    result.map_err(|e| CliError::runtime(format!("the console failed: {e}")))?;
    Ok(ExitCode::SUCCESS)
}

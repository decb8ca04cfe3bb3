//! `patchbay status` and `patchbay backup`: questions for the running service.

use std::path::Path;
use std::process::ExitCode;

use super::{CliError, CliResult, Context};
use crate::control::protocol as q;

/// Exit 2 when no service answers, so `status` works from cron and Nagios-style checks.
pub async fn status(context: &Context, json: bool) -> CliResult {
    let Some(hub) = context.service().await? else {
        return Err(CliError::usage(format!(
            "no patchbay service answers on {}; start one with `patchbay headless`",
            context.socket_path().display()
        )));
    };
    let summary = hub.ask(q::Status {}).await.map_err(CliError::runtime)?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&summary).map_err(CliError::runtime)?
        );
    } else {
        print!("{}", summary.render(chrono::Utc::now()));
    }
    Ok(ExitCode::from(summary.exit_code()))
}

/// Through the service when one runs (an online backup), else from the store directly.
pub async fn backup(context: &Context, file: &Path) -> CliResult {
    // The service may run in another directory: name the file absolutely.
    let file = std::path::absolute(file).map_err(CliError::usage)?;
    let bytes = match context.service().await? {
        Some(hub) => hub
            .ask(q::Backup { path: file.clone() })
            .await
            .map_err(super::run::command_error)?,
        None => {
            context.ensure_writable("backup")?;
            context
                .open_store()?
                .backup_to(&file)
                .map_err(CliError::runtime)?
        }
    };
    eprintln!(
        "store copied to {} ({:.1} MB)",
        file.display(),
        bytes as f64 / 1_000_000.0
    );
    Ok(ExitCode::SUCCESS)
}

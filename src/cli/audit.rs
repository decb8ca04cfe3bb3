//! `patchbay audit`: who did what, to what, when and from where, newest first.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;

use super::{CliError, CliResult, Context, table};
use crate::control::protocol as q;
use crate::domain::AuditEntry;

/// From the running service when there is one, else from the store.
pub async fn run(
    context: &Context,
    json: bool,
    limit: usize,
    since: Option<Duration>,
) -> CliResult {
    let entries = match context.service().await? {
        Some(hub) => hub
            .ask(q::Audit { limit })
            .await
            .map_err(CliError::runtime)?,
        None => context
            .open_store()?
            .audit(limit)
            .map_err(CliError::runtime)?,
    };
    let since = since
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .and_then(|d| Utc::now().checked_sub_signed(d));
    let entries: Vec<&AuditEntry> = entries
        .iter()
        .filter(|e| since.is_none_or(|since| e.at >= since))
        .collect();
    if json {
        for entry in &entries {
            println!(
                "{}",
                serde_json::to_string(entry).map_err(CliError::runtime)?
            );
        }
    } else if entries.is_empty() {
        eprintln!("no audit entries");
    } else {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                vec![
                    e.at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    e.who.clone(),
                    e.action.clone(),
                    e.target.clone().unwrap_or_else(|| "-".into()),
                    e.detail.clone().unwrap_or_default(),
                ]
            })
            .collect();
        print!(
            "{}",
            table::render(&["WHEN (UTC)", "WHO", "WHAT", "TARGET", "DETAIL"], &rows)
        );
    }
    Ok(ExitCode::SUCCESS)
}

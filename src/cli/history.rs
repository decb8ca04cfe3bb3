//! `patchbay history`: recorded runs, newest first.

use std::process::ExitCode;

use super::{CliError, CliResult, Context, table};
use crate::control::protocol as q;
use crate::domain::run::RunRecord;

/// From the running service when there is one, else from the store.
pub async fn run(context: &Context, name: Option<&str>, json: bool, limit: usize) -> CliResult {
    let runs = match context.service().await? {
        Some(hub) => {
            let request = q::Runs {
                integration: name.map(str::to_owned),
                before: None,
                limit,
            };
            hub.ask(request).await.map_err(CliError::runtime)?
        }
        None => context
            .open_store()?
            .runs(name, limit)
            .map_err(CliError::runtime)?,
    };
    if json {
        for run in &runs {
            println!("{}", serde_json::to_string(run).map_err(CliError::runtime)?);
        }
    } else if runs.is_empty() {
        eprintln!(
            "no runs recorded{}",
            name.map(|n| format!(" for `{n}`")).unwrap_or_default()
        );
    } else {
        let rows: Vec<Vec<String>> = runs.iter().map(row).collect();
        print!(
            "{}",
            table::render(
                &[
                    "STARTED",
                    "INTEGRATION",
                    "TRIGGER",
                    "STATUS",
                    "DURATION",
                    "NEW/CHANGED/DELIVERED",
                    "ERROR"
                ],
                &rows
            )
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn row(run: &RunRecord) -> Vec<String> {
    vec![
        run.started_at.format("%Y-%m-%d %H:%M:%S").to_string(),
        run.integration.clone(),
        run.trigger.as_str().to_owned(),
        run.status_text(),
        run.duration_ms
            .map_or("-".to_owned(), |ms| format!("{:.1}s", ms as f64 / 1000.0)),
        format!(
            "{}/{}/{}",
            run.records_new, run.records_changed, run.records_delivered
        ),
        run.error_class.map_or("-".to_owned(), |c| c.to_string()),
    ]
}

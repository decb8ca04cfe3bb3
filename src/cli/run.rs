//! `patchbay run NAME` and `patchbay test NAME`: one integration, in the foreground.

use std::process::ExitCode;
use std::time::Duration;

use super::{CliError, CliResult, Context};
use crate::domain::run::{RunRecord, RunStatus};
use crate::engine::{CommandError, EngineEvent};

pub async fn run(context: &Context, name: &str, json: bool) -> CliResult {
    context.ensure_writable("run")?;
    let (engine, task) = context.start_engine(false).await?;
    let mut events = engine.subscribe();
    let run_id = engine.run_now(name).await.map_err(command_error)?;
    let record = loop {
        match events.recv().await {
            Ok(EngineEvent::RunFinished(run)) if run.id == run_id => break run,
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => {
                return Err(CliError::runtime(
                    "the engine stopped before the run finished",
                ));
            }
        }
    };
    engine.shutdown(Duration::ZERO).await;
    let _ = task.await;
    if json {
        println!(
            "{}",
            serde_json::to_string(&*record).map_err(CliError::runtime)?
        );
    } else {
        print_record(&record);
    }
    Ok(if record.status == RunStatus::Success {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub async fn test(context: &Context, name: &str, json: bool) -> CliResult {
    let (engine, task) = context.start_engine(false).await?;
    let report = engine.test_connection(name).await.map_err(command_error);
    engine.shutdown(Duration::ZERO).await;
    let _ = task.await;
    let report = report?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).map_err(CliError::runtime)?
        );
    } else {
        let verdict = if report.ok { "ok" } else { "FAILED" };
        println!(
            "{name}: {verdict} in {} ms: {}",
            report.latency_ms, report.message
        );
        if let Some(hint) = &report.hint {
            println!("  hint: {hint}");
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn command_error(error: CommandError) -> CliError {
    match error {
        CommandError::UnknownIntegration { .. }
        | CommandError::NotRunnable(_)
        | CommandError::ReadOnly => CliError::usage(error),
        other => CliError::runtime(other),
    }
}

fn print_record(run: &RunRecord) {
    println!("run {} of {}: {}", run.id, run.integration, run.status);
    println!("  started   {}", run.started_summary());
    if let Some(ms) = run.duration_ms {
        println!("  duration  {ms} ms");
    }
    println!("  requests  {}", run.requests_summary());
    println!("  records   {}", run.records_summary());
    for delivery in &run.deliveries {
        println!("  output    {}", delivery.summary());
    }
    if let (Some(class), Some(message)) = (run.error_class, &run.error_message) {
        println!("  error     {class}: {message}");
    }
    if let Some(hint) = &run.hint {
        println!("  hint      {hint}");
    }
}

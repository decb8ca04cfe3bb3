//! `patchbay run NAME` and `patchbay test NAME`: one integration, in the foreground.

use std::process::ExitCode;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;

use super::{CliError, CliResult, Context};
use crate::control::Event;
use crate::control::protocol as q;
use crate::domain::run::{RunRecord, RunStatus};
use crate::engine::CommandError;
use crate::pipeline::preview::PreviewRecord;

/// Runs `name` now, through the service when one runs, and waits for its record.
pub async fn run(context: &Context, name: &str, json: bool) -> CliResult {
    context.ensure_writable("run")?;
    let (hub, local) = context.hub(false).await?;
    let mut events = hub.subscribe();
    let started = hub.ask(q::RunNow {
        name: name.to_owned(),
    });
    let run_id = started.await.map_err(command_error)?;
    let record = loop {
        match events.recv().await {
            Ok(published) => match &published.event.event {
                Event::RunsFinished { runs, .. } => {
                    if let Some(run) = runs.iter().find(|r| r.id == run_id) {
                        break run.clone();
                    }
                }
                Event::Stopped => {
                    return Err(CliError::runtime(
                        "the engine stopped before the run finished",
                    ));
                }
                _ => {}
            },
            // Missed events may hold ours: the store has it once it finished.
            Err(RecvError::Lagged(_)) => {
                if let Some(run) = finished(&hub, name, run_id).await {
                    break run;
                }
            }
            Err(RecvError::Closed) => {
                return Err(CliError::runtime(
                    "the engine stopped before the run finished",
                ));
            }
        }
    };
    if let Some(local) = local {
        local.stop(Duration::ZERO).await;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&record).map_err(CliError::runtime)?
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

/// The run's record, if it is stored as finished.
async fn finished(hub: &crate::control::Hub, name: &str, run: ulid::Ulid) -> Option<RunRecord> {
    let request = q::Runs {
        integration: Some(name.to_owned()),
        before: None,
        limit: 20,
    };
    let runs = hub.ask(request).await.ok()?;
    runs.into_iter()
        .find(|r| r.id == run && r.status != RunStatus::Running)
}

pub async fn test(context: &Context, name: &str, json: bool, show: Option<usize>) -> CliResult {
    let (hub, local) = context.hub(false).await?;
    let asked = async {
        let report = hub
            .ask(q::Test {
                name: name.to_owned(),
            })
            .await?;
        let sample = match show {
            Some(limit) if report.ok => Some(
                hub.ask(q::Preview {
                    name: name.to_owned(),
                    limit,
                })
                .await?,
            ),
            _ => None,
        };
        Ok::<_, CommandError>((report, sample))
    }
    .await
    .map_err(command_error);
    if let Some(local) = local {
        local.stop(Duration::ZERO).await;
    }
    let (report, sample) = asked?;
    if json {
        let output = serde_json::json!({ "test": report, "records": sample });
        println!(
            "{}",
            serde_json::to_string(if show.is_some() {
                &output
            } else {
                &output["test"]
            })
            .map_err(CliError::runtime)?
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
        if let Some(sample) = &sample {
            print_sample(sample);
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The sampled records, one line each: `+` would be delivered, `-` would not, and why.
fn print_sample(sample: &[PreviewRecord]) {
    let delivered = sample.iter().filter(|r| r.delivered).count();
    println!(
        "\n{} records after the pipeline; {delivered} would be delivered (+), {} not (-):",
        sample.len(),
        sample.len() - delivered
    );
    for record in sample {
        let mark = if record.delivered { '+' } else { '-' };
        let text = serde_json::to_string(&record.record).unwrap_or_default();
        let text: String = text.chars().take(RECORD_WIDTH).collect();
        println!("  {mark} {:<10} {text}", record.verdict.describe());
    }
}

/// Characters of a record shown per line.
const RECORD_WIDTH: usize = 160;

/// Exit 2 for what the operator asked wrongly (an unknown name, a viewer acting),
/// exit 1 for what failed.
pub fn command_error(error: CommandError) -> CliError {
    match error {
        CommandError::UnknownIntegration { .. }
        | CommandError::NotRunnable(_)
        | CommandError::ReadOnly { .. } => CliError::usage(error),
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

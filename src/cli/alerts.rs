//! `patchbay alerts`: alert history and silences, from the store. `patchbay alert
//! silence|unsilence`: hold back or release the notices of a rule or an integration.
//!
//! Both go through the running service when there is one, else to the store directly.

use std::process::ExitCode;
use std::time::Duration;

use chrono::Utc;
use clap::Subcommand;

use super::{CliError, CliResult, Context, table};
use crate::control::Hub;
use crate::control::protocol as q;
use crate::domain::{Alert, Silence, SilenceTarget, ended_silences};
use crate::domain::{AuditEntry, Operator};
use crate::store::WriteOp;

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Hold back the notices of a rule, an integration, or RULE/INTEGRATION
    Silence {
        name: String,
        /// How long, e.g. 2h
        #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
        duration: Duration,
        /// Why: shown on the alert and in the audit log
        #[arg(long)]
        reason: String,
    },
    /// End the silences on a rule, an integration, or RULE/INTEGRATION (and narrower ones) now
    Unsilence { name: String },
}

pub async fn list(context: &Context, json: bool, limit: usize) -> CliResult {
    let (alerts, silences) = match context.service().await? {
        Some(hub) => {
            let alerts = hub.ask(q::AlertHistory { limit }).await;
            let silences = hub.ask(q::Alerts {}).await.map(|view| view.silences);
            (
                alerts.map_err(CliError::runtime)?,
                silences.map_err(CliError::runtime)?,
            )
        }
        None => {
            let store = context.open_store()?;
            let now = Utc::now();
            let silences: Vec<Silence> = store
                .silences()
                .map_err(CliError::runtime)?
                .into_iter()
                .filter(|s| s.is_active(now))
                .collect();
            (store.alerts(limit).map_err(CliError::runtime)?, silences)
        }
    };
    if json {
        let document = serde_json::json!({ "alerts": alerts, "silences": silences });
        println!(
            "{}",
            serde_json::to_string_pretty(&document).map_err(CliError::runtime)?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if alerts.is_empty() {
        eprintln!("no alerts recorded");
    } else {
        let rows: Vec<Vec<String>> = alerts.iter().map(row).collect();
        print!(
            "{}",
            table::render(
                &["SINCE", "STATUS", "SEVERITY", "ALERT", "VALUE", "NOTIFIED"],
                &rows
            )
        );
    }
    for silence in &silences {
        println!(
            "silenced: {} until {} by {}: {}",
            silence.target,
            silence.until.format("%Y-%m-%d %H:%M UTC"),
            silence.who,
            silence.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn row(alert: &Alert) -> Vec<String> {
    let notified = match (alert.attempts.last(), alert.undelivered()) {
        (None, _) if alert.suppressed.is_some() => "held".to_owned(),
        (None, _) => "-".to_owned(),
        (Some(last), true) => format!("FAILED ({})", last.error.as_deref().unwrap_or("?")),
        (Some(last), false) => format!("{} ok", last.event.as_str()),
    };
    vec![
        alert.since.format("%Y-%m-%d %H:%M:%S").to_string(),
        alert.status.as_str().to_owned(),
        alert.severity.as_str().to_owned(),
        alert.key(),
        alert.value.clone(),
        notified,
    ]
}

pub async fn run(context: &Context, command: AlertCommand) -> CliResult {
    context.ensure_writable("changing silences")?;
    if let Some(hub) = context.service().await? {
        return through_service(&hub, command).await;
    }
    let config = context.load_config()?;
    let resolve = |name: &str| {
        SilenceTarget::resolve(
            name,
            config.alerts.iter().map(|r| r.name.as_str()),
            config.integrations.iter().map(|i| i.name.as_str()),
        )
        .map_err(CliError::usage)
    };
    let store = context.open_store()?;
    let now = Utc::now();
    match command {
        AlertCommand::Silence {
            name,
            duration,
            reason,
        } => {
            let silence = Silence::new(
                resolve(&name)?,
                duration,
                &reason,
                &Operator::this_process(),
                now,
            );
            let ops = [
                WriteOp::Audit(silence.audit_entry()),
                WriteOp::Silence(silence.clone()),
            ];
            store.apply(&ops).map_err(CliError::runtime)?;
            print_silenced(&silence);
        }
        AlertCommand::Unsilence { name } => {
            let target = resolve(&name)?;
            let silences = store.silences().map_err(CliError::runtime)?;
            let mut ops: Vec<WriteOp> = ended_silences(&silences, &target, now)
                .into_iter()
                .map(WriteOp::Silence)
                .collect();
            let ended = ops.len();
            if ended == 0 {
                eprintln!("no silence on {target} is in force");
                return Ok(ExitCode::SUCCESS);
            }
            ops.push(WriteOp::Audit(AuditEntry::now(
                "alert.unsilence",
                Some(&target.to_string()),
            )));
            store.apply(&ops).map_err(CliError::runtime)?;
            println!("ended {ended} silence(s) on {target}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `alert silence|unsilence` on the running service: it resolves the target against its
/// own config and audits the client's user.
async fn through_service(hub: &Hub, command: AlertCommand) -> CliResult {
    match command {
        AlertCommand::Silence {
            name,
            duration,
            reason,
        } => {
            let request = q::Silence {
                target: name,
                duration,
                reason,
            };
            let silence = hub.ask(request).await.map_err(super::run::command_error)?;
            print_silenced(&silence);
        }
        AlertCommand::Unsilence { name } => {
            let request = q::Unsilence {
                target: name.clone(),
            };
            match hub.ask(request).await.map_err(super::run::command_error)? {
                0 => eprintln!("no silence on {name} is in force"),
                ended => println!("ended {ended} silence(s) on {name}"),
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_silenced(silence: &Silence) {
    println!(
        "silenced {} until {}",
        silence.target,
        silence.until.format("%Y-%m-%d %H:%M UTC")
    );
}

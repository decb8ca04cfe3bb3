//! `patchbay cursor show|set|reset NAME [VALUE]`: the incremental cursor of a source,
//! for backfills (set it back) and replays (reset it). Changes go through the engine
//! (the service's when one runs), are audited, refused to viewers, and asked about
//! first: on a terminal by a question, elsewhere by `--yes`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Subcommand;

use super::run::command_error;
use super::{CliError, CliResult, Context};
use crate::control::protocol as q;

#[derive(Debug, Subcommand)]
pub enum CursorCommand {
    /// Print a source's stored cursor
    Show { name: String },
    /// Store VALUE as the cursor: the next run reads what comes after it
    Set {
        name: String,
        value: String,
        /// Do not ask; needed where there is no terminal to ask on
        #[arg(long)]
        yes: bool,
    },
    /// Forget the cursor: the next run starts at `start`, or from the beginning
    Reset {
        name: String,
        #[arg(long)]
        yes: bool,
    },
}

pub async fn run(context: &Context, command: CursorCommand) -> CliResult {
    if !matches!(command, CursorCommand::Show { .. }) {
        context.ensure_writable("changing a cursor")?;
    }
    let (hub, local) = context.hub(false).await?;
    let result = async {
        let name = match &command {
            CursorCommand::Show { name }
            | CursorCommand::Set { name, .. }
            | CursorCommand::Reset { name, .. } => name.clone(),
        };
        let snapshot = hub.ask(q::Snapshot {}).await.map_err(command_error)?;
        let current = snapshot
            .integrations
            .iter()
            .find(|i| i.name == name)
            .ok_or_else(|| CliError::usage(format!("no integration named `{name}`")))?
            .cursor
            .clone();
        let shown = current.as_deref().unwrap_or("(none)");
        let (value, yes) = match command {
            CursorCommand::Show { .. } => {
                println!("{shown}");
                return Ok(ExitCode::SUCCESS);
            }
            CursorCommand::Set { value, yes, .. } => (Some(value), yes),
            CursorCommand::Reset { yes, .. } => (None, yes),
        };
        let change = match &value {
            Some(value) => format!("set the cursor of {name} from {shown} to {value}"),
            None => format!(
                "reset the cursor of {name} (now {shown}): its next run reads from the start"
            ),
        };
        if !yes && !confirmed(&change)? {
            return Err(CliError::usage("nothing changed"));
        }
        let done = match &value {
            Some(value) => format!("{name}: cursor set to {value}"),
            None => format!("{name}: cursor reset"),
        };
        hub.ask(q::SetCursor { name, value })
            .await
            .map_err(command_error)?;
        println!("{done}");
        Ok(ExitCode::SUCCESS)
    }
    .await;
    if let Some(engine) = local {
        engine.stop(std::time::Duration::from_secs(5)).await;
    }
    result
}

/// Asks on the terminal; without one the operator must say `--yes`.
fn confirmed(change: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::usage(format!(
            "this would {change}; add --yes to confirm (no terminal to ask on)"
        )));
    }
    eprint!("{change}? [y/N] ");
    std::io::stderr().flush().map_err(CliError::runtime)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(CliError::runtime)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

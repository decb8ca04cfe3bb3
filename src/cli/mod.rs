//! The command line: one reporting layer at the edge that turns errors into a message
//! on stderr and an exit code.

mod alerts;
mod audit;
mod auth;
mod blueprint;
mod check;
mod console;
mod context;
mod cursor;
mod demo;
mod headless;
mod history;
mod run;
mod secret;
mod service;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use crate::redact;
use crate::telemetry::LogFormat;
pub use context::Context;

const EXIT_CODES: &str = "Exit codes:\n  0  success\n  1  runtime failure (a run failed, the store or vault could not be used)\n  2  usage or config error";

#[derive(Debug, Parser)]
#[command(
    name = "patchbay",
    version,
    about = "A terminal operations console for integrations",
    after_help = EXIT_CODES
)]
pub struct Cli {
    /// Config file [default: ./connectors.toml, then $XDG_CONFIG_HOME/patchbay/connectors.toml]
    #[arg(long, global = true, env = "PATCHBAY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory holding patchbay.redb [default: settings.data_dir, then $XDG_DATA_HOME/patchbay]
    #[arg(long, global = true, env = "PATCHBAY_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Vault identity file [default: $XDG_CONFIG_HOME/patchbay/identity.txt]
    #[arg(long, global = true, env = "PATCHBAY_IDENTITY", value_name = "FILE")]
    pub identity: Option<PathBuf>,
    /// Refuse every action that changes something (for viewers)
    #[arg(long, global = true)]
    pub read_only: bool,
    /// The control socket of a running service [default: DATA_DIR/patchbay.sock, when a service answers there]
    #[arg(long, global = true, value_name = "SOCKET")]
    pub attach: Option<PathBuf>,
    /// Format of the log files
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate connectors.toml and show each integration's schedule, outputs and secrets
    Check {
        /// Print one JSON document instead of a table
        #[arg(long)]
        json: bool,
    },
    /// The console on the shipped config against the built-in sandbox: no accounts, no internet
    Demo {
        /// Run without the console (for scripts and tests)
        #[arg(long)]
        headless: bool,
        /// Stop after this long, e.g. 60s (headless); the console runs until you quit
        #[arg(long = "for", value_name = "DURATION", value_parser = humantime::parse_duration)]
        duration: Option<std::time::Duration>,
    },
    /// Run the engine as a service that consoles attach to, until SIGTERM or SIGINT
    /// (SIGHUP reloads the config)
    Headless {
        /// How long running runs may take to finish at shutdown before they are interrupted
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        grace: std::time::Duration,
    },
    /// Run one integration once, now, and print its run record; exit 0 on success
    Run {
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Test one integration's connection without running it
    Test {
        name: String,
        #[arg(long)]
        json: bool,
        /// Also show the first N records after the pipeline, marking what would be
        /// delivered and why the others would not (a filter, unchanged); nothing is
        /// delivered
        #[arg(long, value_name = "N")]
        show: Option<usize>,
    },
    /// Serve the built-in sandbox API alone, for pointing a config at it
    Sandbox {
        /// Port on 127.0.0.1; 0 picks a free one
        #[arg(long, default_value_t = 8080)]
        port: u16,
    },
    /// Authorize an OAuth2 integration once and store its tokens in the vault:
    /// oauth2_device shows a URL and a code; oauth2_authorization_code shows a URL to open
    /// in your own browser and takes back the address it was sent to
    Auth {
        name: String,
        /// Catch the browser's redirect on this host's loopback instead of pasting it
        /// (when the browser runs here or the port is forwarded)
        #[arg(long)]
        listen: bool,
    },
    /// Show recorded runs, newest first
    History {
        /// Only this integration's runs
        name: Option<String>,
        /// One JSON object per line
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show alerts, firing and resolved, newest first, and the silences in force
    Alerts {
        /// One JSON document
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Who did what, to what, when and from where (OS user, pid, SSH client), newest first
    Audit {
        /// One JSON object per line
        #[arg(long)]
        json: bool,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Only entries younger than this, e.g. 24h
        #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
        since: Option<std::time::Duration>,
    },
    /// Silence alerts, or end a silence
    #[command(subcommand)]
    Alert(alerts::AlertCommand),
    /// A one-screen summary of the running service; exit 0 all up, 1 something down or
    /// an alert firing, 2 no service answering
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Write a consistent copy of the store to FILE (through the service when one runs)
    Backup { file: PathBuf },
    /// Manage the age-encrypted secrets vault
    #[command(subcommand)]
    Secret(secret::SecretCommand),
    /// Show, set or reset a source's incremental cursor (backfills and replays)
    #[command(subcommand)]
    Cursor(cursor::CursorCommand),
    /// List the blueprints (connector types) an integration can `use`, or show one
    #[command(subcommand)]
    Blueprint(blueprint::BlueprintCommand),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// A failure, with the exit code it maps to.
#[derive(Debug)]
pub struct CliError {
    pub code: u8,
    pub message: String,
}

impl CliError {
    /// Exit 1: something failed while running.
    pub fn runtime(error: impl std::fmt::Display) -> Self {
        Self {
            code: 1,
            message: error.to_string(),
        }
    }

    /// Exit 2: the command line or the config is wrong.
    pub fn usage(error: impl std::fmt::Display) -> Self {
        Self {
            code: 2,
            message: error.to_string(),
        }
    }
}

pub type CliResult = Result<ExitCode, CliError>;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {}", redact::global().redact(&error.message));
            ExitCode::from(error.code)
        }
    }
}

async fn serve_sandbox(port: u16) -> CliResult {
    let sandbox = crate::sandbox::Sandbox::start(port)
        .await
        .map_err(|e| CliError::runtime(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
    println!("{}", crate::sandbox::guide::text(&sandbox.url()));
    println!("Listening; what the sinks receive is logged below. Ctrl-C stops it.");
    tokio::signal::ctrl_c().await.map_err(CliError::runtime)?;
    sandbox.stop().await;
    Ok(ExitCode::SUCCESS)
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Runtime::new().map_err(CliError::runtime)
}

fn run(cli: Cli) -> CliResult {
    let context = Context::new(&cli);
    let Some(command) = cli.command else {
        return runtime()?.block_on(console::run(&context));
    };
    match command {
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "patchbay",
                &mut std::io::stdout(),
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { json } => {
            let _telemetry = context.telemetry(None)?;
            check::run(&context, json)
        }
        Command::Demo { headless, duration } => {
            demo::run(&context, headless, duration, cli.data_dir.is_some())
        }
        Command::Headless { grace } => runtime()?.block_on(headless::run(&context, grace)),
        Command::Run { name, json } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(run::run(&context, &name, json))
        }
        Command::Test { name, json, show } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(run::test(&context, &name, json, show))
        }
        Command::Sandbox { port } => {
            let _telemetry = context.telemetry(Some(tracing::Level::INFO))?;
            runtime()?.block_on(serve_sandbox(port))
        }
        Command::Auth { name, listen } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(auth::run(&context, &name, listen))
        }
        Command::History { name, json, limit } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(history::run(&context, name.as_deref(), json, limit))
        }
        Command::Alerts { json, limit } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(alerts::list(&context, json, limit))
        }
        Command::Audit { json, limit, since } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(audit::run(&context, json, limit, since))
        }
        Command::Alert(command) => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(alerts::run(&context, command))
        }
        Command::Blueprint(command) => blueprint::run(&context, command),
        Command::Cursor(command) => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(cursor::run(&context, command))
        }
        Command::Secret(command) => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(secret::run(&context, command))
        }
        Command::Status { json } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(service::status(&context, json))
        }
        Command::Backup { file } => {
            let _telemetry = context.telemetry(None)?;
            runtime()?.block_on(service::backup(&context, &file))
        }
    }
}

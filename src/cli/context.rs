//! What every command needs to find: the config, the data dir, the store, the vault.

use std::path::PathBuf;
use std::sync::Arc;

use super::{Cli, CliError};
use tokio::task::JoinHandle;

use crate::config::{Config, Settings};
use crate::control::{self, AttachError, Hub};
use crate::engine::{self, EngineHandle, EngineOptions};
use crate::paths;
use crate::runtime::clock::SystemClock;
use crate::secrets::Vault;
use crate::secrets::identity::EnvOrPrompt;
use crate::store::Store;
use crate::telemetry::{self, LogFormat, Telemetry, TelemetryOptions};
use crate::tui::keymap::Keymap;

pub struct Context {
    config_flag: Option<PathBuf>,
    data_dir_flag: Option<PathBuf>,
    identity_flag: Option<PathBuf>,
    pub read_only: bool,
    attach: Option<PathBuf>,
    log_format: LogFormat,
}

impl Context {
    pub fn new(cli: &Cli) -> Self {
        Self {
            config_flag: cli.config.clone(),
            data_dir_flag: cli.data_dir.clone(),
            identity_flag: cli.identity.clone(),
            read_only: cli.read_only,
            attach: cli.attach.clone(),
            log_format: cli.log_format,
        }
    }

    /// Logs to rolling files; `stderr` also streams events at that level to stderr.
    /// The same options, pointed at another config, data dir and identity.
    pub fn with_paths(&self, config: PathBuf, data_dir: PathBuf, identity: PathBuf) -> Self {
        Self {
            config_flag: Some(config),
            data_dir_flag: Some(data_dir),
            identity_flag: Some(identity),
            read_only: self.read_only,
            attach: None,
            log_format: self.log_format,
        }
    }

    pub fn telemetry(&self, stderr: Option<tracing::Level>) -> Result<Telemetry, CliError> {
        self.telemetry_with_ring(stderr, 1)
    }

    /// Like `telemetry`, keeping the last `ring_capacity` events in memory.
    pub fn telemetry_with_ring(
        &self,
        stderr: Option<tracing::Level>,
        ring_capacity: usize,
    ) -> Result<Telemetry, CliError> {
        telemetry::init(TelemetryOptions {
            log_dir: paths::log_dir(),
            format: self.log_format,
            keep_files: 14,
            stderr,
            ring_capacity,
        })
        .map_err(CliError::runtime)
    }

    /// Loads the config; an unreadable or missing file is a usage error (exit 2).
    pub fn load_config(&self) -> Result<Config, CliError> {
        let path = self.config_path()?;
        Config::load(&path)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))
    }

    /// Only the config's settings and keys (see `Config::load_settings`).
    pub fn load_settings(&self) -> Result<(Settings, Keymap), CliError> {
        let path = self.config_path()?;
        Config::load_settings(&path)
            .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))
    }

    fn config_path(&self) -> Result<PathBuf, CliError> {
        paths::find_config(self.config_flag.as_deref()).map_err(|tried| {
            let tried: Vec<_> = tried.iter().map(|p| p.display().to_string()).collect();
            CliError::usage(format!(
                "no config file found (tried {}); pass --config FILE",
                tried.join(", ")
            ))
        })
    }

    /// `--data-dir`, else `settings.data_dir` of the config if there is one, else XDG.
    pub fn data_dir(&self) -> PathBuf {
        if let Some(dir) = &self.data_dir_flag {
            return dir.clone();
        }
        paths::find_config(self.config_flag.as_deref())
            .ok()
            .and_then(|path| Config::load_settings(&path).ok())
            .and_then(|(settings, _)| settings.data_dir)
            .map(|dir| paths::expand_home(&dir))
            .unwrap_or_else(paths::default_data_dir)
    }

    pub fn open_store(&self) -> Result<Arc<Store>, CliError> {
        Store::open_in(&self.data_dir())
            .map(Arc::new)
            .map_err(CliError::runtime)
    }

    pub fn identity_path(&self) -> PathBuf {
        self.identity_flag
            .clone()
            .unwrap_or_else(paths::default_identity)
    }

    pub fn vault(&self, store: Arc<Store>) -> Vault {
        Vault::new(store, self.identity_path(), Box::new(EnvOrPrompt))
    }

    /// Loads a valid config (problems are a usage error), opens the store and the
    /// vault, and starts the engine on them.
    pub async fn start_engine(&self, scheduling: bool) -> Result<LocalEngine, CliError> {
        let config = self.load_config()?;
        if !config.is_valid() {
            return Err(CliError::usage(format!(
                "{} has errors:\n\n{}",
                config.source.path.display(),
                config.render_problems()
            )));
        }
        let store = self.open_store()?;
        let vault = Arc::new(self.vault(Arc::clone(&store)));
        vault.unlock().map_err(CliError::runtime)?;
        let options = EngineOptions {
            clock: Arc::new(SystemClock),
            vault: Some(vault),
            read_only: self.read_only,
            scheduling,
        };
        let (handle, task) = engine::start(config, store, options)
            .await
            .map_err(CliError::runtime)?;
        Ok(LocalEngine { handle, task })
    }

    /// Where a service on this data dir answers: `--attach`, else `patchbay.sock` in
    /// the data dir.
    pub fn socket_path(&self) -> PathBuf {
        self.attach
            .clone()
            .unwrap_or_else(|| control::socket_path(&self.data_dir()))
    }

    /// The running service, when one answers on the socket. With `--attach` one must
    /// answer; without, no service means `None` and the caller works on its own.
    pub async fn service(&self) -> Result<Option<Hub>, CliError> {
        let socket = self.socket_path();
        match Hub::attach(&socket, self.read_only).await {
            Ok(hub) => Ok(Some(hub)),
            Err(AttachError::NoService(_)) if self.attach.is_none() => Ok(None),
            Err(error) => Err(CliError::runtime(error)),
        }
    }

    /// The running service, or else an engine of our own on the store (which then
    /// must be stopped with `LocalEngine::stop`).
    pub async fn hub(&self, scheduling: bool) -> Result<(Hub, Option<LocalEngine>), CliError> {
        if let Some(hub) = self.service().await? {
            return Ok((hub, None));
        }
        let engine = self.start_engine(scheduling).await?;
        let hub = Hub::local(engine.handle.clone(), crate::telemetry::LogRing::new(1));
        Ok((hub, Some(engine)))
    }

    /// Refuses a changing action in `--read-only` mode.
    pub fn ensure_writable(&self, action: &str) -> Result<(), CliError> {
        if self.read_only {
            return Err(CliError::usage(format!(
                "{action} is refused in --read-only mode"
            )));
        }
        Ok(())
    }
}

/// An engine running in this process: the service's, or one a command or console
/// started for itself because no service runs.
pub struct LocalEngine {
    pub handle: EngineHandle,
    task: JoinHandle<()>,
}

impl LocalEngine {
    /// Stops it, giving running runs `grace` to finish, and waits until the store is
    /// flushed.
    pub async fn stop(self, grace: std::time::Duration) {
        self.handle.shutdown(grace).await;
        let _ = self.task.await;
    }
}

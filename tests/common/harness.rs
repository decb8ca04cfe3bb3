//! An engine on a temporary store and vault, for tests that drive it directly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use patchbay::config::Config;
use patchbay::domain::run::RunRecord;
use patchbay::engine::{EngineEvent, EngineHandle, EngineOptions};
use patchbay::runtime::clock::SystemClock;
use patchbay::secrets::Vault;
use patchbay::secrets::identity::EnvOrPrompt;
use patchbay::store::Store;
use secrecy::SecretString;
use tokio::sync::broadcast;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub store: Arc<Store>,
    pub vault: Arc<Vault>,
}

impl Harness {
    pub fn new(config: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        Self::with_data_dir(dir, &data, config)
    }

    /// A harness whose store lives in `data` (a small disk, say) instead of `dir`.
    pub fn with_data_dir(dir: tempfile::TempDir, data: &std::path::Path, config: &str) -> Self {
        std::fs::write(dir.path().join("connectors.toml"), config).unwrap();
        let store = Arc::new(Store::open_in(data).unwrap());
        let vault = Arc::new(Vault::new(
            Arc::clone(&store),
            dir.path().join("identity.txt"),
            Box::new(EnvOrPrompt),
        ));
        Self { dir, store, vault }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("connectors.toml")
    }

    pub fn write_config(&self, config: &str) {
        std::fs::write(self.config_path(), config).unwrap();
    }

    pub fn set_secret(&self, name: &str, value: &str) {
        self.vault
            .set(name, &SecretString::from(value), None)
            .unwrap();
    }

    pub fn options(&self, scheduling: bool, read_only: bool) -> EngineOptions {
        EngineOptions {
            clock: Arc::new(SystemClock),
            vault: Some(Arc::clone(&self.vault)),
            read_only,
            scheduling,
        }
    }

    pub async fn start(&self, scheduling: bool) -> EngineHandle {
        let config = Config::load(&self.config_path()).unwrap();
        assert!(config.is_valid(), "{}", config.render_problems());
        patchbay::engine::start(
            config,
            Arc::clone(&self.store),
            self.options(scheduling, false),
        )
        .await
        .unwrap()
        .0
    }

    pub fn runs(&self, name: &str) -> Vec<RunRecord> {
        self.store.runs(Some(name), 1000).unwrap()
    }

    /// The actions of the newest 10 audit entries, newest first.
    pub fn audit_actions(&self) -> Vec<String> {
        self.store
            .audit(10)
            .unwrap()
            .into_iter()
            .map(|e| e.action)
            .collect()
    }
}

/// Waits (up to 20 s) for a finished run matching `want`.
pub async fn finished(
    events: &mut broadcast::Receiver<EngineEvent>,
    want: impl Fn(&RunRecord) -> bool,
) -> Arc<RunRecord> {
    let wait = async {
        loop {
            match events.recv().await {
                Ok(EngineEvent::RunFinished(run)) if want(&run) => return run,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("engine stopped"),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("run finished in time")
}

/// Runs `name` once, now, and returns its finished record.
pub async fn run_once(engine: &EngineHandle, name: &str) -> Arc<RunRecord> {
    let mut events = engine.subscribe();
    let id = engine.run_now(name).await.unwrap();
    finished(&mut events, |r| r.id == id).await
}

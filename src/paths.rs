//! Where patchbay keeps things, following the XDG base directories.

use std::path::{Path, PathBuf};

use directories::ProjectDirs;

pub const CONFIG_FILE: &str = "connectors.toml";
pub const IDENTITY_FILE: &str = "identity.txt";

fn project() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "patchbay")
}

/// `$XDG_DATA_HOME/patchbay`
pub fn default_data_dir() -> PathBuf {
    project().map_or_else(|| PathBuf::from(".patchbay"), |p| p.data_dir().to_owned())
}

/// `$XDG_CONFIG_HOME/patchbay`
pub fn config_dir() -> PathBuf {
    project().map_or_else(|| PathBuf::from(".patchbay"), |p| p.config_dir().to_owned())
}

/// `$XDG_CONFIG_HOME/patchbay/identity.txt`
pub fn default_identity() -> PathBuf {
    config_dir().join(IDENTITY_FILE)
}

/// `$XDG_STATE_HOME/patchbay/logs` (the data dir where there is no state dir).
pub fn log_dir() -> PathBuf {
    project()
        .map(|p| p.state_dir().unwrap_or(p.data_dir()).join("logs"))
        .unwrap_or_else(|| PathBuf::from(".patchbay/logs"))
}

/// The config file to use: the one given, else `./connectors.toml`, else the one in
/// the config dir. `Err` lists the places that were tried.
pub fn find_config(explicit: Option<&Path>) -> Result<PathBuf, Vec<PathBuf>> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_owned())
        } else {
            Err(vec![path.to_owned()])
        };
    }
    let candidates = [PathBuf::from(CONFIG_FILE), config_dir().join(CONFIG_FILE)];
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .ok_or_else(|| candidates.to_vec())
}

/// Expands a leading `~/` to the home directory.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), directories::BaseDirs::new()) {
        (Some(rest), Some(base)) => base.home_dir().join(rest),
        _ => PathBuf::from(path),
    }
}

//! Where patchbay keeps things, following the XDG base directories.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
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

/// Creates `dir` (and its missing parents) for its owner only (0700): the data and
/// state dirs hold run history, error texts and ciphertexts. An existing dir is left
/// as the operator set it; when others may read it, the warning to show is returned.
pub fn private_dir(dir: &Path) -> std::io::Result<Option<String>> {
    if !dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
        return Ok(None);
    }
    Ok(readable_by_others(dir))
}

/// Makes a file patchbay just created its owner's only (0600).
pub fn private_file(path: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// "… is readable by others (mode 0755); run: chmod 700 …", when it is.
pub fn readable_by_others(path: &Path) -> Option<String> {
    let metadata = std::fs::metadata(path).ok()?;
    let mode = metadata.permissions().mode() & 0o777;
    if mode & 0o077 == 0 {
        return None;
    }
    let private = if metadata.is_dir() { "700" } else { "600" };
    Some(format!(
        "{} is readable by others (mode {mode:04o}); it holds run history and error texts: run chmod {private} {}",
        path.display(),
        path.display()
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dirs_are_created_for_the_owner_and_wide_ones_are_reported() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        assert_eq!(private_dir(&dir).unwrap(), None);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&dir), mode(&root.path().join("a"))), (0o700, 0o700));
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let warning = private_dir(&dir).unwrap().expect("a warning");
        assert!(
            warning.contains("mode 0755")
                && warning.ends_with(&format!("chmod 700 {}", dir.display()))
        );
        let file = dir.join("f");
        std::fs::write(&file, "x").unwrap();
        private_file(&file).unwrap();
        assert_eq!((mode(&file), readable_by_others(&file)), (0o600, None));
    }
}

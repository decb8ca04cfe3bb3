//! Helpers for tests that run the real `patchbay` binary in an isolated home.

#![allow(dead_code)] // each test binary uses its own subset

pub mod disk;
pub mod harness;
pub mod pty;
pub mod service;
pub mod sql;
pub mod tls;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

/// A throw-away set of XDG directories, so a test never touches the user's files.
pub struct Home {
    pub dir: tempfile::TempDir,
}

impl Home {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.path("data/patchbay")
    }

    pub fn store_file(&self) -> PathBuf {
        self.data_dir().join("patchbay.redb")
    }

    pub fn identity_file(&self) -> PathBuf {
        self.path("config/patchbay/identity.txt")
    }

    pub fn log_dir(&self) -> PathBuf {
        self.path("state/patchbay/logs")
    }

    /// `patchbay` with this home's XDG dirs and none of the caller's PATCHBAY_* vars.
    pub fn patchbay(&self) -> Command {
        Command::from_std(self.patchbay_process())
    }

    /// The same, as a plain process to spawn and signal.
    pub fn patchbay_process(&self) -> std::process::Command {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_patchbay"));
        command
            .current_dir(self.dir.path())
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env_remove("PATCHBAY_CONFIG")
            .env_remove("PATCHBAY_DATA_DIR")
            .env_remove("PATCHBAY_IDENTITY")
            .env_remove("PATCHBAY_PASSPHRASE")
            .env_remove("PATCHBAY_LOG");
        command
    }
}

pub fn repo_file(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_under(&path));
        } else {
            found.push(path);
        }
    }
    found
}

pub fn contains_bytes(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

/// The values of query parameter `key` in the requests a mock server received, in order.
pub fn query_values(requests: &[wiremock::Request], key: &str) -> Vec<String> {
    requests
        .iter()
        .filter_map(|r| {
            r.url
                .query_pairs()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.into_owned())
        })
        .collect()
}

/// This test binary's process log: files in `dir`, and the ring the Logs pane reads.
/// One per test binary: it installs the global subscriber.
pub fn capture_logs(
    dir: &Path,
    format: patchbay::telemetry::LogFormat,
) -> patchbay::telemetry::Telemetry {
    patchbay::telemetry::init(patchbay::telemetry::TelemetryOptions {
        log_dir: dir.to_owned(),
        format,
        keep_files: 2,
        stderr: None,
        ring_capacity: 10_000,
    })
    .unwrap()
}

/// A loopback port nothing listens on right now, for a process told to listen there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

//! `kind = "file"`: an output that appends records as JSON lines, rotated by size, so a
//! user can see what flowed without any server.

use std::io::Write;
use std::path::Path;

use super::{BoxFuture, Output};
use crate::config::kinds::outputs::FileSettings;
use crate::domain::{Failure, Records};
use crate::runtime::context::RunContext;

pub struct FileOutput {
    settings: FileSettings,
}

impl FileOutput {
    pub fn new(settings: FileSettings) -> Self {
        Self { settings }
    }
}

fn io_failure(path: &Path, error: &std::io::Error) -> Failure {
    Failure::config(
        format!("cannot write {}: {error}", path.display()),
        "check that the directory exists and patchbay may write there",
    )
}

/// Appends `lines`, rotating first if they would take the file past `rotate_bytes`.
/// A page costs an open, a stat of the open file, a read of its last byte and a write:
/// the directory is made only when the open finds it missing.
fn append(path: &Path, rotate_bytes: u64, lines: &[u8]) -> Result<(), Failure> {
    let mut file = open_to_append(path)?;
    let mut size = file.metadata().map_err(|e| io_failure(path, &e))?.len();
    if size > 0 && size.saturating_add(lines.len() as u64) > rotate_bytes {
        let mut rotated = path.as_os_str().to_owned();
        rotated.push(".1");
        std::fs::rename(path, &rotated).map_err(|e| io_failure(path, &e))?;
        file = open_to_append(path)?;
        size = 0;
    }
    // A process killed during a write (SIGKILL cuts a write at a page boundary) leaves
    // half a line, and the records were not marked delivered, so they come again: end
    // the torn line first, or the first of them would be glued to it and unreadable.
    if ends_torn(&file, size).map_err(|e| io_failure(path, &e))? {
        file.write_all(b"\n").map_err(|e| io_failure(path, &e))?;
    }
    file.write_all(lines).map_err(|e| io_failure(path, &e))
}

fn open_to_append(path: &Path) -> Result<std::fs::File, Failure> {
    let open = || {
        std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
    };
    match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| io_failure(dir, &e))?;
            }
            open()
        }
        opened => opened,
    }
    .map_err(|e| io_failure(path, &e))
}

/// Whether the file, `size` bytes long, is not empty and its last byte is not a newline.
fn ends_torn(file: &std::fs::File, size: u64) -> std::io::Result<bool> {
    use std::os::unix::fs::FileExt;
    if size == 0 {
        return Ok(false);
    }
    let mut last = [0u8; 1];
    file.read_exact_at(&mut last, size - 1)?;
    Ok(last[0] != b'\n')
}

impl Output for FileOutput {
    fn deliver<'a>(
        &'a self,
        _ctx: &'a RunContext,
        _from: &'a str,
        records: &'a Records,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let lines = records.json().as_bytes().to_vec();
            let path = self.settings.path.clone();
            let rotate_bytes = self.settings.rotate_bytes;
            tokio::task::spawn_blocking(move || append(&path, rotate_bytes, &lines))
                .await
                .map_err(|e| {
                    Failure::config(format!("the file writer failed: {e}"), "see the logs")
                })?
        })
    }

    fn test<'a>(&'a self, _ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let path = self.settings.path.clone();
            tokio::task::spawn_blocking(move || append(&path, u64::MAX, b""))
                .await
                .map_err(|e| {
                    Failure::config(format!("the file writer failed: {e}"), "see the logs")
                })??;
            Ok(format!("{} is writable", self.settings.path.display()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_and_rotates_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/records.jsonl");
        append(&path, 20, b"{\"a\":1}\n").unwrap();
        append(&path, 20, b"{\"a\":2}\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        append(&path, 20, b"{\"a\":3}\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"a\":3}\n");
        let rotated = dir.path().join("out/records.jsonl.1");
        assert_eq!(
            std::fs::read_to_string(rotated).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
    }

    #[test]
    fn records_after_a_torn_line_start_on_their_own_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        // A kill cut the second record short; its page is delivered again.
        std::fs::write(&path, "{\"id\":1}\n{\"id\":").unwrap();
        append(&path, u64::MAX, b"{\"id\":2}\n{\"id\":3}\n").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed: Vec<serde_json::Value> = text
            .lines()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        assert_eq!(parsed.len(), 3, "{text:?}");
        assert_eq!(parsed[1]["id"], 2);
    }
}

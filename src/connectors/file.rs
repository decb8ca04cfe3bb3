//! `kind = "file"`: an output that appends records as JSON lines, rotated by size.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct FileSettings {
    pub path: String,
    /// Rotate to `<path>.1` when the file grows past this many bytes.
    #[serde(default = "default_rotate_bytes")]
    pub rotate_bytes: u64,
}

fn default_rotate_bytes() -> u64 {
    64 * 1024 * 1024
}

//! The settings of the simpler kinds: `feed` (a source), and the outputs `webhook`,
//! `slack` / `discord` and `file`. Their runtimes are the same-named modules of
//! `connectors`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::config::credential::Credential;
use crate::config::template::Template;
use crate::config::url::ConfigUrl;

/// `kind = "feed"`: RSS 2.0 or Atom.
#[derive(Debug, Clone, Deserialize)]
pub struct FeedSettings {
    pub url: ConfigUrl,
    #[serde(default)]
    pub headers: BTreeMap<String, Credential>,
}

/// `kind = "webhook"`: signed JSON POSTs.
#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub url: ConfigUrl,
    /// The HMAC-SHA256 key for `X-Patchbay-Signature`.
    pub signing_secret: Option<Credential>,
    #[serde(default = "default_batch_size")]
    pub batch_size: usize,
    #[serde(default)]
    pub headers: BTreeMap<String, Credential>,
}

fn default_batch_size() -> usize {
    100
}

/// `kind = "slack"` and `kind = "discord"`.
#[derive(Debug, Clone, Deserialize)]
pub struct ChatSettings {
    /// The incoming-webhook URL; it grants posting, so keep it in the vault.
    pub url: Credential,
    /// Message text over `records`, `source` and `count`.
    pub template: Option<Template>,
    /// Records per message.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
}

fn default_batch() -> usize {
    100
}

/// `kind = "file"`: JSON lines, rotated by size.
#[derive(Debug, Clone, Deserialize)]
pub struct FileSettings {
    pub path: PathBuf,
    /// Rotate to `<path>.1` when the file grows past this many bytes.
    #[serde(default = "default_rotate_bytes")]
    pub rotate_bytes: u64,
}

fn default_rotate_bytes() -> u64 {
    64 * 1024 * 1024
}

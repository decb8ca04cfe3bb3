//! `kind = "webhook_in"`: the settings of an inbound webhook. Its listener and source
//! are `connectors::webhook_in`.

use serde::Deserialize;

use crate::config::credential::Credential;
use crate::config::duration::HumanDuration;

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookInSettings {
    /// Where events arrive, e.g. `/hooks/github`.
    pub path: String,
    pub verify: Option<Verify>,
    /// Larger bodies get 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// The field that identifies an event, for change detection.
    pub primary_key: Option<String>,
}

fn default_max_body() -> usize {
    1024 * 1024
}

/// `verify = { type = "hmac_sha256", header = "X-Hub-Signature-256", secret = "secret:gh_hook" }`
#[derive(Debug, Clone, Deserialize)]
pub struct Verify {
    #[serde(rename = "type")]
    pub kind: VerifyKind,
    pub header: String,
    pub secret: Credential,
    /// How old a `patchbay` signature may be before it counts as a replay.
    #[serde(default = "default_tolerance")]
    pub tolerance: HumanDuration,
}

fn default_tolerance() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(300))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyKind {
    /// The hex HMAC-SHA256 of the body, optionally prefixed `sha256=` (GitHub's form).
    HmacSha256,
    /// patchbay's own `t=<unix>,v1=<hex>` (what the `webhook` output sends).
    Patchbay,
}

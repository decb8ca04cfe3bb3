//! `kind = "webhook"`: an output that POSTs records as signed JSON.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::credential::Credential;

#[derive(Debug, Clone, Deserialize)]
pub struct WebhookSettings {
    pub url: String,
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

//! The sandbox as a webhook sender: GitHub-style events, signed the way GitHub signs
//! them (`X-Hub-Signature-256: sha256=<hex HMAC of the body>`), posted to a
//! `webhook_in` integration, so the demo shows inbound events flowing.

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use serde_json::json;
use sha2::Sha256;
use tokio::task::JoinHandle;

use super::credentials;

const ACTIONS: [&str; 4] = ["opened", "labeled", "commented", "closed"];

/// Posts an event to `target` every `every`, until the task is aborted.
pub fn send_events(target: String, every: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        crate::runtime::http::install_tls_provider();
        let client = reqwest::Client::new();
        let mut ticker = tokio::time::interval(every);
        for number in 1u64.. {
            ticker.tick().await;
            let body = json!({
                "id": format!("delivery-{number}"),
                "action": ACTIONS[(number % 4) as usize],
                "issue": { "number": 100 + number % 17, "title": format!("Sandbox issue {}", 100 + number % 17) },
            })
            .to_string();
            let mut mac =
                Hmac::<Sha256>::new_from_slice(credentials::GITHUB_HOOK_SECRET.as_bytes())
                    .expect("any key length");
            mac.update(body.as_bytes());
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            let sent = client
                .post(&target)
                .header("X-Hub-Signature-256", signature)
                .header("X-GitHub-Event", "issues")
                .body(body)
                .send()
                .await;
            if let Err(error) = sent {
                tracing::debug!(%error, "the sandbox could not deliver an event");
            }
        }
    })
}

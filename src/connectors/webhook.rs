//! `kind = "webhook"`: an output that POSTs records as JSON, signed so that receivers
//! can verify them and reject replays.
//!
//! `X-Patchbay-Signature: t=<unix seconds>,v1=<hex>` with
//! `v1 = hex(HMAC_SHA256(signing_secret, t + "." + body))`.

use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::Sha256;

use super::{BoxFuture, Output};
use crate::alerts::Notice;
use crate::config::kinds::outputs::WebhookSettings;
use crate::domain::{Failure, Records};
use crate::runtime::context::RunContext;
use crate::runtime::http::RequestPolicy;

pub const SIGNATURE_HEADER: &str = "X-Patchbay-Signature";
/// Marks `patchbay test`'s request, so a receiver can tell it from a delivery.
pub const TEST_HEADER: &str = "X-Patchbay-Test";

/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Checks a signature header in constant time; returns the time it was signed at
/// (Unix seconds) when it is valid. Whether that time is recent enough is the
/// receiver's call: an old valid signature is a replay.
pub fn verify(key: &[u8], header: &str, body: &[u8]) -> Option<i64> {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => given = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (timestamp, given) = (timestamp?, given?);
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok().then_some(timestamp)
}

/// A valid signature made within `tolerance` of `now` (either way, for clock skew):
/// what a receiver accepts. Anything else is forged or replayed.
pub fn verify_recent(
    key: &[u8],
    header: &str,
    body: &[u8],
    now: chrono::DateTime<chrono::Utc>,
    tolerance: std::time::Duration,
) -> bool {
    verify(key, header, body)
        .is_some_and(|signed| now.timestamp().abs_diff(signed) <= tolerance.as_secs())
}

pub struct WebhookOutput {
    settings: WebhookSettings,
}

impl WebhookOutput {
    pub fn new(settings: WebhookSettings) -> Self {
        Self { settings }
    }

    /// POSTs one signed JSON body.
    async fn post(&self, ctx: &RunContext, body: &[u8]) -> Result<(), Failure> {
        super::auth::send(ctx, &RequestPolicy::default(), || self.request(ctx, body)).await?;
        Ok(())
    }

    /// A delivery request, without credentials (`auth::send` adds them).
    fn request(&self, ctx: &RunContext, body: &[u8]) -> Result<reqwest::RequestBuilder, Failure> {
        let mut builder = ctx
            .http()
            .reqwest()
            .post(self.settings.url.url().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (name, value) in &self.settings.headers {
            builder = builder.header(name.as_str(), ctx.resolve(value)?.expose_secret());
        }
        if let Some(secret) = &self.settings.signing_secret {
            let key = ctx.resolve(secret)?;
            builder = builder.header(
                SIGNATURE_HEADER,
                signature(key.expose_secret().as_bytes(), ctx.now().timestamp(), body),
            );
        }
        Ok(builder.body(body.to_vec()))
    }
}

impl Output for WebhookOutput {
    fn deliver<'a>(
        &'a self,
        ctx: &'a RunContext,
        _from: &'a str,
        records: &'a Records,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let json = records.json();
            let size = self.settings.batch_size.max(1);
            for start in (0..json.len()).step_by(size) {
                let body = if self.settings.batch_size == 1 {
                    json.record(start).to_vec()
                } else {
                    json.array(start..json.len().min(start + size))
                };
                self.post(ctx, &body).await?;
            }
            Ok(())
        })
    }

    /// An alert notice is one JSON object, whatever the batch size.
    fn notify<'a>(
        &'a self,
        ctx: &'a RunContext,
        notice: &'a Notice,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&notice.to_json()).expect("JSON values serialise");
            self.post(ctx, &body).await
        })
    }

    /// Asks the receiver: one signed request, marked as a test so it can be told from
    /// a delivery, and what the receiver answered.
    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let body = serde_json::to_vec(&serde_json::json!({
                "patchbay": "connection test",
                "integration": ctx.integration.name,
                "sent_at": ctx.now().to_rfc3339(),
            }))
            .expect("JSON values serialise");
            let fetched = super::auth::send(ctx, &RequestPolicy::default(), || {
                Ok(self.request(ctx, &body)?.header(TEST_HEADER, "1"))
            })
            .await?;
            let signed = match &self.settings.signing_secret {
                Some(_) => "signed test request",
                None => "test request (unsigned: no `signing_secret`)",
            };
            Ok(format!(
                "{} answered {} to a {signed}",
                self.settings.url.host(),
                fetched.status
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let header = signature(b"key", 1_700_000_000, b"[1,2]");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(verify(b"key", &header, b"[1,2]"), Some(1_700_000_000));
        assert_eq!(verify(b"key", &header, b"[1,3]"), None);
        assert_eq!(verify(b"other", &header, b"[1,2]"), None);
        assert_eq!(verify(b"key", "t=1,v1=zz", b"[1,2]"), None);
        // The documented algorithm, computed independently.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(b"1700000000.[1,2]");
        let expected = hex::encode(mac.finalize().into_bytes());
        assert_eq!(header, format!("t=1700000000,v1={expected}"));
    }
}

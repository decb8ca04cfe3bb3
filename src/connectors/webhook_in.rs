//! `kind = "webhook_in"`: events POSTed to patchbay become records. One listener
//! (`settings.webhook_listen`) serves every webhook_in integration at its own `path`.
//! An event is verified (HMAC, constant-time), size-limited, and committed to the store
//! before the sender gets its 202; a run then delivers it to the outputs, and it is
//! removed in that run's transaction once every output accepted it.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::mpsc;
use ulid::Ulid;

use super::group_commit::InboxWriter;
use super::{BoxFuture, Fetch, Pages, Source};
use crate::config::kinds::webhook_in::{Verify, VerifyKind, WebhookInSettings};
use crate::domain::Failure;
use crate::runtime::context::{RunContext, Services};

/// Events handed to one run at most; the rest wait for the next.
const EVENTS_PER_RUN: usize = 1000;

impl Verify {
    /// Whether `header` signs `body` with `key`; a `patchbay` signature must also be
    /// younger than `tolerance` at `now`, or it is a replay.
    fn check(
        &self,
        key: &[u8],
        header: &str,
        body: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        match self.kind {
            VerifyKind::HmacSha256 => {
                let given = header
                    .trim()
                    .strip_prefix("sha256=")
                    .unwrap_or(header.trim());
                let Ok(given) = hex::decode(given) else {
                    return false;
                };
                let mut mac =
                    Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
                mac.update(body);
                mac.verify_slice(&given).is_ok()
            }
            VerifyKind::Patchbay => {
                super::webhook::verify_recent(key, header, body, now, self.tolerance.as_std())
            }
        }
    }
}

pub struct WebhookInSource {
    settings: WebhookInSettings,
}

impl WebhookInSource {
    pub fn new(settings: WebhookInSettings) -> Self {
        Self { settings }
    }
}

impl Source for WebhookInSource {
    fn primary_key(&self) -> Option<&str> {
        self.settings.primary_key.as_deref()
    }

    fn fetch<'a>(
        &'a self,
        ctx: &'a RunContext,
        pages: Pages,
    ) -> BoxFuture<'a, Result<Fetch, Failure>> {
        Box::pin(async move {
            let events = ctx.inbox(EVENTS_PER_RUN).await?;
            let mut fetch = Fetch {
                pages: 1,
                ..Fetch::default()
            };
            let mut records = Vec::with_capacity(events.len());
            for (id, body) in events {
                fetch.consumed.push(id);
                records.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            }
            ctx.log(format!("{} inbound events to process", records.len()));
            pages.send(records).await;
            Ok(fetch)
        })
    }

    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            if let Some(verify) = &self.settings.verify {
                ctx.resolve(&verify.secret)?;
            }
            match ctx.inbound_addr() {
                Some(addr) => Ok(format!("listening on http://{addr}{}", self.settings.path)),
                None => Err(Failure::config(
                    "the inbound webhook listener is not running",
                    "check settings.webhook_listen and the logs",
                )),
            }
        })
    }
}

/// One route of the listener.
#[derive(Clone)]
pub struct Route {
    pub integration: String,
    pub settings: WebhookInSettings,
}

/// Routes by path; replaced whole on a config reload.
pub type Routes = Arc<RwLock<HashMap<String, Route>>>;

#[derive(Clone)]
struct Listener {
    routes: Routes,
    services: Arc<Services>,
    inbox: InboxWriter,
    /// Tells the engine which integration has new events.
    arrived: mpsc::UnboundedSender<String>,
}

/// Starts the listener on `addr` (port 0 picks one); returns the bound address.
pub async fn listen(
    addr: SocketAddr,
    routes: Routes,
    services: Arc<Services>,
    arrived: mpsc::UnboundedSender<String>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let inbox = InboxWriter::spawn(Arc::clone(&services.store))?;
    let app = Router::new().fallback(receive).with_state(Listener {
        routes,
        services,
        inbox,
        arrived,
    });
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the inbound webhook listener failed");
        }
    });
    Ok(bound)
}

async fn receive(
    State(listener): State<Listener>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let route = listener
        .routes
        .read()
        .unwrap_or_else(|e| e.into_inner())
        .get(uri.path())
        .cloned();
    let Some(route) = route else {
        return (
            StatusCode::NOT_FOUND,
            "no webhook_in integration at this path",
        )
            .into_response();
    };
    if method != Method::POST {
        return (StatusCode::METHOD_NOT_ALLOWED, "POST events here").into_response();
    }
    let name = route.integration.as_str();
    let now = listener.services.clock.now();
    let started = std::time::Instant::now();
    let record = |ok: bool| {
        let metrics = &listener.services.metrics;
        metrics.totals.webhook_event(name, ok);
        metrics.record_request(name, now, ok, started.elapsed(), false)
    };
    let body: Bytes = match axum::body::to_bytes(body, route.settings.max_body_bytes).await {
        Ok(body) => body,
        Err(_) => {
            record(false);
            tracing::warn!(integration = %name, limit = route.settings.max_body_bytes, "inbound event over the size limit refused");
            return (StatusCode::PAYLOAD_TOO_LARGE, "body over max_body_bytes").into_response();
        }
    };
    if let Some(verify) = &route.settings.verify {
        let signature = headers
            .get(verify.header.as_str())
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let verified = match listener.services.resolve(&verify.secret) {
            Ok(key) => verify.check(key.expose_secret().as_bytes(), signature, &body, now),
            Err(failure) => {
                // Our fault, not the sender's: a 503 makes it retry once the secret
                // (or the store holding it) is back.
                record(false);
                tracing::error!(integration = %name, error = %failure, "cannot read the webhook secret; answering 503");
                return (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "cannot verify the event now; retry",
                )
                    .into_response();
            }
        };
        if !verified {
            record(false);
            tracing::warn!(integration = %name, "inbound event with a bad signature refused");
            return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
        }
    }
    let event = match serde_json::from_slice::<Value>(&body) {
        Ok(_) => body.to_vec(),
        Err(_) => {
            serde_json::to_vec(&serde_json::json!({ "body": String::from_utf8_lossy(&body) }))
                .expect("JSON serialises")
        }
    };
    let id = Ulid::from_datetime(now.into()).0;
    if !listener.inbox.put(name, id, event).await {
        record(false);
        tracing::error!(integration = %name, "could not store an inbound event; the sender should retry");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "could not store the event; retry",
        )
            .into_response();
    }
    record(true);
    let _ = listener.arrived.send(name.to_owned());
    (StatusCode::ACCEPTED, "accepted").into_response()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::config::credential::Credential;
    use crate::config::duration::HumanDuration;

    fn verify(kind: VerifyKind) -> Verify {
        Verify {
            kind,
            header: "X-Sig".to_owned(),
            secret: Credential::parse("key"),
            tolerance: HumanDuration(std::time::Duration::from_secs(300)),
        }
    }

    #[test]
    fn both_signature_forms_verify_and_reject_tampering() {
        let now = chrono::Utc::now();
        let body = br#"{"a":1}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"key").unwrap();
        mac.update(body);
        let hex = hex::encode(mac.finalize().into_bytes());
        let github = verify(VerifyKind::HmacSha256);
        assert!(github.check(b"key", &format!("sha256={hex}"), body, now));
        assert!(
            github.check(b"key", &hex, body, now),
            "the prefix is optional"
        );
        assert!(!github.check(b"key", &format!("sha256={hex}"), b"{}", now));
        assert!(!github.check(b"key", "sha256=zz", body, now));
        let own = verify(VerifyKind::Patchbay);
        let header = super::super::webhook::signature(b"key", now.timestamp(), body);
        assert!(own.check(b"key", &header, body, now));
        assert!(!own.check(b"other", &header, body, now));
    }

    #[test]
    fn an_old_patchbay_signature_is_a_replay() {
        let signed = chrono::Utc.with_ymd_and_hms(2026, 11, 1, 12, 0, 0).unwrap();
        let body = br#"{"a":1}"#;
        let header = super::super::webhook::signature(b"key", signed.timestamp(), body);
        let own = verify(VerifyKind::Patchbay);
        let minutes = |m| signed + chrono::Duration::minutes(m);
        assert!(
            own.check(b"key", &header, body, minutes(5)),
            "at the tolerance"
        );
        assert!(
            !own.check(b"key", &header, body, minutes(6)),
            "replayed later"
        );
        assert!(
            !own.check(b"key", &header, body, minutes(-6)),
            "from the future"
        );
        let forever = "t=-9223372036854775808,v1=00";
        assert!(!own.check(b"key", forever, body, minutes(0)));
    }
}

//! The sandbox: a local API with realistic, deterministic data and trouble on purpose.
//! `patchbay demo`, the tests and the benchmarks all run against it; `patchbay sandbox`
//! serves it alone. It binds 127.0.0.1 only.

mod data;
mod events;
mod feeds;
mod graphql;
pub mod guide;
mod health;
mod oauth;
mod sinks;
mod trouble;
pub mod vendors;
mod warehouse;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::routing::{get, post};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use events::send_events;
pub use sinks::SinkStats;
pub use warehouse::create_warehouse;

/// Credentials the sandbox accepts; `patchbay demo` puts them in its vault.
pub mod credentials {
    /// Bearer token for `/api/private`.
    pub const PRIVATE_TOKEN: &str = "demo-private-token-5d1c9a";
    /// API key (header `X-Api-Key`) for `/api/users`.
    pub const API_KEY: &str = "demo-api-key-77ab40";
    /// `X-Patchbay-Signature` key that `/sink/webhook` verifies with.
    pub const WEBHOOK_SIGNING_KEY: &str = "demo-signing-key-3e9f12";
    pub const CLIENT_ID: &str = "patchbay-demo";
    pub const CLIENT_SECRET: &str = "demo-client-secret-c0ffee";
    /// The first refresh token of `oauth2_refresh_token`; each use rotates it.
    pub const INITIAL_REFRESH_TOKEN: &str = "demo-refresh-token-0001";
    /// The HMAC key of the GitHub-style events the sandbox sends to `webhook_in`.
    pub const GITHUB_HOOK_SECRET: &str = "demo-github-hook-9a9a9a";
    /// Basic auth for `/api/tickets`.
    pub const BASIC_USER: &str = "ops";
    pub const BASIC_PASSWORD: &str = "demo-basic-password-42";
}

/// The vault secrets the shipped `connectors.toml` reads, as the sandbox at `url`
/// accepts them (one of them on purpose not: `partner_token`).
pub fn demo_secrets(url: &str) -> Vec<(&'static str, String)> {
    vec![
        ("sandbox_api_key", credentials::API_KEY.to_owned()),
        ("sandbox_token", credentials::PRIVATE_TOKEN.to_owned()),
        (
            "orders_hook_key",
            credentials::WEBHOOK_SIGNING_KEY.to_owned(),
        ),
        ("team_slack_url", format!("{url}/sink/slack")),
        ("team_discord_url", format!("{url}/sink/discord")),
        (
            "sandbox_basic_password",
            credentials::BASIC_PASSWORD.to_owned(),
        ),
        (
            "sandbox_client_secret",
            credentials::CLIENT_SECRET.to_owned(),
        ),
        (
            "sandbox_refresh_token",
            credentials::INITIAL_REFRESH_TOKEN.to_owned(),
        ),
        (
            "github_hook_secret",
            credentials::GITHUB_HOOK_SECRET.to_owned(),
        ),
        ("github_token", vendors::VENDOR_TOKEN.to_owned()),
        ("pagerduty_token", vendors::VENDOR_TOKEN.to_owned()),
        // Deliberately stale: partner-api shows what an auth failure looks like.
        ("partner_token", "expired-partner-token-0000".to_owned()),
    ]
}

pub struct SandboxState {
    started: Instant,
    started_at: chrono::DateTime<chrono::Utc>,
    trouble: Mutex<trouble::TroubleState>,
    oauth: Mutex<oauth::OAuthState>,
    sinks: Mutex<SinkStats>,
    vendors: Mutex<vendors::VendorState>,
}

impl SandboxState {
    fn new() -> Self {
        Self {
            started: Instant::now(),
            started_at: chrono::Utc::now(),
            trouble: Mutex::default(),
            oauth: Mutex::default(),
            sinks: Mutex::default(),
            vendors: Mutex::default(),
        }
    }

    fn elapsed_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    fn vendors(&self) -> std::sync::MutexGuard<'_, vendors::VendorState> {
        self.vendors.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn sink_stats(&self) -> SinkStats {
        self.sinks.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

type Shared = Arc<SandboxState>;

fn router(state: Shared) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/api/users", get(data::users))
        .route("/api/orders", get(data::orders))
        .route("/api/events", get(data::events))
        .route("/api/tickets", get(data::tickets))
        .route("/api/articles", get(data::articles))
        .route("/api/records", get(data::records))
        .route("/api/secure", get(oauth::secure))
        .route("/api/private", get(trouble::private))
        .route("/api/flaky", get(trouble::flaky))
        .route("/api/limited", get(trouble::limited))
        .route("/api/slow", get(trouble::slow))
        .route("/api/broken", get(trouble::broken))
        .route("/graphql", post(graphql::query))
        .route("/feed.xml", get(feeds::rss))
        .route("/atom.xml", get(feeds::atom))
        .route("/oauth/token", post(oauth::token))
        .route("/oauth/device", post(oauth::device))
        .route("/oauth/authorize", get(oauth::authorize))
        .route("/health/ok", get(health::ok))
        .route("/health/degraded", get(health::degraded))
        .route("/health/flapping", get(health::flapping))
        .route("/sink/webhook", post(sinks::webhook))
        .route("/sink/slack", post(sinks::slack))
        .route("/sink/discord", post(sinks::discord))
        // The same sinks at the URL shapes Slack and Discord hand out, whose last path
        // segment is the credential.
        .route("/services/{team}/{bot}/{token}", post(sinks::slack))
        .route("/api/webhooks/{id}/{token}", post(sinks::discord))
        .route("/sink/stats", get(sinks::stats))
        .merge(vendors::routes())
        .with_state(state)
}

/// `GET /`: the guide, for whoever opens the sandbox's address.
async fn index(headers: axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    guide::text(&format!("http://{host}"))
}

/// A running sandbox. Dropping it does not stop it; call [`Sandbox::stop`].
pub struct Sandbox {
    pub addr: SocketAddr,
    pub state: Shared,
    shutdown: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Sandbox {
    /// Serves on 127.0.0.1:`port` (0 picks a free port).
    pub async fn start(port: u16) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        Self::serve(listener)
    }

    /// Serves on a listener bound beforehand (so its address can be known before any
    /// runtime exists, as `patchbay demo` needs).
    pub fn serve(listener: tokio::net::TcpListener) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let state = Arc::new(SandboxState::new());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let app = router(Arc::clone(&state));
        let task = tokio::spawn(async move {
            let server = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(error) = server.await {
                tracing::error!(%error, "the sandbox server failed");
            }
        });
        Ok(Self {
            addr,
            state,
            shutdown,
            task,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = self.task.await;
    }
}

//! Prometheus: `/metrics` in the text exposition format (through prometheus-client, not
//! hand-formatted) and `/healthz`, on `settings.metrics_listen`.
//!
//! Counters (runs, records, requests, webhook events) and request durations are
//! counted where runs finish and requests are made (`runtime::totals`); gauges
//! (health, firing alerts, scheduler lag, store size) are read from the engine at each
//! scrape.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};
use tokio::task::JoinHandle;

use crate::engine::EngineHandle;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct HealthLabels {
    integration: String,
    state: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct AlertLabels {
    rule: String,
    severity: String,
}

struct Exporter {
    registry: Registry,
    engine: EngineHandle,
    health: Family<HealthLabels, Gauge>,
    alerts: Family<AlertLabels, Gauge>,
    lag: Gauge<f64, AtomicU64>,
    store_bytes: Gauge,
}

impl Exporter {
    fn new(engine: EngineHandle) -> Self {
        let mut registry = Registry::default();
        let totals = engine.totals();
        let exporter = Self {
            registry: Registry::default(),
            engine,
            health: Family::default(),
            alerts: Family::default(),
            lag: Gauge::default(),
            store_bytes: Gauge::default(),
        };
        registry.register(
            "patchbay_runs",
            "Runs finished since start, by integration and status",
            totals.runs,
        );
        registry.register(
            "patchbay_requests",
            "Requests made (and inbound events received) since start, by outcome",
            totals.requests,
        );
        registry.register_with_unit(
            "patchbay_request_duration",
            "How long requests took",
            Unit::Seconds,
            totals.request_seconds,
        );
        registry.register(
            "patchbay_records",
            "Records since start: read (in), new, changed, delivered",
            totals.records,
        );
        registry.register(
            "patchbay_health",
            "1 for each integration's current state",
            exporter.health.clone(),
        );
        registry.register(
            "patchbay_alerts_firing",
            "Alerts firing now, by rule and severity",
            exporter.alerts.clone(),
        );
        registry.register_with_unit(
            "patchbay_scheduler_lag",
            "The 99th percentile of how late scheduled runs started, over about the last minute",
            Unit::Seconds,
            exporter.lag.clone(),
        );
        registry.register(
            "patchbay_webhook_events",
            "Inbound webhook events since start, accepted (ok) or refused (failed)",
            totals.webhook_events,
        );
        registry.register_with_unit(
            "patchbay_store",
            "Size of the store file",
            Unit::Bytes,
            exporter.store_bytes.clone(),
        );
        Self {
            registry,
            ..exporter
        }
    }

    /// Reads the gauges from the engine, then encodes everything.
    async fn scrape(&self) -> Result<String, String> {
        let snapshot = self.engine.snapshot().await.map_err(|e| e.to_string())?;
        let alerts = self.engine.alerts().await.map_err(|e| e.to_string())?;
        self.health.clear();
        for view in &snapshot.integrations {
            self.health
                .get_or_create(&HealthLabels {
                    integration: view.name.clone(),
                    state: view.state_word().to_owned(),
                })
                .set(1);
        }
        self.alerts.clear();
        for alert in &alerts.firing {
            self.alerts
                .get_or_create(&AlertLabels {
                    rule: alert.rule.clone(),
                    severity: alert.severity.as_str().to_owned(),
                })
                .inc();
        }
        self.lag.set(snapshot.status.lag.recent_p99_us as f64 / 1e6);
        let bytes = std::fs::metadata(self.engine.store_path()).map_or(0, |m| m.len());
        self.store_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)
            .map_err(|e| e.to_string())?;
        Ok(text)
    }
}

/// Serves `/metrics` and `/healthz` on `addr`; answers the address bound (port 0
/// picks one).
pub async fn serve(
    addr: SocketAddr,
    engine: EngineHandle,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let exporter = Arc::new(Exporter::new(engine));
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .with_state(exporter);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok((bound, task))
}

async fn metrics(State(exporter): State<Arc<Exporter>>) -> Response {
    match exporter.scrape().await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => (StatusCode::SERVICE_UNAVAILABLE, error).into_response(),
    }
}

/// 200 while the engine answers and is not stopping; 503 otherwise.
async fn healthz(State(exporter): State<Arc<Exporter>>) -> Response {
    let answer =
        tokio::time::timeout(std::time::Duration::from_secs(2), exporter.engine.status()).await;
    match answer {
        Ok(Ok(status)) if !status.stopping => (StatusCode::OK, "ok\n").into_response(),
        Ok(Ok(_)) => (StatusCode::SERVICE_UNAVAILABLE, "stopping\n").into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the engine does not answer\n",
        )
            .into_response(),
    }
}

//! Totals since start in the shapes Prometheus scrapes: requests by outcome, request
//! durations, inbound webhook events. Counted where the rolling metrics are counted;
//! the service's `/metrics` registers them.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct IntegrationLabel {
    pub integration: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub integration: String,
    /// `ok` or `failed`.
    pub outcome: &'static str,
}

type DurationFamily = Family<IntegrationLabel, Histogram, fn() -> Histogram>;

/// 5 ms to about 20 s, doubling: where API latencies fall.
fn request_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

#[derive(Clone)]
pub struct Totals {
    pub requests: Family<OutcomeLabels, Counter>,
    pub request_seconds: DurationFamily,
    pub webhook_events: Family<OutcomeLabels, Counter>,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            request_seconds: Family::new_with_constructor(request_buckets),
            webhook_events: Family::default(),
        }
    }
}

fn outcome(ok: bool) -> &'static str {
    if ok { "ok" } else { "failed" }
}

impl Totals {
    pub fn request(&self, integration: &str, ok: bool, latency: Duration) {
        self.requests
            .get_or_create(&OutcomeLabels {
                integration: integration.to_owned(),
                outcome: outcome(ok),
            })
            .inc();
        self.request_seconds
            .get_or_create(&IntegrationLabel {
                integration: integration.to_owned(),
            })
            .observe(latency.as_secs_f64());
    }

    pub fn webhook_event(&self, integration: &str, accepted: bool) {
        self.webhook_events
            .get_or_create(&OutcomeLabels {
                integration: integration.to_owned(),
                outcome: outcome(accepted),
            })
            .inc();
    }
}

//! Totals since start in the shapes Prometheus scrapes: runs by status, records by
//! kind, requests by outcome, request durations, inbound webhook events. Counted where
//! every run and request is (consoles may see only a sample of routine runs); the
//! service's `/metrics` registers them.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};

use crate::domain::run::RunRecord;

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

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RunLabels {
    pub integration: String,
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RecordLabels {
    pub integration: String,
    /// `in`, `new`, `changed` or `delivered`.
    pub kind: &'static str,
}

type DurationFamily = Family<IntegrationLabel, Histogram, fn() -> Histogram>;

/// 5 ms to about 20 s, doubling: where API latencies fall.
fn request_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.005, 2.0, 13))
}

#[derive(Clone)]
pub struct Totals {
    pub runs: Family<RunLabels, Counter>,
    pub records: Family<RecordLabels, Counter>,
    pub requests: Family<OutcomeLabels, Counter>,
    pub request_seconds: DurationFamily,
    pub webhook_events: Family<OutcomeLabels, Counter>,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            runs: Family::default(),
            records: Family::default(),
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
    pub fn run(&self, run: &RunRecord) {
        self.runs
            .get_or_create(&RunLabels {
                integration: run.integration.clone(),
                status: run.status.as_str(),
            })
            .inc();
        for (kind, count) in [
            ("in", run.records_in),
            ("new", run.records_new),
            ("changed", run.records_changed),
            ("delivered", run.records_delivered),
        ] {
            self.records
                .get_or_create(&RecordLabels {
                    integration: run.integration.clone(),
                    kind,
                })
                .inc_by(count);
        }
    }

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

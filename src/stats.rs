//! Metric figures as the engine computes them and the store keeps them.

use serde::{Deserialize, Serialize};

/// Counts over a period, with latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub requests_ok: u64,
    pub requests_failed: u64,
    pub rate_limit_hits: u64,
    pub records: u64,
    pub runs_ok: u64,
    pub runs_failed: u64,
    pub p50_ms: Option<u64>,
    pub p95_ms: Option<u64>,
    pub p99_ms: Option<u64>,
}

impl Stats {
    /// Adds `other`'s counts. Percentiles do not add up; they are left as they are.
    pub fn add_counts(&mut self, other: &Stats) {
        self.requests_ok += other.requests_ok;
        self.requests_failed += other.requests_failed;
        self.rate_limit_hits += other.rate_limit_hits;
        self.records += other.records;
        self.runs_ok += other.runs_ok;
        self.runs_failed += other.runs_failed;
    }

    /// Successful runs out of finished runs, if any finished.
    pub fn success_rate(&self) -> Option<f64> {
        let total = self.runs_ok + self.runs_failed;
        (total > 0).then(|| self.runs_ok as f64 / total as f64)
    }
}

/// One finished minute of one integration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinuteRollup {
    pub integration: String,
    /// Unix time of the minute's start, in minutes.
    pub minute: i64,
    pub stats: Stats,
}

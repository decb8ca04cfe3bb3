//! Live metrics per integration over rolling windows (5 m, 1 h, 24 h), with latency
//! percentiles from hdrhistogram, and the per-minute rollups that the store keeps so
//! charts survive a restart.
//!
//! Memory is bounded per integration: three rings of slots (5 × 1 min, 6 × 10 min,
//! 12 × 2 h), each with a sparse latency histogram (see `latency.rs`).

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use super::latency::Latency;
use super::totals::Totals;
use chrono::{DateTime, Utc};

pub use crate::domain::stats::{MinuteRollup, Stats, WindowStats};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    FiveMinutes,
    Hour,
    Day,
}

impl Window {
    pub const ALL: [Window; 3] = [Window::FiveMinutes, Window::Hour, Window::Day];

    pub fn label(self) -> &'static str {
        match self {
            Self::FiveMinutes => "5m",
            Self::Hour => "1h",
            Self::Day => "24h",
        }
    }

    pub fn seconds(self) -> i64 {
        match self {
            Self::FiveMinutes => 300,
            Self::Hour => 3_600,
            Self::Day => 86_400,
        }
    }
}

#[derive(Default)]
struct Slot {
    start: i64,
    counts: Stats,
    latency: Latency,
}

impl Slot {
    fn record_latency(&mut self, latency: Duration) {
        self.latency.record(latency.as_millis() as u64);
    }

    /// The slot's counts with its latency percentiles.
    fn summary(&self) -> Stats {
        with_percentiles(self.counts.clone(), &self.latency)
    }
}

fn with_percentiles(mut stats: Stats, latency: &Latency) -> Stats {
    stats.p50_ms = latency.quantile(0.50);
    stats.p95_ms = latency.quantile(0.95);
    stats.p99_ms = latency.quantile(0.99);
    stats
}

/// Slots of `width` seconds, newest last, covering `len * width` seconds.
struct Ring {
    width: i64,
    len: usize,
    slots: VecDeque<Slot>,
}

impl Ring {
    fn new(width: i64, len: usize) -> Self {
        Self {
            width,
            len,
            slots: VecDeque::new(),
        }
    }

    /// The slot for time `at`, and the start and summary of the slot that was newest
    /// before it when `at` begins a new period (that period is then over).
    fn slot(&mut self, at: i64) -> (&mut Slot, Option<(i64, Stats)>) {
        let start = at.div_euclid(self.width) * self.width;
        let mut finished = None;
        if self.slots.back().is_none_or(|s| s.start < start) {
            finished = self.slots.back().map(|s| (s.start, s.summary()));
            let oldest_kept = start - self.width * (self.len as i64 - 1);
            while self.slots.front().is_some_and(|s| s.start < oldest_kept) {
                self.slots.pop_front();
            }
            // Grown one slot at a time (a new slot comes once a minute at most): every
            // integration has three rings, and doubling left a third of 10,000
            // integrations' slots allocated and empty.
            self.slots.reserve_exact(1);
            self.slots.push_back(Slot {
                start,
                ..Slot::default()
            });
        }
        // A late sample (clock skew) lands in the newest slot rather than being lost.
        (
            self.slots.back_mut().expect("a slot was just ensured"),
            finished,
        )
    }

    fn stats(&self, since: i64, latency: bool) -> Stats {
        let mut total = Stats::default();
        let mut merged = Latency::default();
        self.add_to(since, &mut total, latency.then_some(&mut merged));
        if latency {
            with_percentiles(total, &merged)
        } else {
            total
        }
    }

    /// Adds the counts (and, when asked, the latency histogram) of the slots since
    /// `since` to `total`.
    fn add_to(&self, since: i64, total: &mut Stats, mut latency: Option<&mut Latency>) {
        for slot in self.slots.iter().filter(|s| s.start + self.width > since) {
            total.add_counts(&slot.counts);
            if let Some(merged) = latency.as_deref_mut() {
                merged.merge(&slot.latency);
            }
        }
    }
}

struct IntegrationMetrics {
    /// When the first figure was recorded (unix seconds): windows reaching further back
    /// cover only the time since.
    since: i64,
    minutes: Ring,
    ten_minutes: Ring,
    two_hours: Ring,
    last_success: Option<DateTime<Utc>>,
    last_failure: Option<DateTime<Utc>>,
}

impl IntegrationMetrics {
    fn new(since: i64) -> Self {
        Self {
            since,
            minutes: Ring::new(60, 5),
            ten_minutes: Ring::new(600, 6),
            two_hours: Ring::new(7_200, 12),
            last_success: None,
            last_failure: None,
        }
    }

    /// Applies `update` to the slot for `at` in every ring; returns the minute that
    /// `at` closed, if it closed one.
    fn update(&mut self, at: i64, update: impl Fn(&mut Slot)) -> Option<(i64, Stats)> {
        let (minute, finished) = self.minutes.slot(at);
        update(minute);
        update(self.ten_minutes.slot(at).0);
        update(self.two_hours.slot(at).0);
        finished
    }

    /// The finest ring that reaches back `seconds`: a window is read to the width of
    /// that ring's slots (1 min up to 5 m, 10 min up to 1 h, 2 h beyond).
    fn stats(&self, seconds: i64, now: i64, latency: bool) -> Stats {
        self.ring_for(seconds).stats(now - seconds, latency)
    }

    fn ring_for(&self, seconds: i64) -> &Ring {
        [&self.minutes, &self.ten_minutes, &self.two_hours]
            .into_iter()
            .find(|ring| ring.width * ring.len as i64 >= seconds)
            .unwrap_or(&self.two_hours)
    }
}

/// Every integration's metrics. Updated by run tasks, read by the console.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<MetricsInner>,
    /// Totals since start, for Prometheus.
    pub totals: Totals,
}

#[derive(Default)]
struct MetricsInner {
    integrations: HashMap<String, IntegrationMetrics>,
    finished_minutes: Vec<MinuteRollup>,
}

impl MetricsInner {
    fn update(
        &mut self,
        name: &str,
        at: DateTime<Utc>,
        update: impl Fn(&mut Slot),
    ) -> &mut IntegrationMetrics {
        let metrics = self
            .integrations
            .entry(name.to_owned())
            .or_insert_with(|| IntegrationMetrics::new(at.timestamp()));
        if let Some((start, stats)) = metrics.update(at.timestamp(), update) {
            self.finished_minutes.push(MinuteRollup {
                integration: name.to_owned(),
                minute: start / 60,
                stats,
            });
        }
        self.integrations.get_mut(name).expect("inserted above")
    }
}

impl Metrics {
    fn lock(&self) -> std::sync::MutexGuard<'_, MetricsInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record_request(
        &self,
        name: &str,
        at: DateTime<Utc>,
        ok: bool,
        latency: Duration,
        rate_limited: bool,
    ) {
        self.totals.request(name, ok, latency);
        self.lock().update(name, at, |slot| {
            if ok {
                slot.counts.requests_ok += 1;
            } else {
                slot.counts.requests_failed += 1;
            }
            if rate_limited {
                slot.counts.rate_limit_hits += 1;
            }
            slot.record_latency(latency);
        });
    }

    pub fn record_run(&self, name: &str, at: DateTime<Utc>, ok: bool, records: u64) {
        let mut inner = self.lock();
        let metrics = inner.update(name, at, |slot| {
            slot.counts.records += records;
            if ok {
                slot.counts.runs_ok += 1;
            } else {
                slot.counts.runs_failed += 1;
            }
        });
        if ok {
            metrics.last_success = Some(at);
        } else {
            metrics.last_failure = Some(at);
        }
    }

    pub fn stats(&self, name: &str, window: Window, now: DateTime<Utc>) -> Stats {
        self.stats_over(
            name,
            Duration::from_secs(window.seconds() as u64),
            now,
            true,
        )
    }

    /// Figures over `window` for one integration, or for all together (`None`):
    /// counts summed, percentiles from the merged latency histograms (a percentile of
    /// all requests, not the worst of each integration's), and the time covered since
    /// the first figure of any of them.
    pub fn window_stats(
        &self,
        name: Option<&str>,
        window: Window,
        now: DateTime<Utc>,
    ) -> WindowStats {
        let (seconds, now) = (window.seconds(), now.timestamp());
        let inner = self.lock();
        let mut total = Stats::default();
        let mut merged = Latency::default();
        let mut since = None::<i64>;
        // One integration is looked up, not searched for among 10,000 under the lock
        // that every request's figures wait on.
        let chosen: Vec<&IntegrationMetrics> = match name {
            Some(name) => inner.integrations.get(name).into_iter().collect(),
            None => inner.integrations.values().collect(),
        };
        for metrics in chosen {
            metrics
                .ring_for(seconds)
                .add_to(now - seconds, &mut total, Some(&mut merged));
            since = Some(since.map_or(metrics.since, |s| s.min(metrics.since)));
        }
        WindowStats {
            stats: with_percentiles(total, &merged),
            covered_seconds: since.map_or(0, |since| (now - since).clamp(1, seconds) as u64),
        }
    }

    /// Figures over any window up to a day, as alert rules ask for them. Without
    /// `latency` the percentiles are left out, which spares merging histograms.
    pub fn stats_over(
        &self,
        name: &str,
        window: Duration,
        now: DateTime<Utc>,
        latency: bool,
    ) -> Stats {
        self.lock()
            .integrations
            .get(name)
            .map(|m| m.stats(window.as_secs() as i64, now.timestamp(), latency))
            .unwrap_or_default()
    }

    pub fn last_success_and_failure(
        &self,
        name: &str,
    ) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
        self.lock()
            .integrations
            .get(name)
            .map_or((None, None), |m| (m.last_success, m.last_failure))
    }

    /// Minutes that have ended since the last call, for the store.
    pub fn take_finished_minutes(&self) -> Vec<MinuteRollup> {
        std::mem::take(&mut self.lock().finished_minutes)
    }

    pub fn forget(&self, name: &str) {
        self.lock().integrations.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(seconds: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
    }

    #[test]
    fn windows_count_what_falls_inside_them() {
        let metrics = Metrics::default();
        for i in 0..100u64 {
            metrics.record_request("a", t(0), true, Duration::from_millis(i + 1), false);
        }
        metrics.record_request("a", t(0), false, Duration::from_millis(5), true);
        metrics.record_run("a", t(10), true, 40);
        metrics.record_run("a", t(20), false, 0);
        let five = metrics.stats("a", Window::FiveMinutes, t(30));
        assert_eq!(
            (five.requests_ok, five.requests_failed, five.rate_limit_hits),
            (100, 1, 1)
        );
        assert_eq!(five.records, 40);
        assert_eq!(five.success_rate(), Some(0.5));
        assert_eq!(five.p50_ms, Some(50));
        assert!(five.p99_ms.unwrap() >= 99 && five.p99_ms.unwrap() <= 100);
        // Ten minutes later the 5 m window is empty, the 1 h and 24 h ones are not.
        let later = t(600);
        assert_eq!(
            metrics.stats("a", Window::FiveMinutes, later).requests_ok,
            0
        );
        assert_eq!(metrics.stats("a", Window::Hour, later).requests_ok, 100);
        assert_eq!(
            metrics.stats("a", Window::Day, t(20 * 3600)).requests_ok,
            100
        );
        // The 24 h window is made of 2 h slots, so it may reach one slot further back.
        assert_eq!(
            metrics
                .stats("a", Window::Day, t(26 * 3600 + 1))
                .requests_ok,
            0
        );
        assert_eq!(
            metrics.last_success_and_failure("a"),
            (Some(t(10)), Some(t(20)))
        );
    }

    #[test]
    fn finished_minutes_become_rollups() {
        let metrics = Metrics::default();
        metrics.record_request("a", t(5), true, Duration::from_millis(10), false);
        metrics.record_request("a", t(50), true, Duration::from_millis(30), false);
        assert!(
            metrics.take_finished_minutes().is_empty(),
            "the minute is not over"
        );
        metrics.record_request("a", t(65), true, Duration::from_millis(10), false);
        let rollups = metrics.take_finished_minutes();
        assert_eq!(rollups.len(), 1);
        assert_eq!(rollups[0].minute, t(0).timestamp() / 60);
        assert_eq!(rollups[0].stats.requests_ok, 2);
        assert_eq!(rollups[0].stats.p95_ms, Some(30));
    }

    #[test]
    fn all_together_is_a_percentile_of_all_requests_over_the_time_covered() {
        let metrics = Metrics::default();
        // 90 fast requests on one integration, 10 slow ones on another, over the two
        // minutes since the first.
        for i in 0..90 {
            metrics.record_request("fast", t(i), true, Duration::from_millis(10), false);
        }
        for i in 0..10 {
            metrics.record_request("slow", t(i), true, Duration::from_millis(1_000), false);
        }
        let now = t(120);
        let all = metrics.window_stats(None, Window::Hour, now);
        assert_eq!(all.stats.requests_ok, 100);
        assert_eq!(all.stats.p50_ms, Some(10), "not the slow one's p50");
        assert!(
            all.stats.p99_ms.is_some_and(|p| p >= 900),
            "{:?}",
            all.stats
        );
        assert_eq!(all.covered_seconds, 120);
        assert_eq!(all.per_minute(all.stats.requests_ok), Some(50.0));
        let slow = metrics.window_stats(Some("slow"), Window::Hour, now);
        assert_eq!(slow.stats.requests_ok, 10);
        assert_eq!(slow.covered_seconds, 120);
        assert_eq!(
            metrics.window_stats(Some("none"), Window::Hour, now),
            WindowStats::default()
        );
    }
}

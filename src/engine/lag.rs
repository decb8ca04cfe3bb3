//! Scheduling lag: how late fires start after they were due, since start and over
//! about the last minute. At 3 a.m. the question is how late fires are *now*; a figure
//! since start keeps a morning's spike for days.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

use super::handle::LagStats;

/// The recent figure covers the current half-minute and the one before it.
const HALF: Duration = Duration::from_secs(30);

pub(super) struct LagRecorder {
    since_start: Histogram<u64>,
    current: Histogram<u64>,
    previous: Histogram<u64>,
    current_began: Instant,
}

fn histogram() -> Histogram<u64> {
    // One microsecond to an hour, two significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 2).expect("static bounds")
}

impl LagRecorder {
    pub(super) fn new() -> Self {
        Self {
            since_start: histogram(),
            current: histogram(),
            previous: histogram(),
            current_began: Instant::now(),
        }
    }

    pub(super) fn record(&mut self, lag_us: u64) {
        self.turn(Instant::now());
        self.since_start.saturating_record(lag_us);
        self.current.saturating_record(lag_us);
    }

    /// Starts a new half-minute when the current one is over; after a quiet minute
    /// nothing is recent.
    fn turn(&mut self, now: Instant) {
        let age = now.saturating_duration_since(self.current_began);
        if age < HALF {
            return;
        }
        if age < 2 * HALF {
            std::mem::swap(&mut self.previous, &mut self.current);
        } else {
            self.previous.reset();
        }
        self.current.reset();
        self.current_began = now;
    }

    pub(super) fn stats(&self) -> LagStats {
        let mut recent = self.current.clone();
        let age = self.current_began.elapsed();
        if age >= 2 * HALF {
            recent.reset();
        } else if age < HALF {
            // Same bounds: adding cannot fail.
            let _ = recent.add(&self.previous);
        }
        LagStats {
            fires: self.since_start.len(),
            p50_us: self.since_start.value_at_quantile(0.5),
            p99_us: self.since_start.value_at_quantile(0.99),
            max_us: self.since_start.max(),
            recent_fires: recent.len(),
            recent_p99_us: recent.value_at_quantile(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recent_lag_forgets_a_spike_a_minute_later() {
        let mut lag = LagRecorder::new();
        let start = Instant::now();
        for _ in 0..100 {
            lag.record(900_000);
        }
        // A minute on, fires are prompt again.
        lag.current_began = start - 2 * HALF;
        lag.turn(Instant::now());
        for _ in 0..100 {
            lag.current.saturating_record(1_000);
            lag.since_start.saturating_record(1_000);
        }
        let stats = lag.stats();
        assert_eq!(stats.fires, 200);
        assert!(stats.p99_us >= 890_000, "since start keeps the spike");
        assert_eq!(stats.recent_fires, 100);
        assert!(stats.recent_p99_us < 2_000, "{stats:?}");
    }

    #[test]
    fn the_half_minute_before_counts_as_recent() {
        let mut lag = LagRecorder::new();
        lag.record(5_000);
        lag.current_began = Instant::now() - HALF;
        lag.record(7_000);
        let stats = lag.stats();
        assert_eq!(stats.recent_fires, 2);
    }
}

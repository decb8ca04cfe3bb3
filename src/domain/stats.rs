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

/// Figures over a window and how much of the window they cover: just after a start
/// the last hour holds a few minutes, and a rate is per minute of those, not of 60.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WindowStats {
    pub stats: Stats,
    pub covered_seconds: u64,
}

impl WindowStats {
    /// `count` per minute of the time covered; `None` before anything was counted.
    pub fn per_minute(&self, count: u64) -> Option<f64> {
        (self.covered_seconds > 0).then(|| count as f64 * 60.0 / self.covered_seconds as f64)
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

/// The share of successful runs over the last day, week and 30 days, from the minute
/// rollups (so it trails the current minute). For a check this is its uptime; `None`
/// means no run finished in that window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Uptime {
    pub day: Option<Share>,
    pub week: Option<Share>,
    pub month: Option<Share>,
}

/// Successful runs out of finished runs, kept as counts so that the percentage shown is
/// exact: 57 of 100 is 57.00 %, not the 56.99 % that floating point rounds down to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Share {
    pub ok: u64,
    pub total: u64,
}

impl Share {
    /// In hundredths of a percent, rounded down, so an outage never shows as 100 %.
    pub fn basis_points(self) -> u64 {
        let points = u128::from(self.ok) * 10_000 / u128::from(self.total.max(1));
        u64::try_from(points).unwrap_or(10_000)
    }
}

/// `57.00%`, `99.99%`, `100%`.
impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.basis_points() {
            10_000.. => f.write_str("100%"),
            points => write!(f, "{}.{:02}%", points / 100, points % 100),
        }
    }
}

impl Uptime {
    const WINDOWS_MINUTES: [i64; 3] = [24 * 60, 7 * 24 * 60, Self::LONGEST_DAYS * 24 * 60];
    /// How far back uptime looks, and so how long minute rollups are kept at least.
    pub const LONGEST_DAYS: i64 = 30;

    pub fn from_rollups(rollups: &[MinuteRollup], now_minute: i64) -> Self {
        let mut totals: [Stats; 3] = Default::default();
        for rollup in rollups {
            for (window, total) in Self::WINDOWS_MINUTES.iter().zip(&mut totals) {
                if rollup.minute >= now_minute - window {
                    total.add_counts(&rollup.stats);
                }
            }
        }
        let [day, week, month] = totals.map(|t| {
            let total = t.runs_ok + t.runs_failed;
            (total > 0).then_some(Share {
                ok: t.runs_ok,
                total,
            })
        });
        Self { day, week, month }
    }
}

/// "12s", "5m", "3h", "2d": how long a span of time is, in its largest unit.
pub fn short_span(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// "3d 4h", "2h 5m", "4m 10s", "12s": how long a service has been up.
pub fn long_span(seconds: i64) -> String {
    let s = seconds.max(0);
    let (big, small) = match s {
        0..60 => return format!("{s}s"),
        60..3600 => ((s / 60, "m"), (s % 60, "s")),
        3600..86_400 => ((s / 3600, "h"), (s % 3600 / 60, "m")),
        _ => ((s / 86_400, "d"), (s % 86_400 / 3600, "h")),
    };
    format!("{}{} {}{}", big.0, big.1, small.0, small.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_in_their_largest_units() {
        assert_eq!(
            [
                short_span(-3),
                short_span(59),
                short_span(61),
                short_span(7200),
                short_span(200_000)
            ],
            ["0s", "59s", "1m", "2h", "2d"]
        );
        assert_eq!(
            [
                long_span(12),
                long_span(250),
                long_span(7500),
                long_span(273_600)
            ],
            ["12s", "4m 10s", "2h 5m", "3d 4h"]
        );
    }

    fn minute(minute: i64, ok: u64, failed: u64) -> MinuteRollup {
        MinuteRollup {
            integration: "probe".into(),
            minute,
            stats: Stats {
                runs_ok: ok,
                runs_failed: failed,
                ..Stats::default()
            },
        }
    }

    #[test]
    fn uptime_counts_each_window_from_its_own_start() {
        let now = 100_000;
        let rollups = [
            minute(now - 40 * 24 * 60, 0, 50), // older than every window
            minute(now - 20 * 24 * 60, 0, 1),  // in the 30 days only
            minute(now - 3 * 24 * 60, 1, 1),   // in the week
            minute(now - 10, 9, 0),            // in the day
        ];
        let uptime = Uptime::from_rollups(&rollups, now);
        let share = |ok, total| Some(Share { ok, total });
        assert_eq!(uptime.day, share(9, 9));
        assert_eq!(uptime.week, share(10, 11));
        assert_eq!(uptime.month, share(10, 12));
        assert_eq!(Uptime::from_rollups(&[], now), Uptime::default());
    }

    #[test]
    fn shares_are_shown_exactly_and_rounded_down() {
        let shown = |ok, total| Share { ok, total }.to_string();
        assert_eq!(shown(57, 100), "57.00%");
        assert_eq!(shown(9_999, 10_000), "99.99%");
        assert_eq!(shown(99_999, 100_000), "99.99%", "never rounds up to 100");
        assert_eq!(shown(5, 5), "100%");
        assert_eq!(shown(u64::MAX - 1, u64::MAX), "99.99%");
    }
}

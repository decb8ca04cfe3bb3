//! Time as the engine sees it. Production reads the system clock; tests use tokio's
//! paused clock, which `Utc::now()` knows nothing about.

use chrono::{DateTime, Utc};
use tokio::time::Instant;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// The tokio instant at which wall-clock time `at` arrives.
    fn instant_at(&self, at: DateTime<Utc>) -> Instant {
        let ahead = (at - self.now()).to_std().unwrap_or_default();
        Instant::now() + ahead
    }
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// Wall-clock time derived from tokio's clock, starting at a fixed moment: with
/// `tokio::time::pause()` the engine's whole notion of time is under the test's control.
pub struct TokioClock {
    start: DateTime<Utc>,
    start_instant: Instant,
}

impl TokioClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            start,
            start_instant: Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = Instant::now() - self.start_instant;
        self.start + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

//! An API's own account of its quota (`quota = { remaining = "X-RateLimit-Remaining",
//! ... }`), read off every response, so requests slow down before the API answers 429
//! and wait for the reset once nothing is left.
//!
//! Every figure comes from a server: each is parsed checked, and a reset further away
//! than a day is taken as a day.

use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;

use crate::config::model::{QuotaHeaders, ResetIs};
use crate::domain::QuotaLeft;

/// Below this share of the quota, requests are spread over the time to the reset.
const SLOW_BELOW_PERCENT: f64 = 10.0;
/// The furthest reset believed; a server saying more is wrong or hostile.
const LONGEST_RESET: Duration = Duration::from_secs(24 * 3600);

/// What the next request should do about the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Go,
    /// Wait this long first: the quota is low (spread what is left) or spent.
    Wait(Duration),
}

#[derive(Debug, Clone, Copy)]
struct Reading {
    left: QuotaLeft,
    resets_at: Option<DateTime<Utc>>,
}

pub struct QuotaGauge {
    headers: QuotaHeaders,
    last: Mutex<Option<Reading>>,
}

impl QuotaGauge {
    pub fn new(headers: QuotaHeaders) -> Self {
        Self {
            headers,
            last: Mutex::new(None),
        }
    }

    /// Reads a response's quota headers; `None` when it sent none (or nonsense).
    pub fn observe(&self, headers: &HeaderMap, now: DateTime<Utc>) -> Option<QuotaLeft> {
        let number =
            |name: &str| -> Option<u64> { headers.get(name)?.to_str().ok()?.trim().parse().ok() };
        let remaining = number(&self.headers.remaining)?;
        let limit = self.headers.limit.as_deref().and_then(number);
        let resets_at = self.headers.reset.as_deref().and_then(|name| {
            let value = number(name)?;
            let at = match self.headers.reset_is {
                ResetIs::Epoch => DateTime::from_timestamp(i64::try_from(value).ok()?, 0)?,
                ResetIs::Seconds => now.checked_add_signed(chrono::Duration::seconds(
                    i64::try_from(value)
                        .ok()?
                        .min(LONGEST_RESET.as_secs() as i64),
                ))?,
            };
            let latest = now + chrono::Duration::from_std(LONGEST_RESET).ok()?;
            Some(at.min(latest))
        });
        let left = QuotaLeft { remaining, limit };
        *self.lock() = Some(Reading { left, resets_at });
        Some(left)
    }

    /// Whether the quota, as last reported, lets a request go now.
    pub fn pace(&self, now: DateTime<Utc>) -> Pace {
        let Some(reading) = *self.lock() else {
            return Pace::Go;
        };
        let Some(until_reset) = reading
            .resets_at
            .and_then(|at| (at - now).to_std().ok())
            .filter(|d| !d.is_zero())
        else {
            // Reset already, or the API does not say when: nothing to wait for.
            return Pace::Go;
        };
        let remaining = reading.left.remaining;
        if remaining == 0 {
            return Pace::Wait(until_reset);
        }
        match reading.left.percent() {
            Some(percent) if percent < SLOW_BELOW_PERCENT => {
                let share = u32::try_from(remaining.saturating_add(1)).unwrap_or(u32::MAX);
                Pace::Wait(until_reset / share)
            }
            _ => Pace::Go,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Reading>> {
        self.last.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn github() -> QuotaGauge {
        QuotaGauge::new(QuotaHeaders {
            remaining: "x-ratelimit-remaining".into(),
            limit: Some("x-ratelimit-limit".into()),
            reset: Some("x-ratelimit-reset".into()),
            reset_is: ResetIs::Epoch,
        })
    }

    fn headers(pairs: &[(&'static str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn seen(gauge: &QuotaGauge, remaining: u64, limit: u64, reset_in: i64) -> Option<QuotaLeft> {
        gauge.observe(
            &headers(&[
                ("x-ratelimit-remaining", remaining.to_string()),
                ("x-ratelimit-limit", limit.to_string()),
                (
                    "x-ratelimit-reset",
                    (now().timestamp() + reset_in).to_string(),
                ),
            ]),
            now(),
        )
    }

    #[test]
    fn plenty_left_goes_at_once() {
        let gauge = github();
        assert_eq!(gauge.pace(now()), Pace::Go, "nothing seen yet");
        seen(&gauge, 4_000, 5_000, 3600);
        assert_eq!(gauge.pace(now()), Pace::Go);
    }

    #[test]
    fn a_low_quota_spreads_what_is_left_over_the_time_to_the_reset() {
        let gauge = github();
        let percent = seen(&gauge, 99, 5_000, 100).and_then(|l| l.percent());
        assert!(
            percent.is_some_and(|p| (p - 1.98).abs() < 1e-9),
            "{percent:?}"
        );
        assert_eq!(gauge.pace(now()), Pace::Wait(Duration::from_secs(1)));
    }

    #[test]
    fn a_spent_quota_waits_for_the_reset_and_then_goes() {
        let gauge = github();
        assert_eq!(seen(&gauge, 0, 5_000, 30).map(|l| l.remaining), Some(0));
        assert_eq!(gauge.pace(now()), Pace::Wait(Duration::from_secs(30)));
        let later = now() + chrono::Duration::seconds(31);
        assert_eq!(gauge.pace(later), Pace::Go);
    }

    #[test]
    fn a_reset_years_away_is_taken_as_a_day() {
        let gauge = github();
        seen(&gauge, 0, 5_000, 10 * 365 * 86_400);
        assert_eq!(gauge.pace(now()), Pace::Wait(LONGEST_RESET));
    }

    proptest! {
        #[test]
        fn any_header_values_are_read_without_panicking(
            remaining in ".{0,24}", limit in ".{0,24}", reset in ".{0,24}"
        ) {
            let gauge = github();
            let mut map = HeaderMap::new();
            for (name, value) in [("x-ratelimit-remaining", remaining), ("x-ratelimit-limit", limit), ("x-ratelimit-reset", reset)] {
                if let Ok(value) = value.parse() {
                    map.insert(name, value);
                }
            }
            let _ = gauge.observe(&map, now());
            let _ = gauge.pace(now());
        }
    }
}

//! Backoff between attempts: exponential with full jitter, and the server's own
//! `Retry-After` when it gives one.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::config::RetryPolicy;

/// The wait before attempt `attempt + 1` after `attempt` failed (1-based): a uniform
/// draw from `[0, min(max_delay, base_delay * 2^(attempt-1))]` ("full jitter").
pub fn backoff(policy: &RetryPolicy, attempt: u32, rng: &mut impl Rng) -> Duration {
    let ceiling = backoff_ceiling(policy, attempt);
    Duration::from_nanos(rng.random_range(0..=ceiling.as_nanos() as u64))
}

pub fn backoff_ceiling(policy: &RetryPolicy, attempt: u32) -> Duration {
    let exponent = attempt.saturating_sub(1).min(32);
    policy
        .base_delay
        .as_std()
        .saturating_mul(1u32 << exponent.min(31))
        .min(policy.max_delay.as_std())
}

/// The longest wait a server can ask for. Anything longer is taken as this, so that
/// `Retry-After: 99999999999` neither overflows time arithmetic nor parks a run for ages.
pub const MAX_SERVER_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Parses `Retry-After`: delay-seconds, or an HTTP-date. A date in the past means now.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds).min(MAX_SERVER_WAIT));
    }
    let date = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    let wait = date.signed_duration_since(now).to_std().unwrap_or_default();
    Some(wait.min(MAX_SERVER_WAIT))
}

/// A wait in seconds as a server wrote it in a body (`0.4`, `1e30`, `-1`, `NaN`).
pub fn wait_from_seconds(seconds: f64) -> Option<Duration> {
    if seconds.is_nan() || seconds < 0.0 {
        return None;
    }
    Some(Duration::try_from_secs_f64(seconds).map_or(MAX_SERVER_WAIT, |d| d.min(MAX_SERVER_WAIT)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::HumanDuration;
    use chrono::TimeZone;
    use rand::SeedableRng;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 10,
            base_delay: HumanDuration(Duration::from_millis(500)),
            max_delay: HumanDuration(Duration::from_secs(30)),
        }
    }

    #[test]
    fn backoff_grows_exponentially_within_the_cap() {
        let policy = policy();
        let ceilings: Vec<_> = (1..=8)
            .map(|a| backoff_ceiling(&policy, a).as_millis())
            .collect();
        assert_eq!(ceilings, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for attempt in 1..=8 {
            for _ in 0..200 {
                assert!(backoff(&policy, attempt, &mut rng) <= backoff_ceiling(&policy, attempt));
            }
        }
        assert_eq!(
            backoff_ceiling(&policy, 1000),
            Duration::from_secs(30),
            "no overflow"
        );
    }

    #[test]
    fn waits_from_servers_are_clamped_not_overflowed() {
        let now = Utc::now();
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(MAX_SERVER_WAIT)
        );
        assert_eq!(
            parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now),
            Some(MAX_SERVER_WAIT)
        );
        assert_eq!(wait_from_seconds(1e300), Some(MAX_SERVER_WAIT));
        assert_eq!(wait_from_seconds(0.4), Some(Duration::from_millis(400)));
        assert_eq!(wait_from_seconds(f64::NAN), None);
        assert_eq!(wait_from_seconds(-1.0), None);
    }

    #[test]
    fn retry_after_in_both_forms() {
        let now = Utc.with_ymd_and_hms(2026, 11, 22, 10, 0, 0).unwrap();
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 10:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Sun, 22 Nov 2026 09:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}

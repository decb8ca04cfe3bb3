//! Rate limits per integration (governor, and the API's own quota headers) and
//! concurrent requests per host.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter as Governor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::quota::{Pace, QuotaGauge};
use crate::config::{Integration, RateLimit};
use crate::domain::QuotaLeft;

/// governor's clock, read from tokio's: rate-limit waits follow a paused test clock.
#[derive(Clone)]
pub struct TokioGovernorClock {
    base: Instant,
}

impl GovernorClock for TokioGovernorClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        Instant::now() - self.base
    }
}

type Limiter = Governor<NotKeyed, InMemoryState, TokioGovernorClock, NoOpMiddleware<Duration>>;

/// How fast one integration may send: `rate_limit = { requests, per, burst }` (a
/// request waits for a slot), and the quota the API reports (`quota`), which slows
/// requests as it runs low and holds them while it is spent.
pub struct RateLimiter {
    governor: Option<(Limiter, TokioGovernorClock)>,
    quota: Option<QuotaGauge>,
}

impl RateLimiter {
    /// The integration's limiter, or `None` when it has neither setting.
    pub fn of(integration: &Integration) -> Option<Arc<Self>> {
        if integration.rate_limit.is_none() && integration.quota.is_none() {
            return None;
        }
        Some(Arc::new(Self {
            governor: integration.rate_limit.as_ref().map(governor),
            quota: integration.quota.clone().map(QuotaGauge::new),
        }))
    }

    /// Waits until a request may go; returns whether it had to wait. A quota that
    /// stays spent for longer than `max_wait` is `Err` with the time to its reset.
    pub async fn acquire(&self, now: DateTime<Utc>, max_wait: Duration) -> Result<bool, Duration> {
        let mut waited = false;
        if let Some(quota) = &self.quota
            && let Pace::Wait(wait) = quota.pace(now)
        {
            if wait > max_wait {
                return Err(wait);
            }
            tokio::time::sleep(wait).await;
            waited = true;
        }
        if let Some((governor, clock)) = &self.governor {
            while let Err(not_until) = governor.check() {
                waited = true;
                tokio::time::sleep(not_until.wait_time_from(clock.now())).await;
            }
        }
        Ok(waited)
    }

    /// Takes in the quota a response reports, if the integration reads one.
    pub fn observe(
        &self,
        headers: &reqwest::header::HeaderMap,
        now: DateTime<Utc>,
    ) -> Option<QuotaLeft> {
        self.quota.as_ref()?.observe(headers, now)
    }
}

fn governor(limit: &RateLimit) -> (Limiter, TokioGovernorClock) {
    let period = limit.per.as_std() / limit.requests.get();
    let burst = limit.burst.unwrap_or(limit.requests);
    let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
        .expect("period is above zero")
        .allow_burst(burst);
    let clock = TokioGovernorClock {
        base: Instant::now(),
    };
    (Governor::direct_with_clock(quota, clock.clone()), clock)
}

/// One semaphore per host, created on first use.
pub struct HostLimits {
    per_host: usize,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl HostLimits {
    pub fn new(per_host: NonZeroU32) -> Self {
        Self {
            per_host: per_host.get() as usize,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    pub async fn acquire(&self, host: &str) -> OwnedSemaphorePermit {
        let semaphore = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            Arc::clone(
                hosts
                    .entry(host.to_owned())
                    .or_insert_with(|| Arc::new(Semaphore::new(self.per_host))),
            )
        };
        semaphore
            .acquire_owned()
            .await
            .expect("host semaphores are never closed")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::duration::HumanDuration;

    #[tokio::test(start_paused = true)]
    async fn requests_past_the_burst_wait_for_their_slot() {
        let limiter = RateLimiter {
            governor: Some(governor(&RateLimit {
                requests: NonZeroU32::new(10).unwrap(),
                per: HumanDuration(Duration::from_secs(1)),
                burst: NonZeroU32::new(2),
            })),
            quota: None,
        };
        let acquire = || limiter.acquire(Utc::now(), Duration::MAX);
        let start = Instant::now();
        assert_eq!(acquire().await, Ok(false));
        assert_eq!(acquire().await, Ok(false));
        assert_eq!(acquire().await, Ok(true), "the third waits");
        let waited = Instant::now() - start;
        assert!(
            waited >= Duration::from_millis(99) && waited <= Duration::from_millis(101),
            "{waited:?}"
        );
    }
}

//! Rate limits per integration (governor) and concurrent requests per host.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter as Governor};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::config::RateLimit;

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

/// `rate_limit = { requests, per, burst }`: a request waits for a slot, it never fails.
pub struct RateLimiter {
    governor: Governor<NotKeyed, InMemoryState, TokioGovernorClock, NoOpMiddleware<Duration>>,
    clock: TokioGovernorClock,
}

impl RateLimiter {
    pub fn new(limit: &RateLimit) -> Self {
        let period = limit.per.as_std() / limit.requests.get();
        let burst = limit.burst.unwrap_or(limit.requests);
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("period is above zero")
            .allow_burst(burst);
        let clock = TokioGovernorClock {
            base: Instant::now(),
        };
        Self {
            governor: Governor::direct_with_clock(quota, clock.clone()),
            clock,
        }
    }

    /// Waits until a request may go. Returns whether it had to wait.
    pub async fn acquire(&self) -> bool {
        let mut waited = false;
        while let Err(not_until) = self.governor.check() {
            waited = true;
            tokio::time::sleep(not_until.wait_time_from(self.clock.now())).await;
        }
        waited
    }
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
        let limiter = RateLimiter::new(&RateLimit {
            requests: NonZeroU32::new(10).unwrap(),
            per: HumanDuration(Duration::from_secs(1)),
            burst: NonZeroU32::new(2),
        });
        let start = Instant::now();
        assert!(!limiter.acquire().await);
        assert!(!limiter.acquire().await);
        assert!(limiter.acquire().await, "the third waits");
        let waited = Instant::now() - start;
        assert!(
            waited >= Duration::from_millis(99) && waited <= Duration::from_millis(101),
            "{waited:?}"
        );
    }
}

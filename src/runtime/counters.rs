//! What a run counts while it runs; shared by the run's requests, read at the end.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use chrono::{DateTime, Utc};

use crate::domain::QuotaLeft;

#[derive(Debug, Default)]
pub struct RunCounters {
    pub requests: AtomicU32,
    pub retries: AtomicU32,
    pub bytes: AtomicU64,
    pub rate_limit_hits: AtomicU32,
    pub rate_limit_waits: AtomicU32,
    /// The earliest certificate expiry seen, in unix seconds; 0 when none was seen.
    certificate_not_after: AtomicI64,
    /// The quota the last response reported.
    quota_left: Mutex<Option<QuotaLeft>>,
}

impl RunCounters {
    pub fn add(counter: &AtomicU32) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU32) -> u32 {
        counter.load(Ordering::Relaxed)
    }

    /// Notes a server certificate; the run keeps the one that expires first.
    pub fn saw_certificate(&self, not_after: DateTime<Utc>) {
        let seen = not_after.timestamp();
        let _ = self.certificate_not_after.fetch_update(
            Ordering::Relaxed,
            Ordering::Relaxed,
            |earliest| (earliest == 0 || seen < earliest).then_some(seen),
        );
    }

    /// Notes the quota a response reported; the run keeps the latest.
    pub fn saw_quota(&self, left: QuotaLeft) {
        *self.quota_left.lock().unwrap_or_else(|e| e.into_inner()) = Some(left);
    }

    pub fn quota_left(&self) -> Option<QuotaLeft> {
        *self.quota_left.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn certificate_not_after(&self) -> Option<DateTime<Utc>> {
        match self.certificate_not_after.load(Ordering::Relaxed) {
            0 => None,
            seconds => DateTime::from_timestamp(seconds, 0),
        }
    }
}

//! What a run counts while it runs; shared by the run's requests, read at the end.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

#[derive(Debug, Default)]
pub struct RunCounters {
    pub requests: AtomicU32,
    pub retries: AtomicU32,
    pub bytes: AtomicU64,
    pub rate_limit_hits: AtomicU32,
    pub rate_limit_waits: AtomicU32,
}

impl RunCounters {
    pub fn add(counter: &AtomicU32) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU32) -> u32 {
        counter.load(Ordering::Relaxed)
    }
}

//! One timer structure for every integration: a min-heap of due times. 10,000 idle
//! schedules cost one sleeping task and a heap entry each.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Due {
    pub at: Instant,
    /// Breaks ties in push order.
    seq: u64,
    pub name: Arc<str>,
    /// Matches the integration's generation, or the entry is stale and ignored:
    /// rescheduling bumps the generation instead of searching the heap.
    pub generation: u64,
    /// The schedule's own fire time, before jitter: the next fire counts from here.
    pub scheduled: DateTime<Utc>,
    /// When it was meant to start, jitter included: lag is measured from here.
    pub due: DateTime<Utc>,
}

#[derive(Default)]
pub struct DueQueue {
    heap: BinaryHeap<Reverse<Due>>,
    seq: u64,
}

impl DueQueue {
    pub fn push(
        &mut self,
        at: Instant,
        name: Arc<str>,
        generation: u64,
        scheduled: DateTime<Utc>,
        due: DateTime<Utc>,
    ) {
        self.seq += 1;
        self.heap.push(Reverse(Due {
            at,
            seq: self.seq,
            name,
            generation,
            scheduled,
            due,
        }));
    }

    pub fn next_at(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse(due)| due.at)
    }

    /// Removes and returns every entry due at or before `now`, earliest first.
    pub fn pop_due(&mut self, now: Instant) -> Vec<Due> {
        let mut due = Vec::new();
        while self.heap.peek().is_some_and(|Reverse(d)| d.at <= now) {
            due.extend(self.heap.pop().map(|Reverse(d)| d));
        }
        due
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn pops_in_time_order() {
        let mut queue = DueQueue::default();
        let now = Instant::now();
        let t = Utc::now();
        queue.push(now + Duration::from_secs(3), "c".into(), 1, t, t);
        queue.push(now + Duration::from_secs(1), "a".into(), 1, t, t);
        queue.push(now + Duration::from_secs(2), "b".into(), 1, t, t);
        assert_eq!(queue.next_at(), Some(now + Duration::from_secs(1)));
        let due: Vec<_> = queue
            .pop_due(now + Duration::from_secs(2))
            .into_iter()
            .map(|d| d.name)
            .collect();
        assert_eq!(due, [Arc::from("a"), Arc::from("b")]);
        assert_eq!(queue.len(), 1);
    }
}

//! A sparse log-linear latency histogram.
//!
//! Every integration keeps one per metrics slot, dozens of slots each, and there may
//! be 10,000 integrations. hdrhistogram's dense counts (about 5.6 KB per histogram at
//! two significant figures) would need gigabytes for that; latencies cluster in a few
//! buckets, so storing only occupied buckets costs a few hundred bytes per slot.
//! Resolution: exact below 128 ms, within 1/64 (1.6 %) above.

/// Values below this are their own bucket.
const LINEAR: u64 = 128;
/// Sub-buckets per power of two above `LINEAR`.
const SUB_BITS: u32 = 6;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Latency {
    /// (bucket, count), sorted by bucket.
    buckets: Vec<(u16, u32)>,
    total: u64,
}

fn bucket_of(value: u64) -> u16 {
    if value < LINEAR {
        return value as u16;
    }
    let magnitude = 63 - value.leading_zeros(); // >= 7
    let shift = magnitude - SUB_BITS;
    let sub = (value >> shift) - (1 << SUB_BITS); // 0..64
    let index = LINEAR + u64::from(magnitude - 7) * (1 << SUB_BITS) + sub;
    index.min(u64::from(u16::MAX)) as u16
}

/// The largest value that falls in `bucket`.
fn highest_in(bucket: u16) -> u64 {
    let bucket = u64::from(bucket);
    if bucket < LINEAR {
        return bucket;
    }
    let above = bucket - LINEAR;
    let magnitude = 7 + (above >> SUB_BITS) as u32;
    let sub = (above & ((1 << SUB_BITS) - 1)) + (1 << SUB_BITS);
    let shift = magnitude - SUB_BITS;
    ((sub + 1) << shift) - 1
}

impl Latency {
    pub fn record(&mut self, value_ms: u64) {
        self.add_count(bucket_of(value_ms), 1);
        self.total += 1;
    }

    fn add_count(&mut self, bucket: u16, count: u32) {
        match self.buckets.binary_search_by_key(&bucket, |(b, _)| *b) {
            Ok(i) => self.buckets[i].1 = self.buckets[i].1.saturating_add(count),
            Err(i) => self.buckets.insert(i, (bucket, count)),
        }
    }

    pub fn merge(&mut self, other: &Latency) {
        for (bucket, count) in &other.buckets {
            self.add_count(*bucket, *count);
        }
        self.total += other.total;
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// The value at quantile `q` (0..=1), reported as the top of its bucket.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.total as f64).ceil() as u64).max(1);
        let mut seen = 0u64;
        for (bucket, count) in &self.buckets {
            seen += u64::from(*count);
            if seen >= rank {
                return Some(highest_in(*bucket));
            }
        }
        self.buckets.last().map(|(b, _)| highest_in(*b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_low_and_within_two_percent_high() {
        for value in [0, 1, 50, 127] {
            assert_eq!(highest_in(bucket_of(value)), value);
        }
        for value in [128u64, 129, 500, 812, 1000, 4_095, 4_096, 59_999, 3_600_000] {
            let top = highest_in(bucket_of(value));
            assert!(top >= value, "{value} -> {top}");
            assert!(
                (top - value) as f64 <= value as f64 / 64.0 + 1.0,
                "{value} -> {top}"
            );
        }
        let mut previous = 0;
        for bucket in 0..800u16 {
            let top = highest_in(bucket);
            assert!(top >= previous, "buckets increase");
            assert_eq!(bucket_of(top), bucket);
            previous = top;
        }
    }

    #[test]
    fn quantiles_and_merge() {
        let mut a = Latency::default();
        for v in 1..=100 {
            a.record(v);
        }
        assert_eq!(a.quantile(0.5), Some(50));
        assert_eq!(a.quantile(0.95), Some(95));
        assert_eq!(a.quantile(1.0), Some(100));
        let mut b = Latency::default();
        for _ in 0..100 {
            b.record(1000);
        }
        a.merge(&b);
        assert_eq!(a.quantile(0.25), Some(50));
        let p99 = a.quantile(0.99).unwrap();
        assert!((1000..=1016).contains(&p99), "{p99}");
        assert_eq!(Latency::default().quantile(0.5), None);
    }
}

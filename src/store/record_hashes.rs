//! What was delivered, by record: each keyed record's content hash, found by the hash
//! of its primary key. Kept in 4,096 buckets per integration, each one row holding its
//! entries packed and sorted, rather than a B-tree entry per record: a run that
//! delivered 100,000 records writes 4,096 rows instead of 100,000 entries (its final
//! commit took 120 ms that way, the whole run 0.6 s), and a bucket whose entries did
//! not change is not written at all.
//!
//! A bucket is the top 12 bits of the key hash after [`spread`], so buckets fill evenly
//! whatever the keys look like. At a million records a bucket is about 6 KB; a run
//! that changes a few records rewrites only their buckets.

use std::collections::HashMap;

use redb::{ReadableTable, WriteTransaction};

use super::schema::RECORD_HASH_BUCKETS;
use super::{Result, Store};
use crate::fingerprint::spread;

/// Bytes of one entry: the key hash (16, little-endian), the content hash (8).
const ENTRY: usize = 24;
/// Buckets per integration: 2^12.
const BUCKET_BITS: u32 = 12;

/// The bucket that holds `key`.
pub fn bucket_of(key: u128) -> u16 {
    (spread(key) >> (64 - BUCKET_BITS)) as u16
}

/// Orders a run's (key hash, content hash) pairs as they are stored: by bucket, then
/// by key, so each bucket is read and written once.
pub fn sort_for_store(seen: &mut [(u128, u64)]) {
    seen.sort_unstable_by_key(|&(key, _)| (bucket_of(key), key));
}

/// A bucket's entries, sorted by key. A row whose length is not whole entries was
/// damaged: it reads as empty, so its records count as new and are delivered again
/// (a duplicate, never a loss), and the next run's write replaces it.
struct Bucket<'a>(&'a [u8]);

impl<'a> Bucket<'a> {
    fn read(row: &'a [u8], integration: &str, bucket: u16) -> Self {
        if !row.len().is_multiple_of(ENTRY) {
            tracing::warn!(
                integration,
                bucket,
                bytes = row.len(),
                "a bucket of delivered-record hashes is damaged; its records will be delivered again"
            );
            return Self(&[]);
        }
        Self(row)
    }

    fn len(&self) -> usize {
        self.0.len() / ENTRY
    }

    fn entry(&self, at: usize) -> (u128, u64) {
        let bytes = &self.0[at * ENTRY..(at + 1) * ENTRY];
        let (key, hash) = bytes.split_at(16);
        (
            u128::from_le_bytes(key.try_into().expect("16 bytes")),
            u64::from_le_bytes(hash.try_into().expect("8 bytes")),
        )
    }

    fn entries(&self) -> impl Iterator<Item = (u128, u64)> + '_ {
        (0..self.len()).map(|at| self.entry(at))
    }

    fn get(&self, key: u128) -> Option<u64> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let middle = low + (high - low) / 2;
            let (found, hash) = self.entry(middle);
            match found.cmp(&key) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return Some(hash),
            }
        }
        None
    }
}

/// `stored` with `updates` (sorted by key, one per key) laid over it, packed.
fn merge(stored: &Bucket, updates: &[(u128, u64)]) -> Vec<u8> {
    let mut out = Vec::with_capacity((stored.len() + updates.len()) * ENTRY);
    let mut push = |(key, hash): (u128, u64)| {
        out.extend_from_slice(&key.to_le_bytes());
        out.extend_from_slice(&hash.to_le_bytes());
    };
    let mut old = stored.entries().peekable();
    let mut new = updates.iter().copied().peekable();
    loop {
        match (old.peek(), new.peek()) {
            (Some(&(old_key, _)), Some(&(new_key, _))) if old_key < new_key => {
                push(old.next().expect("peeked"))
            }
            (Some(&(old_key, _)), Some(&(new_key, _))) => {
                if old_key == new_key {
                    old.next();
                }
                push(new.next().expect("peeked"));
            }
            (Some(_), None) => push(old.next().expect("peeked")),
            (None, Some(_)) => push(new.next().expect("peeked")),
            (None, None) => break,
        }
    }
    out
}

/// Stores `seen` (in [`sort_for_store`] order; any order is correct, only slower) for
/// `integration` inside `txn`. A bucket that would not change is left as it is.
pub fn put(
    txn: &WriteTransaction,
    integration: &str,
    seen: &[(u128, u64)],
) -> Result<(), redb::Error> {
    let mut table = txn.open_table(RECORD_HASH_BUCKETS)?;
    for group in seen.chunk_by(|a, b| bucket_of(a.0) == bucket_of(b.0)) {
        let bucket = bucket_of(group[0].0);
        // Sorted by key, one entry per key: the latest, as in the run.
        let mut updates: Vec<_> = group.iter().rev().copied().collect();
        updates.sort_by_key(|&(key, _)| key);
        updates.dedup_by_key(|&mut (key, _)| key);
        let row = table
            .get((integration, bucket))?
            .map(|row| row.value().to_vec())
            .unwrap_or_default();
        let merged = merge(&Bucket::read(&row, integration, bucket), &updates);
        if merged != row {
            table.insert((integration, bucket), merged.as_slice())?;
        }
    }
    Ok(())
}

impl Store {
    /// Whether anything delivered by `integration` is stored.
    pub fn has_record_hashes(&self, integration: &str) -> Result<bool> {
        let txn = self.read()?;
        let table = txn.open_table(RECORD_HASH_BUCKETS)?;
        Ok(table
            .range((integration, 0)..=(integration, u16::MAX))?
            .next()
            .is_some())
    }

    /// The stored content hashes of the records with these key hashes.
    pub fn record_hashes(&self, integration: &str, keys: &[u128]) -> Result<HashMap<u128, u64>> {
        let txn = self.read()?;
        let table = txn.open_table(RECORD_HASH_BUCKETS)?;
        let mut found = HashMap::with_capacity(keys.len());
        for &key in keys {
            let bucket = bucket_of(key);
            if let Some(row) = table.get((integration, bucket))?
                && let Some(hash) = Bucket::read(row.value(), integration, bucket).get(key)
            {
                found.insert(key, hash);
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn packed(entries: &[(u128, u64)]) -> Vec<u8> {
        merge(&Bucket(&[]), entries)
    }

    proptest! {
        /// Laying updates over a bucket is a map's insert: every key once, the update's
        /// hash where both have it, sorted so lookups can halve.
        #[test]
        fn merging_is_a_map_insert(
            stored in proptest::collection::btree_map(any::<u128>(), any::<u64>(), 0..40),
            updates in proptest::collection::btree_map(any::<u128>(), any::<u64>(), 0..40),
        ) {
            let stored_vec: Vec<_> = stored.clone().into_iter().collect();
            let updates_vec: Vec<_> = updates.clone().into_iter().collect();
            let row = packed(&stored_vec);
            let merged = merge(&Bucket(&row), &updates_vec);
            let mut expected = stored;
            expected.extend(updates);
            let bucket = Bucket(&merged);
            prop_assert_eq!(bucket.entries().collect::<Vec<_>>(), expected.clone().into_iter().collect::<Vec<_>>());
            for (key, hash) in &expected {
                prop_assert_eq!(bucket.get(*key), Some(*hash));
            }
        }

        /// Any bytes read as a bucket: whole entries are searched, anything else is
        /// empty; never a panic.
        #[test]
        fn any_row_reads_without_panicking(row in proptest::collection::vec(any::<u8>(), 0..200), key in any::<u128>()) {
            let bucket = Bucket::read(&row, "items", 0);
            let _ = bucket.get(key);
            prop_assert_eq!(bucket.entries().count(), if row.len().is_multiple_of(ENTRY) { row.len() / ENTRY } else { 0 });
        }
    }

    #[test]
    fn buckets_fill_evenly_for_short_numeric_keys() {
        let mut counts = vec![0u32; 1 << BUCKET_BITS];
        for id in 1..=100_000u32 {
            let mut hasher = crate::fingerprint::Fnv1a128::default();
            hasher.add(id.to_string().as_bytes());
            counts[usize::from(bucket_of(hasher.finish()))] += 1;
        }
        let (least, most) = (counts.iter().min(), counts.iter().max());
        assert!(
            least >= Some(&5) && most <= Some(&60),
            "{least:?}..{most:?}"
        );
    }

    #[test]
    fn stored_hashes_are_found_and_a_rewrite_changes_only_what_moved() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join(crate::store::STORE_FILE)).unwrap();
        let mut seen: Vec<(u128, u64)> = (0..5_000u128).map(|k| (k * 7919, k as u64)).collect();
        sort_for_store(&mut seen);
        store.write(|txn| Ok(put(txn, "items", &seen)?)).unwrap();
        store
            .write(|txn| Ok(put(txn, "items", &[(7919, 99), (1, 1)])?))
            .unwrap();
        let found = store.record_hashes("items", &[0, 7919, 1, 2, 3]).unwrap();
        assert_eq!(found, HashMap::from([(0, 0), (7919, 99), (1, 1)]));
        assert!(store.record_hashes("other", &[7919]).unwrap().is_empty());
        assert!(store.has_record_hashes("items").unwrap());
        assert!(!store.has_record_hashes("item").unwrap());
        assert!(!store.has_record_hashes("other").unwrap());
    }
}

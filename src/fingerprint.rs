//! Stable hashing: the same bytes give the same hash in every process and on every
//! machine (std's hasher is randomly seeded per process).

/// FNV-1a, 64 bits.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hasher = Fnv1a::default();
    hasher.add(bytes);
    hasher.finish()
}

/// The top bit of a stored content hash. Set, the other 63 bits are XXH3-64 of the
/// record's JSON text; clear, FNV-1a's (stores before schema v6). FNV-1a takes a byte
/// at a time and was 7 % of a keyed extraction's CPU; XXH3 takes 32 bytes at a time.
/// The old hashes stay valid until their records come again, so an upgrade delivers
/// nothing twice.
const XXH3_CONTENT: u64 = 1 << 63;

/// A record's content hash, from its JSON text.
pub fn content_hash(text: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text) | XXH3_CONTENT
}

/// An FNV-1a content hash of an older store, marked as such.
pub fn legacy_content_hash(fnv: u64) -> u64 {
    fnv & !XXH3_CONTENT
}

/// Whether `stored` is the content hash of `text`, whose [`content_hash`] is `hash`,
/// whichever function made `stored`.
pub fn same_content(stored: u64, text: &[u8], hash: u64) -> bool {
    if stored & XXH3_CONTENT != 0 {
        stored == hash
    } else {
        stored == legacy_content_hash(fnv1a(text))
    }
}

/// A 128-bit FNV-1a hash folded to 64 bits whose high bits move with every input bit:
/// both halves folded, then spread by a Fibonacci multiply. FNV-1a's own top bits barely
/// move for short keys (the keys `1` to `100000` share 61 values of their top 12 bits),
/// and hash tables and buckets read the top bits.
pub fn spread(hash: u128) -> u64 {
    ((hash as u64) ^ ((hash >> 64) as u64)).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// An FNV-1a hasher of one width, fed piece by piece.
macro_rules! fnv1a_hasher {
    ($(#[$doc:meta])* $name:ident: $int:ty, basis $basis:expr, prime $prime:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name($int);

        impl Default for $name {
            fn default() -> Self {
                Self($basis)
            }
        }

        impl $name {
            pub fn add(&mut self, bytes: &[u8]) {
                self.0 = bytes.iter().fold(self.0, |hash, byte| {
                    (hash ^ <$int>::from(*byte)).wrapping_mul($prime)
                });
            }

            pub fn finish(self) -> $int {
                self.0
            }
        }
    };
}

fnv1a_hasher!(
    /// FNV-1a, 64 bits: as a `Write`, it hashes what is serialised into it without the
    /// bytes ever being collected.
    Fnv1a: u64,
    basis 0xcbf2_9ce4_8422_2325,
    prime 0x0100_0000_01b3
);

fnv1a_hasher!(
    /// FNV-1a, 128 bits: a record's primary key as the store keeps it. Fixed-size where
    /// the key's text is not, and wide enough that two keys of one integration never
    /// meet.
    Fnv1a128: u128,
    basis 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d,
    prime 0x0000_0000_0100_0000_0000_0000_0000_013b
);

impl std::io::Write for Fnv1a {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.add(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Formatting into it hashes the text without ever holding it (a number's digits).
impl std::fmt::Write for Fnv1a128 {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        self.add(text.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_by_piece_hashes_as_the_whole() {
        let mut hasher = Fnv1a::default();
        hasher.add(b"patch");
        hasher.add(b"bay");
        assert_eq!(hasher.finish(), fnv1a(b"patchbay"));
        // The published FNV-1a 64 test vector: stored hashes stay valid.
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn the_128_bit_hash_matches_the_published_vector() {
        let mut hasher = Fnv1a128::default();
        hasher.add(b"a");
        assert_eq!(hasher.finish(), 0xd228_cb69_6f1a_8caf_7891_2b70_4e4a_8964);
    }
}

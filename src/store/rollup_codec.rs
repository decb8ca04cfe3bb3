//! The stored form of a minute rollup's figures: a tag byte, then each count as a
//! LEB128 varint and each percentile as a varint of `value + 1` (0: none). A check's
//! minute is about ten bytes this way against about 115 as JSON, and there is one per
//! integration per minute: 14.4 million a day at 10,000 integrations.
//!
//! Rollups written before this form are JSON objects, which start with `{`; they are
//! read as such until retention prunes them.

use crate::domain::stats::Stats;

/// The first byte of the compact form; never the first byte of JSON text.
const COMPACT: u8 = 1;
/// A u64 takes at most ten 7-bit groups.
const MAX_VARINT_BYTES: usize = 10;

pub(super) fn encode(stats: &Stats) -> Vec<u8> {
    let mut out = Vec::with_capacity(16);
    out.push(COMPACT);
    for count in [
        stats.requests_ok,
        stats.requests_failed,
        stats.rate_limit_hits,
        stats.records,
        stats.runs_ok,
        stats.runs_failed,
    ] {
        put_varint(&mut out, count);
    }
    for percentile in [stats.p50_ms, stats.p95_ms, stats.p99_ms] {
        // A percentile of u64::MAX ms is no duration anything measured; it is kept as
        // the largest that fits rather than wrapped to "none".
        put_varint(&mut out, percentile.map_or(0, |ms| ms.saturating_add(1)));
    }
    out
}

/// The figures in `bytes`: `None` when they are not in the compact form (JSON from an
/// older patchbay), `Some(Err)` when they are but are cut short or malformed.
pub(super) fn decode(bytes: &[u8]) -> Option<Result<Stats, String>> {
    let (&tag, mut rest) = bytes.split_first()?;
    if tag != COMPACT {
        return None;
    }
    let mut next = || take_varint(&mut rest);
    let stats = (|| {
        let mut stats = Stats {
            requests_ok: next()?,
            requests_failed: next()?,
            rate_limit_hits: next()?,
            records: next()?,
            runs_ok: next()?,
            runs_failed: next()?,
            ..Stats::default()
        };
        let mut percentile = || next().map(|v| v.checked_sub(1));
        stats.p50_ms = percentile()?;
        stats.p95_ms = percentile()?;
        stats.p99_ms = percentile()?;
        Ok(stats)
    })();
    Some(stats.and_then(|stats| {
        if rest.is_empty() {
            Ok(stats)
        } else {
            Err(format!("{} bytes past the figures", rest.len()))
        }
    }))
}

fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn take_varint(bytes: &mut &[u8]) -> Result<u64, String> {
    let mut value: u64 = 0;
    for (at, &byte) in bytes.iter().enumerate().take(MAX_VARINT_BYTES) {
        let group = u64::from(byte & 0x7f);
        let shift = 7 * at as u32;
        // The tenth group may carry only the top bit of a u64.
        if shift == 63 && group > 1 {
            return Err("a number larger than 64 bits".into());
        }
        value |= group << shift;
        if byte & 0x80 == 0 {
            *bytes = &bytes[at + 1..];
            return Ok(value);
        }
    }
    Err(if bytes.len() < MAX_VARINT_BYTES {
        "the figures are cut short".into()
    } else {
        "a number longer than ten bytes".into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stats() -> impl Strategy<Value = Stats> {
        let count = prop_oneof![0..100u64, any::<u64>()];
        let ms = proptest::option::of(prop_oneof![0..10_000u64, any::<u64>()]);
        (
            [count.clone(), count.clone(), count.clone()],
            [count.clone(), count.clone(), count],
            [ms.clone(), ms.clone(), ms],
        )
            .prop_map(|(a, b, p)| Stats {
                requests_ok: a[0],
                requests_failed: a[1],
                rate_limit_hits: a[2],
                records: b[0],
                runs_ok: b[1],
                runs_failed: b[2],
                p50_ms: p[0],
                p95_ms: p[1],
                p99_ms: p[2],
            })
    }

    /// What a stored percentile becomes: the same, except u64::MAX, which has no room
    /// beside "none".
    fn as_stored(mut stats: Stats) -> Stats {
        for p in [&mut stats.p50_ms, &mut stats.p95_ms, &mut stats.p99_ms] {
            *p = p.map(|ms| ms.min(u64::MAX - 1));
        }
        stats
    }

    proptest! {
        #[test]
        fn figures_come_back_as_they_went_in(stats in stats()) {
            let bytes = encode(&stats);
            prop_assert_eq!(decode(&bytes), Some(Ok(as_stored(stats))));
        }

        #[test]
        fn any_bytes_decode_to_figures_or_an_error_never_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..40)
        ) {
            let _ = decode(&bytes);
        }

        #[test]
        fn every_cut_of_the_figures_is_an_error(stats in stats(), cut in 1usize..60) {
            let bytes = encode(&stats);
            let cut = cut.min(bytes.len() - 1).max(1);
            prop_assert!(matches!(decode(&bytes[..cut]), Some(Err(_))));
        }
    }

    #[test]
    fn a_check_minute_is_ten_bytes_and_json_is_left_to_the_caller() {
        let minute = Stats {
            requests_ok: 6,
            runs_ok: 6,
            p50_ms: Some(4),
            p95_ms: Some(5),
            p99_ms: Some(5),
            ..Stats::default()
        };
        assert_eq!(encode(&minute).len(), 10);
        let json = serde_json::to_vec(&minute).unwrap();
        assert!(decode(&json).is_none());
        assert!(decode(&[]).is_none());
        let mut long = encode(&minute);
        long.push(0);
        assert!(matches!(decode(&long), Some(Err(_))));
        assert!(matches!(
            decode(&[
                COMPACT, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
            ]),
            Some(Err(_))
        ));
    }
}

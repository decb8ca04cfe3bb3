//! The stored form of minute rollups: one row per integration per hour, holding that
//! hour's minutes packed. A minute is its minute of the hour (one byte), each count as
//! a LEB128 varint and each percentile as a varint of `value + 1` (0: none); a check's
//! minute takes about ten bytes this way, against about 115 as JSON in a row of its
//! own. There is one minute per integration per minute: 14.4 million a day at 10,000
//! integrations, and a B-tree that grows each integration's range by one row a minute
//! leaves its pages half full; sixty times fewer rows do not.

use crate::domain::stats::Stats;

/// A u64 takes at most ten 7-bit groups.
const MAX_VARINT_BYTES: usize = 10;

/// One stored minute: its minute of the hour (0–59) and its figures.
pub(super) type Minute = (u8, Stats);

/// The hour's row with `minute` put in (replacing the same minute if it is there),
/// minutes in order. A row that does not decode is replaced by this minute alone:
/// these are figures for charts and uptime, and a bad row must not fail the writer's
/// transaction, which holds runs too.
pub(super) fn put_minute(row: Option<&[u8]>, minute: Minute) -> (Vec<u8>, Option<String>) {
    let (mut minutes, damage) = match row.map(decode_hour) {
        None => (Vec::new(), None),
        Some(Ok(minutes)) => (minutes, None),
        Some(Err(error)) => (Vec::new(), Some(error)),
    };
    match minutes.binary_search_by_key(&minute.0, |(at, _)| *at) {
        Ok(at) => minutes[at] = minute,
        Err(at) => minutes.insert(at, minute),
    }
    (encode_hour(&minutes), damage)
}

pub(super) fn encode_hour(minutes: &[Minute]) -> Vec<u8> {
    let mut out = Vec::with_capacity(minutes.len() * 12);
    for (minute, stats) in minutes {
        out.push(*minute);
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
            // u64::MAX ms is no duration anything measured: kept as the largest that
            // fits rather than wrapped to "none".
            put_varint(&mut out, percentile.map_or(0, |ms| ms.saturating_add(1)));
        }
    }
    out
}

/// The minutes of an hour's row, in order; an error when it is cut short, a minute is
/// out of range or out of order, or a number does not fit.
pub(super) fn decode_hour(mut bytes: &[u8]) -> Result<Vec<Minute>, String> {
    let mut minutes: Vec<Minute> = Vec::new();
    while let Some((&minute, rest)) = bytes.split_first() {
        bytes = rest;
        if minute >= 60 || minutes.last().is_some_and(|(last, _)| *last >= minute) {
            return Err(format!("minute {minute} out of place"));
        }
        let mut next = || take_varint(&mut bytes);
        let mut stats = Stats {
            requests_ok: next()?,
            requests_failed: next()?,
            rate_limit_hits: next()?,
            records: next()?,
            runs_ok: next()?,
            runs_failed: next()?,
            ..Stats::default()
        };
        stats.p50_ms = next()?.checked_sub(1);
        stats.p95_ms = next()?.checked_sub(1);
        stats.p99_ms = next()?.checked_sub(1);
        minutes.push((minute, stats));
    }
    Ok(minutes)
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
        "cut short".into()
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

    fn hour() -> impl Strategy<Value = Vec<Minute>> {
        proptest::collection::btree_map(0u8..60, stats(), 0..8)
            .prop_map(|minutes| minutes.into_iter().collect())
    }

    /// What a stored percentile becomes: the same, except u64::MAX, which has no room
    /// beside "none".
    fn as_stored(minutes: Vec<Minute>) -> Vec<Minute> {
        minutes
            .into_iter()
            .map(|(at, mut stats)| {
                for p in [&mut stats.p50_ms, &mut stats.p95_ms, &mut stats.p99_ms] {
                    *p = p.map(|ms| ms.min(u64::MAX - 1));
                }
                (at, stats)
            })
            .collect()
    }

    proptest! {
        #[test]
        fn an_hour_comes_back_as_it_went_in(minutes in hour()) {
            let bytes = encode_hour(&minutes);
            prop_assert_eq!(decode_hour(&bytes), Ok(as_stored(minutes)));
        }

        #[test]
        fn any_bytes_decode_to_minutes_or_an_error_never_a_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..80)
        ) {
            let _ = decode_hour(&bytes);
        }

        #[test]
        fn every_cut_inside_a_minute_is_an_error(minutes in hour(), cut in 1usize..200) {
            let bytes = encode_hour(&minutes);
            prop_assume!(!bytes.is_empty());
            let cut = cut.min(bytes.len() - 1);
            // A cut at a minute's end is a shorter hour, not damage.
            let ends: Vec<usize> = (1..=minutes.len())
                .map(|n| encode_hour(&minutes[..n]).len())
                .collect();
            prop_assume!(!ends.contains(&cut));
            prop_assert!(decode_hour(&bytes[..cut]).is_err());
        }

        #[test]
        fn putting_minutes_in_any_order_keeps_them_in_order(minutes in hour()) {
            let mut row: Option<Vec<u8>> = None;
            for minute in minutes.iter().rev() {
                let (bytes, damage) = put_minute(row.as_deref(), minute.clone());
                prop_assert!(damage.is_none());
                row = Some(bytes);
            }
            let back = row.map(|r| decode_hour(&r).unwrap()).unwrap_or_default();
            prop_assert_eq!(back, as_stored(minutes));
        }
    }

    #[test]
    fn a_check_minute_is_ten_bytes_and_a_minute_written_again_replaces_it() {
        let minute = Stats {
            requests_ok: 6,
            runs_ok: 6,
            p50_ms: Some(4),
            p95_ms: Some(5),
            p99_ms: Some(5),
            ..Stats::default()
        };
        let (row, _) = put_minute(None, (7, minute.clone()));
        assert_eq!(row.len(), 10);
        let again = Stats {
            runs_failed: 1,
            ..minute.clone()
        };
        let (row, _) = put_minute(Some(&row), (7, again.clone()));
        assert_eq!(decode_hour(&row), Ok(vec![(7, again)]));
        let (row, damage) = put_minute(Some(&[61, 0]), (3, minute.clone()));
        assert!(damage.is_some(), "a damaged row is reported");
        assert_eq!(decode_hour(&row), Ok(vec![(3, minute)]));
        assert!(
            decode_hour(&[
                0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f
            ])
            .is_err()
        );
    }
}

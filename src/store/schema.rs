//! redb tables, the schema version, and the migrations that bring an older store up to it.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

/// Bump when a table's layout changes, and add a step to [`MIGRATIONS`].
pub const SCHEMA_VERSION: u64 = 6;

pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub const SCHEMA_VERSION_KEY: &str = "schema_version";

/// Integration name → JSON `IntegrationState`.
pub const INTEGRATION_STATE: TableDefinition<&str, &[u8]> =
    TableDefinition::new("integration_state");
/// (integration, run id) → JSON `RunRecord`: one integration's newest runs are a
/// reverse range scan, never a full scan.
pub const RUNS: TableDefinition<(&str, u128), &[u8]> = TableDefinition::new("runs");
/// run id → integration: every integration's runs, newest first.
pub const RUNS_BY_TIME: TableDefinition<u128, &str> = TableDefinition::new("runs_by_time");
/// run id → integration, for runs still `running`: what a crash leaves to mark
/// `interrupted` at the next start, found without scanning every run.
pub const ACTIVE_RUNS: TableDefinition<u128, &str> = TableDefinition::new("active_runs");
/// (integration, bucket) → the content hashes of the records last delivered whose
/// primary keys' 128-bit hashes fall in that bucket, packed (`record_hashes`).
pub const RECORD_HASH_BUCKETS: TableDefinition<(&str, u16), &[u8]> =
    TableDefinition::new("record_hash_buckets");
/// Versions 4 and 5: (integration, 128-bit hash of the primary key) → content hash, an
/// entry per record.
const RECORD_HASHES_BY_KEY: TableDefinition<(&str, u128), u64> =
    TableDefinition::new("record_key_hashes");
/// Up to version 3: (integration, primary key as text) → content hash.
const RECORD_HASHES_BY_TEXT: TableDefinition<(&str, &str), u64> =
    TableDefinition::new("record_hashes");
/// (integration, event id) → an inbound webhook event (JSON), kept until a run's
/// outputs accepted it.
pub const INBOX: TableDefinition<(&str, u128), &[u8]> = TableDefinition::new("inbox");
/// (run id, line number) → log line.
pub const RUN_LOGS: TableDefinition<(u128, u32), &str> = TableDefinition::new("run_logs");
/// (run id, request number) → JSON `RequestTrace`: the run's requests as traced.
pub const RUN_REQUESTS: TableDefinition<(u128, u32), &[u8]> = TableDefinition::new("run_requests");
/// Integration name → JSON cursor (the incremental-sync watermark).
pub const CURSORS: TableDefinition<&str, &[u8]> = TableDefinition::new("cursors");
/// (integration, unix hour) → that hour's minute rollups, packed (`rollup_codec`).
pub const METRIC_HOURS: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("metric_hours");
/// Up to version 4: (integration, unix minute) → JSON minute rollup.
const METRICS_BY_MINUTE: TableDefinition<(&str, i64), &[u8]> = TableDefinition::new("metrics");
/// alert id → JSON alert record.
pub const ALERTS: TableDefinition<u128, &[u8]> = TableDefinition::new("alerts");
/// silence id → JSON silence (expired ones stay, as history).
pub const SILENCES: TableDefinition<u128, &[u8]> = TableDefinition::new("silences");
/// entry id (a ULID, so time-ordered) → JSON audit entry.
pub const AUDIT: TableDefinition<u128, &[u8]> = TableDefinition::new("audit");
/// secret name → age ciphertext.
pub const SECRET_VALUES: TableDefinition<&str, &[u8]> = TableDefinition::new("secret_values");
/// secret name → JSON metadata (created, updated, expires, last used).
pub const SECRET_META: TableDefinition<&str, &[u8]> = TableDefinition::new("secret_meta");

type Migration = fn(&WriteTransaction) -> Result<(), redb::Error>;

/// `MIGRATIONS[n]` takes a store from version `n` to `n + 1`.
const MIGRATIONS: [Migration; SCHEMA_VERSION as usize] = [
    create_tables_v1,
    add_silences_v2,
    add_run_requests_v3,
    hash_record_keys_v4,
    pack_rollups_by_hour_v5,
    bucket_record_hashes_v6,
];

fn create_tables_v1(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(INTEGRATION_STATE)?;
    txn.open_table(RUNS)?;
    txn.open_table(RUNS_BY_TIME)?;
    txn.open_table(ACTIVE_RUNS)?;
    txn.open_table(RUN_LOGS)?;
    txn.open_table(CURSORS)?;
    txn.open_table(RECORD_HASHES_BY_TEXT)?;
    txn.open_table(INBOX)?;
    txn.open_table(METRICS_BY_MINUTE)?;
    txn.open_table(ALERTS)?;
    txn.open_table(AUDIT)?;
    txn.open_table(SECRET_VALUES)?;
    txn.open_table(SECRET_META)?;
    Ok(())
}

fn add_silences_v2(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(SILENCES)?;
    Ok(())
}

fn add_run_requests_v3(txn: &WriteTransaction) -> Result<(), redb::Error> {
    txn.open_table(RUN_REQUESTS)?;
    Ok(())
}

/// Each stored key becomes the hash a run now looks it up by; the text table goes.
fn hash_record_keys_v4(txn: &WriteTransaction) -> Result<(), redb::Error> {
    {
        let by_text = txn.open_table(RECORD_HASHES_BY_TEXT)?;
        let mut hashed = txn.open_table(RECORD_HASHES_BY_KEY)?;
        for entry in by_text.iter()? {
            let (key, content) = entry?;
            let (integration, text) = key.value();
            let mut hasher = crate::fingerprint::Fnv1a128::default();
            hasher.add(text.as_bytes());
            hashed.insert((integration, hasher.finish()), content.value())?;
        }
    }
    txn.delete_table(RECORD_HASHES_BY_TEXT)?;
    Ok(())
}

/// Each stored minute moves into its hour's packed row; the table of a row per minute
/// goes. A minute that does not decode is left out, with a warning: these are figures
/// for charts and uptime, and a store must open.
fn pack_rollups_by_hour_v5(txn: &WriteTransaction) -> Result<(), redb::Error> {
    use super::rollup_codec::put_minute;
    {
        let by_minute = txn.open_table(METRICS_BY_MINUTE)?;
        let mut by_hour = txn.open_table(METRIC_HOURS)?;
        for entry in by_minute.iter()? {
            let (key, value) = entry?;
            let (integration, minute) = key.value();
            let stats = match serde_json::from_slice(value.value()) {
                Ok(stats) => stats,
                Err(error) => {
                    tracing::warn!(%integration, minute, %error, "a stored minute of metrics does not decode; left out");
                    continue;
                }
            };
            let hour = (integration, minute.div_euclid(60));
            let row = by_hour.get(hour)?.map(|row| row.value().to_vec());
            let (row, _) = put_minute(row.as_deref(), (minute.rem_euclid(60) as u8, stats));
            by_hour.insert(hour, row.as_slice())?;
        }
    }
    txn.delete_table(METRICS_BY_MINUTE)?;
    Ok(())
}

/// The entry per record becomes its integration's buckets (the old table is in key
/// order, so each integration's entries come together), its content hash marked as
/// FNV-1a's; the old table goes.
fn bucket_record_hashes_v6(txn: &WriteTransaction) -> Result<(), redb::Error> {
    use super::record_hashes::{put, sort_for_store};
    use crate::fingerprint::legacy_content_hash;
    {
        let by_key = txn.open_table(RECORD_HASHES_BY_KEY)?;
        let mut integration = String::new();
        let mut seen: Vec<(u128, u64)> = Vec::new();
        let flush = |integration: &str, seen: &mut Vec<(u128, u64)>| {
            sort_for_store(seen);
            let result = put(txn, integration, seen);
            seen.clear();
            result
        };
        for entry in by_key.iter()? {
            let (key, content) = entry?;
            let (name, key) = key.value();
            if name != integration {
                flush(&integration, &mut seen)?;
                name.clone_into(&mut integration);
            }
            seen.push((key, legacy_content_hash(content.value())));
        }
        flush(&integration, &mut seen)?;
    }
    txn.delete_table(RECORD_HASHES_BY_KEY)?;
    Ok(())
}

/// Runs every migration from `from` to [`SCHEMA_VERSION`] inside `txn`, so that a
/// failure leaves the store as it was.
pub fn migrate(txn: &WriteTransaction, from: u64) -> Result<(), redb::Error> {
    for step in &MIGRATIONS[from as usize..] {
        step(txn)?;
    }
    txn.open_table(META)?
        .insert(SCHEMA_VERSION_KEY, SCHEMA_VERSION)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A store as version `version` left it, with what `fill` writes, opened by this
    /// build (which migrates it).
    fn opened_from_version(
        dir: &tempfile::TempDir,
        version: u64,
        fill: impl FnOnce(&WriteTransaction),
    ) -> Store {
        let path = dir.path().join(crate::store::STORE_FILE);
        let db = redb::Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        for step in &MIGRATIONS[..version as usize] {
            step(&txn).unwrap();
        }
        txn.open_table(META)
            .unwrap()
            .insert(SCHEMA_VERSION_KEY, version)
            .unwrap();
        fill(&txn);
        txn.commit().unwrap();
        drop(db);
        Store::open(&path).unwrap()
    }

    #[test]
    fn a_version_3_store_keeps_what_was_delivered_under_hashed_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = opened_from_version(&dir, 3, |txn| {
            txn.open_table(RECORD_HASHES_BY_TEXT)
                .unwrap()
                .insert(("items", "42"), 7)
                .unwrap();
        });
        // What `pipeline::record_key_hash` makes of `{"id": 42}`: the hash of its text.
        let mut hasher = crate::fingerprint::Fnv1a128::default();
        hasher.add(b"42");
        let key = hasher.finish();
        let found = store.record_hashes("items", &[key]).unwrap();
        assert_eq!(
            found.get(&key),
            Some(&7),
            "record 42 is still known as delivered"
        );
    }

    #[test]
    fn a_version_4_store_keeps_its_minutes_packed_by_hour() {
        let dir = tempfile::tempdir().unwrap();
        let stats = |runs_ok: u64| crate::domain::stats::Stats {
            runs_ok,
            p50_ms: Some(3),
            ..Default::default()
        };
        let store = opened_from_version(&dir, 4, |txn| {
            let mut minutes = txn.open_table(METRICS_BY_MINUTE).unwrap();
            for (minute, runs) in [(119, 1), (120, 2), (150, 3)] {
                let json = serde_json::to_vec(&stats(runs)).unwrap();
                minutes.insert(("api", minute), json.as_slice()).unwrap();
            }
            minutes
                .insert(("api", 151), b"not json".as_slice())
                .unwrap();
        });
        let read: Vec<(i64, crate::domain::stats::Stats)> = store
            .rollups("api", 0)
            .unwrap()
            .into_iter()
            .map(|r| (r.minute, r.stats))
            .collect();
        assert_eq!(
            read,
            [(119, stats(1)), (120, stats(2)), (150, stats(3))],
            "every minute that decoded, the one that did not left out"
        );
    }

    #[test]
    fn a_version_5_store_keeps_what_was_delivered_in_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let store = opened_from_version(&dir, 5, |txn| {
            let mut by_key = txn.open_table(RECORD_HASHES_BY_KEY).unwrap();
            for key in 0..3_000u128 {
                by_key.insert(("api", key), key as u64 + 1).unwrap();
            }
            // An FNV-1a hash with its top bit set: stored marked as FNV-1a's.
            by_key.insert(("zzz", 1), u64::MAX).unwrap();
        });
        let keys: Vec<u128> = (0..3_001).collect();
        let found = store.record_hashes("api", &keys).unwrap();
        assert_eq!(found.len(), 3_000);
        assert!((0..3_000u128).all(|key| found[&key] == key as u64 + 1));
        assert_eq!(store.record_hashes("zzz", &[1]).unwrap()[&1], u64::MAX >> 1);
    }
}

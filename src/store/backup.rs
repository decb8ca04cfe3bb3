//! An online backup: every table copied from one read transaction into a new store
//! file, so the copy is consistent while the engine keeps writing.

use std::path::Path;

use redb::{Database, Key, ReadTransaction, TableDefinition, Value, WriteTransaction};

use super::schema::*;
use super::{Result, Store, StoreError};

impl Store {
    /// Copies the store into a new file at `to` (never over an existing one) and
    /// returns its size in bytes. The copy is written beside `to` and renamed into
    /// place, so a failed backup leaves no half-written file under that name.
    pub fn backup_to(&self, to: &Path) -> Result<u64> {
        if to.exists() {
            return Err(StoreError::Backup(format!(
                "{} exists; name a new file",
                to.display()
            )));
        }
        let partial = to.with_extension("partial");
        let copied = self.read().and_then(|source| {
            let copy = Database::create(&partial).map_err(redb::Error::from)?;
            let target = copy.begin_write()?;
            copy_all(&source, &target)?;
            target.commit()?;
            drop(copy);
            crate::paths::private_file(&partial)
                .map_err(|e| StoreError::Backup(format!("{}: {e}", partial.display())))?;
            std::fs::rename(&partial, to)
                .map_err(|e| StoreError::Backup(format!("{}: {e}", to.display())))?;
            Ok(std::fs::metadata(to).map(|m| m.len()).unwrap_or(0))
        });
        if copied.is_err() {
            let _ = std::fs::remove_file(&partial);
        }
        copied
    }
}

/// Every table of the current schema; a new table must be added here and to the
/// backup test, which checks that a restored copy holds everything.
fn copy_all(from: &ReadTransaction, to: &WriteTransaction) -> Result<()> {
    copy(from, to, META)?;
    copy(from, to, INTEGRATION_STATE)?;
    copy(from, to, RUNS)?;
    copy(from, to, RUNS_BY_TIME)?;
    copy(from, to, ACTIVE_RUNS)?;
    copy(from, to, RECORD_HASH_BUCKETS)?;
    copy(from, to, INBOX)?;
    copy(from, to, RUN_LOGS)?;
    copy(from, to, RUN_REQUESTS)?;
    copy(from, to, CURSORS)?;
    copy(from, to, METRIC_HOURS)?;
    copy(from, to, ALERTS)?;
    copy(from, to, SILENCES)?;
    copy(from, to, AUDIT)?;
    copy(from, to, SECRET_VALUES)?;
    copy(from, to, SECRET_META)?;
    Ok(())
}

fn copy<K: Key + 'static, V: Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    table: TableDefinition<K, V>,
) -> Result<()> {
    use redb::ReadableTable;
    let source = from.open_table(table).map_err(redb::Error::from)?;
    let mut target = to.open_table(table).map_err(redb::Error::from)?;
    for entry in source.iter().map_err(redb::Error::from)? {
        let (key, value) = entry.map_err(redb::Error::from)?;
        target
            .insert(key.value(), value.value())
            .map_err(redb::Error::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AuditEntry;

    #[test]
    fn a_backup_opens_as_a_store_with_the_same_history() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(&dir.path().join("data")).unwrap();
        store
            .record_audit(&AuditEntry::now("secret.set", Some("token")))
            .unwrap();
        let to = dir.path().join("backup.redb");
        let bytes = store.backup_to(&to).unwrap();
        assert!(bytes > 0);
        assert!(
            store.backup_to(&to).is_err(),
            "a backup never overwrites a file"
        );
        drop(store);
        let copy = Store::open(&to).unwrap();
        let audit = copy.audit(10).unwrap();
        assert_eq!(audit.len(), 1);
        assert_eq!(audit[0].target.as_deref(), Some("token"));
    }
}

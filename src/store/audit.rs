//! The audit log table: every operator action, newest first.

use ulid::Ulid;

use super::schema::AUDIT;
use super::{Result, Store, encode};
use crate::domain::AuditEntry;

pub(super) fn insert(txn: &redb::WriteTransaction, entry: &AuditEntry) -> Result<()> {
    let id = Ulid::from_datetime(entry.at.into());
    txn.open_table(AUDIT)?
        .insert(id.0, encode(entry).as_slice())?;
    Ok(())
}

impl Store {
    pub fn record_audit(&self, entry: &AuditEntry) -> Result<()> {
        self.write(|txn| {
            let id = Ulid::from_datetime(entry.at.into());
            txn.open_table(AUDIT)?
                .insert(id.0, encode(entry).as_slice())?;
            Ok(())
        })
    }

    /// The newest `limit` audit entries, newest first.
    pub fn audit(&self, limit: usize) -> Result<Vec<AuditEntry>> {
        self.newest_first(AUDIT, limit, "audit entry")
    }
}

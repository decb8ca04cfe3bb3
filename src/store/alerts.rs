//! Alerts (each firing episode with its notification attempts) and silences.

use redb::{ReadableTable, WriteTransaction};

use super::schema::{ALERTS, SILENCES};
use super::{Result, Store, decode, encode};
use crate::alerts::{Alert, AlertStatus, Silence};

pub(super) fn put_alert(txn: &WriteTransaction, alert: &Alert) -> Result<()> {
    txn.open_table(ALERTS)?
        .insert(alert.id.0, encode(alert).as_slice())?;
    Ok(())
}

pub(super) fn put_silence(txn: &WriteTransaction, silence: &Silence) -> Result<()> {
    txn.open_table(SILENCES)?
        .insert(silence.id.0, encode(silence).as_slice())?;
    Ok(())
}

impl Store {
    /// Up to `limit` alerts, newest first.
    pub fn alerts(&self, limit: usize) -> Result<Vec<Alert>> {
        let txn = self.read()?;
        let table = txn.open_table(ALERTS)?;
        table
            .iter()?
            .rev()
            .take(limit)
            .map(|entry| {
                let (id, value) = entry?;
                decode(value.value(), || {
                    format!("alert {}", ulid::Ulid(id.value()))
                })
            })
            .collect()
    }

    /// Alerts the engine still acts on: firing, or resolved with a resolved notice owed.
    pub fn open_alerts(&self) -> Result<Vec<Alert>> {
        let txn = self.read()?;
        let table = txn.open_table(ALERTS)?;
        let mut open = Vec::new();
        for entry in table.iter()? {
            let (id, value) = entry?;
            let alert: Alert = decode(value.value(), || {
                format!("alert {}", ulid::Ulid(id.value()))
            })?;
            let owed = alert.notified_at.is_some() && alert.resolve_notified_at.is_none();
            if alert.status == AlertStatus::Firing || owed {
                open.push(alert);
            }
        }
        Ok(open)
    }

    /// Every silence, expired ones included, newest first.
    pub fn silences(&self) -> Result<Vec<Silence>> {
        let txn = self.read()?;
        let table = txn.open_table(SILENCES)?;
        table
            .iter()?
            .rev()
            .map(|entry| {
                let (id, value) = entry?;
                decode(value.value(), || {
                    format!("silence {}", ulid::Ulid(id.value()))
                })
            })
            .collect()
    }

    /// Stores a silence at once: `patchbay alert silence` runs without an engine.
    pub fn put_silence(&self, silence: &Silence) -> Result<()> {
        self.write(|txn| put_silence(txn, silence))
    }
}

//! Alerts (each firing episode with its notification attempts) and silences.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use ulid::Ulid;

use super::schema::{ALERTS, SILENCES};
use super::{Result, Store, decode, encode};
use crate::domain::{Alert, Silence};

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

/// Deletes alerts resolved before `cutoff` (whose notices are all settled) and
/// silences that ended before it; firing alerts are kept however old.
pub(super) fn prune(txn: &WriteTransaction, cutoff: DateTime<Utc>) -> Result<usize> {
    // Ids are ULIDs of when each began: only those begun before the cutoff can qualify.
    let below = Ulid::from_parts(cutoff.timestamp_millis().max(0) as u64, 0).0;
    let mut alerts = txn.open_table(ALERTS)?;
    let mut doomed = Vec::new();
    for entry in alerts.range(..below)? {
        let (id, value) = entry?;
        let alert: Alert = decode(value.value(), || format!("alert {}", Ulid(id.value())))?;
        if alert.resolved_at.is_some_and(|at| at < cutoff) && !alert.is_open() {
            doomed.push(id.value());
        }
    }
    for id in &doomed {
        alerts.remove(*id)?;
    }
    let mut silences = txn.open_table(SILENCES)?;
    let mut ended = Vec::new();
    for entry in silences.range(..below)? {
        let (id, value) = entry?;
        let silence: Silence = decode(value.value(), || format!("silence {}", Ulid(id.value())))?;
        if silence.until < cutoff {
            ended.push(id.value());
        }
    }
    for id in &ended {
        silences.remove(*id)?;
    }
    Ok(doomed.len() + ended.len())
}

impl Store {
    /// Up to `limit` alerts, newest first.
    pub fn alerts(&self, limit: usize) -> Result<Vec<Alert>> {
        self.newest_first(ALERTS, limit, "alert")
    }

    /// What the engine restores at start, in one pass over the alerts: every open one
    /// (firing, or owed its resolved notice) and up to `recent` others, newest first.
    pub fn alerts_to_restore(&self, recent: usize) -> Result<(Vec<Alert>, Vec<Alert>)> {
        let txn = self.read()?;
        let table = txn.open_table(ALERTS)?;
        let (mut open, mut closed) = (Vec::new(), Vec::new());
        for entry in table.iter()?.rev() {
            let (id, value) = entry?;
            let alert: Alert = decode(value.value(), || format!("alert {}", Ulid(id.value())))?;
            if alert.is_open() {
                open.push(alert);
            } else if closed.len() < recent {
                closed.push(alert);
            }
        }
        Ok((open, closed))
    }

    /// Every silence, expired ones included, newest first.
    pub fn silences(&self) -> Result<Vec<Silence>> {
        self.newest_first(SILENCES, usize::MAX, "silence")
    }

    /// Stores a silence at once: `patchbay alert silence` runs without an engine.
    pub fn put_silence(&self, silence: &Silence) -> Result<()> {
        self.write(|txn| put_silence(txn, silence))
    }
}

//! Writes that the engine's writer task groups into one transaction each.

use chrono::{DateTime, Utc};
use redb::{ReadableTable, WriteTransaction};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use std::collections::HashSet;

use super::schema::{CURSORS, INBOX, INTEGRATION_STATE, METRIC_HOURS};
use super::{Result, Store, encode};
use crate::domain::run::{RunRecord, RunStatus};
use crate::domain::stats::MinuteRollup;
use crate::domain::trace::RequestTrace;
use crate::domain::{Alert, AuditEntry, IntegrationState, Silence};

/// The incremental-sync watermark of an integration and the run that earned it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    pub value: String,
    /// None when an operator set it (`patchbay cursor set`).
    pub run_id: Option<Ulid>,
    pub updated_at: DateTime<Utc>,
}

/// What a run earned, stored with it only when every output accepted its records: the
/// cursor, the hashes of the records delivered, the inbound events it consumed.
#[derive(Debug, Clone, Default)]
pub struct Progress {
    pub cursor: Option<Cursor>,
    pub seen: Vec<(u128, u64)>,
    pub consumed: Vec<u128>,
}

impl Progress {
    /// Sets the hashes of the records delivered, ordered as the store keeps them.
    pub fn set_seen(&mut self, mut seen: Vec<(u128, u64)>) {
        super::record_hashes::sort_for_store(&mut seen);
        self.seen = seen;
    }
}

#[derive(Debug, Clone)]
pub enum WriteOp {
    /// A run (new or updated), its new log lines, the cursor it earned and the hashes of
    /// the records its outputs accepted: all land in the same transaction, so neither
    /// the cursor nor "already delivered" ever gets ahead of the run.
    Run {
        run: Box<RunRecord>,
        logs: Vec<String>,
        /// Its requests as traced (only when it finished).
        requests: Vec<RequestTrace>,
        progress: Progress,
    },
    State {
        name: String,
        state: IntegrationState,
    },
    Rollups(Vec<MinuteRollup>),
    Audit(AuditEntry),
    Alert(Box<Alert>),
    Silence(Silence),
    /// An operator's cursor for an integration; `None` forgets it, so the next run
    /// starts from `start` (or the beginning).
    Cursor {
        name: String,
        cursor: Option<Cursor>,
    },
}

impl WriteOp {
    /// A run's record alone, without log lines, traced requests or progress: a run
    /// that starts, or one that ended before doing anything.
    pub fn run_record(run: RunRecord) -> Self {
        Self::Run {
            run: Box::new(run),
            logs: Vec::new(),
            requests: Vec::new(),
            progress: Progress::default(),
        }
    }
}

impl Store {
    /// Applies every op in one transaction: one durable commit for the whole batch.
    ///
    /// A run that started and finished within the batch is written once, finished: its
    /// `running` record (there for a crash to find) would be replaced, or folded away,
    /// in the same transaction. Most short runs (checks) end within one batch.
    pub fn apply(&self, ops: &[WriteOp]) -> Result<()> {
        let finished: HashSet<Ulid> = ops
            .iter()
            .filter_map(|op| match op {
                WriteOp::Run { run, .. } if run.status != RunStatus::Running => Some(run.id),
                _ => None,
            })
            .collect();
        let superseded = |op: &WriteOp| {
            matches!(op, WriteOp::Run { run, logs, .. }
                if run.status == RunStatus::Running && logs.is_empty() && finished.contains(&run.id))
        };
        self.write(|txn| {
            for op in ops.iter().filter(|op| !superseded(op)) {
                apply(txn, op)?;
            }
            Ok(())
        })
    }
}

fn apply(txn: &WriteTransaction, op: &WriteOp) -> Result<()> {
    match op {
        WriteOp::Run {
            run,
            logs,
            requests,
            progress,
        } => {
            let Progress {
                cursor,
                seen,
                consumed,
            } = progress;
            let folded = super::runs::fold_into_predecessor(txn, run)?;
            if !folded {
                super::runs::put_run(txn, run)?;
                if !logs.is_empty() {
                    super::runs::append_logs(txn, run.id, logs)?;
                }
                if !requests.is_empty() {
                    super::runs::append_requests(txn, run.id, requests)?;
                }
            }
            if let Some(cursor) = cursor {
                txn.open_table(CURSORS)?
                    .insert(run.integration.as_str(), encode(cursor).as_slice())?;
            }
            if !seen.is_empty() {
                super::record_hashes::put(txn, &run.integration, seen)?;
            }
            if !consumed.is_empty() {
                let mut inbox = txn.open_table(INBOX)?;
                for id in consumed {
                    inbox.remove((run.integration.as_str(), *id))?;
                }
            }
        }
        WriteOp::Cursor { name, cursor } => {
            let mut cursors = txn.open_table(CURSORS)?;
            match cursor {
                Some(cursor) => {
                    cursors.insert(name.as_str(), encode(cursor).as_slice())?;
                }
                None => {
                    cursors.remove(name.as_str())?;
                }
            }
        }
        WriteOp::State { name, state } => {
            txn.open_table(INTEGRATION_STATE)?
                .insert(name.as_str(), encode(state).as_slice())?;
        }
        WriteOp::Rollups(rollups) => {
            let mut table = txn.open_table(METRIC_HOURS)?;
            for rollup in rollups {
                let name = rollup.integration.as_str();
                let hour = (name, rollup.minute.div_euclid(60));
                let row = table.get(hour)?.map(|row| row.value().to_vec());
                let minute = (rollup.minute.rem_euclid(60) as u8, rollup.stats.clone());
                let (row, damage) = super::rollup_codec::put_minute(row.as_deref(), minute);
                if let Some(damage) = damage {
                    tracing::warn!(integration = %name, hour = hour.1, %damage, "a stored hour of metrics did not decode; it starts over");
                }
                table.insert(hour, row.as_slice())?;
            }
        }
        WriteOp::Audit(entry) => super::audit::insert(txn, entry)?,
        WriteOp::Alert(alert) => super::alerts::put_alert(txn, alert)?,
        WriteOp::Silence(silence) => super::alerts::put_silence(txn, silence)?,
    }
    Ok(())
}

impl Store {
    /// Stores inbound events in one transaction, committed (one fsync for all) before
    /// it returns: their senders get their 2xx only after this.
    pub fn put_inbox_events(&self, events: &[(&str, u128, &[u8])]) -> Result<()> {
        self.write(|txn| {
            let mut inbox = txn.open_table(INBOX)?;
            for (integration, id, event) in events {
                inbox.insert((*integration, *id), *event)?;
            }
            Ok(())
        })
    }

    /// Up to `limit` pending inbound events of an integration, oldest first.
    pub fn inbox(&self, integration: &str, limit: usize) -> Result<Vec<(u128, Vec<u8>)>> {
        let txn = self.read()?;
        let table = txn.open_table(INBOX)?;
        table
            .range((integration, 0)..=(integration, u128::MAX))?
            .take(limit)
            .map(|entry| {
                let (key, value) = entry?;
                Ok((key.value().1, value.value().to_vec()))
            })
            .collect()
    }

    pub fn cursor(&self, integration: &str) -> Result<Option<Cursor>> {
        let txn = self.read()?;
        let table = txn.open_table(CURSORS)?;
        table
            .get(integration)?
            .map(|bytes| super::decode(bytes.value(), || format!("cursor of {integration}")))
            .transpose()
    }

    /// One integration's rollups from `since_minute` on, oldest first.
    pub fn rollups(&self, integration: &str, since_minute: i64) -> Result<Vec<MinuteRollup>> {
        let txn = self.read()?;
        let table = txn.open_table(METRIC_HOURS)?;
        let mut rollups = Vec::new();
        for entry in
            table.range((integration, since_minute.div_euclid(60))..=(integration, i64::MAX))?
        {
            let (key, value) = entry?;
            let first_minute = key.value().1.saturating_mul(60);
            let minutes = super::rollup_codec::decode_hour(value.value()).map_err(|detail| {
                super::StoreError::Corrupt {
                    what: format!(
                        "metrics of {integration} in the hour from minute {first_minute}"
                    ),
                    detail,
                }
            })?;
            rollups.extend(
                minutes
                    .into_iter()
                    .map(|(at, stats)| MinuteRollup {
                        integration: integration.to_owned(),
                        minute: first_minute.saturating_add(i64::from(at)),
                        stats,
                    })
                    .filter(|rollup| rollup.minute >= since_minute),
            );
        }
        Ok(rollups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run::Trigger;

    fn run_op(run: &RunRecord) -> WriteOp {
        WriteOp::run_record(run.clone())
    }

    #[test]
    fn a_run_started_and_finished_in_one_batch_is_written_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let started = RunRecord::start("api", Trigger::Manual, Utc::now());
        let mut finished = started.clone();
        finished.finish(crate::domain::run::RunStatus::Success, Utc::now());
        let other = RunRecord::start("slow", Trigger::Manual, Utc::now());
        store
            .apply(&[run_op(&started), run_op(&other), run_op(&finished)])
            .unwrap();
        assert_eq!(store.run("api", started.id).unwrap(), Some(finished));
        // The run still going keeps its `running` record, which a crash would find.
        assert_eq!(store.mark_interrupted(Utc::now()).unwrap(), 1);
    }

    /// Minutes land in their hour's row; a read from any minute gets those from it on,
    /// across hours, and a damaged row is an error that names it.
    #[test]
    fn minute_rollups_are_stored_by_hour_and_read_by_minute() {
        use crate::domain::stats::Stats;
        use redb::ReadableTableMetadata;
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let minute = |minute: i64, runs_ok: u64| MinuteRollup {
            integration: "api".into(),
            minute,
            stats: Stats {
                runs_ok,
                p95_ms: Some(41),
                ..Stats::default()
            },
        };
        let written = [minute(59, 1), minute(60, 2), minute(61, 3), minute(125, 4)];
        store
            .apply(&[WriteOp::Rollups(written[..2].to_vec())])
            .unwrap();
        store
            .apply(&[WriteOp::Rollups(written[2..].to_vec())])
            .unwrap();
        let rows = store
            .read()
            .unwrap()
            .open_table(METRIC_HOURS)
            .unwrap()
            .len()
            .unwrap();
        assert_eq!(rows, 3, "hours 0, 1 and 2");
        let from = |since: i64| -> Vec<(i64, u64)> {
            let read = store.rollups("api", since).unwrap();
            read.into_iter()
                .map(|r| (r.minute, r.stats.runs_ok))
                .collect()
        };
        assert_eq!(from(0), [(59, 1), (60, 2), (61, 3), (125, 4)]);
        assert_eq!(from(61), [(61, 3), (125, 4)]);
        assert!(store.rollups("other", 0).unwrap().is_empty());
        store
            .write(|txn| {
                txn.open_table(METRIC_HOURS)?
                    .insert(("api", 3), [1u8, 0x80].as_slice())?;
                Ok(())
            })
            .unwrap();
        let error = store.rollups("api", 0).unwrap_err().to_string();
        assert!(
            error.contains("metrics of api in the hour from minute 180"),
            "{error}"
        );
    }
}

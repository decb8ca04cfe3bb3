//! Run records and their log lines.

use redb::{ReadableTable, WriteTransaction};
use ulid::Ulid;

use super::schema::{ACTIVE_RUNS, RUN_LOGS, RUN_REQUESTS, RUNS, RUNS_BY_TIME};
use super::{Result, Store, decode, encode};
use crate::domain::run::{RunRecord, RunStatus};
use crate::domain::trace::RequestTrace;

impl Store {
    /// Inserts or updates runs, all in one transaction (one durable commit).
    pub fn put_runs(&self, runs: &[RunRecord]) -> Result<()> {
        self.write(|txn| {
            for run in runs {
                put_run(txn, run)?;
            }
            Ok(())
        })
    }

    pub fn put_run(&self, run: &RunRecord) -> Result<()> {
        self.put_runs(std::slice::from_ref(run))
    }

    /// Appends log lines to a run, numbering them after the ones it already has.
    pub fn append_run_logs(&self, run: Ulid, lines: &[String]) -> Result<()> {
        self.write(|txn| append_logs(txn, run, lines))
    }

    pub fn run_logs(&self, run: Ulid) -> Result<Vec<String>> {
        let txn = self.read()?;
        let logs = txn.open_table(RUN_LOGS)?;
        let id = run.0;
        logs.range((id, 0)..=(id, u32::MAX))?
            .map(|entry| Ok(entry?.1.value().to_owned()))
            .collect()
    }

    /// The run's traced requests, in order.
    pub fn run_requests(&self, run: Ulid) -> Result<Vec<RequestTrace>> {
        let txn = self.read()?;
        let traces = txn.open_table(RUN_REQUESTS)?;
        let id = run.0;
        traces
            .range((id, 0)..=(id, u32::MAX))?
            .map(|entry| decode(entry?.1.value(), || format!("a request of run {run}")))
            .collect()
    }

    pub fn run(&self, integration: &str, id: Ulid) -> Result<Option<RunRecord>> {
        let txn = self.read()?;
        let runs = txn.open_table(RUNS)?;
        runs.get((integration, id.0))?
            .map(|bytes| decode(bytes.value(), || format!("run {id}")))
            .transpose()
    }

    /// Up to `limit` runs older than `before` (all when `None`), of one integration or
    /// of all, newest first: the console pages through history with this.
    pub fn runs_before(
        &self,
        integration: Option<&str>,
        before: Option<Ulid>,
        limit: usize,
    ) -> Result<Vec<RunRecord>> {
        let below = before.map_or(u128::MAX, |id| id.0.saturating_sub(1));
        let txn = self.read()?;
        let runs = txn.open_table(RUNS)?;
        let decode_run = |bytes: &[u8], id: u128| decode(bytes, || format!("run {}", Ulid(id)));
        match integration {
            Some(name) => runs
                .range((name, 0)..=(name, below))?
                .rev()
                .take(limit)
                .map(|entry| {
                    let (key, value) = entry?;
                    decode_run(value.value(), key.value().1)
                })
                .collect(),
            None => {
                let by_time = txn.open_table(RUNS_BY_TIME)?;
                let mut found = Vec::with_capacity(limit.min(1024));
                for entry in by_time.range(0..=below)?.rev().take(limit) {
                    let (id, name) = entry?;
                    let id = id.value();
                    if let Some(bytes) = runs.get((name.value(), id))? {
                        found.push(decode_run(bytes.value(), id)?);
                    }
                }
                Ok(found)
            }
        }
    }

    /// The newest `limit` runs, of one integration or of all, newest first.
    pub fn runs(&self, integration: Option<&str>, limit: usize) -> Result<Vec<RunRecord>> {
        self.runs_before(integration, None, limit)
    }

    /// Marks every run still `running` as `interrupted`: at start, these are the runs a
    /// crash or a kill left behind. Returns how many there were.
    pub fn mark_interrupted(&self, now: chrono::DateTime<chrono::Utc>) -> Result<usize> {
        self.write(|txn| {
            let active: Vec<(u128, String)> = txn
                .open_table(ACTIVE_RUNS)?
                .iter()?
                .map(|entry| {
                    let (id, name) = entry?;
                    Ok((id.value(), name.value().to_owned()))
                })
                .collect::<Result<_>>()?;
            let mut marked = 0;
            for (id, name) in active {
                let run = txn
                    .open_table(RUNS)?
                    .get((name.as_str(), id))?
                    .map(|bytes| decode::<RunRecord>(bytes.value(), || format!("run {}", Ulid(id))))
                    .transpose()?;
                match run {
                    Some(mut run) if run.status == RunStatus::Running => {
                        run.finish(RunStatus::Interrupted, now);
                        run.error_message =
                            Some("patchbay stopped while this run was in progress".to_owned());
                        put_run(txn, &run)?;
                        marked += 1;
                    }
                    _ => {
                        txn.open_table(ACTIVE_RUNS)?.remove(id)?;
                    }
                }
            }
            Ok(marked)
        })
    }
}

/// The number after the last of a run's entries in a table keyed (run, number): logs
/// and traces are appended across a run's writes.
fn next_number<V: redb::Value + 'static>(
    table: &redb::Table<'_, (u128, u32), V>,
    run: Ulid,
) -> Result<u32> {
    let id = run.0;
    Ok(table
        .range((id, 0)..=(id, u32::MAX))?
        .next_back()
        .transpose()?
        .map_or(0, |(key, _)| key.value().1 + 1))
}

pub(super) fn append_logs(txn: &WriteTransaction, run: Ulid, lines: &[String]) -> Result<()> {
    let mut logs = txn.open_table(RUN_LOGS)?;
    let id = run.0;
    let next = next_number(&logs, run)?;
    for (offset, line) in lines.iter().enumerate() {
        logs.insert((id, next + offset as u32), line.as_str())?;
    }
    Ok(())
}

/// Stores a run's traced requests, numbered after any it already has.
pub(super) fn append_requests(
    txn: &WriteTransaction,
    run: Ulid,
    requests: &[RequestTrace],
) -> Result<()> {
    let mut traces = txn.open_table(RUN_REQUESTS)?;
    let id = run.0;
    let next = next_number(&traces, run)?;
    for (offset, trace) in requests.iter().enumerate() {
        traces.insert((id, next + offset as u32), encode(trace).as_slice())?;
    }
    Ok(())
}

/// Folds a finished run into the integration's record before it when it only repeats
/// it ([`RunRecord::repeats`]): the predecessor counts it, and the run's own record
/// (written when it started) and logs are dropped. Durations and request counts of
/// the repeats live on in the minute rollups, where uptime and the charts read them.
pub(super) fn fold_into_predecessor(txn: &WriteTransaction, run: &RunRecord) -> Result<bool> {
    let name = run.integration.as_str();
    let mut runs = txn.open_table(RUNS)?;
    let Some(entry) = runs.range((name, 0)..(name, run.id.0))?.next_back() else {
        return Ok(false);
    };
    let (key, bytes) = entry?;
    let id = key.value().1;
    let mut predecessor: RunRecord = decode(bytes.value(), || format!("run {}", Ulid(id)))?;
    drop((key, bytes));
    if !run.repeats(&predecessor) {
        return Ok(false);
    }
    predecessor.fold(run);
    runs.insert((name, predecessor.id.0), encode(&predecessor).as_slice())?;
    runs.remove((name, run.id.0))?;
    txn.open_table(RUNS_BY_TIME)?.remove(run.id.0)?;
    txn.open_table(ACTIVE_RUNS)?.remove(run.id.0)?;
    Ok(true)
}

pub(super) fn put_run(txn: &WriteTransaction, run: &RunRecord) -> Result<()> {
    let id = run.id.0;
    txn.open_table(RUNS)?
        .insert((run.integration.as_str(), id), encode(run).as_slice())?;
    txn.open_table(RUNS_BY_TIME)?
        .insert(id, run.integration.as_str())?;
    let mut active = txn.open_table(ACTIVE_RUNS)?;
    if run.status == RunStatus::Running {
        active.insert(id, run.integration.as_str())?;
    } else {
        active.remove(id)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run::Trigger;
    use chrono::{Duration, TimeZone, Utc};

    fn run_at(name: &str, second: i64, status: RunStatus) -> RunRecord {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::seconds(second);
        let mut run = RunRecord::start(name, Trigger::Schedule, t);
        if status != RunStatus::Running {
            run.finish(status, t + Duration::milliseconds(250));
        }
        run
    }

    #[test]
    fn newest_runs_first_per_integration_and_overall() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let runs: Vec<_> = (0..10)
            .map(|i| run_at(if i % 2 == 0 { "a" } else { "b" }, i, RunStatus::Success))
            .collect();
        store.put_runs(&runs).unwrap();
        let a = store.runs(Some("a"), 3).unwrap();
        assert_eq!(
            a.iter().map(|r| r.id).collect::<Vec<_>>(),
            [runs[8].id, runs[6].id, runs[4].id]
        );
        let all = store.runs(None, 2).unwrap();
        assert_eq!(
            all.iter().map(|r| r.id).collect::<Vec<_>>(),
            [runs[9].id, runs[8].id]
        );
        assert_eq!(store.runs(Some("nope"), 5).unwrap(), []);
        assert_eq!(store.run("a", runs[0].id).unwrap().unwrap(), runs[0]);
        let older = store.runs_before(Some("a"), Some(runs[6].id), 2).unwrap();
        assert_eq!(
            older.iter().map(|r| r.id).collect::<Vec<_>>(),
            [runs[4].id, runs[2].id]
        );
        let older_all = store.runs_before(None, Some(runs[2].id), 5).unwrap();
        assert_eq!(
            older_all.iter().map(|r| r.id).collect::<Vec<_>>(),
            [runs[1].id, runs[0].id]
        );
    }

    #[test]
    fn runs_left_running_by_a_crash_become_interrupted() {
        let dir = tempfile::tempdir().unwrap();
        let running = run_at("a", 1, RunStatus::Running);
        let done = run_at("a", 2, RunStatus::Success);
        {
            let store = Store::open_in(dir.path()).unwrap();
            store.put_runs(&[running.clone(), done.clone()]).unwrap();
            // Dropped without finishing `running`: what a crash leaves behind.
        }
        let store = Store::open_in(dir.path()).unwrap();
        assert_eq!(store.mark_interrupted(Utc::now()).unwrap(), 1);
        let reread = store.run("a", running.id).unwrap().unwrap();
        assert_eq!(reread.status, RunStatus::Interrupted);
        assert!(reread.finished_at.is_some());
        assert_eq!(
            store.run("a", done.id).unwrap().unwrap().status,
            RunStatus::Success
        );
        assert_eq!(store.mark_interrupted(Utc::now()).unwrap(), 0);
    }

    #[test]
    fn log_lines_append_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let run = run_at("a", 1, RunStatus::Success);
        store
            .append_run_logs(run.id, &["one".into(), "two".into()])
            .unwrap();
        store.append_run_logs(run.id, &["three".into()]).unwrap();
        assert_eq!(store.run_logs(run.id).unwrap(), ["one", "two", "three"]);
    }

    /// A check's successes in a row become one record with a count; a failure, and
    /// the first success after it, stay whole, and so does a manual run.
    #[test]
    fn repeated_scheduled_successes_fold_into_one_record() {
        use crate::store::{Progress, WriteOp};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let finish = |run: RunRecord| {
            let started = RunRecord {
                status: RunStatus::Running,
                finished_at: None,
                ..run.clone()
            };
            for record in [started, run] {
                let op = WriteOp::Run {
                    run: Box::new(record),
                    logs: vec!["a line".into()],
                    requests: Vec::new(),
                    progress: Progress::default(),
                };
                store.apply(&[op]).unwrap();
            }
        };
        for (second, status) in [
            (0, RunStatus::Success),
            (10, RunStatus::Success),
            (20, RunStatus::Success),
            (30, RunStatus::Failed),
            (40, RunStatus::Success),
            (50, RunStatus::Success),
        ] {
            finish(run_at("db-check", second, status));
        }
        let mut manual = run_at("db-check", 60, RunStatus::Success);
        manual.trigger = Trigger::Manual;
        finish(manual);
        let runs = store.runs(Some("db-check"), 100).unwrap();
        let shape: Vec<(RunStatus, u32)> =
            runs.iter().rev().map(|r| (r.status, r.repeats)).collect();
        assert_eq!(
            shape,
            [
                (RunStatus::Success, 2),
                (RunStatus::Failed, 0),
                (RunStatus::Success, 1),
                (RunStatus::Success, 0),
            ]
        );
        let first = runs.last().unwrap();
        assert_eq!(
            first.repeated_until,
            Some(run_at("x", 20, RunStatus::Success).finished_at.unwrap())
        );
        assert_eq!(
            store.mark_interrupted(Utc::now()).unwrap(),
            0,
            "no folded run is left running"
        );
        let folded_id = run_at("db-check", 10, RunStatus::Success).id;
        assert!(
            store.run_logs(folded_id).unwrap().is_empty(),
            "a repeat keeps no log"
        );
    }
}

//! Retention: runs older than `days`, or past the newest `runs_per_integration` of an
//! integration, are deleted with their log lines by a background pruner, and so are
//! alerts resolved and silences ended more than `days` ago. Minute metric rollups are
//! kept for `days`, and at least as long as uptime looks back.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use redb::ReadableTable;
use ulid::Ulid;

use super::schema::{ACTIVE_RUNS, METRIC_HOURS, RUN_LOGS, RUN_REQUESTS, RUNS, RUNS_BY_TIME};
use super::{Result, Store};
use crate::config::Retention;
use crate::domain::stats::Uptime;

/// Deleting in slices keeps each write transaction short, so the pruner never holds
/// the writer for long while runs are being recorded.
const DELETE_BATCH: usize = 5_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PruneStats {
    pub runs_deleted: usize,
    /// Resolved alerts and ended silences.
    pub alerts_deleted: usize,
}

impl Store {
    pub fn prune(&self, retention: Retention, now: DateTime<Utc>) -> Result<PruneStats> {
        let doomed = self.runs_past_retention(retention, now)?;
        for batch in doomed.chunks(DELETE_BATCH) {
            self.write(|txn| {
                let mut runs = txn.open_table(RUNS)?;
                let mut by_time = txn.open_table(RUNS_BY_TIME)?;
                let mut logs = txn.open_table(RUN_LOGS)?;
                let mut requests = txn.open_table(RUN_REQUESTS)?;
                let active = txn.open_table(ACTIVE_RUNS)?;
                for (name, id) in batch {
                    if active.get(*id)?.is_some() {
                        continue; // never delete a run in progress
                    }
                    runs.remove((name.as_str(), *id))?;
                    by_time.remove(*id)?;
                    logs.retain_in((*id, 0)..=(*id, u32::MAX), |_, _| false)?;
                    requests.retain_in((*id, 0)..=(*id, u32::MAX), |_, _| false)?;
                }
                Ok(())
            })?;
        }
        let cutoff = now - chrono::Duration::days(i64::from(retention.days));
        let alerts_deleted = self.write(|txn| super::alerts::prune(txn, cutoff))?;
        let rollup_days = i64::from(retention.days).max(Uptime::LONGEST_DAYS);
        let oldest_minute = (now - chrono::Duration::days(rollup_days)).timestamp() / 60;
        self.write(|txn| {
            // Whole hours: the one the cutoff falls in stays until it is all past.
            let oldest_hour = oldest_minute.div_euclid(60);
            txn.open_table(METRIC_HOURS)?
                .retain(|(_, hour), _| hour >= oldest_hour)?;
            Ok(())
        })?;
        Ok(PruneStats {
            runs_deleted: doomed.len(),
            alerts_deleted,
        })
    }

    fn runs_past_retention(
        &self,
        retention: Retention,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, u128)>> {
        let cutoff = now - chrono::Duration::days(i64::from(retention.days));
        let cutoff_id = Ulid::from_parts(cutoff.timestamp_millis().max(0) as u64, 0).0;
        let keep = retention.runs_per_integration as usize;
        let txn = self.read()?;
        let runs = txn.open_table(RUNS)?;
        let mut doomed = Vec::new();
        let mut current: Option<String> = None;
        let mut newer_in_integration = 0;
        // Keys sort by (integration, id): walking backwards meets each integration's
        // runs newest first.
        for entry in runs.iter()?.rev() {
            let (key, _) = entry?;
            let (name, id) = key.value();
            if current.as_deref() != Some(name) {
                current = Some(name.to_owned());
                newer_in_integration = 0;
            }
            if newer_in_integration >= keep || id < cutoff_id {
                doomed.push((name.to_owned(), id));
            }
            newer_in_integration += 1;
        }
        Ok(doomed)
    }
}

/// Prunes now and then every `every`, until the returned task is aborted.
pub fn spawn_pruner(
    store: Arc<Store>,
    retention: Retention,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(every);
        loop {
            ticker.tick().await;
            let store = Arc::clone(&store);
            let result =
                tokio::task::spawn_blocking(move || store.prune(retention, Utc::now())).await;
            match result {
                Ok(Ok(stats)) if stats != PruneStats::default() => {
                    tracing::info!(
                        runs_deleted = stats.runs_deleted,
                        alerts_deleted = stats.alerts_deleted,
                        "retention pruned old runs and alerts"
                    );
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => {
                    tracing::warn!(%error, "retention pruning failed; will try again")
                }
                Err(error) => tracing::warn!(%error, "retention pruner task failed"),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run::{RunRecord, RunStatus, Trigger};
    use chrono::TimeZone;

    #[test]
    fn prunes_by_age_and_by_count_but_never_a_running_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let mut runs = Vec::new();
        for day in 0..10 {
            for name in ["a", "b"] {
                let mut run =
                    RunRecord::start(name, Trigger::Schedule, now - chrono::Duration::days(day));
                if day != 9 || name != "b" {
                    run.finish(RunStatus::Success, run.started_at);
                }
                runs.push(run);
            }
        }
        store.put_runs(&runs).unwrap();
        store
            .append_run_logs(runs[19].id, &["old line".into()])
            .unwrap();
        store
            .append_run_logs(runs[18].id, &["old line".into()])
            .unwrap();
        let retention = Retention {
            days: 7,
            runs_per_integration: 5,
        };
        let stats = store.prune(retention, now).unwrap();
        let a = store.runs(Some("a"), 100).unwrap();
        assert_eq!(a.len(), 5, "count limit");
        let b = store.runs(Some("b"), 100).unwrap();
        // b keeps its newest 5 plus the 9-day-old run that is still running.
        assert_eq!(b.len(), 6);
        assert!(b.iter().any(|r| r.status == RunStatus::Running));
        assert_eq!(stats.runs_deleted, 10);
        assert!(store.run_logs(runs[18].id).unwrap().is_empty());
        assert_eq!(store.runs(None, 100).unwrap().len(), 11);
    }

    #[test]
    fn minute_rollups_are_kept_as_long_as_uptime_looks_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let now_minute = now.timestamp() / 60;
        let rollup = |days_ago: i64| crate::domain::stats::MinuteRollup {
            integration: "a".into(),
            minute: now_minute - days_ago * 24 * 60,
            stats: crate::domain::stats::Stats::default(),
        };
        store
            .apply(&[crate::store::WriteOp::Rollups(vec![
                rollup(40),
                rollup(20),
                rollup(1),
            ])])
            .unwrap();
        let retention = Retention {
            days: 7,
            runs_per_integration: 5,
        };
        store.prune(retention, now).unwrap();
        let kept: Vec<i64> = store
            .rollups("a", 0)
            .unwrap()
            .iter()
            .map(|r| (now_minute - r.minute) / (24 * 60))
            .collect();
        assert_eq!(kept, [20, 1], "30 days kept although runs are kept 7");
    }

    #[test]
    fn old_resolved_alerts_and_ended_silences_go_but_a_firing_alert_stays() {
        use crate::domain::{Alert, AlertStatus, Silence, SilenceTarget};
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_in(dir.path()).unwrap();
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let days_ago = |d: i64| now - chrono::Duration::days(d);
        let alert = |began: i64, resolved: Option<i64>| Alert {
            id: Ulid::from_datetime(days_ago(began).into()),
            rule: "failing".into(),
            integration: "a".into(),
            severity: Default::default(),
            condition: "consecutive_failures >= 3".into(),
            status: if resolved.is_some() {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            },
            since: days_ago(began),
            resolved_at: resolved.map(days_ago),
            value: String::new(),
            last_error: None,
            hint: None,
            suppressed: None,
            notified_at: None,
            last_notified_at: None,
            resolve_notified_at: None,
            attempts: Vec::new(),
        };
        let old = alert(20, Some(19));
        let firing = alert(40, None);
        let recent = alert(20, Some(1));
        let silence = Silence::new(
            SilenceTarget {
                rule: Some("failing".into()),
                integration: None,
            },
            std::time::Duration::from_secs(3600),
            "deploy",
            &crate::domain::Operator::this_process(),
            days_ago(30),
        );
        let mut ops: Vec<crate::store::WriteOp> = [&old, &firing, &recent]
            .into_iter()
            .map(|a| crate::store::WriteOp::Alert(Box::new(a.clone())))
            .collect();
        ops.push(crate::store::WriteOp::Silence(silence));
        store.apply(&ops).unwrap();
        let retention = Retention {
            days: 7,
            runs_per_integration: 5,
        };
        assert_eq!(store.prune(retention, now).unwrap().alerts_deleted, 2);
        let kept: Vec<Ulid> = store
            .alerts(10)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(kept, [recent.id, firing.id]);
        assert!(store.silences().unwrap().is_empty());
    }
}

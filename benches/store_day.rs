//! A day of checks in the store: N integrations checked every 10 s for H hours of
//! simulated time, written through the engine's group-commit writer as the engine
//! writes them (each run finished, its integration's state, one minute rollup per
//! integration per minute). A tenth of them flap: two failed checks once an hour,
//! which history keeps whole with the health changes they cause. Prints the store's
//! size as it grows and what a day of 10,000 integrations comes to at the same rate.
//!
//! `cargo bench --bench store_day` (PATCHBAY_BENCH_INTEGRATIONS, default 1,000;
//! PATCHBAY_BENCH_HOURS, default 24).

#[path = "measure.rs"]
mod measure;

use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, Utc};
use patchbay::domain::IntegrationState;
use patchbay::domain::run::{ErrorClass, RunRecord, RunStatus, Trigger};
use patchbay::domain::stats::{MinuteRollup, Stats};
use patchbay::engine::writer::Writer;
use patchbay::store::{Store, WriteOp};

const CHECKS_PER_MINUTE: i64 = 6;
/// Every tenth integration flaps.
const FLAPPING_EVERY: usize = 10;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Whether integration `at` fails its check of `minute`, `tick`: flapping ones fail
/// the first two checks of their own minute of each hour.
fn fails(at: usize, minute: i64, tick: i64) -> bool {
    at.is_multiple_of(FLAPPING_EVERY)
        && minute % 60 == (at / FLAPPING_EVERY) as i64 % 60
        && tick < 2
}

fn check_run(name: &str, at: DateTime<Utc>, failed: bool) -> RunRecord {
    let mut run = RunRecord::start(name, Trigger::Schedule, at);
    run.requests = 1;
    run.attempts = 1;
    run.bytes = 120;
    if failed {
        run.error_class = Some(ErrorClass::Check);
        run.error_message = Some("[STATUS] == 200 failed: 503".into());
        run.hint = Some("the check's conditions were not met".into());
        run.finish(RunStatus::Failed, at + Duration::milliseconds(40));
    } else {
        run.finish(RunStatus::Success, at + Duration::milliseconds(4));
    }
    run
}

fn main() {
    let integrations = env("PATCHBAY_BENCH_INTEGRATIONS", 1_000);
    let hours = env("PATCHBAY_BENCH_HOURS", 24) as i64;
    let names: Vec<String> = (0..integrations).map(|i| format!("check-{i:05}")).collect();
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open_in(dir.path()).expect("store"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let day_start = Utc::now() - Duration::hours(hours);
    let file_bytes = || {
        std::fs::metadata(store.path())
            .map(|m| m.len())
            .unwrap_or(0)
    };
    let started = Instant::now();
    let (runs, failures) = runtime.block_on(async {
        let (writer, _task) = Writer::spawn(Arc::clone(&store));
        let mut states = vec![IntegrationState::default(); integrations];
        let (mut runs, mut failures) = (0u64, 0u64);
        for minute in 0..hours * 60 {
            let mut minute_stats = vec![Stats::default(); integrations];
            for tick in 0..CHECKS_PER_MINUTE {
                let at = day_start + Duration::seconds(minute * 60 + tick * 10);
                for (i, name) in names.iter().enumerate() {
                    let failed = fails(i, minute, tick);
                    let run = check_run(name, at + Duration::milliseconds(i as i64), failed);
                    let state = &mut states[i];
                    state.last_run_at = run.finished_at;
                    state.last_status = Some(run.status);
                    if failed {
                        state.consecutive_failures += 1;
                        state.last_error = run.error_message.clone();
                        failures += 1;
                    } else {
                        state.consecutive_failures = 0;
                        state.last_success_at = run.finished_at;
                    }
                    let stats = &mut minute_stats[i];
                    if failed {
                        stats.runs_failed += 1;
                        stats.requests_failed += 1;
                    } else {
                        stats.runs_ok += 1;
                        stats.requests_ok += 1;
                    }
                    stats.p50_ms = Some(4);
                    stats.p95_ms = Some(if failed { 40 } else { 5 });
                    stats.p99_ms = stats.p95_ms;
                    writer.write(WriteOp::run_record(run)).await;
                    writer
                        .write(WriteOp::State {
                            name: name.clone(),
                            state: state.clone(),
                        })
                        .await;
                    runs += 1;
                }
            }
            let minute_of = (day_start.timestamp() / 60) + minute;
            let rollups = names
                .iter()
                .zip(minute_stats)
                .map(|(name, stats)| MinuteRollup {
                    integration: name.clone(),
                    minute: minute_of,
                    stats,
                })
                .collect();
            writer.write(WriteOp::Rollups(rollups)).await;
            if (minute + 1) % 360 == 0 {
                writer.flush().await;
                println!(
                    "after {:>2} h: store {:.1} MB, {:.0} s",
                    (minute + 1) / 60,
                    file_bytes() as f64 / 1e6,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        writer.flush().await;
        (runs, failures)
    });
    let bytes = file_bytes();
    let per_integration_day = bytes as f64 / integrations as f64 * 24.0 / hours as f64;
    measure::report(
        "store_day",
        &[
            ("integrations", integrations.to_string()),
            ("hours", hours.to_string()),
            ("runs", runs.to_string()),
            ("failed_runs_kept_whole", failures.to_string()),
            ("file_bytes", bytes.to_string()),
            (
                "bytes_per_integration_day",
                format!("{per_integration_day:.0}"),
            ),
            (
                "projected_gb_per_day_at_10000",
                format!("{:.2}", per_integration_day * 10_000.0 / 1e9),
            ),
            ("seconds", format!("{:.0}", started.elapsed().as_secs_f64())),
        ],
    );
}

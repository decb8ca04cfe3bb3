//! The store: append 1,000,000 runs through the group-commit writer, then list the
//! newest 100 runs of one integration.
//!
//! `cargo bench --bench store` (PATCHBAY_BENCH_RUNS overrides the count).

#[path = "measure.rs"]
mod measure;

use std::sync::Arc;
use std::time::Instant;

use patchbay::domain::run::{RunRecord, RunStatus, Trigger};
use patchbay::engine::writer::Writer;
use patchbay::store::{Store, WriteOp};

const INTEGRATIONS: usize = 1_000;

fn main() {
    let runs: usize = std::env::var("PATCHBAY_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Arc::new(Store::open_in(dir.path()).expect("store"));
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let start_time = chrono::Utc::now() - chrono::Duration::days(1);
    let elapsed = runtime.block_on(async {
        let (writer, _task) = Writer::spawn(Arc::clone(&store));
        let started = Instant::now();
        for i in 0..runs {
            let at = start_time + chrono::Duration::milliseconds(i as i64);
            let mut run = RunRecord::start(
                &format!("integration-{:04}", i % INTEGRATIONS),
                Trigger::Schedule,
                at,
            );
            run.requests = 3;
            run.records_in = 100;
            run.records_new = 7;
            run.records_delivered = 7;
            run.finish(RunStatus::Success, at + chrono::Duration::milliseconds(120));
            writer.write(WriteOp::run_record(run)).await;
        }
        writer.flush().await;
        let commits = writer
            .stats()
            .commits
            .load(std::sync::atomic::Ordering::Relaxed);
        (started.elapsed(), commits)
    });
    let (elapsed, commits) = elapsed;
    let bytes = std::fs::metadata(store.path())
        .map(|m| m.len())
        .unwrap_or(0);
    measure::report(
        "store_append",
        &[
            ("runs", runs.to_string()),
            ("seconds", format!("{:.2}", elapsed.as_secs_f64())),
            (
                "runs_per_second",
                format!("{:.0}", runs as f64 / elapsed.as_secs_f64()),
            ),
            ("commits", commits.to_string()),
            ("file_bytes", bytes.to_string()),
            (
                "bytes_per_run",
                format!("{:.0}", bytes as f64 / runs as f64),
            ),
        ],
    );

    let mut samples = Vec::new();
    for i in 0..200 {
        let name = format!("integration-{:04}", (i * 37) % INTEGRATIONS);
        let started = Instant::now();
        let listed = store.runs(Some(&name), 100).expect("list");
        samples.push(started.elapsed());
        assert_eq!(listed.len(), 100.min(runs / INTEGRATIONS));
    }
    samples.sort();
    let ms = |d: std::time::Duration| format!("{:.3}", d.as_secs_f64() * 1000.0);
    measure::report(
        "store_list_newest_100",
        &[
            ("p50_ms", ms(samples[samples.len() / 2])),
            ("p99_ms", ms(samples[samples.len() * 99 / 100])),
            ("max_ms", ms(*samples.last().expect("samples"))),
        ],
    );
    measure::report(
        "store_process",
        &[("peak_rss_mib", format!("{:.1}", measure::peak_rss_mib()))],
    );
}

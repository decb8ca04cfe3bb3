//! The scheduler under load: 10,000 integrations with `every = "1s"` against the
//! sandbox (in this process, sharing its 2 cores). Reports scheduling lag (actual
//! start minus due time), runs finished and persisted per second, CPU and peak RSS.
//!
//! `cargo bench --bench engine` (PATCHBAY_BENCH_INTEGRATIONS, PATCHBAY_BENCH_SECONDS
//! override the defaults of 10000 and 30). PATCHBAY_BENCH_ALERTS=1 adds alert rules of
//! six kinds watching every integration, to show what evaluating them costs the
//! scheduler: a full pass over every pair each tick, and one integration's rules after
//! each of its runs.

#[path = "measure.rs"]
mod measure;

use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay::config::{Config, SourceFile};
use patchbay::engine::{EngineEvent, EngineOptions};
use patchbay::runtime::clock::SystemClock;
use patchbay::sandbox::Sandbox;
use patchbay::store::Store;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Six rule kinds over every integration; they notify a file no healthy run reaches.
const ALERT_RULES: [(&str, &str); 6] = [
    ("failing", "consecutive_failures >= 3"),
    ("flaky", "failure_rate(1h) > 10%"),
    ("slow", "p95_latency(15m) > 2s"),
    ("stale", "no_success_for > 2h"),
    ("down", "health == down"),
    ("throttled", "rate_limited(15m) > 20"),
];

fn config(url: &str, integrations: u64, alerts: bool) -> String {
    let mut text = String::from(
        "[settings]\nmax_concurrent_runs = 4096\nmax_concurrent_requests_per_host = 64\n",
    );
    if alerts {
        text.push_str(
            "[[integration]]\nname = \"pager\"\nkind = \"file\"\npath = \"pager.jsonl\"\n",
        );
        for (name, when) in ALERT_RULES {
            text.push_str(&format!(
                "[[alert]]\nname = \"{name}\"\nwhen = \"{when}\"\nnotify = [\"pager\"]\n"
            ));
        }
    }
    for i in 0..integrations {
        text.push_str(&format!(
            "[[integration]]\nname = \"check-{i:05}\"\nkind = \"http\"\nevery = \"1s\"\ntimeout = \"10s\"\n\
             [integration.request]\nurl = \"{url}/health/ok\"\n[integration.records]\npath = \"$.status\"\n"
        ));
    }
    text
}

fn main() {
    let integrations = env_or("PATCHBAY_BENCH_INTEGRATIONS", 10_000);
    let seconds = env_or("PATCHBAY_BENCH_SECONDS", 30);
    let alerts = env_or("PATCHBAY_BENCH_ALERTS", 0) == 1;
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let sandbox = Sandbox::start(0).await.expect("sandbox");
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("connectors.toml");
        let loaded = Instant::now();
        let config = Config::parse(SourceFile::new(
            &path,
            config(&sandbox.url(), integrations, alerts),
        ));
        assert!(config.is_valid(), "{}", config.render_problems());
        let load_ms = loaded.elapsed().as_millis();
        let store = Arc::new(Store::open_in(dir.path()).expect("store"));
        let options = EngineOptions {
            clock: Arc::new(SystemClock),
            vault: None,
            read_only: false,
            scheduling: true,
        };
        let (engine, task) = patchbay::engine::start(config, store, options)
            .await
            .expect("engine");
        let mut events = engine.subscribe();
        let cpu_before = measure::cpu_time();
        let started = Instant::now();
        let deadline = started + Duration::from_secs(seconds);
        let (mut finished, mut failed, mut skipped) = (0u64, 0u64, 0u64);
        while Instant::now() < deadline {
            match tokio::time::timeout_at(deadline.into(), events.recv()).await {
                Ok(Ok(EngineEvent::RunFinished(run))) => match run.status {
                    patchbay::domain::run::RunStatus::Success => finished += 1,
                    patchbay::domain::run::RunStatus::Skipped => skipped += 1,
                    _ => failed += 1,
                },
                Ok(Ok(_)) => {}
                Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(n))) => {
                    eprintln!("event receiver lagged by {n}");
                }
                Ok(Err(_)) | Err(_) => break,
            }
        }
        let wall = started.elapsed();
        let cpu = measure::cpu_time() - cpu_before;
        let snapshot = engine.snapshot().await.expect("snapshot");
        engine.shutdown(Duration::from_secs(10)).await;
        let _ = task.await;
        let lag = snapshot.status.lag;
        let ms = |us: u64| format!("{:.2}", us as f64 / 1000.0);
        measure::report(
            "engine_schedule",
            &[
                ("integrations", integrations.to_string()),
                (
                    "alert_rules",
                    if alerts { ALERT_RULES.len() } else { 0 }.to_string(),
                ),
                ("seconds", format!("{:.1}", wall.as_secs_f64())),
                ("config_load_ms", load_ms.to_string()),
                ("fires", lag.fires.to_string()),
                ("lag_p50_ms", ms(lag.p50_us)),
                ("lag_p99_ms", ms(lag.p99_us)),
                ("lag_max_ms", ms(lag.max_us)),
                ("runs_ok", finished.to_string()),
                ("runs_failed", failed.to_string()),
                ("runs_skipped", skipped.to_string()),
                (
                    "runs_per_second",
                    format!(
                        "{:.0}",
                        (finished + failed + skipped) as f64 / wall.as_secs_f64()
                    ),
                ),
                (
                    "cpu_percent_of_one_core",
                    format!("{:.0}", 100.0 * cpu.as_secs_f64() / wall.as_secs_f64()),
                ),
                ("peak_rss_mib", format!("{:.1}", measure::peak_rss_mib())),
            ],
        );
        sandbox.stop().await;
    });
}

//! Extraction throughput: 100,000 records in pages of 100 (cursor pagination) from the
//! sandbox into the `file` output, and in the same run a plain reqwest + serde_json
//! loop fetching the same pages, which is the practical limit.
//!
//! The like-for-like comparison extracts without a primary key (the loop does no change
//! detection either); a third figure adds `primary_key`, so every record is hashed and
//! its hash stored, to show what change detection costs.
//!
//! `cargo bench --bench extract` (PATCHBAY_BENCH_RECORDS overrides 100000). Each side
//! runs in its own process so each peak RSS is its own.

#[path = "measure.rs"]
mod measure;

use std::sync::Arc;
use std::time::{Duration, Instant};

use patchbay::config::{Config, SourceFile};
use patchbay::engine::{EngineEvent, EngineOptions};
use patchbay::runtime::clock::SystemClock;
use patchbay::sandbox::Sandbox;
use patchbay::store::Store;

fn records() -> u64 {
    std::env::var("PATCHBAY_BENCH_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000)
}

fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("--patchbay") => run_side("extract_patchbay", |url, total| {
            patchbay_side(url, total, false)
        }),
        Some("--patchbay-dedupe") => run_side("extract_patchbay_change_detection", |url, total| {
            patchbay_side(url, total, true)
        }),
        Some("--loop") => run_side("extract_plain_loop", plain_loop),
        // cargo bench passes `--bench`: run both sides as child processes.
        _ => {
            let me = std::env::current_exe().expect("own path");
            for side in ["--loop", "--patchbay", "--patchbay-dedupe"] {
                let status = std::process::Command::new(&me)
                    .arg(side)
                    .status()
                    .expect("child runs");
                assert!(status.success(), "{side} failed");
            }
        }
    }
}

fn run_side(name: &str, side: fn(String, u64) -> Duration) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let total = records();
    let sandbox = runtime.block_on(Sandbox::start(0)).expect("sandbox");
    let url = format!("{}/api/records", sandbox.url());

    let elapsed = runtime.block_on(async move {
        tokio::task::spawn_blocking(move || side(url, total))
            .await
            .expect("side")
    });
    measure::report(
        name,
        &[
            ("records", total.to_string()),
            ("seconds", format!("{:.2}", elapsed.as_secs_f64())),
            (
                "records_per_second",
                format!("{:.0}", total as f64 / elapsed.as_secs_f64()),
            ),
            ("peak_rss_mib", format!("{:.1}", measure::peak_rss_mib())),
        ],
    );
}

/// What any client must do at least: fetch every page and parse it.
fn plain_loop(url: String, total: u64) -> Duration {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        patchbay::runtime::http::install_tls_provider();
        let client = reqwest::Client::new();
        let started = Instant::now();
        let mut cursor: Option<String> = None;
        let mut seen = 0u64;
        loop {
            let mut request = client
                .get(&url)
                .query(&[("limit", "100"), ("total", &total.to_string())]);
            if let Some(c) = &cursor {
                request = request.query(&[("cursor", c)]);
            }
            let page: serde_json::Value = request
                .send()
                .await
                .expect("page")
                .json()
                .await
                .expect("json");
            seen += page["data"].as_array().map_or(0, |d| d.len() as u64);
            match page["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, total);
        started.elapsed()
    })
}

/// One patchbay run: the same pages through the engine, pipeline and file output.
fn patchbay_side(url: String, total: u64, change_detection: bool) -> Duration {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let out = dir.path().join("records.jsonl");
        let text = format!(
            "[[integration]]\nname = \"records\"\nkind = \"http\"\nevery = \"1h\"\ntimeout = \"10m\"\noutputs = [\"archive\"]\n\
             [integration.request]\nurl = \"{url}\"\nquery = {{ limit = \"100\", total = \"{total}\" }}\n\
                          [integration.records]\npath = \"$.data[*]\"\n{}\
             [integration.paginate]\ntype = \"cursor\"\ncursor_path = \"$.next_cursor\"\nparam = \"cursor\"\nmax_pages = 100000\n\
             [[integration]]\nname = \"archive\"\nkind = \"file\"\npath = \"{}\"\nrotate_bytes = 10000000000\n",
            if change_detection { "primary_key = \"id\"\n" } else { "" },
            out.display()
        );
        let config = Config::parse(SourceFile::new(dir.path().join("connectors.toml"), text));
        assert!(config.is_valid(), "{}", config.render_problems());
        let store = Arc::new(Store::open_in(dir.path()).expect("store"));
        let options = EngineOptions {
            clock: Arc::new(SystemClock),
            vault: None,
            read_only: false,
            scheduling: false,
        };
        let (engine, task) = patchbay::engine::start(config, store, options).await.expect("engine");
        let mut events = engine.subscribe();
        let started = Instant::now();
        let id = engine.run_now("records").await.expect("run");
        let run = loop {
            if let Ok(EngineEvent::RunFinished(run)) = events.recv().await
                && run.id == id
            {
                break run;
            }
        };
        let elapsed = started.elapsed();
        assert_eq!(run.records_delivered, total, "{run:?}");
        engine.shutdown(Duration::ZERO).await;
        let _ = task.await;
        elapsed
    })
}

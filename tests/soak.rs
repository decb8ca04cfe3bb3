//! Crash soak: `patchbay headless` under load (a paged incremental source, inbound
//! webhooks arriving, file outputs delivering) killed with SIGKILL at random points,
//! then restarted. After all of it: every event answered 202 was delivered (the file
//! output is the oracle), no run stays `running`, the cursor is never ahead of what
//! was delivered, and the store opens. 25 kills here; `PATCHBAY_SOAK_KILLS=500` for a
//! long run. It prints one `bench=soak` line with the figures.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::Home;
use common::service::{Service, wait_until};
use patchbay::sandbox::Sandbox;
use patchbay::store::Store;
use rand::{Rng, SeedableRng};

fn config(sandbox: &str, port: u16) -> String {
    format!(
        "[settings]\nwebhook_listen = \"127.0.0.1:{port}\"\n\
         [[integration]]\nname = \"orders\"\nkind = \"http\"\nevery = \"1s\"\noutputs = [\"orders-file\"]\n\
         [integration.request]\nurl = \"{sandbox}/api/orders\"\n\
         [integration.records]\npath = \"$.data[*]\"\nprimary_key = \"id\"\n\
         [integration.paginate]\ntype = \"page_number\"\nparam = \"page\"\npage_size_param = \"per_page\"\npage_size = 100\n\
         [integration.incremental]\ncursor_field = \"updated_at\"\nparam = \"updated_since\"\nstart = \"2024-01-01T00:00:00Z\"\norder = \"ascending\"\n\
         [[integration]]\nname = \"events\"\nkind = \"webhook_in\"\npath = \"/hooks/events\"\noutputs = [\"events-file\"]\n\
         [[integration]]\nname = \"orders-file\"\nkind = \"file\"\npath = \"orders.jsonl\"\n\
         [[integration]]\nname = \"events-file\"\nkind = \"file\"\npath = \"events.jsonl\"\n"
    )
}

/// Every line of a JSON-lines file that parses (a kill may cut the last one short).
fn records(home: &Home, file: &str) -> Vec<serde_json::Value> {
    std::fs::read_to_string(home.path(file))
        .unwrap_or_default()
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_at_random_points_loses_nothing() {
    let kills: usize = std::env::var("PATCHBAY_SOAK_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(25);
    let seed: u64 = rand::rng().random();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let sandbox = Sandbox::start(0).await.unwrap();
    let port = common::free_port();
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&sandbox.url(), port)).unwrap();
    patchbay::runtime::http::install_tls_provider();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/hooks/events");
    let mut accepted = Vec::new();
    let mut next_id = 0u64;
    let started = Instant::now();

    for _ in 0..kills {
        let service = Service::start(&home, &[]);
        service.wait_for_log("receiving inbound webhooks", 1, Duration::from_secs(30));
        let lifetime = Duration::from_millis(rng.random_range(100..1500));
        let until = Instant::now() + lifetime;
        while Instant::now() < until {
            next_id += 1;
            let body = format!(r#"{{"id": "evt-{next_id}"}}"#);
            let answer = client.post(&url).body(body).send().await;
            if answer.is_ok_and(|a| a.status() == 202) {
                accepted.push(format!("evt-{next_id}"));
            }
        }
        service.signal("KILL");
        drop(service);
    }

    // One last, orderly life: everything accepted must come out.
    let mut service = Service::start(&home, &[]);
    let delivered_all = wait_until(Duration::from_secs(120), || {
        let ids: Vec<String> = records(&home, "events.jsonl")
            .iter()
            .filter_map(|r| r["id"].as_str().map(str::to_owned))
            .collect();
        accepted.iter().all(|id| ids.contains(id))
    });
    service.signal("TERM");
    assert!(service.wait_exit(Duration::from_secs(60)).success());
    sandbox.stop().await;

    let events = records(&home, "events.jsonl");
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for event in &events {
        if let Some(id) = event["id"].as_str() {
            *seen.entry(id).or_default() += 1;
        }
    }
    let lost: Vec<&String> = accepted
        .iter()
        .filter(|id| !seen.contains_key(id.as_str()))
        .collect();
    assert!(
        delivered_all.is_ok() && lost.is_empty(),
        "seed {seed}: {} of {} events answered 202 were never delivered: {lost:?}",
        lost.len(),
        accepted.len()
    );
    let duplicates: usize = seen.values().map(|n| n - 1).sum();

    let store = Store::open_in(&home.data_dir()).expect("the store opens after every kill");
    let runs = store.runs(None, 100_000).unwrap();
    let running: Vec<_> = runs
        .iter()
        .filter(|r| r.status == patchbay::domain::RunStatus::Running)
        .collect();
    assert!(
        running.is_empty(),
        "seed {seed}: runs left running: {running:?}"
    );
    let interrupted = runs
        .iter()
        .filter(|r| r.status == patchbay::domain::RunStatus::Interrupted)
        .count();

    // The cursor is never ahead of what reached the file.
    let orders = records(&home, "orders.jsonl");
    let newest_delivered = orders
        .iter()
        .filter_map(|o| o["updated_at"].as_str())
        .filter_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .max();
    if let Some(cursor) = store.cursor("orders").unwrap() {
        let cursor = chrono::DateTime::parse_from_rfc3339(&cursor.value).unwrap();
        assert!(
            newest_delivered.is_some_and(|newest| cursor <= newest),
            "seed {seed}: cursor {cursor} ahead of the newest delivered order {newest_delivered:?}"
        );
    }
    println!(
        "bench=soak kills={kills} seed={seed} seconds={:.0} events_accepted={} events_delivered={} event_duplicates={duplicates} orders_delivered={} runs={} runs_interrupted={interrupted} lost=0",
        started.elapsed().as_secs_f64(),
        accepted.len(),
        events.len(),
        orders.len(),
        runs.len(),
    );
}

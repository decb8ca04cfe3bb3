//! The incremental cursor is never ahead of delivery: a run that stopped early, an
//! output that failed, a cancel, each leaves the cursor where no record can be skipped,
//! on APIs that list oldest first and newest first.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::harness::{Harness, finished, run_once};
use patchbay::domain::run::RunStatus;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PAGE_SIZE: usize = 2;
const RECORDS: u32 = 6;

/// A listing of six records whose `updated_at` is their id, two to a page, filtered by
/// an inclusive `since`, in either order, like a real API with `sort` and `direction`.
#[derive(Clone)]
struct Listing {
    newest_first: bool,
    /// This page number answers 500 once, then recovers.
    fail_page_once: Arc<AtomicU32>,
    /// This page number answers only after 30 s.
    slow_page: Option<u32>,
    /// This page number answers once with a record nested deeper than a JSON parser
    /// goes, inside a body that is otherwise fine.
    deep_page_once: Arc<AtomicU32>,
}

impl Listing {
    fn new(newest_first: bool) -> Self {
        Self {
            newest_first,
            fail_page_once: Arc::new(AtomicU32::new(0)),
            slow_page: None,
            deep_page_once: Arc::new(AtomicU32::new(0)),
        }
    }
}

impl Respond for Listing {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let query = |key: &str| {
            request
                .url
                .query_pairs()
                .find(|(k, _)| k == key)
                .and_then(|(_, v)| v.parse::<u32>().ok())
        };
        let page = query("page").unwrap_or(1);
        let since = query("since").unwrap_or(0);
        if self
            .fail_page_once
            .compare_exchange(page, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            return ResponseTemplate::new(500);
        }
        let mut ids: Vec<u32> = (1..=RECORDS).filter(|id| *id >= since).collect();
        if self.newest_first {
            ids.reverse();
        }
        let data: Vec<_> = ids
            .chunks(PAGE_SIZE)
            .nth(page as usize - 1)
            .unwrap_or_default()
            .iter()
            .map(|id| serde_json::json!({"id": id, "updated_at": id}))
            .collect();
        if self
            .deep_page_once
            .compare_exchange(page, 0, Ordering::SeqCst, Ordering::SeqCst)
            .is_ok()
        {
            let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
            let body = format!(r#"{{"data": [{{"id": 0, "updated_at": 0, "deep": {deep}}}]}}"#);
            return ResponseTemplate::new(200).set_body_string(body);
        }
        let answer = ResponseTemplate::new(200).set_body_json(serde_json::json!({ "data": data }));
        match self.slow_page {
            Some(slow) if slow == page => answer.set_delay(Duration::from_secs(30)),
            _ => answer,
        }
    }
}

struct Setup {
    harness: Harness,
    out: tempfile::TempDir,
}

impl Setup {
    /// `items` pages through `listing` into a file output `archive`, plus `extra`
    /// outputs declared in `more`.
    async fn new(server: &MockServer, order: Option<&str>, tables: &str, more: &str) -> Self {
        let out = tempfile::tempdir().unwrap();
        let order = order.map_or(String::new(), |o| format!("order = \"{o}\"\n"));
        let config = format!(
            "[[integration]]\nname = \"items\"\nkind = \"http\"\nevery = \"1h\"\n{tables}\n\
             retry = {{ max_attempts = 1 }}\n\
             [integration.request]\nurl = \"{}/items\"\n\
             [integration.records]\npath = \"$.data[*]\"\nprimary_key = \"id\"\n\
             [integration.paginate]\ntype = \"page_number\"\nparam = \"page\"\npage_size = {PAGE_SIZE}\n\
             [integration.incremental]\ncursor_field = \"updated_at\"\nparam = \"since\"\n{order}\n\
             [[integration]]\nname = \"archive\"\nkind = \"file\"\npath = \"{}\"\n{more}",
            server.uri(),
            out.path().join("items.jsonl").display(),
        );
        Self {
            harness: Harness::new(&config),
            out,
        }
    }

    fn delivered(&self) -> Vec<u64> {
        let text = std::fs::read_to_string(self.out.path().join("items.jsonl")).unwrap_or_default();
        let mut ids: Vec<u64> = text
            .lines()
            .map(|line| {
                let record: serde_json::Value = serde_json::from_str(line).unwrap();
                record["id"].as_u64().unwrap()
            })
            .collect();
        ids.sort_unstable();
        ids
    }

    fn cursor(&self) -> Option<String> {
        self.harness
            .store
            .cursor("items")
            .unwrap()
            .map(|cursor| cursor.value)
    }
}

async fn listing(server_listing: Listing) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(server_listing)
        .mount(&server)
        .await;
    server
}

/// The bug this file exists for: page 1 of a newest-first API holds the newest
/// records; moving the cursor there on a partial run skipped the rest for good.
#[tokio::test]
async fn a_newest_first_api_with_a_failing_page_keeps_the_old_cursor() {
    for order in [Some("descending"), None] {
        let api = Listing::new(true);
        api.fail_page_once.store(2, Ordering::SeqCst);
        let server = listing(api).await;
        let setup = Setup::new(&server, order, "outputs = [\"archive\"]", "").await;
        let engine = setup.harness.start(false).await;
        let partial = run_once(&engine, "items").await;
        assert_eq!(partial.status, RunStatus::Partial, "{partial:?}");
        assert_eq!(setup.delivered(), [5, 6], "page 1 was delivered");
        assert_eq!(
            setup.cursor(),
            None,
            "order {order:?}: the cursor did not move"
        );

        let resumed = run_once(&engine, "items").await;
        assert_eq!(resumed.status, RunStatus::Success, "{resumed:?}");
        assert_eq!(
            setup.delivered(),
            [1, 2, 3, 4, 5, 6],
            "every record, each once"
        );
        assert_eq!(setup.cursor().as_deref(), Some("6"));
        engine.shutdown(Duration::ZERO).await;
    }
}

/// A record too deeply nested to parse on page 2 (records are parsed beside the fetch
/// loop, after the page was found whole) ends the run as a page that failed would:
/// partial, page 1 delivered, the cursor where nothing can be skipped.
#[tokio::test]
async fn a_record_too_deep_to_parse_on_page_two_is_a_failed_page() {
    let api = Listing::new(true);
    api.deep_page_once.store(2, Ordering::SeqCst);
    let server = listing(api).await;
    let setup = Setup::new(&server, None, "outputs = [\"archive\"]", "").await;
    let engine = setup.harness.start(false).await;
    let partial = run_once(&engine, "items").await;
    assert_eq!(partial.status, RunStatus::Partial, "{partial:?}");
    assert!(
        partial
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("not valid JSON: record 1: recursion limit")),
        "{partial:?}"
    );
    assert_eq!(setup.delivered(), [5, 6], "page 1 was delivered");
    assert_eq!(setup.cursor(), None, "the cursor did not move");

    let resumed = run_once(&engine, "items").await;
    assert_eq!(resumed.status, RunStatus::Success, "{resumed:?}");
    assert_eq!(setup.delivered(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(setup.cursor().as_deref(), Some("6"));
    engine.shutdown(Duration::ZERO).await;
}

#[tokio::test]
async fn an_ascending_api_with_a_failing_page_keeps_the_progress_of_its_pages() {
    let api = Listing::new(false);
    api.fail_page_once.store(3, Ordering::SeqCst);
    let server = listing(api).await;
    let setup = Setup::new(&server, Some("ascending"), "outputs = [\"archive\"]", "").await;
    let engine = setup.harness.start(false).await;
    let partial = run_once(&engine, "items").await;
    assert_eq!(partial.status, RunStatus::Partial, "{partial:?}");
    assert_eq!(setup.delivered(), [1, 2, 3, 4]);
    assert_eq!(setup.cursor().as_deref(), Some("4"));

    let resumed = run_once(&engine, "items").await;
    assert_eq!(resumed.status, RunStatus::Success, "{resumed:?}");
    assert_eq!(setup.delivered(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(setup.cursor().as_deref(), Some("6"));
    engine.shutdown(Duration::ZERO).await;
    let sent_since = common::query_values(&server.received_requests().await.unwrap(), "since");
    assert!(
        sent_since.iter().all(|since| since == "4"),
        "the second run resumed from page 2's largest value: {sent_since:?}"
    );
}

#[tokio::test]
async fn max_pages_moves_the_cursor_only_on_an_ascending_api() {
    for (newest_first, order, cursor_after_one_page) in
        [(true, "descending", None), (false, "ascending", Some("2"))]
    {
        let server = listing(Listing::new(newest_first)).await;
        let tables = "outputs = [\"archive\"]";
        let setup = Setup::new(&server, Some(order), tables, "").await;
        // `max_pages` belongs to [integration.paginate], which Setup writes last.
        let config = std::fs::read_to_string(setup.harness.config_path()).unwrap();
        setup
            .harness
            .write_config(&config.replace("page_size = 2\n", "page_size = 2\nmax_pages = 1\n"));
        let engine = setup.harness.start(false).await;
        let cut = run_once(&engine, "items").await;
        assert_eq!(cut.status, RunStatus::Success, "{cut:?}");
        assert_eq!(cut.records_in, 2);
        assert_eq!(
            setup.cursor().as_deref(),
            cursor_after_one_page,
            "{order}: max_pages cut the run"
        );
        engine.shutdown(Duration::ZERO).await;
    }
}

/// An output that accepts page 1 and refuses page 2: nothing moves, and the next run
/// delivers what was missing.
#[tokio::test]
async fn an_output_failing_on_page_two_moves_nothing() {
    let server = listing(Listing::new(false)).await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(200))
        .with_priority(3)
        .mount(&server)
        .await;
    let hook = format!(
        "[[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nretry = {{ max_attempts = 1 }}\n",
        server.uri()
    );
    let setup = Setup::new(&server, Some("ascending"), "outputs = [\"hook\"]", &hook).await;
    let engine = setup.harness.start(false).await;
    let failed = run_once(&engine, "items").await;
    assert_ne!(failed.status, RunStatus::Success, "{failed:?}");
    assert_eq!(setup.cursor(), None);
    let again = run_once(&engine, "items").await;
    assert_eq!(again.status, RunStatus::Success, "{again:?}");
    assert_eq!(
        again.records_new, 6,
        "page 1 was not marked delivered either"
    );
    assert_eq!(setup.cursor().as_deref(), Some("6"));
    engine.shutdown(Duration::ZERO).await;
}

/// Of two outputs, the file accepts everything and the webhook refuses: the cursor
/// waits for both.
#[tokio::test]
async fn one_of_two_outputs_failing_moves_nothing() {
    let server = listing(Listing::new(false)).await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let hook = format!(
        "[[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nretry = {{ max_attempts = 1 }}\n",
        server.uri()
    );
    let setup = Setup::new(
        &server,
        Some("ascending"),
        "outputs = [\"archive\", \"hook\"]",
        &hook,
    )
    .await;
    let engine = setup.harness.start(false).await;
    let run = run_once(&engine, "items").await;
    assert_ne!(run.status, RunStatus::Success, "{run:?}");
    let hook_delivery = run.deliveries.iter().find(|d| d.output == "hook").unwrap();
    assert!(!hook_delivery.ok);
    assert_eq!(setup.cursor(), None);
    engine.shutdown(Duration::ZERO).await;
}

/// Cancelled while page 2 is on its way: page 1 reached the output, the cursor stays.
#[tokio::test]
async fn a_cancel_mid_run_moves_nothing() {
    let mut api = Listing::new(false);
    api.slow_page = Some(2);
    let server = listing(api).await;
    let setup = Setup::new(&server, Some("ascending"), "outputs = [\"archive\"]", "").await;
    let engine = setup.harness.start(false).await;
    let mut events = engine.subscribe();
    let id = engine.run_now("items").await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), async {
        while setup.delivered().len() < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("page 1 delivered");
    engine.cancel("items").await.unwrap();
    let run = finished(&mut events, |r| r.id == id).await;
    assert_eq!(run.status, RunStatus::Cancelled, "{run:?}");
    assert_eq!(setup.delivered(), [1, 2]);
    assert_eq!(setup.cursor(), None);
    engine.shutdown(Duration::ZERO).await;
}

/// Out of time while page 2 is on its way: the record counts page 1, which reached
/// the output (it used to say 0 records), the run is partial, and nothing moves.
#[tokio::test]
async fn a_run_out_of_time_counts_what_went_out_and_moves_nothing() {
    let mut api = Listing::new(false);
    api.slow_page = Some(2);
    let server = listing(api).await;
    let tables = "outputs = [\"archive\"]\ntimeout = \"2s\"";
    let setup = Setup::new(&server, Some("ascending"), tables, "").await;
    let engine = setup.harness.start(false).await;
    let run = run_once(&engine, "items").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(run.status, RunStatus::Partial, "{run:?}");
    assert_eq!(
        run.error_class,
        Some(patchbay::domain::run::ErrorClass::Timeout)
    );
    assert_eq!((run.records_in, run.records_delivered), (2, 2), "{run:?}");
    assert_eq!(setup.delivered(), [1, 2]);
    assert_eq!(setup.cursor(), None, "a run cut short earns nothing");
    let hashes = setup
        .harness
        .store
        .record_hashes(
            "items",
            &[1, 2].map(|id| key_of(serde_json::json!({ "id": id }))),
        )
        .unwrap();
    assert!(hashes.is_empty(), "nothing marked delivered: {hashes:?}");
}

/// The key a record is stored by.
fn key_of(record: serde_json::Value) -> u128 {
    patchbay::pipeline::record_key_hash(&record, Some("id")).expect("keyed")
}

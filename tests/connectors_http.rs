//! The `http` kind against the sandbox and wiremock: pagination, incremental sync,
//! response actions, rate-limit policy, bodies that do not parse or are too big.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use patchbay::domain::run::{ErrorClass, RunStatus};
use patchbay::sandbox::{Sandbox, credentials};
use wiremock::matchers::{path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http(name: &str, url: &str, tables: &str) -> String {
    format!(
        "[[integration]]\nname = \"{name}\"\nkind = \"http\"\nevery = \"1h\"\nretry = {{ max_attempts = 3, base_delay = \"10ms\", max_delay = \"1s\" }}\n{tables}\n[integration.request]\nurl = \"{url}\"\n"
    )
}

#[tokio::test]
async fn every_pagination_style_fetches_the_whole_collection() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let next_url = MockServer::start().await;
    Mock::given(path("/next"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"items": [{"id": 3}], "next": null})),
        )
        .mount(&next_url)
        .await;
    Mock::given(path("/next"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"items": [{"id": 1}, {"id": 2}], "next": "/next?page=2"}),
        ))
        .mount(&next_url)
        .await;
    let config = [
        http("users", &format!("{base}/api/users"), "[integration.auth]\ntype = \"api_key\"\nname = \"X-Api-Key\"\nkey = \"secret:api_key\"")
            + "query = { limit = \"500\" }\n[integration.records]\npath = \"$.users[*]\"\nprimary_key = \"id\"\n[integration.paginate]\ntype = \"cursor\"\ncursor_path = \"$.next_cursor\"\nparam = \"cursor\"\n",
        http("orders", &format!("{base}/api/orders"), "")
            + "[integration.records]\npath = \"$.data[*]\"\nprimary_key = \"id\"\n[integration.paginate]\ntype = \"page_number\"\nparam = \"page\"\npage_size_param = \"per_page\"\npage_size = 500\n",
        http("events", &format!("{base}/api/events"), "")
            + "[integration.records]\npath = \"$[*]\"\nprimary_key = \"id\"\n[integration.paginate]\ntype = \"link_header\"\n",
        http("tickets", &format!("{base}/api/tickets"), "[integration.auth]\ntype = \"basic\"\nusername = \"ops\"\npassword = \"secret:basic_password\"")
            + "[integration.records]\npath = \"$.tickets[*]\"\nprimary_key = \"id\"\n[integration.paginate]\ntype = \"offset\"\nparam = \"offset\"\nlimit_param = \"limit\"\nlimit = 200\n",
        http("linked", &format!("{}/next", next_url.uri()), "")
            + "[integration.records]\npath = \"$.items[*]\"\n[integration.paginate]\ntype = \"next_url\"\nurl_path = \"$.next\"\n",
        http("single", &format!("{base}/api/private"), "[integration.auth]\ntype = \"bearer\"\ntoken = \"secret:private_token\"")
            + "[integration.records]\npath = \"$.data[*]\"\n",
    ]
    .concat();
    let harness = Harness::new(&config);
    harness.set_secret("api_key", credentials::API_KEY);
    harness.set_secret("basic_password", credentials::BASIC_PASSWORD);
    harness.set_secret("private_token", credentials::PRIVATE_TOKEN);
    let engine = harness.start(false).await;
    for (name, records, pages) in [
        ("users", 2500, 5),
        // A full last page takes one more (empty) request to be known as the last.
        ("orders", 3000, 7),
        ("events", 1200, 12),
        ("tickets", 800, 5),
        ("linked", 3, 2),
        ("single", 5, 1),
    ] {
        let run = run_once(&engine, name).await;
        assert_eq!(run.status, RunStatus::Success, "{name}: {run:?}");
        assert_eq!((run.records_in, run.requests), (records, pages), "{name}");
        assert_eq!(run.records_new, records, "{name}: all new on the first run");
    }
    engine.shutdown(Duration::ZERO).await;
    sandbox.stop().await;
}

#[tokio::test]
async fn a_repeated_cursor_or_a_repeated_page_ends_pagination() {
    let server = MockServer::start().await;
    // Different records on each page, but always the same next cursor.
    Mock::given(path("/stuck"))
        .and(query_param("c", "same"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": [{"id": 2}], "next": "same"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/stuck"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": [{"id": 1}], "next": "same"})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/same-page"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": 7}]})),
        )
        .mount(&server)
        .await;
    let config = http("stuck", &format!("{}/stuck", server.uri()), "")
        + "[integration.records]\npath = \"$.data[*]\"\n[integration.paginate]\ntype = \"cursor\"\ncursor_path = \"$.next\"\nparam = \"c\"\n"
        + &http("same", &format!("{}/same-page", server.uri()), "")
        + "[integration.records]\npath = \"$.data[*]\"\n[integration.paginate]\ntype = \"page_number\"\nparam = \"page\"\n";
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let stuck = run_once(&engine, "stuck").await;
    let same = run_once(&engine, "same").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!((stuck.status, stuck.requests), (RunStatus::Success, 2));
    assert_eq!(
        (same.status, same.requests, same.records_in),
        (RunStatus::Success, 2, 1)
    );
    let stuck_log = harness.store.run_logs(stuck.id).unwrap().join("\n");
    assert!(
        stuck_log.contains("points back to a page already fetched"),
        "{stuck_log}"
    );
    let same_log = harness.store.run_logs(same.id).unwrap().join("\n");
    assert!(same_log.contains("repeats the previous page"), "{same_log}");
}

/// Records that share one `updated_at`: the boundary is inclusive, and the records
/// already delivered are recognised by key, so none is lost and none sent twice.
#[tokio::test]
async fn incremental_sync_is_lossless_at_the_boundary_and_waits_for_the_outputs() {
    let server = MockServer::start().await;
    let at = "2024-05-01T00:00:00Z";
    let page = |ids: std::ops::RangeInclusive<u32>| {
        let data: Vec<_> = ids
            .map(|id| serde_json::json!({"id": id, "updated_at": at}))
            .collect();
        ResponseTemplate::new(200).set_body_json(serde_json::json!({ "data": data }))
    };
    Mock::given(path("/items"))
        .and(query_param("since", "2024-01-01T00:00:00Z"))
        .respond_with(page(1..=3))
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .and(query_param("since", at))
        .respond_with(page(1..=5))
        .mount(&server)
        .await;
    Mock::given(path("/hook"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("items.jsonl");
    let incremental = "[integration.records]\npath = \"$.data[*]\"\nprimary_key = \"id\"\n[integration.incremental]\ncursor_field = \"updated_at\"\nparam = \"since\"\nstart = \"2024-01-01T00:00:00Z\"\n";
    let config = http(
        "items",
        &format!("{}/items", server.uri()),
        "outputs = [\"archive\"]",
    ) + incremental
        + &http(
            "broken",
            &format!("{}/items", server.uri()),
            "outputs = [\"hook\"]",
        )
        + incremental
        + &format!(
            "[[integration]]\nname = \"archive\"\nkind = \"file\"\npath = \"{}\"\n",
            file.display()
        )
        + &format!(
            "[[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}/hook\"\nretry = {{ max_attempts = 1 }}\n",
            server.uri()
        );
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let first = run_once(&engine, "items").await;
    assert_eq!((first.records_new, first.records_delivered), (3, 3));
    let second = run_once(&engine, "items").await;
    assert_eq!(
        (
            second.records_in,
            second.records_new,
            second.records_unchanged,
            second.records_delivered
        ),
        (5, 2, 3, 2)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap().lines().count(),
        5,
        "every record exactly once"
    );

    // The output fails: neither the cursor nor "already delivered" moves.
    let failed = run_once(&engine, "broken").await;
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(
        failed.deliveries[0]
            .error
            .as_deref()
            .map(|e| e.starts_with("500")),
        Some(true)
    );
    let again = run_once(&engine, "broken").await;
    assert_eq!(again.records_new, 3, "nothing was marked delivered");
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(harness.store.cursor("items").unwrap().unwrap().value, at);
    assert_eq!(harness.store.cursor("broken").unwrap(), None);
    let items: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path() == "/items")
        .collect();
    let since = common::query_values(&items, "since");
    assert_eq!(
        &since[..2],
        ["2024-01-01T00:00:00Z", at],
        "the second run resumed from the stored cursor"
    );
}

#[tokio::test]
async fn response_actions_override_the_class_of_a_status() {
    let server = MockServer::start().await;
    Mock::given(path("/gone"))
        .respond_with(ResponseTemplate::new(404))
        .mount(&server)
        .await;
    Mock::given(path("/conflict"))
        .respond_with(ResponseTemplate::new(409))
        .mount(&server)
        .await;
    let config = http(
        "gone",
        &format!("{}/gone", server.uri()),
        "response_actions = [{ status = 404, action = \"ignore\" }]",
    ) + &http(
        "conflict",
        &format!("{}/conflict", server.uri()),
        "response_actions = [{ status = 409, action = \"retry\" }]",
    );
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let gone = run_once(&engine, "gone").await;
    assert_eq!(
        (gone.status, gone.records_in, gone.requests),
        (RunStatus::Success, 0, 1)
    );
    let conflict = run_once(&engine, "conflict").await;
    assert_eq!(
        (conflict.status, conflict.error_class, conflict.requests),
        (RunStatus::Failed, Some(ErrorClass::Server), 3)
    );
    engine.shutdown(Duration::ZERO).await;
}

#[tokio::test]
async fn on_rate_limit_stop_ends_the_run_partial_without_waiting() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "600"))
        .mount(&server)
        .await;
    let harness = Harness::new(&http(
        "limited",
        &format!("{}/limited", server.uri()),
        "on_rate_limit = \"stop\"",
    ));
    let engine = harness.start(false).await;
    let run = run_once(&engine, "limited").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        (run.status, run.error_class, run.requests),
        (RunStatus::Partial, Some(ErrorClass::RateLimited), 1)
    );
}

#[tokio::test]
async fn malformed_and_oversized_bodies_fail_as_decode() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let server = MockServer::start().await;
    Mock::given(path("/huge"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(format!("[{}]", "1,".repeat(5000) + "1")),
        )
        .mount(&server)
        .await;
    let config = "[settings]\nmax_response_bytes = 4096\n".to_owned()
        + &http("broken", &format!("{}/api/broken", sandbox.url()), "")
        + &http("huge", &format!("{}/huge", server.uri()), "");
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let broken = run_once(&engine, "broken").await;
    assert_eq!(
        (broken.status, broken.error_class),
        (RunStatus::Failed, Some(ErrorClass::Decode))
    );
    assert!(
        broken
            .error_message
            .as_deref()
            .unwrap()
            .contains("not valid JSON")
    );
    let huge = run_once(&engine, "huge").await;
    assert_eq!(
        (huge.status, huge.error_class),
        (RunStatus::Failed, Some(ErrorClass::Decode))
    );
    assert!(
        huge.error_message
            .as_deref()
            .unwrap()
            .contains("larger than 4096 bytes")
    );
    assert_eq!(
        huge.hint.as_deref(),
        Some(
            "raise `settings.max_response_bytes`, or ask for smaller pages (a page size or limit parameter)"
        )
    );
    engine.shutdown(Duration::ZERO).await;
    sandbox.stop().await;
}

#[tokio::test]
async fn a_redirect_loop_says_so() {
    let server = MockServer::start().await;
    Mock::given(path("/loop"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "/loop"))
        .mount(&server)
        .await;
    let harness = Harness::new(&http("looping", &format!("{}/loop", server.uri()), ""));
    let engine = harness.start(false).await;
    let run = run_once(&engine, "looping").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(run.error_class, Some(ErrorClass::Client), "{run:?}");
    assert!(
        run.error_message
            .as_deref()
            .unwrap()
            .starts_with("too many redirects from http://127.0.0.1"),
        "{run:?}"
    );
    assert_eq!(run.attempts, 1, "a loop is not retried");
    assert!(run.hint.as_deref().unwrap().contains("keeps redirecting"));
}

#[tokio::test]
async fn an_api_key_in_the_query_is_sent_but_never_shown() {
    let server = MockServer::start().await;
    Mock::given(path("/q"))
        .and(query_param("api_key", "query-key-5f5f5f"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let config = http("q", &format!("{}/q", server.uri()), "[integration.auth]\ntype = \"api_key\"\nin = \"query\"\nname = \"api_key\"\nkey = \"secret:query_key\"")
        .replace("max_attempts = 3", "max_attempts = 1");
    let harness = Harness::new(&config);
    harness.set_secret("query_key", "query-key-5f5f5f");
    let engine = harness.start(false).await;
    let run = run_once(&engine, "q").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "the key reached the server"
    );
    let message = run.error_message.clone().unwrap();
    assert!(
        message.contains("api_key=***") && !message.contains("query-key-5f5f5f"),
        "{message}"
    );
}

#[tokio::test]
async fn credentials_are_not_forwarded_on_a_redirect_to_another_host() {
    let elsewhere = MockServer::start().await;
    Mock::given(path("/landing"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": 1}]})),
        )
        .mount(&elsewhere)
        .await;
    let origin = MockServer::start().await;
    Mock::given(path("/start"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", format!("{}/landing", elsewhere.uri())),
        )
        .mount(&origin)
        .await;
    let config = http(
        "moved",
        &format!("{}/start", origin.uri()),
        "[integration.auth]\ntype = \"bearer\"\ntoken = \"secret:token\"",
    ) + "[integration.records]\npath = \"$.data[*]\"\n";
    let harness = Harness::new(&config);
    harness.set_secret("token", "redirect-token-4d4d4d");
    let engine = harness.start(false).await;
    let run = run_once(&engine, "moved").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!((run.status, run.records_in), (RunStatus::Success, 1));
    let at_origin = &origin.received_requests().await.unwrap()[0];
    assert_eq!(
        at_origin.headers.get("authorization").unwrap(),
        "Bearer redirect-token-4d4d4d"
    );
    let landed = &elsewhere.received_requests().await.unwrap()[0];
    assert!(
        landed.headers.get("authorization").is_none(),
        "the token followed the redirect to another host"
    );
}

/// GitHub-style Link headers hold commas in their URLs (`fields=id,name`): page 2 was
/// never fetched and the run reported success with one page.
#[tokio::test]
async fn a_link_header_whose_url_holds_commas_is_followed() {
    let server = MockServer::start().await;
    let next = format!("{}/items?page=2&fields=id,name", server.uri());
    Mock::given(path("/items"))
        .and(query_param("page", "2"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": [{"id": 3}]})),
        )
        .mount(&server)
        .await;
    Mock::given(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": [{"id": 1}, {"id": 2}]}))
                .insert_header(
                    "Link",
                    format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\""),
                ),
        )
        .mount(&server)
        .await;
    let harness = Harness::new(
        &(http("items", &format!("{}/items", server.uri()), "")
            + "[integration.records]\npath = \"$.data[*]\"\n[integration.paginate]\ntype = \"link_header\"\n"),
    );
    let engine = harness.start(false).await;
    let run = run_once(&engine, "items").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        (run.status, run.records_in, run.requests),
        (RunStatus::Success, 3, 2),
        "{run:?}"
    );
}

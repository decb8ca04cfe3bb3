//! graphql, feed and the outputs (webhook, slack, discord); webhook_in is in inbound.rs.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};

use patchbay::domain::run::{ErrorClass, RunStatus};
use patchbay::sandbox::{Sandbox, credentials};

#[tokio::test]
async fn graphql_paginates_by_page_info_and_reports_errors() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let config = format!(
        "[[integration]]\nname = \"repos\"\nkind = \"graphql\"\nevery = \"1h\"\nurl = \"{base}/graphql\"\n\
         query = \"query($first: Int, $after: String) {{ repositories(first: $first, after: $after) {{ nodes {{ id name }} pageInfo {{ endCursor hasNextPage }} }} }}\"\n\
         variables = {{ first = 50 }}\n[integration.records]\npath = \"$.data.repositories.nodes[*]\"\nprimary_key = \"id\"\n\
         [integration.paginate]\npage_info_path = \"$.data.repositories.pageInfo\"\n\
         [[integration]]\nname = \"broken\"\nkind = \"graphql\"\nevery = \"1h\"\nurl = \"{base}/graphql\"\nquery = \"{{ brokenField }}\"\n\
         [integration.records]\npath = \"$.data.items[*]\"\n"
    );
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let repos = run_once(&engine, "repos").await;
    assert_eq!(
        (repos.status, repos.records_in, repos.requests),
        (RunStatus::Success, 240, 5)
    );
    let broken = run_once(&engine, "broken").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        (broken.status, broken.error_class),
        (RunStatus::Failed, Some(ErrorClass::Client))
    );
    assert!(
        broken
            .error_message
            .as_deref()
            .unwrap()
            .contains("Cannot query field \"brokenField\"")
    );
    sandbox.stop().await;
}

#[tokio::test]
async fn feeds_pass_on_only_new_items() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let config = format!(
        "[[integration]]\nname = \"releases\"\nkind = \"feed\"\nevery = \"1h\"\nurl = \"{base}/feed.xml\"\n\
         [[integration]]\nname = \"incidents\"\nkind = \"feed\"\nevery = \"1h\"\nurl = \"{base}/atom.xml\"\n"
    );
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    for name in ["releases", "incidents"] {
        let first = run_once(&engine, name).await;
        assert_eq!(
            (first.status, first.records_in, first.records_new),
            (RunStatus::Success, 20, 20),
            "{name}"
        );
        let second = run_once(&engine, name).await;
        assert_eq!(
            (second.records_new, second.records_unchanged),
            (0, 20),
            "{name}"
        );
    }
    engine.shutdown(Duration::ZERO).await;
    sandbox.stop().await;
}

fn source_with_outputs(base: &str, outputs: &str) -> String {
    format!(
        "[[integration]]\nname = \"events\"\nkind = \"http\"\nevery = \"1h\"\noutputs = [{outputs}]\n\
         [integration.request]\nurl = \"{base}/api/events\"\nquery = {{ page = \"3\" }}\n[integration.records]\npath = \"$[0:5]\"\nprimary_key = \"id\"\n"
    )
}

#[tokio::test]
async fn outputs_batch_sign_and_template_their_deliveries() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let base = sandbox.url();
    let config = source_with_outputs(&base, "\"hook\", \"team-slack\", \"team-discord\"")
        + &format!(
            "[[integration]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{base}/sink/webhook\"\nsigning_secret = \"secret:hook_key\"\nbatch_size = 2\n\
             [[integration]]\nname = \"team-slack\"\nkind = \"slack\"\nurl = \"secret:slack_url\"\ntemplate = \"{{{{ count }}}} events from {{{{ source }}}}: {{{{ records | map(attribute='id') | join(', ') }}}}\"\n\
             [[integration]]\nname = \"team-discord\"\nkind = \"discord\"\nurl = \"secret:discord_url\"\nbatch_size = 1\nretry = {{ max_attempts = 3, base_delay = \"10ms\", max_delay = \"2s\" }}\n"
        );
    let harness = Harness::new(&config);
    harness.set_secret("hook_key", credentials::WEBHOOK_SIGNING_KEY);
    harness.set_secret("slack_url", &format!("{base}/sink/slack"));
    harness.set_secret("discord_url", &format!("{base}/sink/discord"));
    let engine = harness.start(false).await;
    let run = run_once(&engine, "events").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(run.status, RunStatus::Success, "{run:?}");
    assert_eq!(run.records_delivered, 5, "5 records, each to all 3 outputs");
    let per_output: Vec<(&str, u64, u32)> = run
        .deliveries
        .iter()
        .map(|d| (d.output.as_str(), d.records, d.requests))
        .collect();
    assert_eq!(
        &per_output[..2],
        [("hook", 5, 3), ("team-slack", 5, 1)],
        "records and requests per output"
    );
    assert_eq!(
        run.output_requests,
        per_output.iter().map(|(_, _, n)| n).sum::<u32>()
    );
    assert_eq!(run.requests, 1, "the source's requests alone");
    let stats = sandbox.state.sink_stats();
    assert_eq!(
        (
            stats.webhook_deliveries,
            stats.webhook_records,
            stats.webhook_rejected
        ),
        (3, 5, 0),
        "batches of 2, every signature valid"
    );
    assert_eq!(stats.slack_messages, 1);
    assert_eq!(
        stats.last_slack_text.as_deref(),
        Some("5 events from events: evt_00201, evt_00202, evt_00203, evt_00204, evt_00205")
    );
    assert_eq!(stats.discord_messages, 5, "one message per record");
    assert!(
        stats.discord_rate_limited >= 1,
        "Discord's 429 was met and waited out"
    );
    let discord = run
        .deliveries
        .iter()
        .find(|d| d.output == "team-discord")
        .unwrap();
    assert!(discord.ok && discord.attempts > 1, "{discord:?}");
    sandbox.stop().await;
}

/// A GraphQL server whose cursors go a → b → a: the loop is caught two pages apart,
/// not only when a cursor repeats at once (the guards HTTP has, shared).
#[tokio::test]
async fn graphql_stops_at_a_cursor_seen_pages_before() {
    use wiremock::{Mock, MockServer, Request, ResponseTemplate, matchers::path};
    let server = MockServer::start().await;
    Mock::given(path("/graphql"))
        .respond_with(|request: &Request| {
            let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
            let (id, next) = match body["variables"]["after"].as_str() {
                None => (1, "a"),
                Some("a") => (2, "b"),
                _ => (3, "a"),
            };
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"data": {"items": {
                "nodes": [{"id": id}],
                "pageInfo": {"endCursor": next, "hasNextPage": true}
            }}}))
        })
        .mount(&server)
        .await;
    let config = format!(
        "[[integration]]\nname = \"items\"\nkind = \"graphql\"\nevery = \"1h\"\nurl = \"{}/graphql\"\n\
         query = \"query($after: String) {{ items(after: $after) {{ nodes {{ id }} pageInfo {{ endCursor hasNextPage }} }} }}\"\n\
         [integration.records]\npath = \"$.data.items.nodes[*]\"\n\
         [integration.paginate]\npage_info_path = \"$.data.items.pageInfo\"\n",
        server.uri()
    );
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let run = run_once(&engine, "items").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        (run.status, run.records_in),
        (RunStatus::Success, 3),
        "{run:?}"
    );
    let log = harness.store.run_logs(run.id).unwrap().join("\n");
    assert!(
        log.contains("page 3 points back to a page already fetched"),
        "{log}"
    );
}

/// `patchbay test` on a webhook output asks the receiver: with the right key the
/// sandbox answers the signed test request (and counts it as a test, not a delivery);
/// with a wrong key the 401 comes back with a hint about the output's own secret.
#[tokio::test]
async fn a_webhook_test_asks_the_receiver_and_names_the_signing_secret() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let hook = |name: &str, secret: &str| {
        format!(
            "[[integration]]\nname = \"{name}\"\nkind = \"webhook\"\nurl = \"{}/sink/webhook\"\nsigning_secret = \"secret:{secret}\"\nretry = {{ max_attempts = 1 }}\n",
            sandbox.url()
        )
    };
    let harness = Harness::new(&(hook("good", "good_key") + &hook("wrong", "wrong_key")));
    harness.set_secret("good_key", credentials::WEBHOOK_SIGNING_KEY);
    harness.set_secret("wrong_key", "not-the-receivers-key");
    let engine = harness.start(false).await;
    let good = engine.test_connection("good").await.unwrap();
    assert!(good.ok, "{good:?}");
    assert!(
        good.message
            .ends_with("answered 204 No Content to a signed test request"),
        "{}",
        good.message
    );
    let wrong = engine.test_connection("wrong").await.unwrap();
    engine.shutdown(Duration::ZERO).await;
    assert!(!wrong.ok);
    assert!(wrong.message.starts_with("401"), "{}", wrong.message);
    assert_eq!(
        wrong.hint.as_deref(),
        Some(
            "127.0.0.1 refused the delivery: its key may not match `signing_secret` (secret:wrong_key); set the key it expects with: patchbay secret set wrong_key"
        )
    );
    let stats = sandbox.state.sink_stats();
    assert_eq!((stats.webhook_tests, stats.webhook_deliveries), (1, 0));
    sandbox.stop().await;
}

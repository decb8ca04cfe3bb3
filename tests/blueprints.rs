//! Every shipped blueprint against a sandbox route that answers in its vendor's
//! documented shape: all pages read, only what is new on the next run where the API
//! can say so, a wrong credential an auth failure that names no secret, and a rate
//! limit waited out.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use patchbay::domain::run::{ErrorClass, RunStatus};
use patchbay::sandbox::vendors::VENDOR_TOKEN;
use patchbay::sandbox::{Sandbox, credentials};

/// One shipped blueprint and how the sandbox serves it.
struct Case {
    blueprint: &'static str,
    /// The sandbox's name for the vendor (`/vendors/{vendor}/throttle`).
    vendor: &'static str,
    /// `params = { ... }` for a sandbox at `base`.
    params: fn(&str) -> String,
    /// The vault secret the params name, and the value the sandbox accepts.
    secret: (&'static str, &'static str),
    records: u64,
    pages: u32,
    /// Whether a second run asks only for what is new.
    incremental: bool,
}

const CASES: [Case; 7] = [
    Case {
        blueprint: "github-issues",
        vendor: "github",
        params: |base| {
            format!(
                "owner = \"acme\", repo = \"shop\", token = \"secret:github-token\", api_url = \"{base}/github\""
            )
        },
        secret: ("github-token", VENDOR_TOKEN),
        records: 230,
        pages: 3,
        incremental: true,
    },
    Case {
        blueprint: "jira-issues",
        vendor: "jira",
        params: |base| {
            format!(
                "site = \"{base}/jira\", email = \"ops@example.test\", token = \"secret:jira-token\""
            )
        },
        secret: ("jira-token", VENDOR_TOKEN),
        records: 230,
        pages: 5,
        incremental: false,
    },
    Case {
        blueprint: "bamboohr-directory",
        vendor: "bamboohr",
        params: |base| {
            format!(
                "company = \"acme\", api_key = \"secret:bamboohr-key\", api_url = \"{base}/bamboohr\""
            )
        },
        secret: ("bamboohr-key", VENDOR_TOKEN),
        records: 40,
        pages: 1,
        incremental: false,
    },
    Case {
        blueprint: "slack-history",
        vendor: "slack",
        params: |base| {
            format!(
                "channel = \"C0123456789\", token = \"secret:slack-bot\", api_url = \"{base}/slack\""
            )
        },
        secret: ("slack-bot", VENDOR_TOKEN),
        records: 230,
        pages: 2,
        incremental: true,
    },
    Case {
        blueprint: "notion-database",
        vendor: "notion",
        params: |base| {
            format!(
                "database_id = \"d9824bdc\", token = \"secret:notion\", api_url = \"{base}/notion\""
            )
        },
        secret: ("notion", VENDOR_TOKEN),
        records: 230,
        pages: 3,
        incremental: true,
    },
    Case {
        blueprint: "msgraph-users",
        vendor: "msgraph",
        params: |base| {
            format!(
                "tenant = \"contoso.onmicrosoft.com\", client_id = \"patchbay-demo\", client_secret = \"secret:graph-app\", graph_url = \"{base}/msgraph\", login_url = \"{base}/msgraph/login\""
            )
        },
        secret: ("graph-app", credentials::CLIENT_SECRET),
        records: 230,
        pages: 3,
        incremental: false,
    },
    Case {
        blueprint: "pagerduty-incidents",
        vendor: "pagerduty",
        params: |base| format!("token = \"secret:pagerduty\", api_url = \"{base}/pagerduty\""),
        secret: ("pagerduty", VENDOR_TOKEN),
        records: 230,
        pages: 3,
        incremental: true,
    },
];

fn instance(case: &Case, base: &str) -> String {
    format!(
        "[[integration]]\nname = \"it\"\nuses = \"{}\"\nparams = {{ {} }}\n",
        case.blueprint,
        (case.params)(base)
    )
}

async fn harness_for(
    case: &Case,
    sandbox: &Sandbox,
    secret: &str,
) -> (Harness, patchbay::engine::EngineHandle) {
    let harness = Harness::new(&instance(case, &sandbox.url()));
    harness.set_secret(case.secret.0, secret);
    let engine = harness.start(false).await;
    (harness, engine)
}

#[tokio::test]
async fn every_shipped_blueprint_reads_every_page_of_its_vendor() {
    let sandbox = Sandbox::start(0).await.unwrap();
    for case in &CASES {
        let (_harness, engine) = harness_for(case, &sandbox, case.secret.1).await;
        let run = run_once(&engine, "it").await;
        assert_eq!(
            run.status,
            RunStatus::Success,
            "{}: {:?}",
            case.blueprint,
            run.error_message
        );
        assert_eq!(run.records_in, case.records, "{}", case.blueprint);
        assert_eq!(run.records_new, case.records, "{}", case.blueprint);
        // The token request of a client-credentials blueprint is one more.
        assert!(
            run.requests >= case.pages,
            "{}: {} requests",
            case.blueprint,
            run.requests
        );
        engine.shutdown(Duration::ZERO).await;
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn incremental_blueprints_ask_only_for_what_is_new_on_the_next_run() {
    let sandbox = Sandbox::start(0).await.unwrap();
    for case in CASES.iter().filter(|c| c.incremental) {
        let (harness, engine) = harness_for(case, &sandbox, case.secret.1).await;
        let first = run_once(&engine, "it").await;
        assert_eq!(first.status, RunStatus::Success, "{}", case.blueprint);
        let cursor = harness.store.cursor("it").unwrap();
        assert!(
            cursor.is_some(),
            "{}: the first run stored a cursor",
            case.blueprint
        );
        let second = run_once(&engine, "it").await;
        assert_eq!(second.status, RunStatus::Success, "{}", case.blueprint);
        // At most the record at the cursor itself comes again (APIs whose filter
        // includes its bound), and it is not passed on.
        assert!(
            second.records_in <= 1,
            "{}: {} records",
            case.blueprint,
            second.records_in
        );
        assert_eq!(
            second.records_new + second.records_changed,
            0,
            "{}",
            case.blueprint
        );
        assert_eq!(second.requests, 1, "{}", case.blueprint);
        engine.shutdown(Duration::ZERO).await;
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn a_refused_credential_is_an_auth_failure_that_names_no_secret() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let wrong = "wrong-credential-4f1e0c77";
    for case in &CASES {
        let (harness, engine) = harness_for(case, &sandbox, wrong).await;
        let run = run_once(&engine, "it").await;
        assert_eq!(run.status, RunStatus::Failed, "{}", case.blueprint);
        assert_eq!(
            run.error_class,
            Some(ErrorClass::Auth),
            "{}: {:?}",
            case.blueprint,
            run.error_message
        );
        let stored = serde_json::to_string(&harness.runs("it")).unwrap();
        assert!(
            !stored.contains(wrong),
            "{}: the credential is in the run record",
            case.blueprint
        );
        engine.shutdown(Duration::ZERO).await;
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn a_vendors_rate_limit_answer_is_waited_out() {
    let sandbox = Sandbox::start(0).await.unwrap();
    patchbay::runtime::http::install_tls_provider();
    let client = reqwest::Client::new();
    for case in &CASES {
        let (_harness, engine) = harness_for(case, &sandbox, case.secret.1).await;
        client
            .post(format!(
                "{}/vendors/{}/throttle?times=1",
                sandbox.url(),
                case.vendor
            ))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap();
        let run = run_once(&engine, "it").await;
        assert_eq!(
            run.status,
            RunStatus::Success,
            "{}: {:?}",
            case.blueprint,
            run.error_message
        );
        assert_eq!(run.records_in, case.records, "{}", case.blueprint);
        assert!(
            run.rate_limit_hits >= 1,
            "{}: the limit was seen",
            case.blueprint
        );
        engine.shutdown(Duration::ZERO).await;
    }
    sandbox.stop().await;
}

#[tokio::test]
async fn the_quota_an_api_reports_is_kept_with_the_run_for_alert_rules() {
    let sandbox = Sandbox::start(0).await.unwrap();
    let github = &CASES[0];
    let (harness, engine) = harness_for(github, &sandbox, github.secret.1).await;
    let run = run_once(&engine, "it").await;
    let left = run
        .quota_left
        .expect("GitHub's X-RateLimit-* headers were read");
    assert_eq!(left.limit, Some(5000));
    assert!(left.remaining < 5000, "{left:?}");
    engine.shutdown(Duration::ZERO).await;
    let state = harness.store.integration_state("it").unwrap();
    assert_eq!(
        state.quota_left,
        Some(left),
        "`quota_remaining < 10%` reads this"
    );
    sandbox.stop().await;
}

//! One service, many clients, all real processes: `patchbay headless` owns the engine
//! and the store; consoles in pseudo-terminals and CLI commands attach through its
//! control socket. One console acts and the other sees it; quitting or killing a
//! console leaves the service running; a restarted service is reattached; viewers are
//! read-only by the service's decision; a client that stalls or speaks garbage is
//! dropped without hurting the engine; `/metrics` parses as Prometheus text.

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use common::pty::Console;
use common::service::{Service, wait_until};
use common::{Home, free_port};
use patchbay::store::Store;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

const LIMIT: Duration = Duration::from_secs(30);

async fn api() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path("/items"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"data": [{"id": 1}, {"id": 2}]})),
        )
        .mount(&server)
        .await;
    server
}

/// An `items` source every second into a file, plus `settings` lines.
fn config(server: &MockServer, settings: &str) -> String {
    format!(
        "[settings]\n{settings}\n\
         [[integration]]\nname = \"items\"\nkind = \"http\"\nevery = \"1s\"\noutputs = [\"items-file\"]\n\
         [integration.request]\nurl = \"{}/items\"\n[integration.records]\npath = \"$.data[*]\"\n\
         [[integration]]\nname = \"items-file\"\nkind = \"file\"\npath = \"items.jsonl\"\n",
        server.uri()
    )
}

fn me() -> String {
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .unwrap()
        .expect("the test user has a passwd entry")
        .name
}

/// A service on `home`'s data dir, waited for until its socket answers.
fn service(home: &Home) -> Service {
    let service = Service::start(home, &["--grace", "5s"]);
    service.wait_for_log("patchbay running as a service", 1, LIMIT);
    service
}

fn console(home: &Home, flags: &[&str]) -> Console {
    Console::spawn(env!("CARGO_BIN_EXE_patchbay"), flags, home.dir.path())
}

fn status_code(home: &Home) -> Option<i32> {
    home.patchbay()
        .args(["status", "--json"])
        .output()
        .unwrap()
        .status
        .code()
}

#[tokio::test]
async fn two_consoles_attach_one_pauses_and_the_other_sees_it() {
    let server = api().await;
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&server, "")).unwrap();
    let service = service(&home);
    let pid = format!("pid {}", service.pid());
    let mut acting = console(&home, &[]);
    let mut watching = console(&home, &[]);
    acting.wait_for(&pid, LIMIT);
    watching.wait_for(&pid, LIMIT);
    watching.wait_for("items", LIMIT);
    // `items` sorts first and is selected: pause it, and confirm.
    acting.press("p");
    acting.press("y");
    acting.wait_for("items paused", LIMIT);
    // The header counts it among the paused.
    watching.wait_for("‖1", LIMIT);

    // A console killed mid-command leaves the service running.
    acting.press(":");
    acting.press("rel");
    std::process::Command::new("kill")
        .args(["-KILL", &acting.pid().to_string()])
        .status()
        .unwrap();
    acting.wait_exit(LIMIT);
    // Quitting one leaves it running too.
    watching.press("q");
    watching.wait_exit(LIMIT);
    assert!(
        matches!(status_code(&home), Some(0 | 1)),
        "the service still answers: {}",
        service.stderr()
    );
    let audit = {
        drop(service);
        Store::open_in(&home.data_dir()).unwrap().audit(20).unwrap()
    };
    let pause = audit
        .iter()
        .find(|e| e.action == "integration.pause")
        .expect("the pause is audited");
    assert!(
        pause.who.starts_with(&format!("{} (pid ", me())),
        "the audit names the console's user and pid: {}",
        pause.who
    );
}

#[tokio::test]
async fn cli_commands_go_through_the_running_service() {
    let server = api().await;
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&server, "")).unwrap();
    let service = service(&home);
    let ssh = "10.9.8.7 50022 10.0.0.1 22";
    // Only the service's own user may connect: the OS refuses everyone else.
    use std::os::unix::fs::PermissionsExt;
    let socket = std::fs::metadata(home.data_dir().join("patchbay.sock")).unwrap();
    assert_eq!(socket.permissions().mode() & 0o777, 0o600);

    // `items` also runs every second: a manual run that meets a scheduled one is
    // refused ("already running"), so ask again.
    let run = (0..50)
        .map(|_| {
            home.patchbay()
                .args(["run", "items", "--json"])
                .env("SSH_CONNECTION", ssh)
                .output()
                .unwrap()
        })
        .find(|run| !String::from_utf8_lossy(&run.stderr).contains("already running"))
        .expect("a moment when items was not running");
    assert!(run.status.success(), "{run:?}");
    let record: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(record["status"], "success");
    assert_eq!(record["trigger"], "manual");

    let history = home
        .patchbay()
        .args(["history", "items", "--json"])
        .output()
        .unwrap();
    assert!(history.status.success(), "{history:?}");
    assert!(
        String::from_utf8_lossy(&history.stdout)
            .contains(&format!("\"id\":\"{}\"", record["id"].as_str().unwrap()))
    );

    let secret = home
        .patchbay()
        .args(["secret", "set", "api_token"])
        .env("SSH_CONNECTION", ssh)
        .write_stdin("attached-canary-4d1e")
        .output()
        .unwrap();
    assert!(secret.status.success(), "{secret:?}");
    let list = home.patchbay().args(["secret", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("api_token"));

    let silence = home
        .patchbay()
        .args([
            "alert", "silence", "items", "--for", "1h", "--reason", "deploy",
        ])
        .output()
        .unwrap();
    assert!(silence.status.success(), "{silence:?}");
    let alerts = home.patchbay().args(["alerts", "--json"]).output().unwrap();
    let alerts: serde_json::Value = serde_json::from_slice(&alerts.stdout).unwrap();
    assert_eq!(alerts["silences"][0]["reason"], "deploy");

    let status = home.patchbay().args(["status", "--json"]).output().unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(summary["pid"], service.pid());
    assert_eq!(summary["integrations"], 2);
    assert_eq!(status.status.code(), Some(summary_code(&summary)));

    let backup = home.path("backup.redb");
    let copied = home
        .patchbay()
        .args(["backup", backup.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(copied.status.success(), "{copied:?}");

    // Every output so far: the secret's value is in none.
    for output in [&run, &history, &secret, &list, &silence, &status, &copied] {
        assert!(!String::from_utf8_lossy(&output.stdout).contains("attached-canary-4d1e"));
        assert!(!String::from_utf8_lossy(&output.stderr).contains("attached-canary-4d1e"));
    }
    drop(service);
    let copy = Store::open(&backup).expect("the backup is a store");
    assert!(!copy.runs(Some("items"), 10).unwrap().is_empty());
    let audit = copy.audit(20).unwrap();
    let set = audit.iter().find(|e| e.action == "secret.set").unwrap();
    assert!(
        set.who.contains(&format!("ssh {ssh}")),
        "the audit names the client's SSH_CONNECTION: {}",
        set.who
    );
    let manual = audit.iter().find(|e| e.action == "run.manual").unwrap();
    assert!(manual.who.starts_with(&me()), "{}", manual.who);
}

fn summary_code(summary: &serde_json::Value) -> i32 {
    let down = summary["states"]["down"].as_u64().unwrap_or(0);
    let firing = summary["firing"].as_array().map_or(0, Vec::len);
    i32::from(down > 0 || firing > 0)
}

#[tokio::test]
async fn status_exits_2_when_no_service_answers() {
    let server = api().await;
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&server, "")).unwrap();
    let status = home.patchbay().arg("status").output().unwrap();
    assert_eq!(status.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&status.stderr).contains("no patchbay service answers"));
}

#[tokio::test]
async fn a_viewer_is_read_only_whatever_its_client_asks() {
    let server = api().await;
    let home = Home::new();
    let viewers = format!("viewers = [\"{}\"]", me());
    std::fs::write(home.path("connectors.toml"), config(&server, &viewers)).unwrap();
    let _service = service(&home);
    let run = home.patchbay().args(["run", "items"]).output().unwrap();
    assert_eq!(run.status.code(), Some(2), "{run:?}");
    assert!(
        String::from_utf8_lossy(&run.stderr)
            .contains(&format!("read-only: {} may view but not act", me())),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let secret = home
        .patchbay()
        .args(["secret", "set", "api_token"])
        .write_stdin("viewer-canary-value")
        .output()
        .unwrap();
    assert_eq!(secret.status.code(), Some(2), "{secret:?}");
    // Looking is allowed.
    let history = home.patchbay().args(["history"]).output().unwrap();
    assert!(history.status.success(), "{history:?}");
    let mut viewer = console(&home, &[]);
    viewer.wait_for("READ-ONLY", LIMIT);
    viewer.press("q");
    viewer.wait_exit(LIMIT);
}

#[tokio::test]
async fn a_restarted_service_is_reattached() {
    let server = api().await;
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&server, "")).unwrap();
    let mut first = service(&home);
    let mut watching = console(&home, &[]);
    watching.wait_for(&format!("pid {}", first.pid()), LIMIT);
    first.signal("TERM");
    assert!(first.wait_exit(LIMIT).success());
    watching.wait_for("reattaching", LIMIT);
    let second = service(&home);
    watching.wait_for(&format!("pid {}", second.pid()), LIMIT);
    watching.wait_for("reattached", LIMIT);
    watching.press("q");
    watching.wait_exit(LIMIT);
}

/// Speaks the protocol's framing by hand: a 4-byte length, then JSON.
/// A console watches the rows on its screen: their changes come whole, and the
/// others' only in brief (health and times), which is all it needs to count and sort;
/// log lines only when it asks for them.
#[tokio::test]
async fn a_client_gets_whole_changes_of_what_it_watches_and_briefs_of_the_rest() {
    use patchbay::control::protocol::Watch;
    use patchbay::control::{Event, Hub};

    let server = api().await;
    let home = Home::new();
    let other = format!(
        "[[integration]]\nname = \"other\"\nkind = \"http\"\nevery = \"1s\"\n\
         [integration.request]\nurl = \"{}/items\"\n",
        server.uri()
    );
    std::fs::write(home.path("connectors.toml"), config(&server, "") + &other).unwrap();
    let _service = service(&home);
    let hub = Hub::attach(&home.data_dir().join("patchbay.sock"), true)
        .await
        .expect("attaches");

    let now = hub
        .ask(Watch {
            names: vec!["items".into()],
            every_brief: true,
            logs: false,
        })
        .await
        .expect("watch answered");
    assert_eq!(
        now.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(),
        ["items"],
        "the answer is how the watched integration stands"
    );
    // Every event on the socket after the answer follows the watch.
    let mut events = hub.subscribe();
    let mut whole = std::collections::BTreeSet::new();
    let mut briefed = std::collections::BTreeSet::new();
    let deadline = Instant::now() + LIMIT;
    while !(whole.contains("items") && briefed.contains("other")) {
        let left = deadline.saturating_duration_since(Instant::now());
        let published = tokio::time::timeout(left, events.recv())
            .await
            .expect("both ran within the limit")
            .expect("the service keeps sending");
        match &published.event.event {
            Event::Changed(changes) => whole.extend(changes.iter().map(|c| c.name.clone())),
            Event::Briefs(briefs) => briefed.extend(briefs.iter().map(|b| b.name.clone())),
            Event::Logs(_) => panic!("log lines were not asked for"),
            _ => {}
        }
    }
    assert_eq!(
        whole.into_iter().collect::<Vec<_>>(),
        ["items"],
        "only the watched integration comes whole"
    );
}

fn frame(stream: &mut UnixStream, body: &[u8]) -> std::io::Result<()> {
    stream.write_all(&u32::try_from(body.len()).unwrap().to_be_bytes())?;
    stream.write_all(body)
}

fn hello() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "version": patchbay::control::protocol::VERSION,
        "read_only": true,
        "ssh_connection": null
    }))
    .unwrap()
}

#[tokio::test]
async fn stalled_and_garbage_clients_are_dropped_and_the_engine_keeps_going() {
    let home = Home::new();
    let port = free_port();
    std::fs::write(
        home.path("connectors.toml"),
        format!(
            "[settings]\nwebhook_listen = \"127.0.0.1:{port}\"\n\
             [[integration]]\nname = \"hook\"\nkind = \"webhook_in\"\npath = \"/hook\"\noutputs = [\"sink\"]\n\
             [[integration]]\nname = \"sink\"\nkind = \"file\"\npath = \"events.jsonl\"\n"
        ),
    )
    .unwrap();
    let service = service(&home);
    let socket = home.data_dir().join("patchbay.sock");

    // Garbage where a hello belongs: dropped.
    let mut garbage = UnixStream::connect(&socket).unwrap();
    frame(&mut garbage, b"\x00\xffnot json at all").unwrap();
    garbage
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut rest = Vec::new();
    let _ = garbage.read_to_end(&mut rest);
    assert!(rest.is_empty(), "garbage gets no answer");
    // A length prefix of 4 GB: refused before anything is read into memory.
    let mut huge = UnixStream::connect(&socket).unwrap();
    huge.write_all(&u32::MAX.to_be_bytes()).unwrap();

    // A client that says hello, then never reads.
    let mut stalled = UnixStream::connect(&socket).unwrap();
    frame(&mut stalled, &hello()).unwrap();

    // A burst of 10,000 inbound events while it stalls.
    patchbay::runtime::http::install_tls_provider();
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/hook");
    let started = Instant::now();
    let results = futures::future::join_all((0..16).map(|worker| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let mut accepted = 0;
            for i in (worker..10_000).step_by(16) {
                let answer = client
                    .post(&url)
                    .json(&serde_json::json!({ "n": i }))
                    .send()
                    .await;
                if answer.is_ok_and(|a| a.status() == 202) {
                    accepted += 1;
                }
            }
            accepted
        }
    }))
    .await;
    let accepted: usize = results.into_iter().sum();
    assert_eq!(accepted, 10_000, "every event answered 202");
    eprintln!("burst of 10,000 events took {:?}", started.elapsed());
    // The engine delivers them all and other clients are answered all along.
    wait_until(Duration::from_secs(120), || {
        std::fs::read_to_string(home.path("events.jsonl"))
            .map(|t| t.lines().count() >= 10_000)
            .unwrap_or(false)
    })
    .expect("every event delivered");
    assert!(matches!(status_code(&home), Some(0 | 1)));

    // The service drops the stalled client once a frame has waited 10 s for it. How
    // soon the socket's buffer fills depends on how much the burst produced, so keep
    // events coming until it has (the only client attached from this process).
    let dropped = format!("client detached who=root (pid {})", std::process::id());
    let mut more = 10_000;
    while !service.stderr().contains(&dropped) {
        assert!(more < 40_000, "the stalled client was never dropped");
        for n in more..more + 500 {
            let _ = client
                .post(&url)
                .json(&serde_json::json!({ "n": n }))
                .send()
                .await;
        }
        more += 500;
    }

    // The stalled client was dropped: reading what was buffered ends at EOF.
    stalled
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buffered = Vec::new();
    let ended = stalled.read_to_end(&mut buffered);
    assert!(
        ended.is_ok(),
        "the service closed the stalled connection: {ended:?}"
    );
    assert!(!buffered.is_empty(), "it was sent events before it stalled");
}

#[tokio::test]
async fn a_client_of_another_protocol_version_is_told_why() {
    let server = api().await;
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&server, "")).unwrap();
    let _service = service(&home);
    let mut old = UnixStream::connect(home.data_dir().join("patchbay.sock")).unwrap();
    let hello = serde_json::json!({"version": 999, "read_only": false, "ssh_connection": null});
    frame(&mut old, &serde_json::to_vec(&hello).unwrap()).unwrap();
    let mut length = [0u8; 4];
    old.read_exact(&mut length).unwrap();
    let mut body = vec![0u8; u32::from_be_bytes(length) as usize];
    old.read_exact(&mut body).unwrap();
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("Refused") && text.contains("v999"), "{text}");
}

#[tokio::test]
async fn a_stale_socket_from_a_crash_is_replaced() {
    let server = api().await;
    let home = Home::new();
    std::fs::write(home.path("connectors.toml"), config(&server, "")).unwrap();
    let mut crashed = service(&home);
    crashed.signal("KILL");
    crashed.wait_exit(LIMIT);
    assert!(home.data_dir().join("patchbay.sock").exists());
    let _again = service(&home);
    assert!(matches!(status_code(&home), Some(0 | 1)));
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text() {
    let server = api().await;
    let home = Home::new();
    let port = free_port();
    let settings = format!("metrics_listen = \"127.0.0.1:{port}\"");
    std::fs::write(home.path("connectors.toml"), config(&server, &settings)).unwrap();
    let _service = service(&home);
    // The feed batches runs: poll until the first one is counted.
    patchbay::runtime::http::install_tls_provider();
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    let scrape = loop {
        let text = client
            .get(format!("{base}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let parsed = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .expect("Prometheus text");
        let ran = parsed.samples.iter().any(|s| {
            s.metric == "patchbay_runs_total"
                && s.labels.get("integration") == Some("items")
                && s.labels.get("status") == Some("success")
        });
        if ran {
            break parsed;
        }
        assert!(started.elapsed() < LIMIT, "no runs counted:\n{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let names: std::collections::BTreeSet<&str> =
        scrape.samples.iter().map(|s| s.metric.as_str()).collect();
    for expected in [
        "patchbay_requests_total",
        "patchbay_request_duration_seconds",
        "patchbay_request_duration_seconds_count",
        "patchbay_records_total",
        "patchbay_health",
        "patchbay_scheduler_lag_seconds",
        "patchbay_store_bytes",
    ] {
        assert!(
            names.contains(expected),
            "{expected} missing from {names:?}"
        );
    }
    let up = scrape
        .samples
        .iter()
        .find(|s| s.metric == "patchbay_health" && s.labels.get("integration") == Some("items"))
        .expect("items' health");
    assert_eq!(up.labels.get("state"), Some("up"));
    let durations = scrape
        .samples
        .iter()
        .find(|s| s.metric == "patchbay_request_duration_seconds")
        .unwrap();
    assert!(
        matches!(&durations.value, prometheus_parse::Value::Histogram(buckets) if buckets.len() > 5),
        "{:?}",
        durations.value
    );
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
}

//! `patchbay cursor show|set|reset`: on a local engine and through a running service,
//! asked about first, refused to a read-only client, audited; `patchbay audit` shows it.

mod common;

use common::Home;
use common::service::{Service, wait_until};
use patchbay::store::Store;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn setup() -> Home {
    let home = Home::new();
    common::sql::sqlite_file(
        &home.path("shop.db"),
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, updated_at TEXT NOT NULL);
             INSERT INTO orders VALUES (1, '2026-01-01'), (2, '2026-01-02');",
    );
    std::fs::write(
        home.path("connectors.toml"),
        "[[integration]]\nname = \"orders\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"sqlite://shop.db\"\n\
         query = \"SELECT id, updated_at FROM orders\"\n\
         incremental = { cursor_field = \"updated_at\", tie_breaker = \"id\" }\noutputs = [\"out\"]\n\
         [[integration]]\nname = \"out\"\nkind = \"file\"\npath = \"out.jsonl\"\n",
    )
    .unwrap();
    home
}

fn cursor(home: &Home, args: &[&str]) -> std::process::Output {
    home.patchbay().arg("cursor").args(args).output().unwrap()
}

fn text(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn a_cursor_is_shown_set_and_reset_with_confirmation_and_audited() {
    let home = setup();
    let run = home.patchbay().args(["run", "orders"]).output().unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let shown = cursor(&home, &["show", "orders"]);
    assert!(text(&shown).contains("\"value\":2"), "{}", text(&shown));

    let unasked = cursor(&home, &["reset", "orders"]);
    assert_eq!(unasked.status.code(), Some(2));
    assert!(
        text(&unasked).contains("add --yes to confirm"),
        "{}",
        text(&unasked)
    );
    let viewer = home
        .patchbay()
        .args(["--read-only", "cursor", "reset", "orders", "--yes"])
        .output()
        .unwrap();
    assert_eq!(viewer.status.code(), Some(2), "{}", text(&viewer));
    let output = cursor(&home, &["reset", "out", "--yes"]);
    assert!(
        text(&output).contains("is an output and has no cursor"),
        "{}",
        text(&output)
    );

    let reset = cursor(&home, &["reset", "orders", "--yes"]);
    assert!(reset.status.success(), "{}", text(&reset));
    assert_eq!(text(&cursor(&home, &["show", "orders"])).trim(), "(none)");
    // The next run reads everything again: a replay.
    home.patchbay().args(["run", "orders"]).output().unwrap();
    let lines = std::fs::read_to_string(home.path("out.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), 4, "delivered twice: {lines}");

    // Through a running service, as another operator would.
    let service = Service::start(&home, &[]);
    service.wait_for_log("patchbay running as a service", 1, LIMIT);
    let back = r#"{"cursor":{"type":"text","value":"2026-01-01"},"tie":{"type":"int","value":1}}"#;
    let set = cursor(&home, &["set", "orders", back, "--yes"]);
    assert!(set.status.success(), "{}", text(&set));
    assert_eq!(text(&cursor(&home, &["show", "orders"])).trim(), back);
    // `patchbay audit` reads it from the service: who, what, to what, and what it was.
    let audit = home
        .patchbay()
        .args(["audit", "--json", "--since", "1h"])
        .output()
        .unwrap();
    let newest: serde_json::Value =
        serde_json::from_str(text(&audit).lines().next().unwrap()).unwrap();
    assert_eq!(newest["action"], "cursor.set", "{}", text(&audit));
    assert_eq!(newest["target"], "orders");
    // The replay's run had stored 2026-01-02 again.
    let detail = newest["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"2026-01-02\"") && detail.ends_with(&format!(" → {back}")),
        "{detail}"
    );
    drop(service);
    wait_until(LIMIT, || Store::open_in(&home.data_dir()).is_ok()).unwrap();
    let actions: Vec<String> = Store::open_in(&home.data_dir())
        .unwrap()
        .audit(20)
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.who))
        .collect();
    assert!(
        actions
            .iter()
            .any(|a| a.starts_with("cursor.set ") && a.contains("pid")),
        "{actions:?}"
    );
    assert!(
        actions.iter().any(|a| a.starts_with("cursor.reset ")),
        "{actions:?}"
    );
}

//! `patchbay test NAME --show N`: a source's first records after the pipeline, each
//! marked with what would become of it, and nothing delivered or stored.

mod common;

use common::Home;

fn setup() -> Home {
    let home = Home::new();
    common::sql::sqlite_file(
        &home.path("shop.db"),
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT NOT NULL);
             INSERT INTO orders VALUES (1, 'paid'), (2, 'refunded'), (3, 'open'), (4, 'paid');",
    );
    std::fs::write(
        home.path("connectors.toml"),
        "[[integration]]\nname = \"orders\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"sqlite://shop.db\"\n\
         query = \"SELECT id, status FROM orders ORDER BY id\"\nprimary_key = \"id\"\noutputs = [\"out\"]\n\
         [integration.pipeline]\ndrop_if = 'status == \"refunded\"'\n\
         [[integration]]\nname = \"out\"\nkind = \"file\"\npath = \"out.jsonl\"\n",
    )
    .unwrap();
    home
}

fn show(home: &Home, args: &[&str]) -> String {
    let output = home
        .patchbay()
        .args(["test", "orders", "--show", "10"])
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{text}");
    text
}

#[test]
fn the_preview_marks_what_would_be_delivered_and_why_not_and_delivers_nothing() {
    let home = setup();
    let first = show(&home, &[]);
    assert!(
        first.contains("4 records after the pipeline; 3 would be delivered (+), 1 not (-)"),
        "{first}"
    );
    assert!(first.contains("+ new"), "{first}");
    assert!(
        first.contains("- dropped by drop_if `status == \"refunded\"`"),
        "{first}"
    );
    assert!(
        !home.path("out.jsonl").exists(),
        "a preview delivers nothing"
    );

    let run = home.patchbay().args(["run", "orders"]).output().unwrap();
    assert!(run.status.success());
    let delivered = std::fs::read_to_string(home.path("out.jsonl")).unwrap();
    assert_eq!(delivered.lines().count(), 3);

    // After the run, the same records are unchanged: a run would pass nothing on.
    let json = show(&home, &["--json"]);
    let report: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    let verdicts: Vec<String> = report["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["verdict"].to_string())
        .collect();
    assert_eq!(
        verdicts,
        [
            "\"unchanged\"",
            "{\"filtered\":\"drop_if `status == \\\"refunded\\\"`\"}",
            "\"unchanged\"",
            "\"unchanged\""
        ],
        "{json}"
    );
    assert!(report["test"]["ok"].as_bool().unwrap());
    let after = std::fs::read_to_string(home.path("out.jsonl")).unwrap();
    assert_eq!(after, delivered, "the preview added nothing");
}

//! The `sql` kind against real databases: SQLite always, PostgreSQL and MariaDB/MySQL
//! where they run (`.ci/run` checks they answer and passes `--include-ignored`).
//! Each scenario runs on all three.

mod common;

use std::time::Duration;

use common::harness::{Harness, run_once};
use common::sql::{CuttingProxy, Db, Kind};
use patchbay::domain::run::{ErrorClass, RunStatus};
use serde_json::{Value, json};

/// One test per database for each scenario.
macro_rules! on_every_database {
    ($scenario:ident) => {
        mod $scenario {
            use super::*;

            #[tokio::test]
            async fn sqlite() {
                super::$scenario(Db::new(Kind::Sqlite)).await;
            }

            #[tokio::test]
            #[ignore = "needs PostgreSQL"]
            async fn postgres() {
                super::$scenario(Db::new(Kind::Postgres)).await;
            }

            #[tokio::test]
            #[ignore = "needs MySQL or MariaDB"]
            async fn mysql() {
                super::$scenario(Db::new(Kind::MySql)).await;
            }
        }
    };
}

/// A source `src` with the keys in `source` (its `query`, `outputs`, ...), the file
/// output `out`, and the integrations in `extra`.
struct Setup {
    harness: Harness,
    out: tempfile::TempDir,
}

impl Setup {
    fn new(url: &str, source: &str, extra: &str) -> Self {
        let out = tempfile::tempdir().unwrap();
        let config = format!(
            "[[integration]]\nname = \"src\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"{url}\"\n\
             retry = {{ max_attempts = 1 }}\n{source}\n\
             [[integration]]\nname = \"out\"\nkind = \"file\"\npath = \"{}\"\n{extra}",
            out.path().join("out.jsonl").display()
        );
        Self {
            harness: Harness::new(&config),
            out,
        }
    }

    fn delivered(&self) -> Vec<Value> {
        std::fs::read_to_string(self.out.path().join("out.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn delivered_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .delivered()
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .collect();
        ids.sort_unstable();
        ids
    }

    fn cursor(&self) -> Option<String> {
        self.harness.store.cursor("src").unwrap().map(|c| c.value)
    }
}

/// A timestamp literal the database stores as `2026-01-0{day} 00:00:{second}` UTC.
fn at(kind: Kind, day: u32, second: u32) -> String {
    match kind {
        Kind::Postgres => format!("'2026-01-0{day} 00:00:{second:02}+00'"),
        Kind::MySql => format!("'2026-01-0{day} 00:00:{second:02}'"),
        Kind::Sqlite => format!("'2026-01-0{day}T00:00:{second:02}Z'"),
    }
}

fn timestamp_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => "TIMESTAMPTZ",
        Kind::MySql => "DATETIME(6)",
        Kind::Sqlite => "TEXT",
    }
}

on_every_database!(keyset_paging_with_ties_delivers_each_row_once);
async fn keyset_paging_with_ties_delivers_each_row_once(db: Db) {
    let t = db.table("events");
    let k = db.kind;
    let ts = timestamp_type(k);
    // Ties at the page edges (page_size 2): rows 1-3 share one time, 4-5 and 6-7 another.
    db.exec(&format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, updated_at {ts} NOT NULL, name VARCHAR(40));
         INSERT INTO {t} VALUES (0, {}, 'before start'),
           (1, {a}, 'a'), (2, {a}, 'b'), (3, {a}, 'c'), (4, {b}, 'd'), (5, {b}, 'e'),
           (6, {c}, 'f'), (7, {c}, 'g');",
        at(k, 1, 0),
        a = at(k, 2, 1),
        b = at(k, 2, 2),
        c = at(k, 2, 3),
    ))
    .await;
    let setup = Setup::new(
        &db.url,
        &format!(
            "query = \"SELECT id, updated_at, name FROM {t}\"\npage_size = 2\n\
             outputs = [\"out\"]\n\
             incremental = {{ cursor_field = \"updated_at\", tie_breaker = \"id\", start = \"2026-01-02T00:00:00Z\" }}"
        ),
        "",
    );
    let engine = setup.harness.start(false).await;
    let first = run_once(&engine, "src").await;
    assert_eq!(first.status, RunStatus::Success, "{first:?}");
    assert_eq!(
        setup.delivered_ids(),
        [1, 2, 3, 4, 5, 6, 7],
        "each row once, none before start"
    );
    assert!(setup.cursor().is_some());

    // A row tied with the cursor, a newer one, and a row that changed.
    db.exec(&format!(
        "INSERT INTO {t} VALUES (8, {c}, 'h'), (9, {d}, 'i');
         UPDATE {t} SET updated_at = {d}, name = 'b2' WHERE id = 2;",
        c = at(k, 2, 3),
        d = at(k, 2, 4),
    ))
    .await;
    let second = run_once(&engine, "src").await;
    assert_eq!(second.status, RunStatus::Success, "{second:?}");
    assert_eq!(second.records_in, 3, "only what changed: {second:?}");
    assert_eq!(setup.delivered_ids(), [1, 2, 2, 3, 4, 5, 6, 7, 8, 9]);

    let third = run_once(&engine, "src").await;
    assert_eq!(third.records_in, 0, "nothing new: {third:?}");
    engine.shutdown(Duration::ZERO).await;
}

/// Each database's column types, one row of each, and what the type table in
/// docs/connectors.md says they become.
fn type_table(kind: Kind) -> (&'static str, &'static str, Value) {
    match kind {
        Kind::Postgres => (
            "id BIGINT PRIMARY KEY, small SMALLINT, big BIGINT, amount NUMERIC(30,10), ratio DOUBLE PRECISION,
             flag BOOLEAN, at_tz TIMESTAMPTZ, at_local TIMESTAMP, day DATE, uid UUID, doc JSONB,
             raw BYTEA, tags TEXT[], counts INT4[], mood mood_pb, missing TEXT",
            "1, -7, 9007199254740993, 12345678901234567890.0123456789, 1.5, true,
             '2026-11-30 10:00:00.123456+01', '2026-11-30 10:00:00', '2026-11-30',
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', '\\x6869',
             ARRAY['x', 'y'], ARRAY[1, NULL, 3], 'happy', NULL",
            json!({
                "id": 1, "small": -7, "big": 9_007_199_254_740_993_i64,
                "amount": "12345678901234567890.0123456789", "ratio": 1.5, "flag": true,
                "at_tz": "2026-11-30T09:00:00.123456Z", "at_local": "2026-11-30T10:00:00",
                "day": "2026-11-30", "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                "doc": {"a": [1, 2]}, "raw": "aGk=", "tags": ["x", "y"], "counts": [1, null, 3],
                "mood": "happy", "missing": null
            }),
        ),
        Kind::MySql => (
            "id BIGINT PRIMARY KEY, small SMALLINT, big BIGINT UNSIGNED, amount DECIMAL(30,10), ratio DOUBLE,
             flag BOOLEAN, at_tz TIMESTAMP(6) NULL, at_local DATETIME, day DATE, uid CHAR(36), doc JSON,
             raw VARBINARY(10), mood ENUM('sad', 'happy'), missing TEXT",
            "1, -7, 18446744073709551615, 12345678901234567890.0123456789, 1.5, true,
             '2026-11-30 09:00:00.123456', '2026-11-30 10:00:00', '2026-11-30',
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', 'hi', 'happy', NULL",
            json!({
                "id": 1, "small": -7, "big": 18_446_744_073_709_551_615_u64,
                "amount": "12345678901234567890.0123456789", "ratio": 1.5, "flag": true,
                "at_tz": "2026-11-30T09:00:00.123456Z", "at_local": "2026-11-30T10:00:00",
                "day": "2026-11-30", "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                // MariaDB keeps JSON as text.
                "doc": "{\"a\": [1, 2]}", "raw": "aGk=", "mood": "happy", "missing": null
            }),
        ),
        Kind::Sqlite => (
            "id INTEGER PRIMARY KEY, small INTEGER, big INTEGER, amount TEXT, ratio REAL, flag BOOLEAN,
             at_tz TEXT, at_local DATETIME, day DATE, uid TEXT, doc JSON, raw BLOB, mood TEXT, missing TEXT",
            "1, -7, 9007199254740993, '12345678901234567890.0123456789', 1.5, 1,
             '2026-11-30T09:00:00.123456Z', '2026-11-30T10:00:00', '2026-11-30',
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\": [1, 2]}', X'6869', 'happy', NULL",
            json!({
                "id": 1, "small": -7, "big": 9_007_199_254_740_993_i64,
                "amount": "12345678901234567890.0123456789", "ratio": 1.5, "flag": true,
                "at_tz": "2026-11-30T09:00:00.123456Z", "at_local": "2026-11-30T10:00:00",
                "day": "2026-11-30", "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                // SQLite keeps JSON as text.
                "doc": "{\"a\": [1, 2]}", "raw": "aGk=", "mood": "happy", "missing": null
            }),
        ),
    }
}

on_every_database!(types_map_to_json_and_round_trip);
async fn types_map_to_json_and_round_trip(db: Db) {
    let (columns, row, expected) = type_table(db.kind);
    let source = db.table("types");
    let copy = db.table("types_copy");
    if db.kind == Kind::Postgres {
        db.exec(
            "DO $$ BEGIN CREATE TYPE mood_pb AS ENUM ('sad', 'happy'); \
             EXCEPTION WHEN duplicate_object THEN NULL; END $$;",
        )
        .await;
    }
    db.exec(&format!(
        "CREATE TABLE {source} ({columns}); CREATE TABLE {copy} ({columns});
         INSERT INTO {source} VALUES ({row});"
    ))
    .await;
    // src → file and → the copy table; then `back` reads the copy into the file too.
    let setup = Setup::new(
        &db.url,
        &format!("query = \"SELECT * FROM {source}\"\noutputs = [\"out\", \"copy\"]"),
        &format!(
            "[[integration]]\nname = \"copy\"\nkind = \"sql\"\nurl = \"{url}\"\ntable = \"{copy}\"\n\
             [[integration]]\nname = \"back\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"{url}\"\n\
             query = \"SELECT * FROM {copy}\"\noutputs = [\"out\"]\n",
            url = db.url
        ),
    );
    let engine = setup.harness.start(false).await;
    let run = run_once(&engine, "src").await;
    assert_eq!(run.status, RunStatus::Success, "{run:?}");
    let back = run_once(&engine, "back").await;
    assert_eq!(back.status, RunStatus::Success, "{back:?}");
    engine.shutdown(Duration::ZERO).await;
    let delivered = setup.delivered();
    assert_eq!(delivered.len(), 2, "{delivered:?}");
    assert_eq!(delivered[0], expected, "the type table");
    assert_eq!(delivered[1], expected, "written and read back unchanged");
}

on_every_database!(upserts_are_idempotent);
async fn upserts_are_idempotent(db: Db) {
    let people = db.table("people");
    let copy = db.table("people_copy");
    db.exec(&format!(
        "CREATE TABLE {people} (id INTEGER PRIMARY KEY, name VARCHAR(40), score INTEGER);
         CREATE TABLE {copy} (id INTEGER PRIMARY KEY, name VARCHAR(40), score INTEGER);
         INSERT INTO {people} VALUES (1, 'ann', 10), (2, 'bob', 20), (3, 'cy', 30);"
    ))
    .await;
    let setup = Setup::new(
        &db.url,
        &format!("query = \"SELECT id, name, score FROM {people}\"\noutputs = [\"copy\"]"),
        &format!(
            "[[integration]]\nname = \"copy\"\nkind = \"sql\"\nurl = \"{}\"\ntable = \"{copy}\"\n\
             mode = \"upsert\"\nkey = [\"id\"]\n",
            db.url
        ),
    );
    let engine = setup.harness.start(false).await;
    for _ in 0..2 {
        let run = run_once(&engine, "src").await;
        assert_eq!(run.status, RunStatus::Success, "{run:?}");
    }
    assert_eq!(
        db.scalar(&format!("SELECT COUNT(*) FROM {copy}")).await,
        "3"
    );
    db.exec(&format!("UPDATE {people} SET score = 99 WHERE id = 2"))
        .await;
    let run = run_once(&engine, "src").await;
    assert_eq!(run.status, RunStatus::Success, "{run:?}");
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(
        db.scalar(&format!("SELECT COUNT(*) FROM {copy}")).await,
        "3"
    );
    assert_eq!(
        db.scalar(&format!("SELECT score FROM {copy} WHERE id = 2"))
            .await,
        "99"
    );
}

on_every_database!(injection_attempts_stay_data);
async fn injection_attempts_stay_data(db: Db) {
    let accounts = db.table("accounts");
    let copy = db.table("accounts_copy");
    let evil = "x'; DROP TABLE ACCOUNTS; --";
    db.exec(&format!(
        "CREATE TABLE {accounts} (id INTEGER PRIMARY KEY, name VARCHAR(60));
         CREATE TABLE {copy} (id INTEGER PRIMARY KEY, name VARCHAR(60));
         INSERT INTO {accounts} VALUES (1, 'alice'), (2, 'x''; DROP TABLE ACCOUNTS; --');"
    ))
    .await;
    let evil_param = evil.replace(&"ACCOUNTS".to_string(), &accounts);
    db.exec(&format!(
        "UPDATE {accounts} SET name = '{}' WHERE id = 2",
        evil_param.replace('\'', "''")
    ))
    .await;
    let setup = Setup::new(
        &db.url,
        &format!(
            "query = \"SELECT id, name FROM {accounts} WHERE name = :name OR name = :other\"\n\
             params = {{ name = \"{evil_param}\", other = \"' OR '1'='1\" }}\noutputs = [\"out\", \"copy\"]"
        ),
        &format!(
            "[[integration]]\nname = \"copy\"\nkind = \"sql\"\nurl = \"{}\"\ntable = \"{copy}\"\n",
            db.url
        ),
    );
    let engine = setup.harness.start(false).await;
    let run = run_once(&engine, "src").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(run.status, RunStatus::Success, "{run:?}");
    assert_eq!(
        setup.delivered(),
        [json!({"id": 2, "name": evil_param})],
        "matched as data, nothing more"
    );
    assert_eq!(
        db.scalar(&format!("SELECT COUNT(*) FROM {accounts}")).await,
        "2",
        "the table stands"
    );
    assert_eq!(
        db.scalar(&format!("SELECT name FROM {copy} WHERE id = 2"))
            .await,
        evil_param,
        "written as data"
    );
}

on_every_database!(failures_are_classed_and_located);
async fn failures_are_classed_and_located(db: Db) {
    let t = db.table("strict");
    db.exec(&format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(40) NOT NULL)"
    ))
    .await;
    let setup = Setup::new(
        &db.url,
        &format!("query = \"SELECT id, name FORM {t}\"\noutputs = [\"strict\"]"),
        &format!(
            "[[integration]]\nname = \"feed\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"{url}\"\n\
             query = \"SELECT 7 AS id, NULL AS name UNION ALL SELECT 8, 'ok'\"\nprimary_key = \"id\"\n\
             outputs = [\"strict\"]\n\
             [[integration]]\nname = \"strict\"\nkind = \"sql\"\nurl = \"{url}\"\ntable = \"{t}\"\n\
             key = [\"id\"]\n",
            url = db.url
        ),
    );
    let engine = setup.harness.start(false).await;
    let syntax = run_once(&engine, "src").await;
    assert_eq!(syntax.status, RunStatus::Failed);
    assert_eq!(syntax.error_class, Some(ErrorClass::Config), "{syntax:?}");
    let message = syntax.error_message.clone().unwrap();
    assert!(
        message.to_lowercase().contains("syntax"),
        "the database's own message: {message}"
    );
    if db.kind == Kind::Postgres {
        assert!(
            message.contains(&format!("(at: `{t}`)")),
            "the position: {message}"
        );
    }
    let refused = run_once(&engine, "feed").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(refused.status, RunStatus::Failed, "{refused:?}");
    let message = refused.error_message.clone().unwrap();
    assert!(message.contains("id=7"), "names the row: {message}");
    assert_eq!(
        db.scalar(&format!("SELECT COUNT(*) FROM {t}")).await,
        "0",
        "the page is one transaction: row 8 was not written either"
    );
}

/// The server goes away on a real socket mid-run: the run is not a success, the
/// cursor covers only rows delivered, and the next run delivers the rest, each once.
async fn connection_loss_resumes_without_loss(db: Db) {
    let t = db.table("stream");
    let mut rows: Vec<String> = Vec::new();
    for id in 1..=40 {
        rows.push(format!("({id}, {id}, '{}')", "x".repeat(200)));
    }
    db.exec(&format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, pad VARCHAR(300));
         INSERT INTO {t} VALUES {};",
        rows.join(", ")
    ))
    .await;
    let port = if db.kind == Kind::Postgres {
        5432
    } else {
        3306
    };
    let proxy = CuttingProxy::start(port).await;
    let source = format!(
        "query = \"SELECT id, seq, pad FROM {t}\"\npage_size = 4\noutputs = [\"out\"]\n\
         incremental = {{ cursor_field = \"seq\", tie_breaker = \"id\" }}"
    );
    // A whole run's bytes, measured on a throw-away copy, then a cut halfway.
    let measure = Setup::new(&db.via(&proxy), &source, "");
    let engine = measure.harness.start(false).await;
    assert_eq!(run_once(&engine, "src").await.status, RunStatus::Success);
    engine.shutdown(Duration::ZERO).await;
    let whole = proxy.sent.swap(0, std::sync::atomic::Ordering::SeqCst);

    let setup = Setup::new(&db.via(&proxy), &source, "");
    proxy
        .limit
        .store(whole / 2, std::sync::atomic::Ordering::SeqCst);
    let engine = setup.harness.start(false).await;
    let cut = run_once(&engine, "src").await;
    assert_ne!(cut.status, RunStatus::Success, "{cut:?}");
    assert!(
        matches!(
            cut.error_class,
            Some(ErrorClass::Network | ErrorClass::Timeout)
        ),
        "{cut:?}"
    );
    let before = setup.delivered_ids();
    assert!(before.len() < 40, "cut mid-run: {before:?}");
    assert_eq!(
        before,
        (1..=before.len() as i64).collect::<Vec<_>>(),
        "a prefix, in order"
    );

    proxy
        .limit
        .store(u64::MAX, std::sync::atomic::Ordering::SeqCst);
    let resumed = run_once(&engine, "src").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(resumed.status, RunStatus::Success, "{resumed:?}");
    assert_eq!(
        setup.delivered_ids(),
        (1..=40).collect::<Vec<_>>(),
        "every row, each once"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL"]
async fn connection_loss_resumes_without_loss_postgres() {
    connection_loss_resumes_without_loss(Db::new(Kind::Postgres)).await;
}

#[tokio::test]
#[ignore = "needs MySQL or MariaDB"]
async fn connection_loss_resumes_without_loss_mysql() {
    connection_loss_resumes_without_loss(Db::new(Kind::MySql)).await;
}

/// A wrong password is `auth`, names the secret to fix, and shows the password nowhere.
#[tokio::test]
#[ignore = "needs MySQL or MariaDB"]
async fn a_wrong_password_is_auth_and_names_the_secret() {
    let db = Db::new(Kind::MySql);
    let user = db.table("user");
    db.exec(&format!(
        "CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'right-pw-5521';
         CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY 'right-pw-5521';"
    ))
    .await;
    let wrong = "wrong-pw-8c1e2f";
    let url = db.url.replacen("root@", &format!("{user}@"), 1);
    let setup = Setup::new(
        &url,
        "query = \"SELECT 1 AS id\"\npassword = \"secret:warehouse_pw\"\noutputs = [\"out\"]",
        "",
    );
    setup.harness.set_secret("warehouse_pw", wrong);
    let engine = setup.harness.start(false).await;
    let run = run_once(&engine, "src").await;
    let report = engine.test_connection("src").await.unwrap();
    engine.shutdown(Duration::ZERO).await;
    db.exec(&format!(
        "DROP USER '{user}'@'%'; DROP USER '{user}'@'localhost';"
    ))
    .await;
    assert_eq!(run.error_class, Some(ErrorClass::Auth), "{run:?}");
    let hint = run.hint.clone().unwrap();
    assert!(hint.contains("secret `warehouse_pw`"), "{hint}");
    assert!(!report.ok);
    let everything = format!("{run:?} {report:?} {:?}", setup.harness.runs("src"));
    assert!(
        !everything.contains(wrong),
        "the password leaked: {everything}"
    );
}

#[tokio::test]
async fn a_sql_check_judges_rows_and_value() {
    let db = Db::new(Kind::Sqlite);
    let t = db.table("replica");
    db.exec(&format!(
        "CREATE TABLE {t} (lag REAL); INSERT INTO {t} VALUES (12.5);"
    ))
    .await;
    let config = format!(
        "[[integration]]\nname = \"lag\"\nkind = \"check\"\nevery = \"1h\"\n\
         probe = {{ sql = \"{url}\", query = \"SELECT lag FROM {t}\" }}\n\
         conditions = ['[CONNECTED] == true', '[ROWS] == 1', '[VALUE] < 30']\n\
         [[integration]]\nname = \"strict\"\nkind = \"check\"\nevery = \"1h\"\n\
         probe = {{ sql = \"{url}\", query = \"SELECT lag FROM {t}\" }}\n\
         conditions = ['[VALUE] < 10']\n\
         [[integration]]\nname = \"broken\"\nkind = \"check\"\nevery = \"1h\"\n\
         probe = {{ sql = \"{url}\", query = \"SELECT lag FROM nowhere\" }}\n\
         conditions = ['[ROWS] > 0']\n",
        url = db.url
    );
    let harness = Harness::new(&config);
    let engine = harness.start(false).await;
    let ok = run_once(&engine, "lag").await;
    let strict = run_once(&engine, "strict").await;
    let broken = run_once(&engine, "broken").await;
    engine.shutdown(Duration::ZERO).await;
    assert_eq!(ok.status, RunStatus::Success, "{ok:?}");
    assert_eq!(strict.status, RunStatus::Failed);
    assert_eq!(
        strict.error_message.as_deref(),
        Some("[VALUE] < 10 failed: 12.5")
    );
    let message = broken.error_message.clone().unwrap();
    assert!(
        message.contains("no such table: nowhere"),
        "the database's words: {message}"
    );
}

on_every_database!(a_connection_test_names_the_server_and_columns);
async fn a_connection_test_names_the_server_and_columns(db: Db) {
    let t = db.table("tested");
    db.exec(&format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name VARCHAR(20))"
    ))
    .await;
    let setup = Setup::new(
        &db.url,
        &format!("query = \"SELECT id, name FROM {t}\"\noutputs = [\"copy\"]"),
        &format!(
            "[[integration]]\nname = \"copy\"\nkind = \"sql\"\nurl = \"{}\"\ntable = \"{t}\"\n\
             columns = {{ id = \"id\", title = \"name\" }}\n",
            db.url
        ),
    );
    let engine = setup.harness.start(false).await;
    let source = engine.test_connection("src").await.unwrap();
    let output = engine.test_connection("copy").await.unwrap();
    engine.shutdown(Duration::ZERO).await;
    let server = match db.kind {
        Kind::Postgres => "PostgreSQL ",
        Kind::MySql => "Maria",
        Kind::Sqlite => "SQLite 3.",
    };
    assert!(source.ok, "{source:?}");
    assert!(
        source.message.starts_with(server) || source.message.contains("MySQL "),
        "{source:?}"
    );
    assert!(source.message.contains("returned 0 rows"), "{source:?}");
    assert!(source.message.contains("columns: id "), "{source:?}");
    assert!(!output.ok);
    assert!(
        output.message.contains("has no column `title`"),
        "{output:?}"
    );
}

/// Database passwords, inside a URL kept in the vault (one percent-encoded) and on
/// their own, in runs that succeed and fail, tests and a check: none reaches the log
/// files, the Logs pane's ring, the store, a run record, a run log or a report.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL"]
async fn no_database_password_reaches_any_output() {
    use patchbay::telemetry::LogFormat;
    let logs = tempfile::tempdir().unwrap();
    let telemetry = common::capture_logs(logs.path(), LogFormat::Json);
    let db = Db::new(Kind::Postgres);
    let t = db.table("guarded");
    db.exec(&format!(
        "CREATE TABLE {t} (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO {t} VALUES (1, 'a');"
    ))
    .await;
    // This machine's PostgreSQL trusts loopback: any password logs in, so the runs
    // get as far as they would with the right one.
    let with_password = |password: &str, database: &str| {
        db.url
            .replacen("postgres@", &format!("postgres:{password}@"), 1)
            .replacen("/test", &format!("/{database}"), 1)
    };
    let secrets = [
        ("pg_url", with_password("pg-url-pass-4f4f4f", "test")),
        (
            "pg_gone",
            with_password("p%40ss-gone-6d6d6d", "no_such_database_pb"),
        ),
        ("pg_password", "pg-own-pass-7c7c7c".to_owned()),
    ];
    let plain = db.url.clone();
    let config = format!(
        "[[integration]]\nname = \"ok\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"secret:pg_url\"\n\
         query = \"SELECT id, name FROM {t}\"\noutputs = [\"copy\"]\n\
         [[integration]]\nname = \"gone\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"secret:pg_gone\"\n\
         query = \"SELECT 1 AS id\"\nretry = {{ max_attempts = 1 }}\n\
         [[integration]]\nname = \"own\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"{plain}\"\n\
         password = \"secret:pg_password\"\nquery = \"SELECT id FROM {t} WHERE name = :n\"\n\
         params = {{ n = \"a\" }}\n\
         [[integration]]\nname = \"copy\"\nkind = \"sql\"\nurl = \"secret:pg_url\"\ntable = \"{t}\"\n\
         mode = \"upsert\"\nkey = [\"id\"]\n\
         [[integration]]\nname = \"probe\"\nkind = \"check\"\nevery = \"1h\"\n\
         probe = {{ sql = \"secret:pg_gone\", query = \"SELECT 1\" }}\n"
    );
    let harness = Harness::new(&config);
    for (name, value) in &secrets {
        harness.set_secret(name, value);
    }
    let engine = harness.start(false).await;
    let mut shown = String::new();
    for name in ["ok", "gone", "own", "probe"] {
        let run = run_once(&engine, name).await;
        shown.push_str(&serde_json::to_string(&*run).unwrap());
        shown.push_str(&harness.store.run_logs(run.id).unwrap().join("\n"));
        let report = engine.test_connection(name).await.unwrap();
        shown.push_str(&serde_json::to_string(&report).unwrap());
    }
    engine.shutdown(Duration::from_secs(1)).await;
    assert!(shown.contains("\"status\":\"success\""), "{shown}");
    assert!(
        shown.contains("no_such_database_pb"),
        "the failure is in what was searched: {shown}"
    );
    let ring: String = telemetry
        .ring
        .since(0)
        .iter()
        .map(|e| format!("{} {}\n", e.target, e.message))
        .collect();
    drop(telemetry);
    let mut outputs: Vec<(String, Vec<u8>)> = common::files_under(logs.path())
        .iter()
        .map(|f| (f.display().to_string(), std::fs::read(f).unwrap()))
        .collect();
    outputs.push(("store".into(), std::fs::read(harness.store.path()).unwrap()));
    outputs.push(("ring".into(), ring.into_bytes()));
    outputs.push(("records, run logs, reports".into(), shown.into_bytes()));
    for password in [
        "pg-url-pass-4f4f4f",
        "p%40ss-gone-6d6d6d",
        "p@ss-gone-6d6d6d",
        "pg-own-pass-7c7c7c",
    ] {
        for (what, bytes) in &outputs {
            assert!(
                !common::contains_bytes(bytes, password),
                "{what} holds {password}"
            );
        }
    }
}

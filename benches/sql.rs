//! The `sql` kind as users meet it: whole `patchbay run` processes against the local
//! PostgreSQL, each beside its practical limit in the same run.
//!
//! 1. N rows (default 1,000,000) from a table to a file output, streamed and by keyset
//!    pages, beside `psql -c "COPY (SELECT row_to_json(t) FROM t) TO STDOUT"` to
//!    /dev/null on the same table: rows/s, CPU seconds, peak RSS.
//! 2. 100,000 rows upserted PostgreSQL to PostgreSQL: first into an empty table, then
//!    over the same rows again.
//!
//! `cargo bench --bench sql` (PATCHBAY_BENCH_ROWS overrides 1000000;
//! PATCHBAY_TEST_POSTGRES_URL names the server, default the local one). CPU seconds are
//! the process's own, not the database server's.

#[path = "measure.rs"]
mod measure;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_patchbay");
const UPSERT_ROWS: u64 = 100_000;

fn main() {
    let url = std::env::var("PATCHBAY_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let rows: u64 = std::env::var("PATCHBAY_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    psql(
        &url,
        &format!(
            "DROP TABLE IF EXISTS pb_bench_rows;
             CREATE TABLE pb_bench_rows AS SELECT g AS id, md5(g::text) AS name,
               TIMESTAMPTZ '2026-01-01' + g * INTERVAL '1 second' AS updated_at,
               (g % 100000)::numeric / 100 AS amount, g % 3 = 0 AS active
             FROM generate_series(1, {rows}) g;
             ALTER TABLE pb_bench_rows ADD PRIMARY KEY (id);
             CREATE INDEX ON pb_bench_rows (updated_at, id);"
        ),
    );
    // Not in a transaction, which `psql -c` makes of several statements.
    psql(&url, "VACUUM ANALYZE pb_bench_rows");
    let copy = timed(|| {
        let mut child = Command::new("psql")
            .args([
                url.as_str(),
                "-q",
                "-c",
                "COPY (SELECT row_to_json(t) FROM pb_bench_rows t) TO STDOUT",
            ])
            .stdout(Stdio::null())
            .spawn()
            .expect("psql runs");
        watch(&mut child)
    });
    let copy_rate = rows as f64 / copy.wall.as_secs_f64();
    report("sql_copy_baseline", rows, &copy);
    for (name, keys) in [
        ("sql_extract_stream", ""),
        (
            "sql_extract_keyset",
            "incremental = { cursor_field = \"updated_at\", tie_breaker = \"id\" }",
        ),
    ] {
        let home = tempfile::tempdir().expect("temp dir");
        let config = format!(
            "[[integration]]\nname = \"rows\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"{url}\"\n\
             query = \"SELECT * FROM pb_bench_rows\"\npage_size = 1000\n{keys}\noutputs = [\"file\"]\n\
             [[integration]]\nname = \"file\"\nkind = \"file\"\npath = \"out.jsonl\"\n\
             rotate_bytes = 100000000000\n"
        );
        let run = run_once(home.path(), &config, "rows");
        report(name, rows, &run);
        println!(
            "bench={name}_ratio vs_copy={:.2}",
            rows as f64 / run.wall.as_secs_f64() / copy_rate
        );
    }

    psql(
        &url,
        &format!(
            "DROP TABLE IF EXISTS pb_bench_upsert;
             CREATE TABLE pb_bench_upsert (id BIGINT PRIMARY KEY, name TEXT,
               updated_at TIMESTAMPTZ, amount NUMERIC, active BOOLEAN);
             DROP VIEW IF EXISTS pb_bench_upsert_src;
             CREATE VIEW pb_bench_upsert_src AS SELECT * FROM pb_bench_rows WHERE id <= {UPSERT_ROWS};"
        ),
    );
    let home = tempfile::tempdir().expect("temp dir");
    let config = format!(
        "[[integration]]\nname = \"rows\"\nkind = \"sql\"\nevery = \"1h\"\nurl = \"{url}\"\n\
         query = \"SELECT * FROM pb_bench_upsert_src\"\npage_size = 1000\noutputs = [\"table\"]\n\
         [[integration]]\nname = \"table\"\nkind = \"sql\"\nurl = \"{url}\"\n\
         table = \"pb_bench_upsert\"\nmode = \"upsert\"\nkey = [\"id\"]\n"
    );
    for name in ["sql_upsert_new", "sql_upsert_again"] {
        let run = run_once(home.path(), &config, "rows");
        report(name, UPSERT_ROWS, &run);
    }
    psql(
        &url,
        "DROP VIEW pb_bench_upsert_src; DROP TABLE pb_bench_upsert; DROP TABLE pb_bench_rows;",
    );
}

fn psql(url: &str, sql: &str) {
    let status = Command::new("psql")
        .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .stdout(Stdio::null())
        .status()
        .expect("psql runs");
    assert!(status.success(), "psql failed on: {sql}");
}

struct Figures {
    wall: Duration,
    cpu: Duration,
    peak_rss_mib: f64,
}

/// Runs one child process to its end: wall time, its CPU time (from the kernel's
/// accounting of waited-for children) and its peak RSS.
fn timed(work: impl FnOnce() -> f64) -> Figures {
    let before = children_cpu();
    let started = Instant::now();
    let peak_rss_mib = work();
    Figures {
        wall: started.elapsed(),
        cpu: children_cpu().saturating_sub(before),
        peak_rss_mib,
    }
}

fn children_cpu() -> Duration {
    use nix::sys::resource::{UsageWho, getrusage};
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN).expect("getrusage");
    let time = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    time(usage.user_time()) + time(usage.system_time())
}

/// Waits for `child`, sampling its peak RSS from /proc until it exits.
fn watch(child: &mut std::process::Child) -> f64 {
    let pid = child.id();
    let mut peak = 0.0_f64;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "the process failed: {status}");
            return peak;
        }
        let rss = measure::peak_rss_mib_of(pid);
        if rss.is_finite() {
            peak = peak.max(rss);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `patchbay run NAME` on `config` in `home`, as a whole process.
fn run_once(home: &Path, config: &str, name: &str) -> Figures {
    std::fs::write(home.join("connectors.toml"), config).expect("config written");
    timed(|| {
        let mut child = Command::new(BINARY)
            .args(["run", name])
            .current_dir(home)
            .env("PATCHBAY_CONFIG", home.join("connectors.toml"))
            .env("PATCHBAY_DATA_DIR", home.join("data"))
            .env("PATCHBAY_IDENTITY", home.join("identity.txt"))
            .env("XDG_STATE_HOME", home.join("state"))
            .stdout(Stdio::null())
            .spawn()
            .expect("patchbay runs");
        watch(&mut child)
    })
}

fn report(bench: &str, rows: u64, figures: &Figures) {
    measure::report(
        bench,
        &[
            ("rows", rows.to_string()),
            ("seconds", format!("{:.2}", figures.wall.as_secs_f64())),
            (
                "rows_per_s",
                format!("{:.0}", rows as f64 / figures.wall.as_secs_f64()),
            ),
            ("cpu_s", format!("{:.2}", figures.cpu.as_secs_f64())),
            ("peak_rss_mib", format!("{:.1}", figures.peak_rss_mib)),
        ],
    );
}

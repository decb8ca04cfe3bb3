//! The real binary in a pseudo-terminal: the console starts, runs an integration on
//! `r`, shows the run in history, shows the alert a failing run raised, opens the help,
//! quits on `q`, and leaves the terminal as it found it, also when SIGTERM or SIGHUP
//! end it.

mod common;

use std::time::Duration;

use common::pty::Console;
use patchbay::sandbox::Sandbox;

const PATIENCE: Duration = Duration::from_secs(20);

/// `orders` from the sandbox every `every` into the file output `sink`; `request`
/// adds lines to its `[integration.request]`.
fn orders_into_sink(sandbox: &str, every: &str, request: &str) -> String {
    format!(
        "[[integration]]\nname = \"orders\"\nkind = \"http\"\nevery = \"{every}\"\noutputs = [\"sink\"]\n\
         [integration.request]\nurl = \"{sandbox}/api/orders\"\n{request}[integration.records]\npath = \"$.data[*]\"\n\
         [[integration]]\nname = \"sink\"\nkind = \"file\"\npath = \"out.jsonl\"\n"
    )
}

/// One integration that never runs on its own, for tests about the console itself.
const IDLE: &str = "[[integration]]\nname = \"idle\"\nkind = \"http\"\nevery = \"1h\"\n\
                    [integration.request]\nurl = \"http://127.0.0.1:9/\"\n";

/// The console on `config`, with `flags`, its XDG dirs under `home`.
fn console_on(home: &std::path::Path, config: &str, flags: &[&str]) -> Console {
    let mut args = flags.to_vec();
    args.extend(["--config", config]);
    Console::spawn(env!("CARGO_BIN_EXE_patchbay"), &args, home)
}

/// Writes `connectors.toml` in `home` and returns its path as the console takes it.
fn write_config(home: &std::path::Path, text: &str) -> String {
    let path = home.join("connectors.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn the_console_runs_an_integration_and_restores_the_terminal() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(Sandbox::start(0)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let broken = format!(
        "[[integration]]\nname = \"zeta-broken\"\nkind = \"http\"\nevery = \"1h\"\nretry = {{ max_attempts = 1 }}\n\
         [integration.request]\nurl = \"{}/api/broken\"\n\
         [[alert]]\nname = \"failing\"\nwhen = \"consecutive_failures >= 1\"\nintegrations = [\"zeta-*\"]\n",
        sandbox.url()
    );
    let orders = orders_into_sink(&sandbox.url(), "1h", "query = { per_page = \"50\" }\n").replace(
        "path = \"$.data[*]\"\n",
        "path = \"$.data[*]\"\nprimary_key = \"id\"\n",
    );
    let config = write_config(home.path(), &(orders + &broken));
    let mut console = console_on(home.path(), &config, &[]);
    assert!(console.size_is_standard());

    console.wait_for("1 Integrations", PATIENCE);
    console.wait_for("orders", PATIENCE);
    console.press("r");
    // The status line says how the run ended (a fast run replaces "started" at once).
    console.wait_for("orders: run succeeded", PATIENCE);
    console.press("2");
    console.wait_for("run history", PATIENCE);
    console.wait_for("success", PATIENCE);
    // A run that fails raises an alert, which the Alerts pane shows.
    console.press(":run zeta-broken\r");
    console.wait_for("zeta-broken: run failed: the body", PATIENCE);
    console.press("5");
    console.wait_for("failing/zeta-broken", PATIENCE);
    console.wait_for("1 firing", PATIENCE);
    console.press("?");
    // Only the help says this; "? help" is in every footer.
    console.wait_for("any other key closes this help", PATIENCE);
    let before_quit = console.raw().len();
    console.press("q"); // closes the help
    console.press("q"); // quits
    let status = console.wait_exit(PATIENCE);
    assert!(status.success(), "{status:?}");
    assert_restored(&console, before_quit);
    let delivered = std::fs::read_to_string(home.path().join("out.jsonl")).unwrap();
    assert!(
        delivered.lines().count() >= 50,
        "the run delivered next to the config"
    );
    runtime.block_on(sandbox.stop());
}

#[test]
fn a_failing_runs_request_trace_shows_what_the_server_said() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(Sandbox::start(0)).unwrap();
    let home = tempfile::tempdir().unwrap();
    // No token: the sandbox answers 401 with {"error": "invalid token"}.
    let private = format!(
        "[[integration]]\nname = \"private\"\nkind = \"http\"\nevery = \"1h\"\nretry = {{ max_attempts = 1 }}\n\
         [integration.request]\nurl = \"{}/api/private\"\n[integration.records]\npath = \"$.data[*]\"\n",
        sandbox.url()
    );
    let config = write_config(home.path(), &private);
    let mut console = console_on(home.path(), &config, &[]);
    console.wait_for("private", PATIENCE);
    console.press(":run private\r");
    console.wait_for("private: run failed", PATIENCE);
    console.press("2");
    console.wait_for("run history", PATIENCE);
    console.press("\r"); // the newest run, the one that failed
    console.wait_for("requests (1 traced", PATIENCE);
    console.wait_for("401 GET", PATIENCE);
    console.press("\r"); // its request
    console.wait_for("request 1 of run", PATIENCE);
    console.wait_for("invalid token", PATIENCE);
    console.press("\x1b"); // back to the run
    console.wait_for("requests (1 traced", PATIENCE);
    console.press("\x1b");
    console.press("q");
    assert!(console.wait_exit(PATIENCE).success());
    runtime.block_on(sandbox.stop());
}

/// After the program ended: every byte it wrote is in, and from `since` on it left the
/// alternate screen, showed the cursor, released the mouse, and turned raw mode off.
fn assert_restored(console: &Console, since: usize) {
    console.wait_output_end(PATIENCE);
    let raw = console.raw();
    let tail = String::from_utf8_lossy(&raw[since..]);
    for (sequence, what) in [
        ("\x1b[?1049l", "left the alternate screen"),
        ("\x1b[?25h", "showed the cursor"),
        ("\x1b[?1000l", "released the mouse"),
    ] {
        assert!(tail.contains(sequence), "the console never {what}");
    }
    assert!(console.is_cooked(), "raw mode is still on");
}

#[test]
fn sigterm_and_sighup_restore_the_terminal() {
    for signal in ["TERM", "HUP"] {
        let home = tempfile::tempdir().unwrap();
        let config = write_config(home.path(), IDLE);
        let mut console = console_on(home.path(), &config, &[]);
        console.wait_for("1 Integrations", PATIENCE);
        assert!(!console.is_cooked(), "the console runs in raw mode");
        let before = console.raw().len();
        let killed = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &console.pid().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        console.wait_exit(PATIENCE);
        assert_restored(&console, before);
    }
}

/// A `--read-only` console on a store nobody else uses: it shows the integrations, but
/// runs nothing on schedule and refuses `r`.
#[test]
fn a_read_only_console_runs_nothing() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(Sandbox::start(0)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = write_config(home.path(), &orders_into_sink(&sandbox.url(), "1s", ""));
    let mut console = console_on(home.path(), &config, &["--read-only"]);
    console.wait_for("orders", PATIENCE);
    console.press("r");
    console.wait_for("read-only", PATIENCE);
    // Three schedule periods: a scheduling engine would have run thrice by now.
    std::thread::sleep(Duration::from_secs(3));
    console.press("q");
    console.wait_exit(PATIENCE);
    assert!(
        !home.path().join("out.jsonl").exists(),
        "nothing was delivered"
    );
    runtime.block_on(sandbox.stop());
}

/// A resize storm (down to 20x5) while the help is open, a paste of a long line into
/// the command line, and bytes that are not UTF-8: the console keeps going, quits on
/// `q` and leaves the terminal as it found it.
#[test]
fn resize_storms_pastes_and_garbage_leave_the_console_usable() {
    let home = tempfile::tempdir().unwrap();
    let config = write_config(home.path(), IDLE);
    let mut console = console_on(home.path(), &config, &[]);
    console.wait_for("1 Integrations", PATIENCE);
    console.press("?");
    for (rows, cols) in [(5, 20), (60, 200), (10, 40), (24, 80)].repeat(15) {
        console.resize(rows, cols);
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(console.is_running(), "survived the resize storm");
    console.press("\x1b"); // closes the help
    console.press(":");
    console.send_bytes("run ".repeat(500).as_bytes());
    // At a person's pace: a lone Esc right behind a burst reads as the burst's tail.
    std::thread::sleep(Duration::from_millis(500));
    console.send_bytes(b"\xff\xfe\xc3\x28 \x1b[999;999R");
    std::thread::sleep(Duration::from_millis(500));
    console.press("\x1b");
    std::thread::sleep(Duration::from_millis(300));
    assert!(console.is_running(), "survived the paste and the garbage");
    let before = console.raw().len();
    console.press("q");
    let status = console.wait_exit(PATIENCE);
    assert!(status.success(), "{status:?}");
    assert_restored(&console, before);
}

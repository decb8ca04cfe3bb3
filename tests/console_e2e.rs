//! The real binary in a pseudo-terminal: the console starts, runs an integration on
//! `r`, shows the run in history, opens the help, quits on `q`, and leaves the
//! terminal as it found it.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use patchbay::sandbox::Sandbox;
use portable_pty::{CommandBuilder, PtySize, native_pty_system};

/// What the terminal shows, rebuilt from the byte stream by a VT100 emulator (ratatui
/// writes only the cells that changed, so the raw stream cannot be searched for text).
struct Screen {
    output: Arc<Mutex<Vec<u8>>>,
}

impl Screen {
    fn raw(&self) -> Vec<u8> {
        self.output.lock().unwrap().clone()
    }

    fn contents(&self) -> String {
        let mut parser = vt100::Parser::new(24, 80, 0);
        parser.process(&self.raw());
        parser.screen().contents()
    }

    fn wait_for(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.contents();
            if screen.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "`{needle}` never appeared; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

#[test]
fn the_console_runs_an_integration_and_restores_the_terminal() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let sandbox = runtime.block_on(Sandbox::start(0)).unwrap();
    let home = tempfile::tempdir().unwrap();
    let config = home.path().join("connectors.toml");
    std::fs::write(
        &config,
        format!(
            "[[integration]]\nname = \"orders\"\nkind = \"http\"\nevery = \"1h\"\noutputs = [\"sink\"]\n\
             [integration.request]\nurl = \"{}/api/orders\"\nquery = {{ per_page = \"50\" }}\n[integration.records]\npath = \"$.data[*]\"\nprimary_key = \"id\"\n\
             [[integration]]\nname = \"sink\"\nkind = \"file\"\npath = \"{}\"\n",
            sandbox.url(),
            home.path().join("out.jsonl").display()
        ),
    )
    .unwrap();

    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_patchbay"));
    command.arg("--config");
    command.arg(&config);
    command.cwd(home.path());
    command.env("TERM", "xterm-256color");
    for (var, dir) in [
        ("XDG_DATA_HOME", "data"),
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_STATE_HOME", "state"),
    ] {
        command.env(var, home.path().join(dir));
    }
    let mut child = pty.slave.spawn_command(command).unwrap();
    drop(pty.slave);
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut reader = pty.master.try_clone_reader().unwrap();
    let sink = Arc::clone(&output);
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buffer) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buffer[..n]);
        }
    });
    let mut keys = pty.master.take_writer().unwrap();
    let mut press = |text: &str| {
        keys.write_all(text.as_bytes()).unwrap();
        keys.flush().unwrap();
        std::thread::sleep(Duration::from_millis(300));
    };
    let screen = Screen { output };

    screen.wait_for("1 Integrations");
    screen.wait_for("orders");
    press("r");
    screen.wait_for("started");
    press("2");
    screen.wait_for("run history");
    screen.wait_for("success");
    press("?");
    screen.wait_for("help");
    let before_quit = screen.raw().len();
    press("q"); // closes the help
    press("q"); // quits
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the console did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    let raw = screen.raw();
    let tail = String::from_utf8_lossy(&raw[before_quit..]);
    for (sequence, what) in [
        ("\x1b[?1049l", "left the alternate screen"),
        ("\x1b[?25h", "showed the cursor"),
        ("\x1b[?1000l", "released the mouse"),
    ] {
        assert!(tail.contains(sequence), "the console never {what}");
    }
    assert!(
        std::fs::read_to_string(home.path().join("out.jsonl"))
            .unwrap()
            .lines()
            .count()
            >= 50,
        "the run delivered"
    );
    runtime.block_on(sandbox.stop());
}

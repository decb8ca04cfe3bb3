//! The real binary in a pseudo-terminal, its output collected as it comes and read
//! back as a screen through a VT100 emulator. Shared by the console's end-to-end test
//! and its benchmark.

#![allow(dead_code)] // each user takes what it needs

use std::io::{Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

pub const ROWS: u16 = 24;
pub const COLS: u16 = 80;

pub struct Console {
    pub child: Box<dyn Child + Send + Sync>,
    master: Box<dyn MasterPty + Send>,
    keys: Box<dyn Write + Send>,
    output: Arc<Mutex<Vec<u8>>>,
    /// Set once the program closed its side of the terminal: all output is in.
    closed: Arc<AtomicBool>,
}

impl Console {
    /// Starts `patchbay ARGS` at 80x24 with its XDG dirs under `home`.
    pub fn spawn(binary: &str, args: &[&str], home: &Path) -> Self {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows: ROWS,
                cols: COLS,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("a pseudo-terminal");
        let mut command = CommandBuilder::new(binary);
        command.args(args);
        command.cwd(home);
        command.env("TERM", "xterm-256color");
        for (var, dir) in [
            ("XDG_DATA_HOME", "data"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_STATE_HOME", "state"),
        ] {
            command.env(var, home.join(dir));
        }
        let child = pty.slave.spawn_command(command).expect("the binary starts");
        drop(pty.slave);
        let output = Arc::new(Mutex::new(Vec::new()));
        let mut reader = pty.master.try_clone_reader().expect("a reader");
        let sink = Arc::clone(&output);
        let closed = Arc::new(AtomicBool::new(false));
        let reader_closed = Arc::clone(&closed);
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .expect("output buffer")
                    .extend_from_slice(&buffer[..n]);
            }
            reader_closed.store(true, Ordering::SeqCst);
        });
        let keys = pty.master.take_writer().expect("a writer");
        Self {
            child,
            master: pty.master,
            keys,
            output,
            closed,
        }
    }

    /// Waits (up to `limit`) until the program's output has ended, so that nothing it
    /// wrote on its way out is missed.
    pub fn wait_output_end(&self, limit: Duration) {
        let started = Instant::now();
        while !self.closed.load(Ordering::SeqCst) {
            assert!(started.elapsed() < limit, "the output never ended");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the terminal is back in cooked mode: line editing and echo on, as raw
    /// mode turns both off.
    pub fn is_cooked(&self) -> bool {
        let fd = self.master.as_raw_fd().expect("a unix pty");
        // SAFETY: tcgetattr only writes the zeroed struct we own.
        let mut termios: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(unsafe { libc::tcgetattr(fd, &mut termios) }, 0, "tcgetattr");
        termios.c_lflag & libc::ICANON != 0 && termios.c_lflag & libc::ECHO != 0
    }

    pub fn pid(&self) -> u32 {
        self.child.process_id().expect("a pid")
    }

    /// Every byte the program wrote so far.
    pub fn raw(&self) -> Vec<u8> {
        self.output.lock().expect("output buffer").clone()
    }

    /// What the terminal shows now.
    pub fn screen(&self) -> String {
        let mut parser = vt100::Parser::new(ROWS, COLS, 0);
        parser.process(&self.raw());
        parser.screen().contents()
    }

    /// Waits (up to `limit`) until the screen shows `needle`; returns how long it took.
    pub fn wait_for(&self, needle: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.contains(needle) {
                return started.elapsed();
            }
            assert!(
                started.elapsed() < limit,
                "`{needle}` never appeared; the screen shows:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// Resizes the terminal, as a window manager or tmux does (SIGWINCH follows).
    pub fn resize(&self, rows: u16, cols: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
    }

    /// Types raw bytes, valid UTF-8 or not.
    pub fn send_bytes(&mut self, bytes: &[u8]) {
        self.keys.write_all(bytes).expect("bytes sent");
        self.keys.flush().expect("bytes sent");
    }

    /// Whether the program is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn press(&mut self, keys: &str) {
        self.keys.write_all(keys.as_bytes()).expect("keys sent");
        self.keys.flush().expect("keys sent");
        std::thread::sleep(Duration::from_millis(300));
    }

    /// Waits (up to `limit`) for the program to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> portable_pty::ExitStatus {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("a status") {
                return status;
            }
            assert!(started.elapsed() < limit, "the program did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn size_is_standard(&self) -> bool {
        self.master
            .get_size()
            .is_ok_and(|s| s.rows == ROWS && s.cols == COLS)
    }
}

/// A test that fails midway must not leave its console running (an attached one
/// would wait for its service forever).
impl Drop for Console {
    fn drop(&mut self) {
        if self.is_running() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

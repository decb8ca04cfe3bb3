//! `patchbay headless` as a real process: started in a test home, signalled like
//! systemd does, its stderr read while it runs.

use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::Home;

pub struct Service {
    child: Child,
    stderr: PathBuf,
}

impl Service {
    /// Starts `patchbay headless` with `args` in `home`; stderr goes to a file.
    pub fn start(home: &Home, args: &[&str]) -> Self {
        let stderr = home.path(&format!("headless-{}.stderr", unique()));
        let child = home
            .patchbay_process()
            .arg("headless")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("patchbay headless starts");
        Self { child, stderr }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`TERM`, `HUP`, `KILL`, ...).
    pub fn signal(&self, signal: &str) {
        let status = std::process::Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {}", self.pid());
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits up to `limit` for `needle` to appear `times` times in stderr.
    pub fn wait_for_log(&self, needle: &str, times: usize, limit: Duration) {
        wait_until(limit, || self.stderr().matches(needle).count() >= times).unwrap_or_else(|()| {
            panic!(
                "no {times}x `{needle}` within {limit:?}; stderr:\n{}",
                self.stderr()
            )
        });
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let mut status = None;
        wait_until(limit, || {
            status = self.child.try_wait().expect("try_wait");
            status.is_some()
        })
        .unwrap_or_else(|()| panic!("still running after {limit:?}; stderr:\n{}", self.stderr()));
        status.expect("exited")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Polls `done` every 50 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> Result<(), ()> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if done() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    if done() { Ok(()) } else { Err(()) }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

//! The service with consoles attached, as an operator meets it: `patchbay headless`
//! with N integrations firing every second against the built-in sandbox, then the
//! same with C consoles attached in pseudo-terminals. Prints the scheduler's lag p99
//! (since start, and over about the last minute: with PATCHBAY_BENCH_SECONDS >= 60 that
//! is the steady state, every console attached), the service's CPU in both runs and
//! each console's own, the launch-to-first-frame time of an attached console, and the
//! service's CPU per idle attached console (a quiet engine, with and without the
//! consoles).
//!
//! `cargo bench --bench attach` (PATCHBAY_BENCH_INTEGRATIONS overrides 10000,
//! PATCHBAY_BENCH_CONSOLES 20, PATCHBAY_BENCH_SECONDS 30).

#[path = "measure.rs"]
mod measure;
#[path = "../tests/common/pty.rs"]
mod pty;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use pty::Console;

const BINARY: &str = env!("CARGO_BIN_EXE_patchbay");

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let integrations = setting("PATCHBAY_BENCH_INTEGRATIONS", 10_000);
    let consoles = setting("PATCHBAY_BENCH_CONSOLES", 20);
    let seconds = setting("PATCHBAY_BENCH_SECONDS", 30);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sandbox = runtime
        .block_on(patchbay::sandbox::Sandbox::start(0))
        .expect("sandbox");
    let url = format!("{}/health/ok", sandbox.url());
    for attached in [0, consoles] {
        busy(&url, integrations, attached, seconds);
    }
    idle(&url, integrations, consoles, seconds);
}

/// `count` integrations against `url`, every `every`.
fn config(url: &str, count: u64, every: &str) -> String {
    let mut text = String::from("[settings]\nmax_concurrent_runs = 256\n");
    for i in 0..count {
        text.push_str(&format!(
            "[[integration]]\nname = \"probe-{i:05}\"\nkind = \"http\"\nevery = \"{every}\"\n\
             [integration.request]\nurl = \"{url}\"\n"
        ));
    }
    text
}

struct Service {
    child: Child,
    home: tempfile::TempDir,
}

impl Service {
    fn start(config: &str) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        std::fs::write(home.path().join("connectors.toml"), config).expect("config");
        let child = patchbay(home.path())
            .arg("headless")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("headless starts");
        let service = Self { child, home };
        let started = Instant::now();
        while !service.answers() {
            assert!(
                started.elapsed() < Duration::from_secs(300),
                "never answered"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        service
    }

    fn answers(&self) -> bool {
        self.status()["pid"].is_u64()
    }

    fn status(&self) -> serde_json::Value {
        let output = patchbay(self.home.path())
            .args(["status", "--json"])
            .output()
            .expect("status runs");
        serde_json::from_slice(&output.stdout).unwrap_or_default()
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn console(&self) -> (Console, Duration) {
        let started = Instant::now();
        let console = Console::spawn(BINARY, &[], self.home.path());
        console.wait_for(&format!("pid {}", self.pid()), Duration::from_secs(60));
        (console, started.elapsed())
    }

    /// `count` consoles attached, and how long each took from launch to first frame.
    fn consoles(&self, count: u64) -> (Vec<Console>, Vec<Duration>) {
        (0..count).map(|_| self.console()).unzip()
    }

    /// The service's CPU, in percent of one core, over `seconds`.
    fn cpu_percent(&self, seconds: u64) -> f64 {
        let before = measure::cpu_ticks_of(self.pid());
        std::thread::sleep(Duration::from_secs(seconds));
        (measure::cpu_ticks_of(self.pid()) - before) as f64 / seconds as f64
    }

    /// The service's CPU and each console's on average, over the same `seconds`.
    fn cpu_percent_with(&self, consoles: &[Console], seconds: u64) -> (f64, f64) {
        let ticks = || -> u64 {
            consoles
                .iter()
                .map(|c| measure::cpu_ticks_of(c.pid()))
                .sum()
        };
        let before = ticks();
        let service = self.cpu_percent(seconds);
        let each =
            ticks().saturating_sub(before) as f64 / seconds as f64 / consoles.len().max(1) as f64;
        (service, each)
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn patchbay(home: &Path) -> Command {
    let mut command = Command::new(BINARY);
    command
        .current_dir(home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_STATE_HOME", home.join("state"));
    command
}

fn busy(url: &str, integrations: u64, attached: u64, seconds: u64) {
    let service = Service::start(&config(url, integrations, "1s"));
    let (mut consoles, mut first_frames) = service.consoles(attached);
    std::thread::sleep(Duration::from_secs(5));
    let (cpu, console_cpu) = service.cpu_percent_with(&consoles, seconds);
    let status = service.status();
    let ms_of = |field: &str| status["lag"][field].as_u64().unwrap_or(0) as f64 / 1000.0;
    let fires = status["lag"]["fires"].as_u64().unwrap_or(0);
    first_frames.sort();
    let ms = |d: Option<&Duration>| d.map_or("-".to_owned(), |d| d.as_millis().to_string());
    measure::report(
        "service_busy",
        &[
            ("integrations", integrations.to_string()),
            ("consoles", attached.to_string()),
            ("fires", fires.to_string()),
            // Since start: the consoles' attaching included.
            ("lag_p99_ms", format!("{:.1}", ms_of("p99_us"))),
            // About the last minute: with PATCHBAY_BENCH_SECONDS >= 60, all of it
            // with every console attached.
            (
                "lag_p99_last_minute_ms",
                format!("{:.1}", ms_of("recent_p99_us")),
            ),
            ("service_cpu_percent", format!("{cpu:.1}")),
            ("console_cpu_percent_each", format!("{console_cpu:.2}")),
            (
                "first_frame_ms_p50",
                ms(first_frames.get(first_frames.len() / 2)),
            ),
            ("first_frame_ms_max", ms(first_frames.last())),
            (
                "service_peak_rss_mib",
                format!("{:.0}", measure::peak_rss_mib_of(service.pid())),
            ),
        ],
    );
    quit(&mut consoles);
}

fn idle(url: &str, integrations: u64, attached: u64, seconds: u64) {
    let service = Service::start(&config(url, integrations, "1h"));
    std::thread::sleep(Duration::from_secs(5));
    let alone = service.cpu_percent(seconds);
    let (mut consoles, mut first_frames) = service.consoles(attached);
    std::thread::sleep(Duration::from_secs(5));
    let (with_consoles, console_cpu) = service.cpu_percent_with(&consoles, seconds);
    first_frames.sort();
    measure::report(
        "service_idle_consoles",
        &[
            ("integrations", integrations.to_string()),
            ("consoles", attached.to_string()),
            ("service_cpu_percent_alone", format!("{alone:.2}")),
            (
                "service_cpu_percent_with_consoles",
                format!("{with_consoles:.2}"),
            ),
            (
                "per_console_percent",
                format!("{:.3}", (with_consoles - alone) / attached.max(1) as f64),
            ),
            ("console_cpu_percent_each", format!("{console_cpu:.2}")),
            (
                "first_frame_ms_p50",
                first_frames
                    .get(first_frames.len() / 2)
                    .map_or("-".into(), |d| d.as_millis().to_string()),
            ),
        ],
    );
    quit(&mut consoles);
}

/// Quits the consoles, which would otherwise wait to reattach when the service stops.
fn quit(consoles: &mut [Console]) {
    for console in consoles.iter_mut() {
        console.press("q");
    }
    for console in consoles {
        let _ = console.wait_exit(Duration::from_secs(10));
    }
}

//! Process figures for the benchmarks, read from /proc: peak RSS and CPU time.

#![allow(dead_code)] // each benchmark uses what it needs

use std::time::Duration;

/// Peak resident set size of this process, in MiB.
pub fn peak_rss_mib() -> f64 {
    status_kib("VmHWM:") / 1024.0
}

fn status_kib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// User plus system CPU time of this process so far.
pub fn cpu_time() -> Duration {
    let ticks_per_second = 100.0; // USER_HZ on Linux
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // Fields after the command name, which is in parentheses.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some(Duration::from_secs_f64((utime + stime) / ticks_per_second))
        })
        .unwrap_or_default()
}

/// One machine-readable line per figure: `bench=<name> <key>=<value> ...`.
pub fn report(bench: &str, figures: &[(&str, String)]) {
    let fields: Vec<String> = figures.iter().map(|(k, v)| format!("{k}={v}")).collect();
    println!("bench={bench} {}", fields.join(" "));
}

/// User plus system CPU ticks (1/100 s) of another process so far.
pub fn cpu_ticks_of(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<u64> = rest
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // After the state letter: utime is field 14 and stime 15 of /proc/pid/stat.
    fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0)
}

/// Peak resident set size of another process, in MiB.
pub fn peak_rss_mib_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

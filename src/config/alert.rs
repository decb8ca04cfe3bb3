//! `[[alert]]` rules and the `when` language they are written in:
//!
//! ```text
//! consecutive_failures >= 3        failure_rate(1h) > 10%        p95_latency(15m) > 2s
//! no_success_for > 2h              health == down                auth_failed
//! cert_expires_in < 14d            secret_expires_in < 7d        rate_limited(15m) > 20
//! quota_remaining < 10%
//! ```
//!
//! A rule is parsed when the config loads, so a typo is a located config error and
//! never a rule that silently never fires.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::duration::HumanDuration;
use super::lang::split_comparison;
use crate::compare::CompareOp;
use crate::domain::{AlertSeverity, Health};

/// The longest window a rate or latency may be read over: the live metrics keep 24 h.
pub const LONGEST_WINDOW: Duration = Duration::from_secs(24 * 3600);
const SHORTEST_WINDOW: Duration = Duration::from_secs(60);

/// One `[[alert]]` table.
#[derive(Debug, Clone, Deserialize)]
pub struct AlertRule {
    pub name: String,
    pub when: AlertCondition,
    /// Integration names or globs (`*`, `?`); every integration when left out.
    #[serde(default = "everything")]
    pub integrations: Vec<Glob>,
    /// Output integrations that receive the notifications.
    #[serde(default)]
    pub notify: Vec<String>,
    /// Notify again at this interval while the alert is still firing.
    pub repeat: Option<HumanDuration>,
    #[serde(default)]
    pub severity: AlertSeverity,
}

fn everything() -> Vec<Glob> {
    vec![Glob("*".to_owned())]
}

impl AlertRule {
    pub fn watches(&self, integration: &str) -> bool {
        self.integrations
            .iter()
            .any(|glob| glob.matches(integration))
    }
}

/// An integration name pattern: `*` matches any run of characters, `?` one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Glob(pub String);

impl Glob {
    pub fn matches(&self, name: &str) -> bool {
        fn matches(pattern: &[char], name: &[char]) -> bool {
            match pattern.split_first() {
                None => name.is_empty(),
                Some(('*', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
                Some(('?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
                Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
            }
        }
        let pattern: Vec<char> = self.0.chars().collect();
        let name: Vec<char> = name.chars().collect();
        matches(&pattern, &name)
    }

    pub fn is_pattern(&self) -> bool {
        self.0.contains(['*', '?'])
    }
}

/// What an alert watches, read from an integration's state and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    ConsecutiveFailures,
    /// Failed runs out of finished runs over the window, in percent.
    FailureRate(Duration),
    /// Request latency at a quantile (per mille: 500, 950, 990) over the window.
    Latency {
        per_mille: u16,
        window: Duration,
    },
    /// The dead-man's switch: time since the last successful run.
    NoSuccessFor,
    Health,
    AuthFailed,
    CertExpiresIn,
    /// Until the first of the integration's vault secrets expires.
    SecretExpiresIn,
    /// Requests answered 429 over the window.
    RateLimited(Duration),
    /// The share of the API's quota left, in percent, as its headers last said
    /// (integrations with `quota`).
    QuotaRemaining,
}

/// The value a signal is compared with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    Count(f64),
    Percent(f64),
    Duration(Duration),
    Health(Health),
    /// `auth_failed` is a flag: it holds or it does not.
    Flag,
}

/// A parsed `when = "..."`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertCondition {
    source: String,
    pub signal: Signal,
    pub op: CompareOp,
    pub threshold: Threshold,
}

const FORMS: &str = "write one of: consecutive_failures >= 3, failure_rate(1h) > 10%, p95_latency(15m) > 2s, no_success_for > 2h, health == down, auth_failed, cert_expires_in < 14d, secret_expires_in < 7d, rate_limited(15m) > 20, quota_remaining < 10%";

impl AlertCondition {
    pub fn parse(text: &str) -> Result<Self, String> {
        let source = text.trim().to_owned();
        let (subject, comparison) = match split_comparison(&source) {
            Some((left, op, right)) => (left, Some((op, right))),
            None => (source.as_str(), None),
        };
        let (name, window) = match subject.split_once('(') {
            Some((name, argument)) => {
                let argument = argument
                    .strip_suffix(')')
                    .ok_or_else(|| format!("`{subject}` is missing its closing `)`; {FORMS}"))?;
                (name.trim(), Some(window(argument)?))
            }
            None => (subject, None),
        };
        let signal = match (name, window) {
            ("consecutive_failures", None) => Signal::ConsecutiveFailures,
            ("failure_rate", Some(w)) => Signal::FailureRate(w),
            ("p50_latency", Some(window)) => Signal::Latency {
                per_mille: 500,
                window,
            },
            ("p95_latency", Some(window)) => Signal::Latency {
                per_mille: 950,
                window,
            },
            ("p99_latency", Some(window)) => Signal::Latency {
                per_mille: 990,
                window,
            },
            ("no_success_for", None) => Signal::NoSuccessFor,
            ("health", None) => Signal::Health,
            ("auth_failed", None) => Signal::AuthFailed,
            ("cert_expires_in", None) => Signal::CertExpiresIn,
            ("secret_expires_in", None) => Signal::SecretExpiresIn,
            ("rate_limited", Some(w)) => Signal::RateLimited(w),
            ("quota_remaining", None) => Signal::QuotaRemaining,
            (
                "failure_rate" | "p50_latency" | "p95_latency" | "p99_latency" | "rate_limited",
                None,
            ) => return Err(format!("`{name}` needs a window, like `{name}(15m)`")),
            (
                "consecutive_failures"
                | "no_success_for"
                | "health"
                | "auth_failed"
                | "cert_expires_in"
                | "secret_expires_in"
                | "quota_remaining",
                Some(_),
            ) => return Err(format!("`{name}` takes no window; write `{name}` alone")),
            _ => {
                let names = SIGNAL_NAMES.iter().copied();
                return Err(match crate::domain::did_you_mean(name, names) {
                    Some(close) => format!("unknown signal `{name}`; did you mean `{close}`?"),
                    None => format!("unknown signal `{name}`; {FORMS}"),
                });
            }
        };
        if signal == Signal::AuthFailed {
            if comparison.is_some() {
                return Err(
                    "`auth_failed` is a condition on its own; remove what follows it".into(),
                );
            }
            return Ok(Self {
                source,
                signal,
                op: CompareOp::Eq,
                threshold: Threshold::Flag,
            });
        }
        let (op, value) = comparison.ok_or_else(|| {
            format!("`{source}` needs a comparison, like `{name} > ...`; {FORMS}")
        })?;
        if matches!(op, CompareOp::Contains | CompareOp::Matches) {
            return Err(format!("`{name}` compares with ==, !=, <, <=, > or >="));
        }
        let threshold = threshold(signal, value.trim())?;
        if signal == Signal::Health && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
            return Err("health compares with == or != (health == down)".into());
        }
        Ok(Self {
            source,
            signal,
            op,
            threshold,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }
}

const SIGNAL_NAMES: [&str; 12] = [
    "consecutive_failures",
    "failure_rate",
    "p50_latency",
    "p95_latency",
    "p99_latency",
    "no_success_for",
    "health",
    "auth_failed",
    "cert_expires_in",
    "secret_expires_in",
    "rate_limited",
    "quota_remaining",
];

impl fmt::Display for AlertCondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

super::deserialize_with_parse!(AlertCondition);

/// The signal with its optional `(window)`, and what follows it.
fn window(text: &str) -> Result<Duration, String> {
    let window = HumanDuration::parse(text)?.as_std();
    if window < SHORTEST_WINDOW || window > LONGEST_WINDOW {
        return Err(format!(
            "the window `{}` must be between 1m and 24h: the live metrics cover one day",
            text.trim()
        ));
    }
    Ok(window)
}

fn threshold(signal: Signal, value: &str) -> Result<Threshold, String> {
    match signal {
        Signal::ConsecutiveFailures | Signal::RateLimited(_) => value
            .parse::<u32>()
            .map(|n| Threshold::Count(f64::from(n)))
            .map_err(|_| format!("`{value}` is not a count; write a whole number like 3")),
        Signal::FailureRate(_) | Signal::QuotaRemaining => value
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok())
            .filter(|p| (0.0..=100.0).contains(p))
            .map(Threshold::Percent)
            .ok_or_else(|| format!("`{value}` is not a percentage; write it like 10%")),
        Signal::Latency { .. }
        | Signal::NoSuccessFor
        | Signal::CertExpiresIn
        | Signal::SecretExpiresIn => HumanDuration::parse(value)
            .map(|d| Threshold::Duration(d.as_std()))
            .map_err(|_| {
                format!("`{value}` is not a duration; write it with a unit like 500ms, 2h or 14d")
            }),
        Signal::Health => HEALTH_STATES
            .iter()
            .find(|h| h.as_str() == value)
            .map(|h| Threshold::Health(*h))
            .ok_or_else(|| {
                format!(
                    "`{value}` is not a health state; use up, pending, degraded, down or unknown"
                )
            }),
        Signal::AuthFailed => Ok(Threshold::Flag),
    }
}

const HEALTH_STATES: [Health; 5] = [
    Health::Up,
    Health::Pending,
    Health::Degraded,
    Health::Down,
    Health::Unknown,
];

/// `maintenance = { cron = "0 0 2 * * Sun", for = "2h" }`: alerts of the integration
/// notify no one from each fire of `cron` for `for`.
#[derive(Debug, Clone, Deserialize)]
pub struct Maintenance {
    pub cron: super::schedule::CronExpr,
    #[serde(rename = "for")]
    pub duration: HumanDuration,
}

impl Maintenance {
    /// When the window that `at` falls in ends, if it falls in one.
    pub fn window_end<Z: chrono::TimeZone>(
        &self,
        at: &chrono::DateTime<Z>,
    ) -> Option<chrono::DateTime<Z>> {
        let length = chrono::Duration::from_std(self.duration.as_std()).ok()?;
        // The window that covers `at` is the one that began within `length` before it.
        let began = self.cron.next_after(&(at.clone() - length))?;
        (began <= *at).then(|| began + length)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_parses() {
        let cases = [
            (
                "consecutive_failures >= 3",
                Signal::ConsecutiveFailures,
                Threshold::Count(3.0),
            ),
            (
                "failure_rate(1h) > 10%",
                Signal::FailureRate(Duration::from_secs(3600)),
                Threshold::Percent(10.0),
            ),
            (
                "p95_latency(15m) > 2s",
                Signal::Latency {
                    per_mille: 950,
                    window: Duration::from_secs(900),
                },
                Threshold::Duration(Duration::from_secs(2)),
            ),
            (
                "no_success_for > 2h",
                Signal::NoSuccessFor,
                Threshold::Duration(Duration::from_secs(7200)),
            ),
            (
                "health == down",
                Signal::Health,
                Threshold::Health(Health::Down),
            ),
            ("auth_failed", Signal::AuthFailed, Threshold::Flag),
            (
                "cert_expires_in < 14d",
                Signal::CertExpiresIn,
                Threshold::Duration(Duration::from_secs(14 * 86400)),
            ),
            (
                "secret_expires_in < 7d",
                Signal::SecretExpiresIn,
                Threshold::Duration(Duration::from_secs(7 * 86400)),
            ),
            (
                "rate_limited(15m) > 20",
                Signal::RateLimited(Duration::from_secs(900)),
                Threshold::Count(20.0),
            ),
        ];
        for (text, signal, threshold) in cases {
            let condition = AlertCondition::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(
                (condition.signal, condition.threshold),
                (signal, threshold),
                "{text}"
            );
            assert_eq!(condition.to_string(), text);
        }
        let op = AlertCondition::parse("consecutive_failures>=3").unwrap().op;
        assert_eq!(op, CompareOp::Ge, "spaces are optional");
    }

    #[test]
    fn mistakes_are_explained() {
        for (text, expected) in [
            (
                "consecutive_failure >= 3",
                "did you mean `consecutive_failures`",
            ),
            ("failure_rate > 10%", "needs a window"),
            ("failure_rate(1h) > 10", "not a percentage"),
            ("failure_rate(30d) > 10%", "between 1m and 24h"),
            ("health > down", "== or !="),
            ("health == sideways", "not a health state"),
            ("no_success_for(1h) > 2h", "takes no window"),
            ("consecutive_failures", "needs a comparison"),
            ("consecutive_failures >= many", "not a count"),
            ("auth_failed == true", "on its own"),
            ("p95_latency(15m > 2s", "closing `)`"),
        ] {
            let error = AlertCondition::parse(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn globs_match_whole_names() {
        let glob = |g: &str| Glob(g.to_owned());
        assert!(glob("*").matches("anything"));
        assert!(glob("orders-*").matches("orders-api"));
        assert!(!glob("orders-*").matches("my-orders-api"));
        assert!(glob("db-?").matches("db-1") && !glob("db-?").matches("db-10"));
        assert!(glob("exact").matches("exact") && !glob("exact").matches("exact2"));
    }

    #[test]
    fn a_maintenance_window_covers_its_length_after_each_fire() {
        use chrono::{TimeZone, Utc};
        let window = Maintenance {
            cron: "0 0 2 * * Sun".parse().unwrap(),
            duration: HumanDuration(Duration::from_secs(7200)),
        };
        // 2026-11-22 is a Sunday.
        let at = |h, m| Utc.with_ymd_and_hms(2026, 11, 22, h, m, 0).unwrap();
        assert_eq!(window.window_end(&at(1, 59)), None);
        assert_eq!(window.window_end(&at(2, 0)), Some(at(4, 0)));
        assert_eq!(window.window_end(&at(3, 59)), Some(at(4, 0)));
        assert_eq!(window.window_end(&at(4, 0)), None);
        let monday = Utc.with_ymd_and_hms(2026, 11, 23, 3, 0, 0).unwrap();
        assert_eq!(window.window_end(&monday), None);
    }
}

//! Reading a rule's signal from what the engine knows about one integration, and
//! judging it against the rule's threshold.

use std::cmp::Ordering;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::config::alert::{AlertCondition, Signal, Threshold};
use crate::domain::stats::Stats;
use crate::domain::{Health, IntegrationState};

/// What one integration looks like to the alert rules at one moment.
pub struct Facts<'a> {
    pub now: DateTime<Utc>,
    pub state: &'a IntegrationState,
    /// It runs on a schedule and is neither paused by an operator nor disabled: the
    /// dead-man's switch only watches integrations that should be running.
    pub expected_to_run: bool,
    /// Live metrics over the last `window`.
    pub stats: &'a dyn Fn(Duration) -> Stats,
    /// The first of its vault secrets to expire, and when.
    pub first_secret_expiry: Option<(&'a str, DateTime<Utc>)>,
}

/// A signal's value and whether it breaches the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub breached: bool,
    measured: Measured,
}

/// What a signal read, kept as figures: most readings breach nothing and are never
/// shown, so the words are only made for those that are ([`Reading::value`]).
#[derive(Debug, Clone, PartialEq)]
enum Measured {
    FailuresInARow(u32),
    FailureRate {
        percent: f64,
        runs: u64,
        window: Duration,
    },
    Latency {
        per_mille: u16,
        ms: u64,
        window: Duration,
    },
    Quiet {
        secs: f64,
        ever_succeeded: bool,
    },
    NotExpectedToRun,
    Health(Health),
    AuthFailed(bool),
    Expiry {
        what: Expiring,
        secs_left: f64,
    },
    RateLimited {
        hits: u64,
        window: Duration,
    },
    QuotaRemaining {
        percent: f64,
        remaining: u64,
    },
}

#[derive(Debug, Clone, PartialEq)]
enum Expiring {
    Certificate,
    Secret(String),
}

impl Reading {
    /// The value in words: "5 failures in a row", "p95 latency 2.4s over 15m".
    pub fn value(&self) -> String {
        match &self.measured {
            Measured::FailuresInARow(n) => format!("{n} failures in a row"),
            Measured::FailureRate {
                percent,
                runs,
                window,
            } => {
                format!("{percent:.0}% of {runs} runs failed over {}", span(*window))
            }
            Measured::Latency {
                per_mille,
                ms,
                window,
            } => format!(
                "p{} latency {} over {}",
                per_mille / 10,
                span(Duration::from_millis(*ms)),
                span(*window)
            ),
            Measured::Quiet {
                secs,
                ever_succeeded: true,
            } => {
                format!("no success for {}", span_secs(*secs))
            }
            Measured::Quiet {
                secs,
                ever_succeeded: false,
            } => {
                format!("no success since it was added {} ago", span_secs(*secs))
            }
            Measured::NotExpectedToRun => {
                "not expected to run (paused, disabled or unscheduled)".to_owned()
            }
            Measured::Health(health) => format!("health is {}", health.as_str()),
            Measured::AuthFailed(true) => "authentication failed".to_owned(),
            Measured::AuthFailed(false) => "authentication works".to_owned(),
            Measured::Expiry { what, secs_left } => {
                let what = match what {
                    Expiring::Certificate => "certificate".to_owned(),
                    Expiring::Secret(name) => format!("secret `{name}`"),
                };
                if *secs_left < 0.0 {
                    format!("{what} expired {} ago", span_secs(-secs_left))
                } else {
                    format!("{what} expires in {}", span_secs(*secs_left))
                }
            }
            Measured::RateLimited { hits, window } => {
                format!("{hits} rate-limit hits over {}", span(*window))
            }
            Measured::QuotaRemaining { percent, remaining } => {
                format!("{percent:.1}% of the API's quota left ({remaining} requests)")
            }
        }
    }
}

#[cfg(test)]
impl Reading {
    /// `n` failures in a row, breaching at 3: for lifecycle tests.
    pub(crate) fn failures_in_a_row(n: u32) -> Self {
        Self {
            breached: n >= 3,
            measured: Measured::FailuresInARow(n),
        }
    }
}

/// `None` when there is nothing to judge (no runs in the window, no certificate seen):
/// an alert then stays as it is, so a restart, which empties the live metrics, does
/// not resolve what was firing.
pub fn read(condition: &AlertCondition, facts: &Facts<'_>) -> Option<Reading> {
    let state = facts.state;
    let judged = |figure: f64, measured| {
        let limit = match condition.threshold {
            Threshold::Count(n) | Threshold::Percent(n) => n,
            Threshold::Duration(d) => d.as_secs_f64(),
            Threshold::Health(_) | Threshold::Flag => return None,
        };
        Some(Reading {
            breached: condition.op.accepts(figure.partial_cmp(&limit)),
            measured,
        })
    };
    match condition.signal {
        Signal::ConsecutiveFailures => {
            let n = state.consecutive_failures;
            judged(f64::from(n), Measured::FailuresInARow(n))
        }
        Signal::FailureRate(window) => {
            let stats = (facts.stats)(window);
            let runs = stats.runs_ok + stats.runs_failed;
            if runs == 0 {
                return None;
            }
            let percent = stats.runs_failed as f64 * 100.0 / runs as f64;
            judged(
                percent,
                Measured::FailureRate {
                    percent,
                    runs,
                    window,
                },
            )
        }
        Signal::Latency { per_mille, window } => {
            let stats = (facts.stats)(window);
            let ms = match per_mille {
                500 => stats.p50_ms,
                990 => stats.p99_ms,
                _ => stats.p95_ms,
            }?;
            judged(
                ms as f64 / 1000.0,
                Measured::Latency {
                    per_mille,
                    ms,
                    window,
                },
            )
        }
        Signal::NoSuccessFor => {
            if !facts.expected_to_run {
                return Some(Reading {
                    breached: false,
                    measured: Measured::NotExpectedToRun,
                });
            }
            let since = state.last_success_at.or(state.watched_since)?;
            let secs = seconds(facts.now - since);
            let ever_succeeded = state.last_success_at.is_some();
            judged(
                secs,
                Measured::Quiet {
                    secs,
                    ever_succeeded,
                },
            )
        }
        Signal::Health => {
            let Threshold::Health(expected) = condition.threshold else {
                return None;
            };
            let ordering = (state.health == expected).then_some(Ordering::Equal);
            Some(Reading {
                breached: condition.op.accepts(ordering),
                measured: Measured::Health(state.health),
            })
        }
        Signal::AuthFailed => Some(Reading {
            breached: state.auth_failed,
            measured: Measured::AuthFailed(state.auth_failed),
        }),
        Signal::CertExpiresIn => {
            let secs_left = seconds(state.certificate_expires_at? - facts.now);
            let what = Expiring::Certificate;
            judged(secs_left, Measured::Expiry { what, secs_left })
        }
        Signal::SecretExpiresIn => {
            let (name, at) = facts.first_secret_expiry?;
            let secs_left = seconds(at - facts.now);
            let what = Expiring::Secret(name.to_owned());
            judged(secs_left, Measured::Expiry { what, secs_left })
        }
        Signal::RateLimited(window) => {
            let stats = (facts.stats)(window);
            if stats.requests_ok + stats.requests_failed == 0 {
                return None;
            }
            let hits = stats.rate_limit_hits;
            judged(hits as f64, Measured::RateLimited { hits, window })
        }
        Signal::QuotaRemaining => {
            let left = state.quota_left?;
            let percent = left.percent()?;
            let remaining = left.remaining;
            judged(percent, Measured::QuotaRemaining { percent, remaining })
        }
    }
}

fn seconds(duration: chrono::Duration) -> f64 {
    duration.num_milliseconds() as f64 / 1000.0
}

fn span_secs(secs: f64) -> String {
    span(Duration::from_secs_f64(secs.max(0.0)))
}

/// A duration the way a person says it: the two largest units.
pub fn span(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (big, big_unit, small, small_unit) = if secs >= 86_400 {
        (secs / 86_400, "d", secs / 3600 % 24, "h")
    } else if secs >= 3600 {
        (secs / 3600, "h", secs / 60 % 60, "m")
    } else if secs >= 60 {
        (secs / 60, "m", secs % 60, "s")
    } else if secs >= 1 {
        return format!("{:.1}s", duration.as_secs_f64());
    } else {
        return format!("{}ms", duration.as_millis());
    };
    if small == 0 {
        format!("{big}{big_unit}")
    } else {
        format!("{big}{big_unit} {small}{small_unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, 12, 0, 0).unwrap()
    }

    fn judge(when: &str, state: &IntegrationState, stats: Stats) -> Option<Reading> {
        let condition = AlertCondition::parse(when).unwrap();
        let stats = move |_| stats.clone();
        let expiry = Some(("api-token", now() + chrono::Duration::days(3)));
        read(
            &condition,
            &Facts {
                now: now(),
                state,
                expected_to_run: true,
                stats: &stats,
                first_secret_expiry: expiry,
            },
        )
    }

    #[test]
    fn every_signal_reads_and_judges() {
        let hours_ago = |h| Some(now() - chrono::Duration::hours(h));
        let state = IntegrationState {
            consecutive_failures: 3,
            health: Health::Down,
            auth_failed: true,
            last_success_at: hours_ago(3),
            certificate_expires_at: Some(now() + chrono::Duration::days(10)),
            quota_left: Some(crate::domain::QuotaLeft {
                remaining: 400,
                limit: Some(5000),
            }),
            ..IntegrationState::default()
        };
        let stats = Stats {
            runs_ok: 8,
            runs_failed: 2,
            requests_ok: 40,
            rate_limit_hits: 21,
            p95_ms: Some(2400),
            ..Stats::default()
        };
        for (when, breached, value) in [
            ("consecutive_failures >= 3", true, "3 failures in a row"),
            ("consecutive_failures >= 4", false, "3 failures in a row"),
            (
                "failure_rate(1h) > 10%",
                true,
                "20% of 10 runs failed over 1h",
            ),
            (
                "failure_rate(1h) > 20%",
                false,
                "20% of 10 runs failed over 1h",
            ),
            ("p95_latency(15m) > 2s", true, "p95 latency 2.4s over 15m"),
            ("no_success_for > 2h", true, "no success for 3h"),
            ("no_success_for > 4h", false, "no success for 3h"),
            ("health == down", true, "health is down"),
            ("health != down", false, "health is down"),
            ("auth_failed", true, "authentication failed"),
            ("cert_expires_in < 14d", true, "certificate expires in 10d"),
            ("cert_expires_in < 7d", false, "certificate expires in 10d"),
            (
                "secret_expires_in < 7d",
                true,
                "secret `api-token` expires in 3d",
            ),
            (
                "rate_limited(15m) > 20",
                true,
                "21 rate-limit hits over 15m",
            ),
            (
                "quota_remaining < 10%",
                true,
                "8.0% of the API's quota left (400 requests)",
            ),
            (
                "quota_remaining < 5%",
                false,
                "8.0% of the API's quota left (400 requests)",
            ),
        ] {
            let reading = judge(when, &state, stats.clone()).expect(when);
            assert_eq!(reading.value(), value, "{when}");
            assert_eq!(reading.breached, breached, "{when}");
        }
    }

    #[test]
    fn every_signal_resolves_when_things_are_well() {
        let state = IntegrationState {
            health: Health::Up,
            last_success_at: Some(now() - chrono::Duration::minutes(5)),
            certificate_expires_at: Some(now() + chrono::Duration::days(60)),
            ..IntegrationState::default()
        };
        let stats = Stats {
            runs_ok: 10,
            requests_ok: 40,
            p95_ms: Some(300),
            ..Stats::default()
        };
        let reading_of = |when: &str| {
            let condition = AlertCondition::parse(when).unwrap();
            let stats = |_| stats.clone();
            let facts = Facts {
                now: now(),
                state: &state,
                expected_to_run: true,
                stats: &stats,
                first_secret_expiry: Some(("api-token", now() + chrono::Duration::days(90))),
            };
            read(&condition, &facts).expect(when)
        };
        for when in [
            "consecutive_failures >= 3",
            "failure_rate(1h) > 10%",
            "p95_latency(15m) > 2s",
            "no_success_for > 2h",
            "health == down",
            "auth_failed",
            "cert_expires_in < 14d",
            "secret_expires_in < 7d",
            "rate_limited(15m) > 20",
        ] {
            let reading = reading_of(when);
            assert!(!reading.breached, "{when}: {}", reading.value());
        }
    }

    #[test]
    fn no_data_is_no_verdict() {
        let state = IntegrationState::default();
        for when in [
            "failure_rate(1h) > 10%",
            "p95_latency(15m) > 2s",
            "rate_limited(15m) > 20",
            "cert_expires_in < 14d",
            "no_success_for > 2h",
            "quota_remaining < 10%",
        ] {
            assert_eq!(judge(when, &state, Stats::default()), None, "{when}");
        }
    }

    #[test]
    fn spans_read_like_people_talk() {
        assert_eq!(span(Duration::from_millis(812)), "812ms");
        assert_eq!(span(Duration::from_millis(2400)), "2.4s");
        assert_eq!(span(Duration::from_secs(90)), "1m 30s");
        assert_eq!(span(Duration::from_secs(7200)), "2h");
        assert_eq!(span(Duration::from_secs(3 * 86400 + 7200)), "3d 2h");
    }
}

//! How a finished run changes an integration's lasting state: health with its
//! thresholds, failure counts, the circuit breaker, the auth flag.

use chrono::{DateTime, Utc};

use crate::config::Integration;
use crate::domain::run::{ErrorClass, RunRecord, RunStatus};
use crate::domain::{Health, IntegrationState, PauseReason};

/// What applying a run changed that others should hear about.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The circuit breaker just paused the integration.
    pub tripped: bool,
    /// Health before and after, when it changed.
    pub health: Option<(Health, Health)>,
}

/// What one piece of work came to, whether a run of a source or a delivery to an
/// output: both move health through the same thresholds.
struct Verdict<'a> {
    ok: bool,
    /// Worked, but not well: partial, throttled or slow.
    impaired: bool,
    class: Option<ErrorClass>,
    error: Option<&'a String>,
    hint: Option<&'a String>,
    at: DateTime<Utc>,
}

/// Moves counts and health; returns the health change, if any.
fn judge(
    state: &mut IntegrationState,
    verdict: &Verdict<'_>,
    integration: &Integration,
) -> Option<(Health, Health)> {
    let before = state.health;
    if verdict.ok {
        state.consecutive_failures = 0;
        state.consecutive_successes += 1;
        state.auth_failed = false;
        state.last_success_at = Some(verdict.at);
        let recovering =
            before == Health::Down && state.consecutive_successes < integration.success_threshold;
        state.health = match (recovering, verdict.impaired) {
            (true, _) => Health::Down,
            (false, true) => Health::Degraded,
            (false, false) => Health::Up,
        };
    } else {
        state.consecutive_failures += 1;
        state.consecutive_successes = 0;
        if verdict.class == Some(ErrorClass::Auth) {
            state.auth_failed = true;
        }
        state.last_error = verdict.error.cloned();
        state.last_hint = verdict.hint.cloned();
        state.health = if state.consecutive_failures >= integration.failure_threshold
            || before == Health::Down
        {
            Health::Down
        } else {
            Health::Pending
        };
    }
    (state.health != before).then_some((before, state.health))
}

/// Applies `run` to `state` under the integration's thresholds.
pub fn apply_run(
    state: &mut IntegrationState,
    run: &RunRecord,
    integration: &Integration,
) -> Changes {
    let ok = match run.status {
        RunStatus::Success | RunStatus::Partial => true,
        RunStatus::Failed => false,
        // Not a verdict on the integration.
        RunStatus::Cancelled | RunStatus::Interrupted | RunStatus::Skipped | RunStatus::Running => {
            return Changes::default();
        }
    };
    // Throttled or slow is working, but not well: the next spike may fail.
    let slow = integration
        .slow_after
        .zip(run.duration_ms)
        .is_some_and(|(limit, took)| u128::from(took) > limit.as_millis());
    let verdict = Verdict {
        ok,
        impaired: run.status == RunStatus::Partial || run.rate_limit_hits > 0 || slow,
        class: run.error_class,
        error: run.error_message.as_ref(),
        hint: run.hint.as_ref(),
        at: run.finished_at.unwrap_or(run.started_at),
    };
    let health = judge(state, &verdict, integration);
    state.last_run_at = Some(run.started_at);
    state.last_status = Some(run.status);
    if run.certificate_expires_at.is_some() {
        state.certificate_expires_at = run.certificate_expires_at;
    }
    if run.quota_left.is_some() {
        state.quota_left = run.quota_left;
    }
    let mut changes = Changes {
        tripped: false,
        health,
    };
    let tripped = integration
        .pause_after_failures
        .is_some_and(|limit| state.consecutive_failures >= limit.max(1));
    if tripped && state.paused.is_none() {
        state.paused = Some(PauseReason::CircuitBreaker {
            failures: state.consecutive_failures,
            at: verdict.at,
            last_error: run.error_message.clone(),
        });
        changes.tripped = true;
    }
    changes
}

/// Applies one delivery (of a run's records or an alert notice) to the output's
/// state: an output is up, pending or down by its own `failure_threshold`, and shows
/// when it last delivered and why it last failed. Outputs have no circuit breaker:
/// they run only when a source sends them something.
pub fn apply_delivery(
    state: &mut IntegrationState,
    ok: bool,
    class: Option<ErrorClass>,
    error: Option<&String>,
    at: DateTime<Utc>,
    integration: &Integration,
) -> Option<(Health, Health)> {
    let verdict = Verdict {
        ok,
        impaired: false,
        class,
        error,
        hint: None,
        at,
    };
    let health = judge(state, &verdict, integration);
    state.last_run_at = Some(at);
    state.last_status = Some(if ok {
        RunStatus::Success
    } else {
        RunStatus::Failed
    });
    health
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, SourceFile};
    use crate::domain::run::Trigger;

    fn integration(extra: &str) -> Integration {
        let text = format!(
            "[[integration]]\nname = \"a\"\nkind = \"check\"\nevery = \"1m\"\n{extra}\nprobe = {{ tcp = \"127.0.0.1:9\" }}\n"
        );
        let config = Config::parse(SourceFile::new("c.toml", text));
        assert!(config.is_valid(), "{}", config.render_problems());
        config.integrations[0].clone()
    }

    fn run(status: RunStatus, class: Option<ErrorClass>) -> RunRecord {
        let mut run = RunRecord::start("a", Trigger::Schedule, chrono::Utc::now());
        run.error_class = class;
        run.finish(status, run.started_at);
        run
    }

    #[test]
    fn health_flips_exactly_at_the_thresholds() {
        let check = integration("failure_threshold = 3\nsuccess_threshold = 2");
        let mut state = IntegrationState::default();
        let failed = || run(RunStatus::Failed, Some(ErrorClass::Check));
        let ok = || run(RunStatus::Success, None);
        assert_eq!(
            apply_run(&mut state, &failed(), &check).health,
            Some((Health::Unknown, Health::Pending))
        );
        assert_eq!(
            apply_run(&mut state, &failed(), &check).health,
            None,
            "still pending at 2"
        );
        assert_eq!(
            apply_run(&mut state, &failed(), &check).health,
            Some((Health::Pending, Health::Down)),
            "down at 3"
        );
        assert_eq!(
            apply_run(&mut state, &ok(), &check).health,
            None,
            "one good probe is not enough"
        );
        assert_eq!(state.health, Health::Down);
        assert_eq!(
            apply_run(&mut state, &ok(), &check).health,
            Some((Health::Down, Health::Up)),
            "up at 2"
        );
        assert_eq!(
            apply_run(&mut state, &run(RunStatus::Partial, None), &check).health,
            Some((Health::Up, Health::Degraded))
        );
        assert_eq!(
            apply_run(&mut state, &run(RunStatus::Cancelled, None), &check),
            Changes::default()
        );
        assert_eq!(
            apply_run(&mut state, &ok(), &check).health,
            Some((Health::Degraded, Health::Up))
        );
        let mut throttled = ok();
        throttled.rate_limit_hits = 2;
        assert_eq!(
            apply_run(&mut state, &throttled, &check).health,
            Some((Health::Up, Health::Degraded)),
            "a run that was rate-limited is degraded even when it succeeded"
        );
    }

    #[test]
    fn an_output_goes_down_only_after_failure_threshold_refused_deliveries() {
        let output = integration("failure_threshold = 2");
        let mut state = IntegrationState::default();
        let at = chrono::Utc::now();
        let refused = "401 Unauthorized from 127.0.0.1".to_owned();
        let deliver = |state: &mut IntegrationState, ok: bool| {
            let error = (!ok).then_some(&refused);
            apply_delivery(
                state,
                ok,
                (!ok).then_some(ErrorClass::Auth),
                error,
                at,
                &output,
            )
        };
        assert_eq!(
            deliver(&mut state, false),
            Some((Health::Unknown, Health::Pending))
        );
        assert_eq!(
            (state.consecutive_failures, state.last_error.as_deref()),
            (1, Some(refused.as_str()))
        );
        assert_eq!(
            deliver(&mut state, false),
            Some((Health::Pending, Health::Down))
        );
        assert!(state.auth_failed && state.paused.is_none());
        deliver(&mut state, true);
        assert_eq!(
            (state.last_run_at, state.last_status),
            (Some(at), Some(RunStatus::Success))
        );
    }

    #[test]
    fn a_run_slower_than_slow_after_is_degraded() {
        let check = integration("slow_after = \"2s\"");
        let mut state = IntegrationState::default();
        let took = |millis: u64| {
            let mut run = run(RunStatus::Success, None);
            run.duration_ms = Some(millis);
            run
        };
        apply_run(&mut state, &took(2_000), &check);
        assert_eq!(state.health, Health::Up, "at the limit is not slow");
        apply_run(&mut state, &took(2_001), &check);
        assert_eq!(state.health, Health::Degraded);
    }

    #[test]
    fn the_breaker_trips_at_exactly_n_failures_and_success_resets() {
        let integration = integration("pause_after_failures = 3");
        let mut state = IntegrationState::default();
        let server = || run(RunStatus::Failed, Some(ErrorClass::Server));
        assert!(!apply_run(&mut state, &server(), &integration).tripped);
        assert!(!apply_run(&mut state, &server(), &integration).tripped);
        assert!(
            !apply_run(&mut state, &run(RunStatus::Cancelled, None), &integration).tripped,
            "cancel is no failure"
        );
        assert_eq!(state.consecutive_failures, 2);
        assert!(apply_run(&mut state, &server(), &integration).tripped);
        assert!(matches!(
            state.paused,
            Some(PauseReason::CircuitBreaker { failures: 3, .. })
        ));
        let mut fresh = IntegrationState::default();
        apply_run(
            &mut fresh,
            &run(RunStatus::Failed, Some(ErrorClass::Auth)),
            &integration,
        );
        assert!(fresh.auth_failed);
        apply_run(&mut fresh, &run(RunStatus::Success, None), &integration);
        assert_eq!((fresh.consecutive_failures, fresh.auth_failed), (0, false));
        assert!(fresh.last_success_at.is_some());
    }
}

//! How a finished run changes an integration's lasting state: health with its
//! thresholds, failure counts, the circuit breaker, the auth flag.

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

/// Applies `run` to `state` under the integration's thresholds.
pub fn apply_run(
    state: &mut IntegrationState,
    run: &RunRecord,
    integration: &Integration,
) -> Changes {
    let before = state.health;
    match run.status {
        RunStatus::Success | RunStatus::Partial => {
            state.consecutive_failures = 0;
            state.consecutive_successes += 1;
            state.auth_failed = false;
            state.last_success_at = run.finished_at;
            let recovering = before == Health::Down
                && state.consecutive_successes < integration.success_threshold;
            // Throttled or slow is working, but not well: the next spike may fail.
            let slow = integration
                .slow_after
                .zip(run.duration_ms)
                .is_some_and(|(limit, took)| u128::from(took) > limit.as_millis());
            let impaired = run.status == RunStatus::Partial || run.rate_limit_hits > 0 || slow;
            state.health = match (recovering, impaired) {
                (true, _) => Health::Down,
                (false, true) => Health::Degraded,
                (false, false) => Health::Up,
            };
        }
        RunStatus::Failed => {
            state.consecutive_failures += 1;
            state.consecutive_successes = 0;
            if run.error_class == Some(ErrorClass::Auth) {
                state.auth_failed = true;
            }
            state.last_error.clone_from(&run.error_message);
            state.last_hint.clone_from(&run.hint);
            state.health = if state.consecutive_failures >= integration.failure_threshold
                || before == Health::Down
            {
                Health::Down
            } else {
                Health::Pending
            };
        }
        // Not a verdict on the integration.
        RunStatus::Cancelled | RunStatus::Interrupted | RunStatus::Skipped | RunStatus::Running => {
            return Changes::default();
        }
    }
    state.last_run_at = Some(run.started_at);
    state.last_status = Some(run.status);
    if run.certificate_expires_at.is_some() {
        state.certificate_expires_at = run.certificate_expires_at;
    }
    let mut changes = Changes {
        tripped: false,
        health: (state.health != before).then_some((before, state.health)),
    };
    let tripped = integration
        .pause_after_failures
        .is_some_and(|limit| state.consecutive_failures >= limit.max(1));
    if tripped && state.paused.is_none() {
        state.paused = Some(PauseReason::CircuitBreaker {
            failures: state.consecutive_failures,
            at: run.finished_at.unwrap_or(run.started_at),
            last_error: run.error_message.clone(),
        });
        changes.tripped = true;
    }
    changes
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

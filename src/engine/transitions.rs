//! How a finished run changes an integration's lasting state: failure counts, the
//! circuit breaker, the auth flag.

use crate::run::{ErrorClass, RunRecord, RunStatus};
use crate::store::{IntegrationState, PauseReason};

/// Applies `run` to `state`. Returns `true` when the circuit breaker just paused it.
pub fn apply_run(
    state: &mut IntegrationState,
    run: &RunRecord,
    pause_after_failures: Option<u32>,
) -> bool {
    match run.status {
        RunStatus::Success | RunStatus::Partial => {
            state.consecutive_failures = 0;
            state.auth_failed = false;
            state.last_success_at = run.finished_at;
        }
        RunStatus::Failed => {
            state.consecutive_failures += 1;
            if run.error_class == Some(ErrorClass::Auth) {
                state.auth_failed = true;
            }
        }
        // Not a verdict on the integration.
        RunStatus::Cancelled | RunStatus::Interrupted | RunStatus::Skipped | RunStatus::Running => {
            return false;
        }
    }
    state.last_run_at = Some(run.started_at);
    state.last_status = Some(run.status);
    let tripped =
        pause_after_failures.is_some_and(|limit| state.consecutive_failures >= limit.max(1));
    if tripped && state.paused.is_none() {
        state.paused = Some(PauseReason::CircuitBreaker {
            failures: state.consecutive_failures,
            at: run.finished_at.unwrap_or(run.started_at),
            last_error: run.error_message.clone(),
        });
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::Trigger;

    fn run(status: RunStatus, class: Option<ErrorClass>) -> RunRecord {
        let mut run = RunRecord::start("a", Trigger::Schedule, chrono::Utc::now());
        run.error_class = class;
        run.finish(status, run.started_at);
        run
    }

    #[test]
    fn the_breaker_trips_at_exactly_n_failures_and_success_resets() {
        let mut state = IntegrationState::default();
        assert!(!apply_run(
            &mut state,
            &run(RunStatus::Failed, Some(ErrorClass::Server)),
            Some(3)
        ));
        assert!(!apply_run(
            &mut state,
            &run(RunStatus::Failed, Some(ErrorClass::Server)),
            Some(3)
        ));
        assert!(
            !apply_run(&mut state, &run(RunStatus::Cancelled, None), Some(3)),
            "cancel is no failure"
        );
        assert_eq!(state.consecutive_failures, 2);
        assert!(apply_run(
            &mut state,
            &run(RunStatus::Failed, Some(ErrorClass::Server)),
            Some(3)
        ));
        assert!(matches!(
            state.paused,
            Some(PauseReason::CircuitBreaker { failures: 3, .. })
        ));
        let mut fresh = IntegrationState::default();
        apply_run(
            &mut fresh,
            &run(RunStatus::Failed, Some(ErrorClass::Auth)),
            None,
        );
        assert!(fresh.auth_failed);
        apply_run(&mut fresh, &run(RunStatus::Success, None), None);
        assert_eq!((fresh.consecutive_failures, fresh.auth_failed), (0, false));
        assert!(fresh.last_success_at.is_some());
    }
}

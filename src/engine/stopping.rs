//! Stopping: scheduling ends, running runs get their grace period, then are
//! interrupted, and a run that does not report even then is given up.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::time::Instant;

use super::actor::Engine;
use super::executor::CancelReason;

/// How long interrupted runs get to write their record after shutdown cancels them.
const INTERRUPT_GRACE: Duration = Duration::from_secs(5);

pub(super) struct Stopping {
    pub(super) deadline: Instant,
    pub(super) interrupted: bool,
    pub(super) replies: Vec<oneshot::Sender<()>>,
}

impl Engine {
    pub(super) fn begin_stop(&mut self, grace: Duration, reply: Option<oneshot::Sender<()>>) {
        self.scheduling = false;
        self.queue.clear();
        let stopping = self.stopping.get_or_insert_with(|| Stopping {
            deadline: Instant::now() + grace,
            interrupted: false,
            replies: Vec::new(),
        });
        stopping.replies.extend(reply);
        let running = self.slots.values().filter(|s| s.active.is_some()).count();
        if running > 0 {
            tracing::info!(running, grace = %humantime::format_duration(grace), "stopping: waiting for running runs");
        }
    }

    /// The grace period is over: whatever still runs is interrupted. If a run has not
    /// reported even `INTERRUPT_GRACE` after that, it is given up so the engine stops.
    pub(super) fn interrupt_all(&mut self) {
        let Some(stopping) = self.stopping.as_mut() else {
            return;
        };
        if stopping.interrupted {
            for slot in self.slots.values_mut() {
                if let Some(active) = slot.active.take() {
                    tracing::error!(integration = %slot.integration.name, run = %active.run_id, "run did not stop when interrupted; leaving it to the next start");
                }
            }
            return;
        }
        stopping.interrupted = true;
        for slot in self.slots.values() {
            if let Some(active) = &slot.active {
                active.cancel.cancel(CancelReason::Shutdown);
            }
        }
        // Runs that cannot even record themselves in time are left to the next start,
        // which marks them interrupted from the store.
        stopping.deadline = Instant::now() + INTERRUPT_GRACE;
    }
}

//! The event feed: the engine's events turned into the protocol's batched `Event`s,
//! numbered, and published to every subscriber (attached clients and the embedded
//! console alike).
//!
//! Changes to integrations are gathered for `BATCH` and sent as one `Changed` with how
//! each stands now, so a busy engine costs a console one message per batch, not a
//! snapshot; finished runs likewise, with routine ones sampled (a run an operator
//! started goes out as soon as it ends, since they wait for it). Each event is
//! serialised at most once, however many clients read it.

use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::protocol::{Event, Sequenced, ServiceFrame};
use crate::domain::run::{RunRecord, RunStatus, Trigger};
use crate::engine::{EngineEvent, EngineHandle};
use crate::telemetry::LogRing;

/// How long changes are gathered before they are sent.
const BATCH: Duration = Duration::from_millis(200);
/// Events a subscriber may fall behind by before it is told to start over from a
/// fresh snapshot: a few seconds of batches at 10,000 runs a second. The engine never
/// waits for a subscriber, and this bounds what a stalled one holds in memory (a batch
/// can be a megabyte; at 1,024 events the attach bench's service grew to 1 GB).
const BACKLOG: usize = 128;
/// Log lines sent per batch; the service's log files keep every one.
const LOG_LINES_PER_BATCH: usize = 200;
/// Routine runs (scheduled, successful) sent per batch: at 10,000 runs a second no
/// one reads each, and every console would parse them all. Failed and partial runs,
/// and runs an operator started, are always sent; the store has every run.
const ROUTINE_RUNS_PER_BATCH: usize = 50;

/// One published event, with its wire frame made on first use.
#[derive(Debug)]
pub struct Published {
    pub event: Sequenced,
    frame: OnceLock<Bytes>,
}

impl Published {
    /// An event as a client received it from the service.
    pub fn received(event: Sequenced) -> Self {
        Self {
            event,
            frame: OnceLock::new(),
        }
    }

    /// The event as a service frame's bytes.
    pub fn frame(&self) -> &Bytes {
        self.frame
            .get_or_init(|| encode(&ServiceFrame::Event(self.event.clone())))
    }
}

/// A frame as JSON bytes. Serialising our own types cannot fail.
pub fn encode(frame: &ServiceFrame) -> Bytes {
    Bytes::from(serde_json::to_vec(frame).expect("protocol types serialise"))
}

#[derive(Clone)]
pub struct Feed {
    published: broadcast::Sender<Arc<Published>>,
}

impl Feed {
    /// Starts publishing `engine`'s events and `logs`' new entries. The feed ends
    /// when the engine stops.
    pub fn start(engine: EngineHandle, logs: LogRing) -> Self {
        let (published, _) = broadcast::channel(BACKLOG);
        let feed = Self { published };
        let publisher = Publisher {
            published: feed.published.clone(),
            seq: 0,
        };
        tokio::spawn(publisher.run(engine, logs));
        feed
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.published.subscribe()
    }
}

struct Publisher {
    published: broadcast::Sender<Arc<Published>>,
    seq: u64,
}

impl Publisher {
    fn publish(&mut self, event: Event) {
        self.seq += 1;
        let published = Arc::new(Published::received(Sequenced {
            seq: self.seq,
            event,
        }));
        // No subscriber is not an error: a service may run with nobody attached.
        let _ = self.published.send(published);
    }

    async fn run(mut self, engine: EngineHandle, logs: LogRing) {
        let mut events = engine.subscribe();
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut finished: Vec<RunRecord> = Vec::new();
        let mut routine_sent = 0;
        let mut left_out = 0;
        let mut log_seq = logs.since(0).last().map_or(0, |e| e.seq + 1);
        let mut batch = tokio::time::interval(BATCH);
        batch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = events.recv() => match event {
                    // Its change (now running) goes out with the batch.
                    Ok(EngineEvent::RunStarted { integration, .. }) => {
                        changed.insert(integration);
                    }
                    Ok(EngineEvent::RunFinished(run)) => {
                        changed.insert(run.integration.clone());
                        let routine = run.status == RunStatus::Success
                            && run.trigger != Trigger::Manual;
                        if routine && routine_sent >= ROUTINE_RUNS_PER_BATCH {
                            left_out += 1;
                        } else {
                            routine_sent += usize::from(routine);
                            finished.push(RunRecord::clone(&run));
                        }
                        // Someone is waiting for a run they asked for (`patchbay run`,
                        // `r` in a console): it goes out now, not with the next batch.
                        if run.trigger == Trigger::Manual {
                            self.publish(Event::RunsFinished {
                                runs: std::mem::take(&mut finished),
                                left_out: std::mem::take(&mut left_out),
                            });
                        }
                    }
                    Ok(EngineEvent::IntegrationChanged { integration })
                    | Ok(EngineEvent::HealthChanged { integration, .. }) => {
                        changed.insert(integration);
                    }
                    Ok(EngineEvent::ConfigReloaded(summary)) => {
                        let mut names = summary.added.clone();
                        names.extend(summary.changed.iter().cloned());
                        let views = match engine.snapshot().await {
                            Ok(snapshot) => snapshot
                                .integrations
                                .into_iter()
                                .filter(|v| names.contains(&v.name))
                                .collect(),
                            Err(_) => break,
                        };
                        self.publish(Event::Reloaded { summary, views });
                    }
                    Ok(EngineEvent::AlertsChanged(counts)) => self.publish(Event::Alerts(counts)),
                    Ok(EngineEvent::MetricsTick) => match engine.status().await {
                        Ok(status) => self.publish(Event::Status(status)),
                        Err(_) => break,
                    },
                    // Missed engine events: everyone starts over from a snapshot.
                    Err(RecvError::Lagged(_)) => match engine.snapshot().await {
                        Ok(snapshot) => self.publish(Event::Snapshot(Box::new(snapshot))),
                        Err(_) => break,
                    },
                    Ok(EngineEvent::Stopped) | Err(RecvError::Closed) => break,
                },
                _ = batch.tick() => {
                    if !finished.is_empty() || left_out > 0 {
                        self.publish(Event::RunsFinished {
                            runs: std::mem::take(&mut finished),
                            left_out: std::mem::take(&mut left_out),
                        });
                    }
                    routine_sent = 0;
                    let mut fresh = logs.since(log_seq);
                    if let Some(last) = fresh.last() {
                        log_seq = last.seq + 1;
                        // The Logs pane shows the tail; a flood keeps its newest lines.
                        let flood = fresh.len().saturating_sub(LOG_LINES_PER_BATCH);
                        fresh.drain(..flood);
                        self.publish(Event::Logs(fresh));
                    }
                    if !changed.is_empty() {
                        let names = std::mem::take(&mut changed).into_iter().collect();
                        match engine.changes(names).await {
                            Ok(changes) => self.publish(Event::Changed(changes)),
                            Err(_) => break,
                        }
                    }
                }
            }
        }
        if !finished.is_empty() || left_out > 0 {
            self.publish(Event::RunsFinished {
                runs: finished,
                left_out,
            });
        }
        self.publish(Event::Stopped);
    }
}

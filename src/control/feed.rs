//! The event feed: the engine's events turned into the protocol's batched `Event`s,
//! numbered, and published to every subscriber (attached clients and the embedded
//! console alike).
//!
//! Changes to integrations are gathered for `BATCH` and sent as one `Changed` with how
//! each stands now, so a busy engine costs a console one message per batch, not a
//! snapshot; finished runs likewise, with routine ones sampled (a run an operator
//! started goes out as soon as it ends, since they wait for it). Each event is
//! serialised at most once, however many clients read it; a client that said what it
//! shows (`Interest`) gets a `Changed` as shared briefs plus a small frame of its own
//! with the rows it watches.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use super::brief::{IntegrationBrief, Standing};
use super::protocol::{Event, Sequenced, ServiceFrame};
use crate::domain::run::{RunRecord, RunStatus, Trigger};
use crate::engine::{EngineEvent, EngineHandle, IntegrationChange};
use crate::telemetry::LogRing;

/// How long changes are gathered before they are sent: a console shows the hub as it
/// stood a second ago at most, as `top` does. Every batch wakes every console, which
/// redraws; at five a second, twenty consoles on the service's two cores cost its
/// scheduler a third more lag. A run an operator started is sent when it ends.
const BATCH: Duration = Duration::from_secs(1);
/// Events a subscriber may fall behind by before it is told to start over from a
/// fresh snapshot: about ten seconds of batches (three or four events each) at 10,000
/// runs a second. The engine never waits for a subscriber, and this bounds what a
/// stalled one holds in memory (a batch of 10,000 changes is a few megabytes; at 1,024
/// events of 200 ms the attach bench's service grew to 1 GB).
const BACKLOG: usize = 32;
/// Changes asked of the engine at once: the engine answers between its runs, and
/// 10,000 in one answer held its scheduler for milliseconds.
const CHANGES_PER_ASK: usize = 1_000;
/// Log lines sent per batch; the service's log files keep every one.
const LOG_LINES_PER_BATCH: usize = 200;
/// Routine runs (scheduled, successful or skipped) sent per batch: at 10,000 runs a
/// second no one reads each, and every console would parse them all (at 250 a second,
/// parsing them was a sixth of an attached console's CPU). Every other run (failed,
/// partial, cancelled, interrupted, or started by an operator) is sent; the store has
/// them all.
const ROUTINE_RUNS_PER_BATCH: usize = 10;

/// What a client asked to be sent (`Watch`).
#[derive(Debug, Default)]
pub struct Interest {
    /// Integrations whose changes it gets whole.
    pub names: HashSet<String>,
    /// Briefs of every change, not only of those whose health moved.
    pub every_brief: bool,
    pub logs: bool,
}

/// One published event, with its wire frames made on first use.
#[derive(Debug)]
pub struct Published {
    pub event: Sequenced,
    frame: OnceLock<Bytes>,
    /// Of a `Changed`: which changes moved their integration between healths.
    moved: Vec<usize>,
    /// `Changed` as `Briefs`, of all changes and of those that moved, for clients
    /// that watch only some integrations.
    all_briefs: OnceLock<Bytes>,
    moved_briefs: OnceLock<Bytes>,
}

impl Published {
    /// An event as a client received it from the service.
    pub fn received(event: Sequenced) -> Self {
        Self {
            event,
            frame: OnceLock::new(),
            moved: Vec::new(),
            all_briefs: OnceLock::new(),
            moved_briefs: OnceLock::new(),
        }
    }

    /// The event as a service frame's bytes.
    pub fn frame(&self) -> &Bytes {
        self.frame
            .get_or_init(|| encode(&ServiceFrame::Event(self.event.clone())))
    }

    /// The frames for a client with `interest`: a `Changed` as briefs (of all, or of
    /// those that moved) and whole those it watches (a frame of its own); log lines if
    /// it wants them; any other event as it is.
    pub fn frames_for(&self, interest: &Interest) -> Vec<Bytes> {
        match &self.event.event {
            Event::Changed(changes) => {
                let mut frames = Vec::new();
                if interest.every_brief {
                    frames.push(self.briefs(&self.all_briefs, changes.iter()));
                } else if !self.moved.is_empty() {
                    let moved = self.moved.iter().filter_map(|&at| changes.get(at));
                    frames.push(self.briefs(&self.moved_briefs, moved));
                }
                let whole: Vec<IntegrationChange> = changes
                    .iter()
                    .filter(|change| interest.names.contains(&change.name))
                    .cloned()
                    .collect();
                if !whole.is_empty() {
                    frames.push(self.encode_as(Event::Changed(whole)));
                }
                frames
            }
            Event::Logs(_) if !interest.logs => Vec::new(),
            _ => vec![self.frame().clone()],
        }
    }

    fn briefs<'a>(
        &self,
        cell: &OnceLock<Bytes>,
        changes: impl Iterator<Item = &'a IntegrationChange>,
    ) -> Bytes {
        cell.get_or_init(|| {
            self.encode_as(Event::Briefs(changes.map(IntegrationBrief::from).collect()))
        })
        .clone()
    }

    /// `event` in this one's place in the stream.
    fn encode_as(&self, event: Event) -> Bytes {
        encode(&ServiceFrame::Event(Sequenced {
            seq: self.event.seq,
            event,
        }))
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
            standing: HashMap::new(),
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
    /// How each integration stood in the last `Changed`, to tell which moved.
    standing: HashMap<String, Standing>,
}

impl Publisher {
    fn publish(&mut self, event: Event) {
        self.send(event, Vec::new());
    }

    fn publish_changes(&mut self, changes: Vec<IntegrationChange>) {
        let moved = changes
            .iter()
            .enumerate()
            .filter(|(_, change)| {
                let now = Standing::of(change);
                self.standing.insert(change.name.clone(), now) != Some(now)
            })
            .map(|(at, _)| at)
            .collect();
        self.send(Event::Changed(changes), moved);
    }

    fn send(&mut self, event: Event, moved: Vec<usize>) {
        self.seq += 1;
        let mut published = Published::received(Sequenced {
            seq: self.seq,
            event,
        });
        published.moved = moved;
        // No subscriber is not an error: a service may run with nobody attached.
        let _ = self.published.send(Arc::new(published));
    }

    async fn run(mut self, engine: EngineHandle, logs: LogRing) {
        let mut events = engine.subscribe();
        let mut changed: BTreeSet<String> = BTreeSet::new();
        let mut finished: Vec<RunRecord> = Vec::new();
        let mut routine_sent = 0;
        let mut left_out = 0;
        let mut log_seq = logs.next_seq();
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
                        // Skipped runs too: an overloaded hub skips thousands.
                        let routine = matches!(run.status, RunStatus::Success | RunStatus::Skipped)
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
                        for removed in &summary.removed {
                            self.standing.remove(removed);
                        }
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
                    if self.published.receiver_count() == 0 {
                        // Nobody is attached: a service nobody watches asks the engine
                        // for nothing. A client subscribes before it takes its snapshot,
                        // so what is dropped here is older than the snapshot it will get.
                        changed.clear();
                        finished.clear();
                        (routine_sent, left_out) = (0, 0);
                        log_seq = logs.next_seq();
                        continue;
                    }
                    // The changes are asked for first, so that the batch's events go
                    // out back to back and a client's writer sends them in one write.
                    let Ok(changes) = changes_of(&engine, std::mem::take(&mut changed)).await else {
                        break;
                    };
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
                    if !changes.is_empty() {
                        self.publish_changes(changes);
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

/// How the integrations `names` stand now, asked of the engine a thousand at a time.
async fn changes_of(
    engine: &EngineHandle,
    names: BTreeSet<String>,
) -> Result<Vec<IntegrationChange>, crate::engine::CommandError> {
    let mut changes = Vec::with_capacity(names.len());
    let mut names = names.into_iter().peekable();
    while names.peek().is_some() {
        let chunk: Vec<String> = names.by_ref().take(CHANGES_PER_ASK).collect();
        changes.extend(engine.changes(chunk).await?);
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Health;
    use crate::telemetry::LogEvent;

    fn change(name: &str, health: Health) -> IntegrationChange {
        IntegrationChange::of_health(name, health)
    }

    fn events_in(frames: &[Bytes]) -> Vec<Event> {
        frames
            .iter()
            .map(|frame| match serde_json::from_slice(frame).unwrap() {
                ServiceFrame::Event(sequenced) => sequenced.event,
                ServiceFrame::Reply { .. } => panic!("not an event"),
            })
            .collect()
    }

    fn names(event: &Event) -> Vec<&str> {
        match event {
            Event::Changed(changes) => changes.iter().map(|c| c.name.as_str()).collect(),
            Event::Briefs(briefs) => briefs.iter().map(|b| b.name.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    fn changed(changes: Vec<IntegrationChange>, moved: Vec<usize>) -> Published {
        let mut published = Published::received(Sequenced {
            seq: 7,
            event: Event::Changed(changes),
        });
        published.moved = moved;
        published
    }

    #[test]
    fn a_watcher_gets_its_rows_whole_and_briefs_of_those_that_moved() {
        let published = changed(
            vec![
                change("on-screen", Health::Up),
                change("fell-down", Health::Down),
                change("steady", Health::Up),
            ],
            vec![1],
        );
        let interest = Interest {
            names: HashSet::from(["on-screen".to_owned()]),
            every_brief: false,
            logs: false,
        };
        let events = events_in(&published.frames_for(&interest));
        assert!(matches!(events[0], Event::Briefs(_)));
        assert_eq!(names(&events[0]), ["fell-down"]);
        assert!(matches!(events[1], Event::Changed(_)));
        assert_eq!(names(&events[1]), ["on-screen"]);

        let sorted_by_time = Interest {
            every_brief: true,
            ..interest
        };
        let events = events_in(&published.frames_for(&sorted_by_time));
        assert_eq!(names(&events[0]), ["on-screen", "fell-down", "steady"]);
    }

    #[test]
    fn nothing_moved_and_nothing_watched_sends_nothing() {
        let published = changed(vec![change("steady", Health::Up)], Vec::new());
        assert!(published.frames_for(&Interest::default()).is_empty());
    }

    #[test]
    fn log_lines_go_only_to_who_asked() {
        let published = Published::received(Sequenced {
            seq: 3,
            event: Event::Logs(vec![LogEvent {
                seq: 1,
                at: chrono::Utc::now(),
                level: tracing::Level::INFO,
                target: "patchbay::engine::runs".into(),
                integration: None,
                message: "run success".into(),
                run: None,
            }]),
        });
        assert!(published.frames_for(&Interest::default()).is_empty());
        let wants_logs = Interest {
            logs: true,
            ..Interest::default()
        };
        assert_eq!(published.frames_for(&wants_logs).len(), 1);
    }

    #[test]
    fn the_publisher_calls_a_first_sighting_and_a_new_health_a_move() {
        let (published, mut receiver) = broadcast::channel(4);
        let mut publisher = Publisher {
            published,
            seq: 0,
            standing: HashMap::new(),
        };
        publisher.publish_changes(vec![change("a", Health::Up)]);
        publisher.publish_changes(vec![change("a", Health::Up)]);
        publisher.publish_changes(vec![change("a", Health::Down)]);
        let moved: Vec<Vec<usize>> = (0..3)
            .map(|_| receiver.try_recv().unwrap().moved.clone())
            .collect();
        assert_eq!(moved, [vec![0], vec![], vec![0]]);
    }
}

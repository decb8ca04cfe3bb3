//! The control socket of `patchbay headless`: a Unix socket in the data dir that
//! consoles and CLI commands attach to.
//!
//! Each connection gets two tasks. The reader answers calls (a few at a time); the
//! writer sends replies and the feed's events, filtered by what the client said it
//! shows (`Watch`). A writer that falls more than the feed's backlog behind is sent a
//! fresh snapshot instead; a client that reads nothing for `WRITE_TIMEOUT`, speaks
//! garbage or breaks the handshake is dropped. None of this ever waits the engine.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_util::codec::{FramedRead, FramedWrite, LengthDelimitedCodec};

use super::access::{Peer, Viewers};
use super::answer::{Process, answer};
use super::feed::{Feed, Interest, encode};
use super::protocol::{
    Attached, Call, Event, Hello, MAX_CLIENT_FRAME, MAX_SERVICE_FRAME, Request, Sequenced,
    ServiceFrame, VERSION, Welcome,
};
use crate::domain::Operator;
use crate::engine::EngineHandle;

/// How long a client has to say hello.
const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one frame may take to reach a client before it is dropped as stalled.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Calls one client may have in flight; more wait, and so does its reading.
const CALLS_IN_FLIGHT: usize = 8;
/// Integrations one client may watch: a console watches the rows around its screen.
const MAX_WATCHED: usize = 2_000;
/// Events gathered into one write to a client: a batch is three or four.
const EVENTS_PER_WRITE: usize = 16;

/// What a client asked to be sent (`Watch`): `None` until it asks, and until then it
/// gets everything.
type Watched = Option<Arc<Interest>>;

/// Who may attach, and how.
pub struct Access {
    /// Members of this group may attach (socket 0660); `None`: only our user (0600).
    pub group: Option<String>,
    pub viewers: Viewers,
}

/// The bound socket; dropping it stops accepting and removes the socket file.
pub struct ControlSocket {
    path: PathBuf,
    accepting: JoinHandle<()>,
}

impl ControlSocket {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ControlSocket {
    fn drop(&mut self) {
        self.accepting.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BindError {
    #[error(
        "another patchbay service is running on this data dir (it answers on {0}); stop it first, or attach to it with `patchbay`"
    )]
    InUse(PathBuf),
    #[error("{0} exists and is not a socket; move it away")]
    NotASocket(PathBuf),
    #[error("cannot open the control socket {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("settings.console_group: no group named `{0}`")]
    NoGroup(String),
}

struct Shared {
    engine: EngineHandle,
    process: Process,
    feed: Feed,
    access: Access,
    config_path: String,
    data_dir: String,
}

/// Binds `path` (replacing a socket left by a crashed service) and starts accepting.
pub async fn listen(
    path: &Path,
    engine: EngineHandle,
    process: Process,
    feed: Feed,
    access: Access,
) -> Result<ControlSocket, BindError> {
    clear_stale(path).await?;
    let io_error = |source| BindError::Io {
        path: path.to_owned(),
        source,
    };
    let listener = UnixListener::bind(path).map_err(io_error)?;
    let mode = match &access.group {
        Some(group) => {
            let gid = nix::unistd::Group::from_name(group)
                .ok()
                .flatten()
                .ok_or_else(|| BindError::NoGroup(group.clone()))?
                .gid
                .as_raw();
            std::os::unix::fs::chown(path, None, Some(gid)).map_err(io_error)?;
            // Members must reach the socket: let the group traverse the data dir,
            // not list it.
            if let Some(dir) = path.parent() {
                std::os::unix::fs::chown(dir, None, Some(gid)).map_err(io_error)?;
                std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o710))
                    .map_err(io_error)?;
            }
            0o660
        }
        None => 0o600,
    };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(io_error)?;
    let shared = Arc::new(Shared {
        config_path: engine.config_path().display().to_string(),
        data_dir: engine
            .data_dir()
            .map(|d| d.display().to_string())
            .unwrap_or_default(),
        engine,
        process,
        feed,
        access,
    });
    let accepting = tokio::spawn(accept(listener, shared));
    Ok(ControlSocket {
        path: path.to_owned(),
        accepting,
    })
}

/// A socket file nobody answers on was left by a crash: remove it. One that answers
/// belongs to a running service: refuse.
async fn clear_stale(path: &Path) -> Result<(), BindError> {
    use std::os::unix::fs::FileTypeExt;
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return Ok(());
    };
    if !meta.file_type().is_socket() {
        return Err(BindError::NotASocket(path.to_owned()));
    }
    match UnixStream::connect(path).await {
        Ok(_) => Err(BindError::InUse(path.to_owned())),
        Err(_) => {
            tracing::info!(path = %path.display(), "removing a control socket left by a stopped service");
            std::fs::remove_file(path).map_err(|source| BindError::Io {
                path: path.to_owned(),
                source,
            })
        }
    }
}

async fn accept(listener: UnixListener, shared: Arc<Shared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                let shared = Arc::clone(&shared);
                tokio::spawn(async move {
                    if let Err(reason) = serve(stream, shared).await {
                        tracing::debug!(%reason, "console connection closed");
                    }
                });
            }
            Err(error) => {
                // Out of file descriptors, say: wait rather than spin.
                tracing::warn!(%error, "cannot accept a console connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn serve(stream: UnixStream, shared: Arc<Shared>) -> Result<(), String> {
    let peer = Peer::of(&stream).map_err(|e| format!("no peer credentials: {e}"))?;
    let (read, write) = stream.into_split();
    let mut reader = FramedRead::new(read, codec(MAX_CLIENT_FRAME));
    let mut writer = FramedWrite::new(write, codec(MAX_SERVICE_FRAME));
    let hello: Hello = match tokio::time::timeout(HELLO_TIMEOUT, reader.next()).await {
        Ok(Some(Ok(frame))) => {
            serde_json::from_slice(&frame).map_err(|e| format!("{}: bad hello: {e}", peer.user))?
        }
        _ => return Err(format!("{}: no hello", peer.user)),
    };
    if hello.version != VERSION {
        let refused = Welcome::Refused {
            reason: format!(
                "this service speaks protocol v{VERSION}, the client v{}: use the same patchbay binary for both",
                hello.version
            ),
        };
        let _ = send(&mut writer, json(&refused)).await;
        return Err(format!("{}: protocol v{}", peer.user, hello.version));
    }
    let viewer = shared.access.viewers.include(&peer);
    let read_only = hello.read_only || viewer || shared.engine.read_only();
    let welcome = Welcome::Accepted(Attached {
        version: VERSION,
        pid: shared.process.pid,
        started_at: shared.process.started_at,
        user: peer.user.clone(),
        read_only,
        config_path: shared.config_path.clone(),
        data_dir: shared.data_dir.clone(),
    });
    // Subscribe before the welcome, so no event after it is missed.
    let events = shared.feed.subscribe();
    send(&mut writer, json(&welcome)).await?;
    let operator = Operator {
        user: peer.user.clone(),
        pid: peer.pid,
        ssh_connection: hello.ssh_connection.filter(|s| s.len() <= 200),
    };
    tracing::info!(who = %operator, read_only, "client attached");
    let who = operator.to_string();
    let engine = shared.engine.acting_for(operator, read_only);
    let (replies, outbox) = mpsc::channel::<Bytes>(CALLS_IN_FLIGHT);
    let (watch, watched) = watch::channel::<Watched>(None);
    let mut writing = tokio::spawn(write_loop(writer, outbox, events, watched, engine.clone()));
    let in_flight = Arc::new(Semaphore::new(CALLS_IN_FLIGHT));
    let result = loop {
        let frame = tokio::select! {
            frame = reader.next() => frame,
            // The writer gave up on a stalled client: stop reading too.
            _ = &mut writing => break Err(format!("{}: stalled, dropped", peer.user)),
        };
        let frame = match frame {
            None => break Ok(()),
            Some(Err(error)) => break Err(format!("{}: {error}", peer.user)),
            Some(Ok(frame)) => frame,
        };
        let call: Call = match serde_json::from_slice(&frame) {
            Ok(call) => call,
            Err(error) => break Err(format!("{}: not a call: {error}", peer.user)),
        };
        if let Request::Watch(asked) = &call.request {
            watch.send_replace(Some(Arc::new(Interest {
                names: asked.names.iter().take(MAX_WATCHED).cloned().collect(),
                every_brief: asked.every_brief,
                logs: asked.logs,
            })));
        }
        let Ok(permit) = Arc::clone(&in_flight).acquire_owned().await else {
            break Ok(());
        };
        let engine = engine.clone();
        let shared = Arc::clone(&shared);
        let replies = replies.clone();
        tokio::spawn(async move {
            let result = answer(&engine, &shared.process, call.request).await;
            let frame = encode(&ServiceFrame::Reply {
                id: call.id,
                result,
            });
            let _ = replies.send(frame).await;
            drop(permit);
        });
    };
    writing.abort();
    tracing::info!(%who, "client detached");
    result
}

/// Replies and events to one client, until it stalls or goes away. Whatever is ready
/// when the writer wakes goes out in one write: a batch's runs, log lines, briefs and
/// watched rows cost the client one wakeup, not four.
async fn write_loop(
    mut writer: FramedWrite<tokio::net::unix::OwnedWriteHalf, LengthDelimitedCodec>,
    mut replies: mpsc::Receiver<Bytes>,
    events: broadcast::Receiver<Arc<super::feed::Published>>,
    watched: watch::Receiver<Watched>,
    engine: EngineHandle,
) {
    let mut feed = ClientFeed {
        events,
        watched,
        engine,
        last_seq: 0,
    };
    loop {
        let mut frames = Vec::new();
        let mut stopped = tokio::select! {
            reply = replies.recv() => match reply {
                Some(frame) => {
                    frames.push(frame);
                    false
                }
                None => return,
            },
            event = feed.events.recv() => match feed.frames_of(event, &mut frames).await {
                Some(stopped) => stopped,
                None => return,
            },
        };
        // Let the publisher finish the batch it is sending, then take all of it (up to
        // a bound: what waits goes out with the next write).
        tokio::task::yield_now().await;
        for _ in 1..EVENTS_PER_WRITE {
            if stopped {
                break;
            }
            let event = feed.events.try_recv();
            if matches!(event, Err(broadcast::error::TryRecvError::Empty)) {
                break;
            }
            let event = event.map_err(|error| match error {
                broadcast::error::TryRecvError::Lagged(missed) => {
                    broadcast::error::RecvError::Lagged(missed)
                }
                _ => broadcast::error::RecvError::Closed,
            });
            match feed.frames_of(event, &mut frames).await {
                Some(stop) => stopped = stop,
                None => return,
            }
        }
        while let Ok(frame) = replies.try_recv() {
            frames.push(frame);
        }
        if send_all(&mut writer, frames).await.is_err() || stopped {
            return;
        }
    }
}

/// The feed as one client gets it: filtered by what it watches, restarted from a
/// snapshot when it fell behind.
struct ClientFeed {
    events: broadcast::Receiver<Arc<super::feed::Published>>,
    watched: watch::Receiver<Watched>,
    engine: EngineHandle,
    last_seq: u64,
}

impl ClientFeed {
    /// Adds the frames `event` makes for this client to `frames`; answers whether the
    /// engine stopped (`None`: the feed or the engine is gone).
    async fn frames_of(
        &mut self,
        event: Result<Arc<super::feed::Published>, broadcast::error::RecvError>,
        frames: &mut Vec<Bytes>,
    ) -> Option<bool> {
        match event {
            Ok(published) => {
                self.last_seq = published.event.seq;
                if matches!(published.event.event, Event::Stopped) {
                    frames.push(published.frame().clone());
                    return Some(true);
                }
                let interest = self.watched.borrow().clone();
                match interest {
                    Some(interest) => frames.extend(published.frames_for(&interest)),
                    None => frames.push(published.frame().clone()),
                }
            }
            // Fell behind: start it over from how things stand now, skipping the
            // backlog it would otherwise replay on top. Events gathered before it are
            // older than the snapshot, which supersedes them.
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                self.last_seq += missed + self.events.len() as u64;
                self.events = self.events.resubscribe();
                let snapshot = self.engine.snapshot().await.ok()?;
                frames.push(encode(&ServiceFrame::Event(Sequenced {
                    seq: self.last_seq,
                    event: Event::Snapshot(Box::new(snapshot)),
                })));
            }
            Err(broadcast::error::RecvError::Closed) => return None,
        }
        Some(false)
    }
}

async fn send(
    writer: &mut FramedWrite<tokio::net::unix::OwnedWriteHalf, LengthDelimitedCodec>,
    frame: Bytes,
) -> Result<(), String> {
    send_all(writer, vec![frame]).await
}

/// Writes `frames` and flushes once; a client that takes longer than `WRITE_TIMEOUT`
/// over it is stalled.
async fn send_all(
    writer: &mut FramedWrite<tokio::net::unix::OwnedWriteHalf, LengthDelimitedCodec>,
    frames: Vec<Bytes>,
) -> Result<(), String> {
    let all = async {
        for frame in frames {
            writer.feed(frame).await?;
        }
        SinkExt::<Bytes>::flush(writer).await
    };
    match tokio::time::timeout(WRITE_TIMEOUT, all).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(_) => Err("the client read nothing for 10 s".to_owned()),
    }
}

fn json(value: &impl serde::Serialize) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("protocol types serialise"))
}

/// Frames: a 4-byte big-endian length, then that many bytes of JSON.
pub fn codec(max_frame: usize) -> LengthDelimitedCodec {
    LengthDelimitedCodec::builder()
        .max_frame_length(max_frame)
        .new_codec()
}

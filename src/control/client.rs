//! The client end of the control socket: one connection, many calls in flight, and
//! the service's events republished to whoever subscribes in this process.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use tokio::net::UnixStream;
use tokio::sync::{broadcast, mpsc, oneshot};
use tokio_util::codec::{FramedRead, FramedWrite};

use super::feed::Published;
use super::protocol::{
    Attached, Call, Event, Hello, MAX_CLIENT_FRAME, MAX_SERVICE_FRAME, Request, Response,
    Sequenced, ServiceFrame, VERSION, Welcome,
};
use super::server::codec;
use crate::engine::CommandError;

const WELCOME_TIMEOUT: Duration = Duration::from_secs(5);
/// Events kept for a slow reader in this process before it is told it lagged.
const BACKLOG: usize = 128;

#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    #[error("no patchbay service answers on {0}")]
    NoService(PathBuf),
    #[error(
        "{0}: permission denied; the service's user, or a member of its settings.console_group, may attach"
    )]
    Denied(PathBuf),
    #[error("the service on {path} refused: {reason}")]
    Refused { path: PathBuf, reason: String },
    #[error("{path}: {detail}")]
    Broken { path: PathBuf, detail: String },
}

type Reply = oneshot::Sender<Result<Response, CommandError>>;

#[derive(Clone)]
pub struct Client {
    calls: mpsc::Sender<(Request, Reply)>,
    events: broadcast::Sender<Arc<Published>>,
    attached: Arc<Attached>,
}

impl Client {
    pub async fn connect(path: &Path, read_only: bool) -> Result<Self, AttachError> {
        let stream = UnixStream::connect(path)
            .await
            .map_err(|error| match error.kind() {
                io::ErrorKind::NotFound | io::ErrorKind::ConnectionRefused => {
                    AttachError::NoService(path.to_owned())
                }
                io::ErrorKind::PermissionDenied => AttachError::Denied(path.to_owned()),
                _ => AttachError::Broken {
                    path: path.to_owned(),
                    detail: error.to_string(),
                },
            })?;
        let broken = |detail: String| AttachError::Broken {
            path: path.to_owned(),
            detail,
        };
        let (read, write) = stream.into_split();
        let mut reader = FramedRead::new(read, codec(MAX_SERVICE_FRAME));
        let mut writer = FramedWrite::new(write, codec(MAX_CLIENT_FRAME));
        let hello = Hello {
            version: VERSION,
            read_only,
            ssh_connection: crate::domain::audit::ssh_connection(),
        };
        writer
            .send(Bytes::from(serde_json::to_vec(&hello).expect("serialises")))
            .await
            .map_err(|e| broken(e.to_string()))?;
        let welcome = match tokio::time::timeout(WELCOME_TIMEOUT, reader.next()).await {
            Ok(Some(Ok(frame))) => serde_json::from_slice::<Welcome>(&frame)
                .map_err(|e| broken(format!("not a patchbay service: {e}")))?,
            Ok(Some(Err(error))) => return Err(broken(error.to_string())),
            Ok(None) => return Err(broken("closed before welcoming us".into())),
            Err(_) => return Err(broken("no welcome within 5 s".into())),
        };
        let attached = match welcome {
            Welcome::Accepted(attached) => attached,
            Welcome::Refused { reason } => {
                return Err(AttachError::Refused {
                    path: path.to_owned(),
                    reason,
                });
            }
        };
        let (calls, outgoing) = mpsc::channel(64);
        let (events, _) = broadcast::channel(BACKLOG);
        tokio::spawn(pump(reader, writer, outgoing, events.clone()));
        Ok(Self {
            calls,
            events,
            attached: Arc::new(attached),
        })
    }

    pub fn attached(&self) -> &Attached {
        &self.attached
    }

    pub async fn call(&self, request: Request) -> Result<Response, CommandError> {
        let (reply, answer) = oneshot::channel();
        self.calls
            .send((request, reply))
            .await
            .map_err(|_| CommandError::Disconnected)?;
        answer.await.map_err(|_| CommandError::Disconnected)?
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        self.events.subscribe()
    }
}

/// Moves calls out and replies and events in, until either side closes. Calls still
/// waiting then fail as `Disconnected`, and subscribers see `Stopped`.
async fn pump(
    mut reader: FramedRead<
        tokio::net::unix::OwnedReadHalf,
        tokio_util::codec::LengthDelimitedCodec,
    >,
    mut writer: FramedWrite<
        tokio::net::unix::OwnedWriteHalf,
        tokio_util::codec::LengthDelimitedCodec,
    >,
    mut outgoing: mpsc::Receiver<(Request, Reply)>,
    events: broadcast::Sender<Arc<Published>>,
) {
    let mut pending: HashMap<u64, Reply> = HashMap::new();
    let mut next_id = 0u64;
    let mut last_seq = 0;
    loop {
        tokio::select! {
            call = outgoing.recv() => {
                let Some((request, reply)) = call else { break };
                next_id += 1;
                let frame = serde_json::to_vec(&Call { id: next_id, request }).expect("serialises");
                if frame.len() > MAX_CLIENT_FRAME {
                    let _ = reply.send(Err(CommandError::Failed(format!(
                        "the request is over the {} KiB a call may carry",
                        MAX_CLIENT_FRAME / 1024
                    ))));
                    continue;
                }
                pending.insert(next_id, reply);
                if writer.send(Bytes::from(frame)).await.is_err() {
                    break;
                }
            }
            frame = reader.next() => {
                let Some(Ok(frame)) = frame else { break };
                match serde_json::from_slice::<ServiceFrame>(&frame) {
                    Ok(ServiceFrame::Reply { id, result }) => {
                        if let Some(reply) = pending.remove(&id) {
                            let _ = reply.send(result);
                        }
                    }
                    Ok(ServiceFrame::Event(event)) => {
                        last_seq = event.seq;
                        let _ = events.send(Arc::new(Published::received(event)));
                    }
                    Err(error) => {
                        tracing::warn!(%error, "the service sent a frame this client cannot read");
                        break;
                    }
                }
            }
        }
    }
    drop(pending);
    let _ = events.send(Arc::new(Published::received(Sequenced {
        seq: last_seq + 1,
        event: Event::Stopped,
    })));
}

//! `Hub`: what the console and the CLI talk to. Either the engine embedded in this
//! process, or a service reached through its control socket; both answer the same
//! requests and publish the same events.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::broadcast;

use super::answer::{Process, answer};
use super::client::{AttachError, Client};
use super::feed::{Feed, Published};
use super::protocol::Ask;
use crate::engine::{CommandError, EngineHandle};
use crate::telemetry::LogRing;

#[derive(Clone)]
pub struct Hub {
    link: Link,
}

#[derive(Clone)]
enum Link {
    Local {
        engine: EngineHandle,
        process: Process,
        feed: Feed,
    },
    Remote {
        client: Client,
        socket: PathBuf,
    },
}

/// Where the engine a hub talks to runs, as the console's header says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Local,
    Attached {
        pid: u32,
        started_at: DateTime<Utc>,
        socket: PathBuf,
    },
}

impl Hub {
    /// The engine in this process; `logs` is its log ring.
    pub fn local(engine: EngineHandle, logs: LogRing) -> Self {
        let feed = Feed::start(engine.clone(), logs.clone());
        Self {
            link: Link::Local {
                engine,
                process: Process::this(logs),
                feed,
            },
        }
    }

    /// The service answering on `socket`.
    pub async fn attach(socket: &Path, read_only: bool) -> Result<Self, AttachError> {
        let client = Client::connect(socket, read_only).await?;
        Ok(Self {
            link: Link::Remote {
                client,
                socket: socket.to_owned(),
            },
        })
    }

    pub async fn ask<A: Ask>(&self, request: A) -> Result<A::Reply, CommandError> {
        let response = match &self.link {
            Link::Local {
                engine, process, ..
            } => answer(engine, process, request.into()).await?,
            Link::Remote { client, .. } => client.call(request.into()).await?,
        };
        A::reply(response).ok_or_else(|| {
            CommandError::Failed("the service answered a different request".to_owned())
        })
    }

    /// Events from now on. A receiver that lags must start over from a snapshot.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Published>> {
        match &self.link {
            Link::Local { feed, .. } => feed.subscribe(),
            Link::Remote { client, .. } => client.subscribe(),
        }
    }

    /// Whether the engine is in another process, behind its socket.
    pub fn is_attached(&self) -> bool {
        matches!(self.link, Link::Remote { .. })
    }

    pub fn origin(&self) -> Origin {
        match &self.link {
            Link::Local { .. } => Origin::Local,
            Link::Remote { client, socket } => Origin::Attached {
                pid: client.attached().pid,
                started_at: client.attached().started_at,
                socket: socket.clone(),
            },
        }
    }

    /// Whether actions are refused: asked for, or decided by the service.
    pub fn read_only(&self) -> bool {
        match &self.link {
            Link::Local { engine, .. } => engine.read_only(),
            Link::Remote { client, .. } => client.attached().read_only,
        }
    }

    pub fn config_path(&self) -> String {
        match &self.link {
            Link::Local { engine, .. } => engine.config_path().display().to_string(),
            Link::Remote { client, .. } => client.attached().config_path.clone(),
        }
    }

    pub fn data_dir(&self) -> String {
        match &self.link {
            Link::Local { engine, .. } => engine
                .data_dir()
                .map(|d| d.display().to_string())
                .unwrap_or_default(),
            Link::Remote { client, .. } => client.attached().data_dir.clone(),
        }
    }
}

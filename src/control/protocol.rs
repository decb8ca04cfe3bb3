//! The typed protocol between the service and its clients (consoles and CLI commands)
//! on the control socket: length-prefixed JSON frames.
//!
//! A client sends `Hello` and gets `Welcome` (or is refused); after that it sends
//! `Call`s, each answered by a `Reply` with the call's id, while `Event`s stream to it
//! with increasing sequence numbers. Every request is declared once, in `requests!`,
//! with the type its reply carries.

use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use ulid::Ulid;

use crate::connectors::TestReport;
use crate::domain::Alert;
use crate::domain::run::RunRecord;
use crate::domain::stats::{MinuteRollup, Stats};
use crate::engine::{
    AlertCounts, AlertsView, CommandError, EngineSnapshot, EngineStatus, IntegrationChange,
    IntegrationView, ReloadSummary,
};
use crate::store::SecretMeta;
use crate::telemetry::LogEvent;

use super::brief::IntegrationBrief;
use super::status::Summary;

/// Bumped when a frame changes shape; a client and a service of different versions
/// refuse each other with a message that names both.
pub const VERSION: u32 = 4;
/// The socket's name in the data directory.
pub const SOCKET_FILE: &str = "patchbay.sock";
/// The largest frame a client may send: requests are small (a secret value at most).
pub const MAX_CLIENT_FRAME: usize = 1 << 20;
/// The largest frame the service sends: a snapshot of 10,000 integrations fits.
pub const MAX_SERVICE_FRAME: usize = 256 << 20;

/// The first frame a client sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hello {
    pub version: u32,
    /// The client asks to only look (`--read-only`).
    pub read_only: bool,
    /// `$SSH_CONNECTION` of the client, for the audit log.
    pub ssh_connection: Option<String>,
}

/// The service's answer to `Hello`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Welcome {
    Accepted(Attached),
    Refused { reason: String },
}

/// What a client knows of the service it attached to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attached {
    pub version: u32,
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    /// The client's OS user, as the service sees it through the socket.
    pub user: String,
    /// Whether the service lets this client act.
    pub read_only: bool,
    pub config_path: String,
    pub data_dir: String,
}

/// A request with the id its reply will carry.
#[derive(Debug, Serialize, Deserialize)]
pub struct Call {
    pub id: u64,
    pub request: Request,
}

/// A frame from the service after `Welcome`.
#[derive(Debug, Serialize, Deserialize)]
pub enum ServiceFrame {
    Reply {
        id: u64,
        result: Result<Response, CommandError>,
    },
    Event(Sequenced),
}

/// An event with its place in the stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Sequenced {
    pub seq: u64,
    pub event: Event,
}

/// What changed in the engine, batched: a console applies these to its snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    /// A fresh whole picture, sent to a client that fell behind the stream.
    Snapshot(Box<EngineSnapshot>),
    /// How integrations that changed stand now.
    Changed(Vec<IntegrationChange>),
    /// The same, in brief, for a client that watches only some integrations (`Watch`):
    /// it gets `Changed` for those and briefs of the others.
    Briefs(Vec<IntegrationBrief>),
    /// Finished runs: every failed, partial or operator-started one, and a sample of
    /// routine ones; `left_out` routine runs are only in the store.
    RunsFinished {
        runs: Vec<RunRecord>,
        left_out: u64,
    },
    /// The config was reloaded: added and changed integrations come whole.
    Reloaded {
        summary: ReloadSummary,
        views: Vec<IntegrationView>,
    },
    Alerts(AlertCounts),
    Status(EngineStatus),
    Logs(Vec<LogEvent>),
    Stopped,
}

/// A vault value on its way to the service: never printed.
#[derive(Clone, Serialize, Deserialize)]
pub struct SecretValue(pub String);

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue([redacted])")
    }
}

/// A request type and the type of its reply.
pub trait Ask: Into<Request> {
    type Reply;
    fn reply(response: Response) -> Option<Self::Reply>;
}

/// Declares each request once: its struct, its `Request` and `Response` variants, and
/// the type of its reply.
macro_rules! requests {
    ($(
        $(#[$doc:meta])*
        $name:ident { $($field:ident : $type:ty),* $(,)? } -> $reply:ty;
    )*) => {
        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Serialize, Deserialize)]
            pub struct $name { $(pub $field: $type),* }

            impl From<$name> for Request {
                fn from(request: $name) -> Self {
                    Request::$name(request)
                }
            }

            impl Ask for $name {
                type Reply = $reply;
                fn reply(response: Response) -> Option<$reply> {
                    match response {
                        Response::$name(reply) => Some(reply),
                        _ => None,
                    }
                }
            }
        )*

        #[derive(Debug, Clone, Serialize, Deserialize)]
        pub enum Request { $($name($name)),* }

        #[derive(Debug, Serialize, Deserialize)]
        pub enum Response { $($name($reply)),* }

        impl Request {
            /// What the request is, for logs: never its fields (a secret value).
            pub fn name(&self) -> &'static str {
                match self { $(Request::$name(_) => stringify!($name)),* }
            }
        }
    };
}

requests! {
    /// Every integration's view, the engine's status and alert counts.
    Snapshot {} -> EngineSnapshot;
    /// What this client shows, so the service sends it only that: changes of `names`
    /// come whole (the rows on a console's screen); of the others, briefs of those
    /// whose health moved, or of all with `every_brief` (a console sorted by last or
    /// next run); log lines only with `logs`. Answers how `names` stand now.
    Watch { names: Vec<String>, every_brief: bool, logs: bool } -> Vec<IntegrationChange>;
    /// Live figures (5 m, 1 h, 24 h) of the named integrations.
    Figures { names: Vec<String> } -> Vec<(String, [Stats; 3])>;
    /// Live figures (5 m, 1 h, 24 h) of one integration or, without a name, of all
    /// together (percentiles of all requests), each with the time it covers.
    WindowFigures { integration: Option<String> } -> Box<[crate::domain::stats::WindowStats; 3]>;
    /// A page of run history, newest first, older than `before`.
    Runs { integration: Option<String>, before: Option<Ulid>, limit: usize } -> Vec<RunRecord>;
    RunLogs { run: Ulid } -> Vec<String>;
    /// The run's requests as traced: the first and the last ones.
    RunRequests { run: Ulid } -> Vec<crate::domain::trace::RequestTrace>;
    /// Stored per-minute figures since `since_minute` (unix minutes).
    Rollups { integration: String, since_minute: i64 } -> Vec<MinuteRollup>;
    Uptime { integration: String } -> crate::domain::stats::Uptime;
    /// Firing and recent alerts and the silences in force, as the engine holds them.
    Alerts {} -> AlertsView;
    /// Stored alerts, newest first, for `patchbay alerts`.
    AlertHistory { limit: usize } -> Vec<Alert>;
    /// The newest `limit` audit entries, newest first.
    Audit { limit: usize } -> Vec<crate::domain::AuditEntry>;
    SecretMetas {} -> Vec<(String, SecretMeta)>;
    /// The service's recent log events after `since` (a log sequence number).
    Logs { since: u64 } -> Vec<LogEvent>;
    /// What `patchbay status` prints.
    Status {} -> Summary;
    RunNow { name: String } -> Ulid;
    Cancel { name: String } -> ();
    Pause { name: String } -> ();
    Resume { name: String } -> ();
    Enable { name: String } -> ();
    Disable { name: String } -> ();
    Test { name: String } -> TestReport;
    /// A source's first records after the pipeline, with what would become of each.
    Preview { name: String, limit: usize } -> Vec<crate::pipeline::preview::PreviewRecord>;
    /// Sets a source's incremental cursor, or forgets it with `None`.
    SetCursor { name: String, value: Option<String> } -> ();
    Reload {} -> ReloadSummary;
    SetSecret { name: String, value: SecretValue, expires_at: Option<NaiveDate> } -> ();
    RemoveSecret { name: String } -> ();
    Silence { target: String, duration: Duration, reason: String } -> crate::domain::Silence;
    /// Ends the silences on `target` and narrower ones; answers how many ended.
    Unsilence { target: String } -> usize;
    /// Copies the store to `path` on the service's host; answers the copy's size.
    Backup { path: std::path::PathBuf } -> u64;
}

/// `patchbay.sock` in `data_dir`.
pub fn socket_path(data_dir: &std::path::Path) -> std::path::PathBuf {
    data_dir.join(SOCKET_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_its_reply_is_typed() {
        let request: Request = RunNow { name: "crm".into() }.into();
        let text = serde_json::to_string(&request).unwrap();
        let back: Request = serde_json::from_str(&text).unwrap();
        assert_eq!(back.name(), "RunNow");
        let id = Ulid::new();
        assert_eq!(RunNow::reply(Response::RunNow(id)), Some(id));
        assert_eq!(RunNow::reply(Response::Cancel(())), None);
    }

    #[test]
    fn a_secret_value_is_never_printed() {
        let request: Request = SetSecret {
            name: "token".into(),
            value: SecretValue("hunter2-canary".into()),
            expires_at: None,
        }
        .into();
        assert!(!format!("{request:?}").contains("hunter2-canary"));
    }
}

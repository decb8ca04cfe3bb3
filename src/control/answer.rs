//! Answers a `Request` from the engine: the one place each request meets the engine,
//! for the embedded console in-process and for clients of the service alike.

use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::protocol::{Request, Response};
use super::status::{Service, Summary};
use crate::engine::{CommandError, EngineHandle};
use crate::runtime::metrics::Window;
use crate::telemetry::LogRing;

/// The process that owns the engine.
#[derive(Clone)]
pub struct Process {
    pub pid: u32,
    pub started_at: DateTime<Utc>,
    pub logs: LogRing,
}

impl Process {
    pub fn this(logs: LogRing) -> Self {
        Self {
            pid: std::process::id(),
            started_at: Utc::now(),
            logs,
        }
    }
}

pub async fn answer(
    engine: &EngineHandle,
    process: &Process,
    request: Request,
) -> Result<Response, CommandError> {
    use Request as Q;
    use Response as A;
    Ok(match request {
        Q::Snapshot(_) => A::Snapshot(engine.snapshot().await?),
        // What a connection is sent is the server's business; in-process, everything.
        Q::Watch(q) => A::Watch(engine.changes(q.names).await?),
        Q::Figures(q) => {
            let now = Utc::now();
            A::Figures(
                q.names
                    .into_iter()
                    .map(|name| {
                        let windows = Window::ALL.map(|w| engine.stats(&name, w, now));
                        (name, windows)
                    })
                    .collect(),
            )
        }
        Q::WindowFigures(q) => A::WindowFigures(Box::new(
            engine.window_stats(q.integration.as_deref(), Utc::now()),
        )),
        Q::Runs(q) => A::Runs(engine.runs(q.integration, q.before, q.limit).await?),
        Q::RunLogs(q) => A::RunLogs(engine.run_logs(q.run).await?),
        Q::RunRequests(q) => A::RunRequests(engine.run_requests(q.run).await?),
        Q::Rollups(q) => A::Rollups(engine.rollups(q.integration, q.since_minute).await?),
        Q::Uptime(q) => A::Uptime(engine.uptime(q.integration, Utc::now()).await?),
        Q::Alerts(_) => A::Alerts(engine.alerts().await?),
        Q::AlertHistory(q) => A::AlertHistory(engine.stored_alerts(q.limit).await?),
        Q::Audit(q) => A::Audit(engine.audit_log(q.limit).await?),
        Q::SecretMetas(_) => A::SecretMetas(engine.secret_metas().await?),
        Q::Logs(q) => A::Logs(process.logs.since(q.since)),
        Q::Status(_) => {
            let snapshot = engine.snapshot().await?;
            let alerts = engine.alerts().await?;
            let service = Service {
                pid: process.pid,
                started_at: process.started_at,
                store_bytes: std::fs::metadata(engine.store_path()).map_or(0, |m| m.len()),
            };
            A::Status(Summary::new(service, &snapshot, &alerts))
        }
        Q::RunNow(q) => A::RunNow(engine.run_now(&q.name).await?),
        Q::Cancel(q) => A::Cancel(engine.cancel(&q.name).await?),
        Q::Pause(q) => A::Pause(engine.pause(&q.name).await?),
        Q::Resume(q) => A::Resume(engine.resume(&q.name).await?),
        Q::Enable(q) => A::Enable(engine.enable(&q.name).await?),
        Q::Disable(q) => A::Disable(engine.disable(&q.name).await?),
        Q::Test(q) => A::Test(engine.test_connection(&q.name).await?),
        Q::Preview(q) => A::Preview(engine.preview(&q.name, q.limit).await?),
        Q::SetCursor(q) => A::SetCursor(engine.set_cursor(&q.name, q.value).await?),
        Q::Reload(_) => A::Reload(engine.reload().await?),
        Q::SetSecret(q) => A::SetSecret(
            engine
                .set_secret(&q.name, SecretString::from(q.value.0), q.expires_at)
                .await?,
        ),
        Q::RemoveSecret(q) => A::RemoveSecret(engine.remove_secret(&q.name).await?),
        Q::Silence(q) => A::Silence(engine.silence(&q.target, q.duration, &q.reason).await?),
        Q::Unsilence(q) => A::Unsilence(engine.unsilence(&q.target).await?),
        Q::Backup(q) => A::Backup(engine.backup(q.path).await?),
    })
}

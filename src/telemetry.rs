//! Tracing: a rolling daily log file (text or JSON lines), an optional stderr stream,
//! and an in-memory ring of recent events for the console's Logs pane. Every sink
//! passes through the secret redactor first.

use std::collections::VecDeque;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_appender::non_blocking::{NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::redact::{self, Redactor};

/// Log lines queued for the file writer's thread before new ones are dropped: seconds
/// of a busy service's lines. The crate's default, 128,000, is a 4 MB queue allocated
/// in every process, a `patchbay run` of a few seconds included (heaptrack found it the
/// largest allocation of an extraction).
const LOG_LINES_BUFFERED: usize = 16_384;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

pub struct TelemetryOptions {
    pub log_dir: PathBuf,
    pub format: LogFormat,
    /// How many daily files to keep.
    pub keep_files: usize,
    /// Also write events at or above this level to stderr (headless mode).
    pub stderr: Option<Level>,
    pub ring_capacity: usize,
}

/// Keeps the background log writer alive; dropping it flushes the file.
pub struct Telemetry {
    _file_guard: WorkerGuard,
    pub ring: LogRing,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot write logs to {dir}: {detail}")]
pub struct TelemetryError {
    dir: PathBuf,
    detail: String,
}

/// Installs the global subscriber. The filter comes from `PATCHBAY_LOG` (same syntax
/// as `RUST_LOG`), `info` by default.
pub fn init(options: TelemetryOptions) -> Result<Telemetry, TelemetryError> {
    let error = |detail: String| TelemetryError {
        dir: options.log_dir.clone(),
        detail,
    };
    // Logs hold error texts and names: the dir is the owner's only, so are its files.
    let wide = crate::paths::private_dir(&options.log_dir).map_err(|e| error(e.to_string()))?;
    let appender = RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix("patchbay")
        .filename_suffix("log")
        .max_log_files(options.keep_files.max(1))
        .build(&options.log_dir)
        .map_err(|e| error(e.to_string()))?;
    let (file_writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_LINES_BUFFERED)
        .finish(appender);
    let file_writer = Redacting::new(file_writer, redact::global().clone());
    let file_layer = match options.format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .with_writer(file_writer)
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .with_writer(file_writer)
            .boxed(),
    };
    let stderr_layer = options.stderr.map(|level| {
        tracing_subscriber::fmt::layer()
            .with_ansi(io::stderr().is_terminal())
            .with_writer(Redacting::new(io::stderr, redact::global().clone()))
            .with_filter(tracing_subscriber::filter::LevelFilter::from_level(level))
    });
    let ring = LogRing::new(options.ring_capacity);
    let filter = EnvFilter::try_from_env("PATCHBAY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(stderr_layer)
        .with(ring.layer())
        .try_init()
        .map_err(|e| error(e.to_string()))?;
    if let Some(warning) = wide {
        tracing::warn!("{warning}");
    }
    Ok(Telemetry {
        _file_guard: guard,
        ring,
    })
}

/// A writer that redacts known secret values from each formatted event. The fmt
/// layer writes one whole event per `write`, so a value is never split across calls.
#[derive(Clone)]
pub struct Redacting<M> {
    inner: M,
    redactor: Redactor,
}

impl<M> Redacting<M> {
    pub fn new(inner: M, redactor: Redactor) -> Self {
        Self { inner, redactor }
    }
}

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            inner: self.inner.make_writer(),
            redactor: self.redactor.clone(),
        }
    }
}

pub struct RedactingWriter<W> {
    inner: W,
    redactor: Redactor,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner
            .write_all(self.redactor.redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One event as the Logs pane shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogEvent {
    /// Increases by one per event: a reader asks for what came after the last it saw.
    pub seq: u64,
    pub at: DateTime<Utc>,
    #[serde(with = "level_name")]
    pub level: Level,
    pub target: String,
    pub integration: Option<String>,
    pub message: String,
    /// The run the event is about, so the Logs pane can open it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<ulid::Ulid>,
}

/// `tracing::Level` as its name ("INFO") on the wire to attached consoles.
mod level_name {
    use serde::{Deserialize, Deserializer, Serializer};
    use tracing::Level;

    pub fn serialize<S: Serializer>(level: &Level, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(level.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Level, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

/// A bounded buffer of recent events: a chatty integration cannot grow memory.
#[derive(Clone)]
pub struct LogRing {
    inner: Arc<Mutex<RingInner>>,
    /// Wakes a reader waiting for new events (the console's Logs pane).
    pushed: Arc<tokio::sync::Notify>,
}

struct RingInner {
    events: VecDeque<LogEvent>,
    capacity: usize,
    next_seq: u64,
}

impl LogRing {
    pub fn new(capacity: usize) -> Self {
        Self {
            inner: Arc::new(Mutex::new(RingInner {
                events: VecDeque::with_capacity(capacity.min(4096)),
                capacity: capacity.max(1),
                next_seq: 0,
            })),
            pushed: Arc::new(tokio::sync::Notify::new()),
        }
    }

    fn push(&self, mut event: LogEvent) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        event.seq = inner.next_seq;
        inner.next_seq += 1;
        if inner.events.len() == inner.capacity {
            inner.events.pop_front();
        }
        inner.events.push_back(event);
        drop(inner);
        self.pushed.notify_one();
    }

    /// Resolves when an event was pushed since the last wake-up.
    pub async fn pushed(&self) {
        self.pushed.notified().await;
    }

    /// The sequence number the next event will get.
    pub fn next_seq(&self) -> u64 {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_seq
    }

    /// Events with `seq >= from`, oldest first.
    pub fn since(&self, from: u64) -> Vec<LogEvent> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .events
            .iter()
            .filter(|e| e.seq >= from)
            .cloned()
            .collect()
    }

    pub fn layer(&self) -> RingLayer {
        RingLayer {
            ring: self.clone(),
            redactor: redact::global().clone(),
        }
    }
}

pub struct RingLayer {
    ring: LogRing,
    redactor: Redactor,
}

impl<S: Subscriber> Layer<S> for RingLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = FieldText::default();
        event.record(&mut fields);
        let message = if fields.rest.is_empty() {
            fields.message
        } else {
            format!("{} {}", fields.message, fields.rest.join(" "))
        };
        self.ring.push(LogEvent {
            seq: 0,
            at: Utc::now(),
            level: *event.metadata().level(),
            target: event.metadata().target().to_owned(),
            integration: fields
                .integration
                .map(|i| self.redactor.redact(&i).into_owned()),
            message: self.redactor.redact(&message).into_owned(),
            run: fields.run,
        });
    }
}

#[derive(Default)]
struct FieldText {
    message: String,
    integration: Option<String>,
    run: Option<ulid::Ulid>,
    rest: Vec<String>,
}

impl Visit for FieldText {
    fn record_str(&mut self, field: &Field, value: &str) {
        match field.name() {
            "message" => self.message = value.to_owned(),
            "integration" => self.integration = Some(value.to_owned()),
            "run" if value.parse::<ulid::Ulid>().is_ok() => self.run = value.parse().ok(),
            name => self.rest.push(format!("{name}={value}")),
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.record_str(field, &format!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn the_ring_keeps_only_the_newest_events() {
        let ring = LogRing::new(3);
        let subscriber = tracing_subscriber::registry().with(ring.layer());
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..5 {
                tracing::info!(integration = "orders", attempt = i, "fetched page");
            }
        });
        let events = ring.since(0);
        assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(events[2].message, "fetched page attempt=4");
        assert_eq!(events[2].integration.as_deref(), Some("orders"));
        assert_eq!(ring.since(4).len(), 1);
    }

    #[test]
    fn secrets_logged_by_mistake_never_reach_a_sink() {
        let redactor = Redactor::default();
        redactor.add(&SecretString::from("tok_live_123456"));
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = {
            let buffer = Arc::clone(&buffer);
            move || SharedBuffer(Arc::clone(&buffer))
        };
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(Redacting::new(sink, redactor)),
        );
        tracing::subscriber::with_default(subscriber, || {
            tracing::warn!(header = "Bearer tok_live_123456", "request failed");
        });
        let written = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        assert!(written.contains("Bearer [redacted]"), "{written}");
        assert!(!written.contains("tok_live_123456"));
    }

    struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

    impl Write for SharedBuffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}

//! The engine: schedules integrations, runs them safely, and remembers everything.

pub mod alerting;
pub mod certificate;
pub mod classify;

pub mod clock;
pub mod context;
pub mod core;
pub mod counters;
pub mod executor;
pub mod handle;
pub mod http;
pub mod latency;
pub mod limits;
pub mod metrics;
pub mod retry;
pub mod scheduler;
pub mod transitions;
pub mod writer;

pub use self::core::{EngineError, EngineOptions, start};
pub use handle::{
    AlertCounts, AlertsView, CommandError, EngineEvent, EngineHandle, EngineSnapshot,
    IntegrationView, ReloadSummary,
};

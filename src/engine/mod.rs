//! The engine: schedules integrations, runs them safely, and remembers everything.
//! What one run may use (HTTP under its policies, credentials, the clock, metrics) is
//! the layer below, `runtime`, which connectors use too.

pub mod alerting;
pub mod core;
pub mod executor;
pub mod handle;
pub mod scheduler;
pub mod transitions;
pub mod writer;

pub use self::core::{EngineError, EngineOptions, start};
pub use handle::{
    AlertCounts, AlertsView, CommandError, EngineEvent, EngineHandle, EngineSnapshot,
    IntegrationView, ReloadSummary,
};

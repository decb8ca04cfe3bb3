//! The engine: schedules integrations, runs them safely, and remembers everything.
//! What one run may use (HTTP under its policies, credentials, the clock, metrics) is
//! the layer below, `runtime`, which connectors use too.

mod actor;
mod alerting;
mod commands;
pub mod executor;
pub mod handle;
mod inbound;
mod lag;
mod preview;
mod registry;
mod runs;
pub mod scheduler;
mod scheduling;
mod stopping;
pub mod transitions;
pub mod writer;

pub use actor::{EngineError, EngineOptions, start};
pub use handle::{
    AlertCounts, AlertsView, CommandError, EngineEvent, EngineHandle, EngineSnapshot, EngineStatus,
    IntegrationChange, IntegrationView, LagStats, ReloadSummary,
};

//! The engine: schedules integrations, runs them safely, and remembers everything.

pub mod classify;
pub mod clock;
pub mod context;
pub mod counters;
pub mod http;
pub mod limits;
pub mod metrics;
pub mod retry;
pub mod writer;

//! What a running integration can use, below the engine that schedules it: HTTP under
//! its policies (retries, rate limits, classification of every failure), its
//! credentials and OAuth2 tokens, its log, the clock and the metrics it feeds.
//! Connectors use this layer; the engine builds it and owns the rest.

pub mod certificate;
pub mod classify;
pub mod clock;
pub mod context;
pub mod counters;
pub mod http;
pub mod latency;
pub mod limits;
pub mod metrics;
pub mod quota;
pub mod retry;
pub mod tokens;
pub mod totals;
pub mod trace;

//! patchbay: a terminal operations console for integrations.
//!
//! Data flows one way: `connectors.toml` → [`config`] → engine → [`store`], with the
//! console and the CLI talking to the engine through one typed protocol ([`control`]),
//! in-process or over the service's Unix socket. See `docs/architecture.md`.

pub mod alerts;
pub mod cli;
pub mod compare;
pub mod config;
pub mod connectors;
pub mod control;
pub mod domain;
pub mod engine;
pub mod fingerprint;
pub mod paths;
pub mod pipeline;
pub mod redact;
pub mod runtime;
pub mod sandbox;
pub mod secrets;
pub mod store;
pub mod telemetry;
pub mod tui;

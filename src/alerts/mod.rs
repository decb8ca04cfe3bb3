//! Alerting: `[[alert]]` rules read each integration's health and metrics, fire and
//! resolve alerts, and notify people through output integrations.
//!
//! `reading.rs` turns a rule's signal into a verdict, `book.rs` is the lifecycle (a pure
//! state machine over explicit times), `notice.rs` the message; what the store keeps
//! about alerts is in `domain::alert`. The engine (`engine/alerting.rs`) evaluates on its tick and delivers.

pub mod book;
pub mod notice;
pub mod reading;

pub use book::{AlertBook, Evaluation, Observation, RECENT_KEPT, Scope};
pub use notice::Notice;
pub use reading::{Facts, Reading, read};

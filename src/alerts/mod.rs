//! Alerting: `[[alert]]` rules read each integration's health and metrics, fire and
//! resolve alerts, and notify people through output integrations.
//!
//! `reading.rs` turns a rule's signal into a verdict, `book.rs` is the lifecycle (a pure
//! state machine over explicit times), `notice.rs` the message, `record.rs` what the
//! store keeps. The engine (`engine/alerting.rs`) evaluates on its tick and delivers.

pub mod book;
pub mod notice;
pub mod reading;
pub mod record;

pub use book::{AlertBook, Evaluation, Observation, RECENT_KEPT, Scope};
pub use notice::Notice;
pub use reading::{Facts, Reading, read};
pub use record::{
    Alert, AlertStatus, Attempt, NoticeEvent, Silence, SilenceTarget, ended_silences,
};

//! The plain types every layer shares: a run and its record, failures and their
//! classes, health and integration state, alert and audit records, figures. It imports
//! nothing of ours but the leaf `redact`, so anything may use it.

pub mod alert;
#[cfg(test)]
pub mod arbitrary;
pub mod audit;
pub mod canonical;
pub mod failure;
pub mod health;
pub mod page;
pub mod records;
pub mod run;
pub mod stats;
pub mod suggest;
pub mod trace;

pub use alert::{
    Alert, AlertSeverity, AlertStatus, Attempt, NoticeEvent, Silence, SilenceTarget, ended_silences,
};
pub use audit::{AuditEntry, Operator};
pub use failure::Failure;
pub use health::{Health, IntegrationState, PauseReason};
pub use page::{KeyedLines, Page};
pub use records::{JsonLines, Records};
pub use run::{Delivery, ErrorClass, QuotaLeft, RunRecord, RunStatus, Trigger};
pub use suggest::did_you_mean;

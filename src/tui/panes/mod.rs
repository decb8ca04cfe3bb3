//! The panes and the stack of views opened over them. Each owns what it shows and
//! points at (selection, scroll offset, sort, filter, log view settings) and what its
//! keys do to that; `App` routes a key to the view on screen and keeps only what spans
//! panes: the input mode, the scope, the toast. gitui's components are the model.

mod alerts;
mod drill;
mod history;
mod integrations;
mod logs;
mod metrics;

pub use alerts::AlertsPane;
pub use drill::{Drill, DrillStack};
pub use history::HistoryPane;
pub use integrations::{IntegrationsPane, SortBy};
pub use logs::LogsPane;
pub use metrics::MetricsPane;

use super::keymap::Action;

/// How many rows a navigation action moves a selection; `None` for other actions.
fn rows_moved(action: Action) -> Option<isize> {
    match action {
        Action::Up => Some(-1),
        Action::Down => Some(1),
        Action::PageUp => Some(-10),
        Action::PageDown => Some(10),
        // Halved so that adding them to a row cannot overflow.
        Action::Top => Some(isize::MIN / 2),
        Action::Bottom => Some(isize::MAX / 2),
        _ => None,
    }
}

/// `value` moved by `by`, not below zero (the caller clamps the top).
fn moved(value: usize, by: isize) -> usize {
    (value as isize).saturating_add(by).max(0) as usize
}

/// `row` kept within a list of `len` rows.
fn within(row: usize, len: usize) -> usize {
    row.min(len.saturating_sub(1))
}

//! The Alerts pane's state: which alert is selected.

use super::{moved, rows_moved, within};
use crate::domain::Alert;
use crate::tui::keymap::Action;
use crate::tui::model::Model;

#[derive(Debug, Clone, Default)]
pub struct AlertsPane {
    pub row: usize,
    /// The first row on screen.
    pub offset: usize,
}

impl AlertsPane {
    /// The pane's rows: firing (most severe first), then resolved, newest first.
    pub fn visible<'m>(&self, model: &'m Model) -> Vec<&'m Alert> {
        let alerts = &model.alerts;
        alerts.firing.iter().chain(&alerts.recent).collect()
    }

    pub fn selected<'m>(&self, model: &'m Model) -> Option<&'m Alert> {
        self.visible(model).get(self.row).copied()
    }

    /// Whether `action` was the pane's to handle.
    pub fn on_action(&mut self, action: Action, model: &Model) -> bool {
        let Some(by) = rows_moved(action) else {
            return false;
        };
        self.row = moved(self.row, by);
        self.clamp(model);
        true
    }

    pub fn clamp(&mut self, model: &Model) {
        self.row = within(self.row, self.visible(model).len());
    }
}

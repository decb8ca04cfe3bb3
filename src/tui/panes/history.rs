//! The History pane's state: the selected run, and asking for older runs as the
//! selection nears the end of those in memory.

use std::sync::Arc;

use super::{moved, rows_moved, within};
use crate::domain::run::RunRecord;
use crate::tui::app::Effect;
use crate::tui::keymap::Action;
use crate::tui::model::Model;

/// How close to the last run in memory the selection comes before the next page is
/// fetched, so scrolling does not stop at the end of a page.
const PAGE_AHEAD: usize = 20;

#[derive(Debug, Clone, Default)]
pub struct HistoryPane {
    pub row: usize,
    /// The first row on screen.
    pub offset: usize,
}

impl HistoryPane {
    /// The rows: all runs in memory, newest first, or only those of `only`.
    pub fn visible<'m>(&self, model: &'m Model, only: Option<&str>) -> Vec<&'m Arc<RunRecord>> {
        model
            .runs
            .iter()
            .filter(|r| only.is_none_or(|name| r.integration == name))
            .collect()
    }

    pub fn selected(&self, model: &Model, only: Option<&str>) -> Option<Arc<RunRecord>> {
        self.visible(model, only)
            .get(self.row)
            .map(|r| Arc::clone(r))
    }

    /// What `action` does here: `None` when it is not the pane's to handle.
    pub fn on_action(
        &mut self,
        action: Action,
        model: &Model,
        only: Option<&str>,
    ) -> Option<Vec<Effect>> {
        let by = rows_moved(action)?;
        self.select_row(moved(self.row, by), model, only);
        let near_the_end = self.row + PAGE_AHEAD >= self.visible(model, only).len();
        Some(if near_the_end && !model.history_complete {
            vec![Effect::LoadOlderRuns]
        } else {
            Vec::new()
        })
    }

    pub fn select_row(&mut self, row: usize, model: &Model, only: Option<&str>) {
        self.row = within(row, self.visible(model, only).len());
    }

    pub fn clamp(&mut self, model: &Model, only: Option<&str>) {
        self.select_row(self.row, model, only);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run::Trigger;

    fn model_with_runs(count: usize, complete: bool) -> Model {
        let mut model = Model::new(String::new(), String::new(), false, 100);
        for at in 0..count {
            let name = if at % 2 == 0 { "even" } else { "odd" };
            let started = chrono::Utc::now() - chrono::Duration::seconds(at as i64);
            model.add_run(Arc::new(RunRecord::start(name, Trigger::Schedule, started)));
        }
        model.history_complete = complete;
        model
    }

    #[test]
    fn nearing_the_last_run_in_memory_asks_for_older_ones_until_there_are_none() {
        let model = model_with_runs(50, false);
        let mut pane = HistoryPane::default();
        assert!(
            pane.on_action(Action::Down, &model, None)
                .unwrap()
                .is_empty()
        );
        pane.on_action(Action::PageDown, &model, None);
        let near = pane.on_action(Action::PageDown, &model, None).unwrap();
        assert!(near.is_empty(), "row 21 of 50 is not near the end");
        let near = pane.on_action(Action::PageDown, &model, None).unwrap();
        assert!(
            matches!(near[..], [Effect::LoadOlderRuns]),
            "row 31 of 50 is"
        );
        let complete = model_with_runs(50, true);
        assert!(
            pane.on_action(Action::Bottom, &complete, None)
                .unwrap()
                .is_empty()
        );
        assert_eq!(pane.row, 49);
        assert!(pane.on_action(Action::Wrap, &model, None).is_none());
    }

    #[test]
    fn a_scoped_history_keeps_the_selection_among_its_runs() {
        let model = model_with_runs(10, true);
        let mut pane = HistoryPane { row: 9, offset: 0 };
        assert_eq!(pane.visible(&model, Some("odd")).len(), 5);
        pane.clamp(&model, Some("odd"));
        assert_eq!(pane.row, 4);
        assert_eq!(
            pane.selected(&model, Some("odd")).unwrap().integration,
            "odd"
        );
    }
}

//! The Logs pane's state and keys: follow, level filter, search, timestamps, wrap,
//! and how far it is scrolled up from the newest line.

use tracing::Level;

use super::rows_moved;
use crate::telemetry::LogEvent;
use crate::tui::keymap::Action;
use crate::tui::model::Model;

#[derive(Debug, Clone)]
pub struct LogsPane {
    pub follow: bool,
    pub min_level: Option<Level>,
    pub timestamps: bool,
    pub wrap: bool,
    pub search: String,
    /// Lines scrolled up from the newest, when not following.
    pub scroll: usize,
}

impl Default for LogsPane {
    fn default() -> Self {
        Self {
            follow: true,
            min_level: None,
            timestamps: true,
            wrap: false,
            search: String::new(),
            scroll: 0,
        }
    }
}

impl LogsPane {
    /// The lines shown: the level, scope (`focus`) and search filters applied, oldest
    /// first.
    pub fn visible<'m>(&self, model: &'m Model, focus: Option<&str>) -> Vec<&'m LogEvent> {
        model
            .logs
            .iter()
            .filter(|e| self.min_level.is_none_or(|min| e.level <= min))
            .filter(|e| focus.is_none_or(|f| e.integration.as_deref() == Some(f)))
            .filter(|e| {
                self.search.is_empty()
                    || e.message.contains(&self.search)
                    || e.integration
                        .as_deref()
                        .is_some_and(|i| i.contains(&self.search))
            })
            .collect()
    }

    /// Where the shown lines end: all of them when following, else as far as scrolled
    /// up. The line before it, the bottom one on screen, is the one Enter opens.
    pub fn end(&self, shown: usize) -> usize {
        shown.saturating_sub(if self.follow { 0 } else { self.scroll })
    }

    /// Whether `action` was the pane's to handle.
    pub fn on_action(&mut self, action: Action, model: &Model) -> bool {
        match action {
            Action::Follow => {
                self.follow = !self.follow;
                self.scroll = 0;
            }
            Action::CycleLevel => {
                self.min_level = match self.min_level {
                    None => Some(Level::INFO),
                    Some(Level::INFO) => Some(Level::WARN),
                    Some(Level::WARN) => Some(Level::ERROR),
                    _ => None,
                }
            }
            Action::Timestamps => self.timestamps = !self.timestamps,
            Action::Wrap => self.wrap = !self.wrap,
            _ => match rows_moved(action) {
                // Up scrolls towards older lines and stops following.
                Some(by) => {
                    self.follow = false;
                    self.scroll = (self.scroll as isize).saturating_sub(by).max(0) as usize;
                    self.clamp(model);
                }
                None => return false,
            },
        }
        true
    }

    pub fn clamp(&mut self, model: &Model) {
        self.scroll = self.scroll.min(model.logs.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_with(lines: &[(Level, &str)]) -> Model {
        let mut model = Model::new(String::new(), String::new(), false, 100);
        model.add_logs(
            lines
                .iter()
                .enumerate()
                .map(|(seq, (level, integration))| LogEvent {
                    seq: seq as u64,
                    at: chrono::Utc::now(),
                    level: *level,
                    target: "patchbay".into(),
                    integration: Some((*integration).into()),
                    message: format!("line {seq}"),
                    run: None,
                })
                .collect(),
        );
        model
    }

    #[test]
    fn scrolling_up_stops_following_and_follow_returns_to_the_newest_line() {
        let model = model_with(&[(Level::INFO, "a"); 5]);
        let mut pane = LogsPane::default();
        assert_eq!(pane.end(5), 5);
        assert!(pane.on_action(Action::Up, &model));
        assert!(!pane.follow);
        assert_eq!(pane.end(5), 4, "the bottom line is one older");
        pane.on_action(Action::PageUp, &model);
        assert_eq!(pane.scroll, 5, "no further than the oldest line");
        pane.on_action(Action::Follow, &model);
        assert_eq!((pane.follow, pane.end(5)), (true, 5));
        assert!(!pane.on_action(Action::Sort, &model), "not the pane's key");
    }

    #[test]
    fn level_scope_and_search_filter_the_lines() {
        let model = model_with(&[(Level::DEBUG, "a"), (Level::WARN, "a"), (Level::ERROR, "b")]);
        let mut pane = LogsPane::default();
        assert_eq!(pane.visible(&model, None).len(), 3);
        assert_eq!(pane.visible(&model, Some("a")).len(), 2);
        pane.on_action(Action::CycleLevel, &model); // info and worse
        assert_eq!(pane.visible(&model, None).len(), 2);
        pane.on_action(Action::CycleLevel, &model); // warn and worse
        pane.search = "line 2".into();
        assert_eq!(pane.visible(&model, None).len(), 1);
        assert!(pane.visible(&model, Some("a")).is_empty());
    }
}

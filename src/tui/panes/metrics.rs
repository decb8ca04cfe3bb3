//! The Metrics pane's own state: the window its charts and figures cover. Moving
//! through integrations there moves the Integrations pane's selection, which it shows.

use crate::runtime::metrics::Window;
use crate::tui::keymap::Action;

#[derive(Debug, Clone)]
pub struct MetricsPane {
    pub window: Window,
}

impl Default for MetricsPane {
    fn default() -> Self {
        Self {
            window: Window::FiveMinutes,
        }
    }
}

impl MetricsPane {
    /// Whether `action` was the pane's to handle.
    pub fn on_action(&mut self, action: Action) -> bool {
        if action != Action::CycleWindow {
            return false;
        }
        let at = Window::ALL
            .iter()
            .position(|w| *w == self.window)
            .unwrap_or(0);
        self.window = Window::ALL[(at + 1) % Window::ALL.len()];
        true
    }

    /// How many minutes of charts the window shows: a day over 24 hours, else an hour.
    pub fn chart_minutes(&self) -> i64 {
        if self.window == Window::Day {
            1_440
        } else {
            60
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_cycles_and_a_day_charts_a_day() {
        let mut pane = MetricsPane::default();
        let mut seen = vec![pane.window];
        while pane.on_action(Action::CycleWindow) && pane.window != seen[0] {
            seen.push(pane.window);
        }
        assert_eq!(seen, Window::ALL);
        pane.window = Window::Day;
        assert_eq!(pane.chart_minutes(), 1_440);
        assert!(
            !pane.on_action(Action::Up),
            "moves belong to the integrations"
        );
    }
}

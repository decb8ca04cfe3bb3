//! One module per pane or view; each draws from the app state alone.

pub mod alerts;
pub mod audit;
pub mod charts;
pub mod detail;
pub mod header;
pub mod help;
pub mod history;
pub mod integrations;
pub mod logs;
pub mod metrics;
pub mod preview;
pub mod request;
pub mod run;
pub mod status;

use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::app::App;
use super::keymap::{Action, key_hint};
use super::theme::Theme;
use crate::domain::run::RunStatus;
use crate::domain::stats::short_span;

/// The rows of a `len`-row table that fit in `height` rows, scrolled so `selected`
/// shows: building only these keeps a frame cheap with 10,000 integrations.
pub fn window(len: usize, selected: usize, offset: usize, height: usize) -> (usize, usize) {
    let height = height.max(1);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    };
    let offset = offset.min(len.saturating_sub(height));
    (offset, (offset + height).min(len))
}

/// A view opened with Enter: `lines` under a titled rule that says how to go back,
/// wrapped, scrolled by the drill views' shared offset.
pub fn drill_page(frame: &mut Frame, area: Rect, app: &App, title: &str, lines: Vec<Line<'_>>) {
    let block = Block::default()
        .borders(Borders::TOP)
        .title(format!(
            " {title} ({} back) ",
            key_hint(&app.keymap, Action::Back)
        ))
        .border_style(app.theme.dim);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.drill.scroll as u16, 0)),
        area,
    );
}

/// The style of a run status.
pub fn status_style(theme: &Theme, status: RunStatus) -> Style {
    match status {
        RunStatus::Success => theme.ok,
        RunStatus::Partial | RunStatus::Skipped => theme.warn,
        RunStatus::Failed | RunStatus::Interrupted => theme.error,
        RunStatus::Cancelled => theme.paused,
        RunStatus::Running => theme.accent,
    }
}

/// "12s ago", or "-".
pub fn ago(now: DateTime<Utc>, at: Option<DateTime<Utc>>) -> String {
    at.map_or("-".into(), |at| {
        format!("{} ago", short_span((now - at).num_seconds()))
    })
}

/// "in 12s", "now", or "-".
pub fn until(now: DateTime<Utc>, at: Option<DateTime<Utc>>) -> String {
    match at {
        None => "-".into(),
        Some(at) if at <= now => "now".into(),
        // Partial seconds round up: "in 1s" until the moment itself.
        Some(at) => format!(
            "in {}",
            short_span(((at - now).num_milliseconds() + 999) / 1000)
        ),
    }
}

pub fn millis(ms: Option<u64>) -> String {
    match ms {
        None => "-".into(),
        Some(ms) if ms < 1000 => format!("{ms}ms"),
        Some(ms) => format!("{:.1}s", ms as f64 / 1000.0),
    }
}

/// Cuts `text` to `width` characters, marking the cut.
pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_owned()
    } else {
        text.chars()
            .take(width.saturating_sub(1))
            .collect::<String>()
            + "…"
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_window_follows_the_selection() {
        assert_eq!(super::window(100, 0, 0, 10), (0, 10));
        assert_eq!(
            super::window(100, 15, 0, 10),
            (6, 16),
            "scrolls down to show it"
        );
        assert_eq!(super::window(100, 7, 6, 10), (6, 16), "stays while visible");
        assert_eq!(super::window(100, 3, 6, 10), (3, 13), "scrolls up");
        assert_eq!(super::window(5, 4, 0, 10), (0, 5));
        assert_eq!(super::window(0, 0, 0, 10), (0, 0));
    }
}

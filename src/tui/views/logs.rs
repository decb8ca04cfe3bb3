//! A live tail of patchbay's log: all or the selected integration, level filter,
//! follow, search with highlight, wrap, timestamps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tracing::Level;

use crate::tui::app::App;
use crate::tui::keymap::{Action, key_hint};

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let focus = app.scope();
    let view = &app.logs;
    let shown = view.visible(&app.model, focus.as_deref());
    let height = area.height.saturating_sub(1) as usize;
    let end = view.end(shown.len());
    let start = end.saturating_sub(height);
    let bottom_run = end.checked_sub(1).and_then(|i| shown[i].run);
    let lines: Vec<Line> = shown[start..end]
        .iter()
        .enumerate()
        .map(|(row, event)| {
            let level_style = match event.level {
                Level::ERROR => theme.error,
                Level::WARN => theme.warn,
                Level::INFO => theme.text,
                _ => theme.dim,
            };
            let mut spans = Vec::new();
            if view.timestamps {
                spans.push(Span::styled(
                    event.at.format("%H:%M:%S ").to_string(),
                    theme.dim,
                ));
            }
            spans.push(Span::styled(format!("{:<5} ", event.level), level_style));
            if let Some(integration) = &event.integration {
                spans.push(Span::styled(format!("{integration} "), theme.accent));
            }
            spans.extend(highlight(
                &event.message,
                &view.search,
                theme.text,
                theme.selection,
            ));
            let line = Line::from(spans);
            // The bottom line is the one Enter opens, when it is about a run.
            if start + row + 1 == end && bottom_run.is_some() {
                line.style(theme.selection)
            } else {
                line
            }
        })
        .collect();
    let level = view.min_level.map_or("all".to_owned(), |l| {
        format!("{}+", l.as_str().to_lowercase())
    });
    let title = format!(
        " logs: {} | level {level} | follow {} | {} lines{}{} ",
        focus.unwrap_or_else(|| "all".into()),
        if view.follow { "on" } else { "off" },
        shown.len(),
        if view.search.is_empty() {
            String::new()
        } else {
            format!(" | search \"{}\"", view.search)
        },
        if bottom_run.is_some() {
            format!(" | {} opens its run", key_hint(&app.keymap, Action::Open))
        } else {
            String::new()
        },
    );
    let mut paragraph = Paragraph::new(lines).block(
        Block::default()
            .borders(Borders::TOP)
            .title(title)
            .border_style(theme.dim),
    );
    if view.wrap {
        paragraph = paragraph.wrap(Wrap { trim: false });
    }
    frame.render_widget(paragraph, area);
}

/// `text` with every occurrence of `needle` in the highlight style.
fn highlight<'a>(
    text: &'a str,
    needle: &str,
    normal: ratatui::style::Style,
    marked: ratatui::style::Style,
) -> Vec<Span<'a>> {
    if needle.is_empty() {
        return vec![Span::styled(text, normal)];
    }
    let mut spans = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        spans.push(Span::styled(&rest[..at], normal));
        spans.push(Span::styled(&rest[at..at + needle.len()], marked));
        rest = &rest[at + needle.len()..];
    }
    spans.push(Span::styled(rest, normal));
    spans
}

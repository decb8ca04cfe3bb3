//! A live tail of patchbay's log: all or the selected integration, level filter,
//! follow, search with highlight, wrap, timestamps.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use tracing::Level;

use crate::telemetry::LogEvent;
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let focus = (!app.scope_all).then(|| app.focus_name()).flatten();
    let view = &app.logs;
    let shown: Vec<&LogEvent> = app
        .model
        .logs
        .iter()
        .filter(|e| view.min_level.is_none_or(|min| e.level <= min))
        .filter(|e| {
            focus
                .as_ref()
                .is_none_or(|f| e.integration.as_ref() == Some(f))
        })
        .filter(|e| {
            view.search.is_empty()
                || e.message.contains(&view.search)
                || e.integration
                    .as_deref()
                    .is_some_and(|i| i.contains(&view.search))
        })
        .collect();
    let height = area.height.saturating_sub(1) as usize;
    let end = shown
        .len()
        .saturating_sub(if view.follow { 0 } else { view.scroll });
    let start = end.saturating_sub(height);
    let lines: Vec<Line> = shown[start..end]
        .iter()
        .map(|event| {
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
            Line::from(spans)
        })
        .collect();
    let level = view.min_level.map_or("all".to_owned(), |l| {
        format!("{}+", l.as_str().to_lowercase())
    });
    let title = format!(
        " logs: {} | level {level} | follow {} | {} lines{} ",
        focus.unwrap_or_else(|| "all".into()),
        if view.follow { "on" } else { "off" },
        shown.len(),
        if view.search.is_empty() {
            String::new()
        } else {
            format!(" | search \"{}\"", view.search)
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

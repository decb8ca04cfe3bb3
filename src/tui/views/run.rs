//! One run in full: what started it, attempts, requests, records, each output's
//! delivery, the error and its hint, and the run's own log lines.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

use super::{millis, status_style};
use crate::domain::run::RunRecord;
use crate::tui::app::App;
use crate::tui::keymap::{Action, key_hint};

pub fn draw(frame: &mut Frame, area: Rect, app: &App, run: &RunRecord) {
    let theme = &app.theme;
    let field = |label: &str, value: String| {
        Line::from(vec![
            Span::styled(format!("{label:<12}"), theme.dim),
            Span::styled(value, theme.text),
        ])
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!("{:<12}", "status"), theme.dim),
            Span::styled(run.status.as_str(), status_style(theme, run.status)),
        ]),
        field("started", run.started_summary()),
        field("took", millis(run.duration_ms)),
        field("requests", run.requests_summary()),
        field("records", run.records_summary()),
    ];
    for delivery in &run.deliveries {
        let text = delivery.summary();
        let style = if delivery.ok { theme.ok } else { theme.error };
        lines.push(Line::from(vec![
            Span::styled(format!("{:<12}", "output"), theme.dim),
            Span::styled(text, style),
        ]));
    }
    if let (Some(class), Some(message)) = (run.error_class, &run.error_message) {
        lines.push(Line::styled(format!("{class}: {message}"), theme.error));
    }
    if let Some(hint) = &run.hint {
        lines.push(Line::styled(format!("hint: {hint}"), theme.accent));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled("log", theme.accent));
    match &app.model.run_logs {
        Some((id, log)) if *id == run.id => lines.extend(
            log.iter()
                .map(|l| Line::styled(format!("  {l}"), theme.dim)),
        ),
        _ => lines.push(Line::styled("  loading…", theme.dim)),
    }
    let block = Block::default()
        .borders(Borders::TOP)
        .title(format!(
            " run {} of {} ({} back) ",
            run.id,
            run.integration,
            key_hint(&app.keymap, Action::Back)
        ))
        .border_style(theme.dim);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((app.detail_scroll as u16, 0)),
        area,
    );
}

//! One traced request of a run: what was sent (headers masked), what came back, why it
//! was retried, and the start of an error's body: what the API actually said.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::run::size;
use super::{drill_page, millis};
use crate::domain::run::RunRecord;
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, run: &RunRecord, index: usize) {
    let theme = &app.theme;
    let Some(request) = app.model.requests_of(run.id).and_then(|r| r.get(index)) else {
        frame.render_widget(
            Paragraph::new(Line::styled("this request is no longer loaded", theme.warn)),
            area,
        );
        return;
    };
    let field = |label: &str, value: String, style| {
        Line::from(vec![
            Span::styled(format!("{label:<10}"), theme.dim),
            Span::styled(value, style),
        ])
    };
    let outcome_style = if request.failed() {
        theme.error
    } else {
        theme.ok
    };
    let mut lines = vec![
        field(
            "request",
            format!("{} {}", request.method, request.url),
            theme.text,
        ),
        field(
            "answer",
            format!(
                "{} · {} · {} · attempt {}",
                request
                    .status
                    .map_or("no answer".to_owned(), |s| s.to_string()),
                millis(Some(request.duration_ms)),
                size(request.bytes),
                request.attempt
            ),
            outcome_style,
        ),
        field("outcome", request.outcome.clone(), outcome_style),
    ];
    if let Some(note) = &request.note {
        lines.push(field("then", note.clone(), theme.warn));
    }
    lines.push(field(
        "at",
        request.at.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string(),
        theme.text,
    ));
    for (title, headers) in [
        (
            "request headers (credentials masked)",
            &request.request_headers,
        ),
        ("response headers", &request.response_headers),
    ] {
        lines.push(Line::raw(""));
        lines.push(Line::styled(title, theme.accent));
        if headers.is_empty() {
            lines.push(Line::styled("  (none)", theme.dim));
        }
        for (name, value) in headers {
            lines.push(Line::from(vec![
                Span::styled(format!("  {name}: "), theme.dim),
                Span::styled(value.clone(), theme.text),
            ]));
        }
    }
    lines.push(Line::raw(""));
    match &request.body_excerpt {
        Some(body) => {
            lines.push(Line::styled(
                "body (the first 2 KB, secrets redacted)",
                theme.accent,
            ));
            lines.extend(
                body.lines()
                    .map(|l| Line::styled(format!("  {l}"), theme.text)),
            );
        }
        None => lines.push(Line::styled("body: kept only for error answers", theme.dim)),
    }
    let title = format!(
        "request {} of run {} of {}",
        index + 1,
        run.id,
        run.integration
    );
    drill_page(frame, area, app, &title, lines);
}

//! One run in full: what started it, attempts, requests, records, each output's
//! delivery, the error and its hint, its requests as traced (a network tab: up and
//! down pick one, Enter opens it), and the run's own log lines.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{drill_page, fit, millis, status_style, window};
use crate::domain::run::RunRecord;
use crate::domain::trace::RequestTrace;
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
    if let Some(requests) = app.model.requests_of(run.id) {
        lines.push(Line::raw(""));
        request_lines(&mut lines, app, run, requests, area.width);
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
    let title = format!("run {} of {}", run.id, run.integration);
    drill_page(frame, area, app, &title, lines);
}

/// Request rows shown at once; the list scrolls to keep the selection on screen.
const REQUEST_ROWS: usize = 8;

/// The traced requests, one row each: status, method, time, size, URL.
fn request_lines(
    lines: &mut Vec<Line<'static>>,
    app: &App,
    run: &RunRecord,
    requests: &[RequestTrace],
    width: u16,
) {
    let theme = &app.theme;
    let untraced = u64::from(run.requests).saturating_sub(requests.len() as u64);
    let mut title = format!(
        "requests ({} traced{}; up/down pick, {} opens)",
        requests.len(),
        if untraced > 0 {
            format!(", {untraced} in the middle not kept")
        } else {
            String::new()
        },
        key_hint(&app.keymap, Action::Open)
    );
    if requests.is_empty() {
        title = "requests (none traced)".to_owned();
    }
    lines.push(Line::styled(title, theme.accent));
    let selected = app.drill.request.min(requests.len().saturating_sub(1));
    let (from, to) = window(requests.len(), selected, 0, REQUEST_ROWS);
    for (index, request) in requests.iter().enumerate().take(to).skip(from) {
        let status = request.status.map_or("---".to_owned(), |s| s.to_string());
        let style = if request.failed() {
            theme.error
        } else {
            theme.text
        };
        let marker = if index == selected { "▶" } else { " " };
        let head = format!(
            "{marker}{:>3} {status} {:<6} {:>7} {:>8} ",
            index + 1,
            fit(&request.method, 6),
            millis(Some(request.duration_ms)),
            size(request.bytes),
        );
        let room = usize::from(width).saturating_sub(head.chars().count() + 1);
        let row = Line::from(vec![
            Span::styled(head, style),
            Span::styled(fit(&request.url, room), theme.dim),
        ]);
        lines.push(if index == selected {
            row.style(theme.selection)
        } else {
            row
        });
    }
}

/// "812 B", "2.1 KB", "3.4 MB".
pub fn size(bytes: u64) -> String {
    match bytes {
        0..1_000 => format!("{bytes} B"),
        1_000..1_000_000 => format!("{:.1} KB", bytes as f64 / 1e3),
        _ => format!("{:.1} MB", bytes as f64 / 1e6),
    }
}

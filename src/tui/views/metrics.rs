//! Metrics of the selected integration (or all together): requests, errors, latency,
//! records and rate-limit hits over 5 m / 1 h / 24 h, and below them charts of the
//! selected integration's stored minutes (`charts`).

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Row, Table};

use super::{charts, millis};
use crate::domain::stats::WindowStats;
use crate::runtime::metrics::Window;
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let focus = app.scope();
    let no_figures = [
        WindowStats::default(),
        WindowStats::default(),
        WindowStats::default(),
    ];
    let figures = app.model.pane_figures.as_ref().unwrap_or(&no_figures);
    let rows: Vec<Row> = Window::ALL
        .iter()
        .zip(figures)
        .map(|(window, figures)| {
            let s = &figures.stats;
            let per_minute = |count: u64| {
                figures
                    .per_minute(count)
                    .map_or("-".into(), |r| format!("{r:.1}"))
            };
            let requests = s.requests_ok + s.requests_failed;
            let error_rate = if requests > 0 {
                format!("{:.1}%", 100.0 * s.requests_failed as f64 / requests as f64)
            } else {
                "-".into()
            };
            let style = if *window == app.metrics.window {
                theme.selection
            } else {
                theme.text
            };
            Row::new(vec![
                Cell::from(window_label(*window, figures.covered_seconds)),
                Cell::from(per_minute(requests)),
                Cell::from(error_rate),
                Cell::from(millis(s.p50_ms)),
                Cell::from(millis(s.p95_ms)),
                Cell::from(millis(s.p99_ms)),
                Cell::from(per_minute(s.records)),
                Cell::from(s.rate_limit_hits.to_string()),
                Cell::from(
                    s.success_rate()
                        .map_or("-".into(), |r| format!("{:.0}%", r * 100.0)),
                ),
            ])
            .style(style)
        })
        .collect();
    let scope = match &focus {
        Some(name) => name.clone(),
        None => "all integrations (a: the selected one)".into(),
    };
    let [table_area, chart_area] =
        Layout::vertical([Constraint::Length(6), Constraint::Min(3)]).areas(area);
    let table = Table::new(
        rows,
        [
            Constraint::Length(9),
            Constraint::Length(8),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(9),
            Constraint::Length(6),
            Constraint::Length(7),
        ],
    )
    .header(
        Row::new(vec![
            "", "REQ/MIN", "ERRORS", "P50", "P95", "P99", "REC/MIN", "429S", "RUNS OK",
        ])
        .style(theme.accent),
    )
    .block(
        Block::default()
            .borders(Borders::TOP)
            .title(format!(" metrics: {scope} "))
            .border_style(theme.dim),
    );
    frame.render_widget(table, table_area);
    charts::draw(frame, chart_area, app, &theme);
    if figures.iter().all(|f| f.covered_seconds == 0) {
        frame.render_widget(
            Line::styled("  no requests yet", theme.dim),
            Rect {
                y: table_area.y + 2,
                height: 1,
                ..table_area
            },
        );
    }
}

/// The window's name, and how much of it the figures cover when that is less (just
/// after a start): `1h·12m`. Rates are per minute of what is covered.
fn window_label(window: Window, covered_seconds: u64) -> String {
    if covered_seconds == 0 || covered_seconds >= window.seconds().unsigned_abs() {
        return window.label().to_owned();
    }
    let covered = match covered_seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3_600 => format!("{}m", s / 60),
        s => format!("{}h", s / 3_600),
    };
    format!("{}·{covered}", window.label())
}

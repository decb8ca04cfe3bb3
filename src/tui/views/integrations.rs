//! The home pane: every integration, its health, last and next run, success rate,
//! latency and its last runs at a glance. Narrow terminals drop the last columns.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, TableState};

use super::{ago, fit, millis, status_style, until};
use crate::domain::run::RunStatus;
use crate::runtime::metrics::Window;
use crate::tui::app::App;
use crate::tui::keymap::{Action, key_hint};
use crate::tui::model::Health;

/// From this width the table shows success rate, p95 and the recent runs too.
const WIDE: u16 = 110;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let now = app.model.now;
    let wide = area.width >= WIDE;
    let visible = app.visible_integrations();
    let count = visible.len();
    // A top border and the header row take two lines.
    let (first, end) = super::window(
        count,
        app.selected_integration,
        app.table_offset,
        area.height.saturating_sub(2) as usize,
    );
    let rows: Vec<Row> = visible[first..end]
        .iter()
        .map(|view| {
            let h = app.health_of(view);
            let style = match h {
                Health::Up => theme.ok,
                Health::Degraded | Health::Pending => theme.warn,
                Health::Down => theme.error,
                Health::Paused | Health::Disabled => theme.paused,
                Health::Unknown => theme.dim,
            };
            let output = view.role == crate::config::kinds::Role::Output;
            let last = match (view.running, view.state.last_status) {
                // An output's last piece of work is a delivery.
                (None, Some(status)) if output => {
                    let (word, style) = if status == RunStatus::Success {
                        ("delivered", theme.ok)
                    } else {
                        ("refused", theme.error)
                    };
                    Span::styled(
                        format!("{word} {}", ago(now, view.state.last_run_at)),
                        style,
                    )
                }
                (Some((_, started)), _) => Span::styled(
                    format!(
                        "running {}",
                        ago(now, Some(started)).trim_end_matches(" ago")
                    ),
                    theme.accent,
                ),
                (None, Some(status)) => Span::styled(
                    format!("{status} {}", ago(now, view.state.last_run_at)),
                    status_style(&theme, status),
                ),
                (None, None) => Span::styled("never", theme.dim),
            };
            let mut cells = vec![
                Cell::from(Span::styled(h.symbol(), style)),
                Cell::from(view.name.clone()),
                Cell::from(view.kind.as_str()),
                Cell::from(Span::styled(h.word(), style)),
                Cell::from(Line::from(last)),
                Cell::from(until(now, view.next_run)),
            ];
            if wide {
                let day = app
                    .model
                    .figures
                    .get(&view.name)
                    .map(|f| f.get(Window::Day).clone())
                    .unwrap_or_default();
                let hour = app
                    .model
                    .figures
                    .get(&view.name)
                    .map(|f| f.get(Window::Hour).clone())
                    .unwrap_or_default();
                cells.push(Cell::from(
                    day.success_rate()
                        .map_or("-".into(), |r| format!("{:.0}%", r * 100.0)),
                ));
                cells.push(Cell::from(millis(hour.p95_ms)));
                cells.push(Cell::from(recent_runs(app, &view.name, &theme)));
                let about = view
                    .description
                    .clone()
                    .unwrap_or_else(|| view.tags.join(", "));
                cells.push(Cell::from(Span::styled(about, theme.dim)));
            }
            Row::new(cells)
        })
        .collect();
    let longest = app
        .model
        .integrations
        .iter()
        .map(|i| i.name.chars().count())
        .max()
        .unwrap_or(4);
    let name_width = (longest as u16 + 2).clamp(12, 32);
    let mut widths = vec![
        Constraint::Length(1),
        Constraint::Length(name_width),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(17),
        Constraint::Length(8),
    ];
    let mut header = vec!["", "NAME", "KIND", "HEALTH", "LAST RUN", "NEXT"];
    if wide {
        widths.extend([
            Constraint::Length(7),
            Constraint::Length(7),
            Constraint::Length(13),
            Constraint::Fill(1),
        ]);
        header.extend(["OK 24H", "P95 1H", "LAST RUNS", "DESCRIPTION"]);
    }
    let title = format!(
        " integrations ({count}) sorted by {}{} ",
        app.sort.label(),
        if app.sort_reverse { ", reversed" } else { "" }
    );
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.accent))
        .row_highlight_style(theme.selection)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(title)
                .border_style(theme.dim),
        );
    let mut state = TableState::default()
        .with_selected((count > 0).then_some(app.selected_integration - first));
    frame.render_stateful_widget(table, area, &mut state);
    app.table_area = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    app.table_offset = first;
    if count == 0 {
        let message = if app.filter.is_empty() {
            "no integrations in the config".to_owned()
        } else {
            format!(
                "nothing matches the filter ({} clears it)",
                key_hint(&app.keymap, Action::Back)
            )
        };
        let inner = Rect {
            y: area.y + 2,
            height: 1,
            ..area
        };
        frame.render_widget(
            Line::styled(fit(&message, area.width as usize), theme.dim),
            inner,
        );
    }
}

/// The statuses of the last runs, oldest first, one glyph each.
fn recent_runs(app: &App, name: &str, theme: &crate::tui::theme::Theme) -> Line<'static> {
    let Some(recent) = app.model.recent.get(name) else {
        return Line::styled("", theme.dim);
    };
    Line::from(
        recent
            .iter()
            .map(|status| {
                let glyph = match status {
                    RunStatus::Success => "▪",
                    RunStatus::Partial => "▴",
                    RunStatus::Failed | RunStatus::Interrupted => "x",
                    RunStatus::Skipped => "-",
                    RunStatus::Cancelled => "c",
                    RunStatus::Running => ">",
                };
                Span::styled(glyph, status_style(theme, *status))
            })
            .collect::<Vec<_>>(),
    )
}

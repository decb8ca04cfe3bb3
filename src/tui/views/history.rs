//! Run history, newest first, live: all runs or the selected integration's.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Borders, Cell, Row, Table, TableState};

use super::{millis, status_style};
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let wide = area.width >= 100;
    let scope = app.scope();
    let runs = app.history.visible(&app.model, scope.as_deref());
    let count = runs.len();
    let (first, end) = super::window(
        count,
        app.history.row,
        app.history.offset,
        area.height.saturating_sub(2) as usize,
    );
    let rows: Vec<Row> = runs[first..end]
        .iter()
        .map(|run| {
            let mut cells = vec![
                Cell::from(run.started_at.format("%m-%d %H:%M:%S").to_string()),
                Cell::from(run.integration.clone()),
                Cell::from(Span::styled(
                    run.status_text(),
                    status_style(&theme, run.status),
                )),
                Cell::from(millis(run.duration_ms)),
                Cell::from(format!(
                    "{}/{}/{}",
                    run.records_new, run.records_changed, run.records_delivered
                )),
                Cell::from(run.error_class.map_or("-".into(), |c| c.to_string())),
            ];
            if wide {
                cells.insert(2, Cell::from(run.trigger.as_str()));
            }
            Row::new(cells)
        })
        .collect();
    let mut widths = vec![
        Constraint::Length(14),
        Constraint::Fill(1),
        Constraint::Length(13),
        Constraint::Length(7),
        Constraint::Length(14),
        Constraint::Length(12),
    ];
    let mut header = vec![
        "STARTED",
        "INTEGRATION",
        "STATUS",
        "TOOK",
        "NEW/CHG/DLV",
        "ERROR",
    ];
    if wide {
        widths.insert(2, Constraint::Length(9));
        header.insert(2, "TRIGGER");
    }
    let scope = scope.unwrap_or_else(|| "all integrations".to_owned());
    let more = if app.model.history_complete {
        ""
    } else {
        ", more below"
    };
    let title = format!(" run history: {scope} ({count}{more}) ");
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.accent))
        .row_highlight_style(theme.selection)
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(title)
                .border_style(theme.dim),
        );
    let mut state =
        TableState::default().with_selected((count > 0).then_some(app.history.row - first));
    frame.render_stateful_widget(table, area, &mut state);
    app.table_area = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    app.history.offset = first;
}

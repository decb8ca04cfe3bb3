//! Alerts: firing ones first (most severe, then oldest), then resolved ones, with what
//! became of their notices; the silences in force below.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState};

use super::{ago, fit};
use crate::domain::Alert;
use crate::domain::AlertSeverity;
use crate::tui::app::App;
use crate::tui::keymap::{Action, key_hint};
use crate::tui::theme::Theme;

/// Silences listed under the table at most; the rest are counted.
const SILENCES_SHOWN: usize = 3;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let silences = &app.model.alerts.silences;
    let silence_rows = silences.len().min(SILENCES_SHOWN) as u16;
    let [table_area, silences_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(if silences.is_empty() {
            0
        } else {
            silence_rows + 1
        }),
    ])
    .areas(area);
    draw_silences(frame, silences_area, app);

    let alerts = app.alerts.visible(&app.model);
    let count = alerts.len();
    let firing = app.model.alerts.firing.len();
    let title = format!(" alerts: {firing} firing, {} resolved ", count - firing);
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title)
        .border_style(theme.dim);
    if count == 0 {
        let hint = "No alerts. Rules are [[alert]] tables in connectors.toml; `patchbay check` lists them.";
        frame.render_widget(
            Paragraph::new(Line::styled(hint, theme.dim)).block(block),
            table_area,
        );
        return;
    }
    let wide = area.width >= 120;
    let (first, end) = super::window(
        count,
        app.alerts.row,
        app.alerts.offset,
        table_area.height.saturating_sub(2) as usize,
    );
    let now = app.model.now;
    let rows: Vec<Row> = alerts[first..end]
        .iter()
        .map(|alert| {
            let (state, state_style) = match (alert.is_firing(), &alert.suppressed) {
                (true, Some(_)) => ("FIRING (held)", theme.warn),
                (true, None) => ("FIRING", theme.error),
                (false, _) => ("resolved", theme.ok),
            };
            let since = match alert.resolved_at {
                Some(resolved) => ago(now, Some(resolved)),
                None => ago(now, Some(alert.since)),
            };
            let mut cells = vec![
                Cell::from(Span::styled(
                    alert.severity.as_str(),
                    severity_style(&theme, alert.severity),
                )),
                Cell::from(alert.key()),
                Cell::from(Span::styled(state, state_style)),
                Cell::from(since),
                Cell::from(alert.value.clone()),
            ];
            if wide {
                let (notices, style) = notices(alert, &theme);
                cells.push(Cell::from(Span::styled(notices, style)));
            }
            Row::new(cells)
        })
        .collect();
    let alert_width = alerts
        .iter()
        .map(|a| a.key().chars().count())
        .max()
        .unwrap_or(0);
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(alert_width.clamp(12, 40) as u16),
        Constraint::Length(13),
        Constraint::Length(8),
        Constraint::Fill(2),
    ];
    let mut header = vec!["SEVERITY", "ALERT", "STATE", "SINCE", "VALUE"];
    if wide {
        widths.push(Constraint::Fill(3));
        header.push("NOTICES");
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.accent))
        .row_highlight_style(theme.selection)
        .block(block);
    let selected = app.alerts.row.min(count - 1);
    let mut state = TableState::default().with_selected(Some(selected - first));
    // The selected alert's notices and why it is held, for narrow screens too.
    let detail = alerts.get(selected).map(|alert| notices(alert, &theme));
    frame.render_stateful_widget(table, table_area, &mut state);
    if !wide
        && let Some((text, style)) = detail
        && table_area.height > 4
    {
        let line = Rect {
            y: table_area.y + table_area.height - 1,
            height: 1,
            ..table_area
        };
        let text = fit(&format!(" {text}"), line.width as usize);
        frame.render_widget(Paragraph::new(Line::styled(text, style)), line);
    }
    app.table_area = Rect {
        y: table_area.y + 1,
        height: table_area.height.saturating_sub(1),
        ..table_area
    };
    app.alerts.offset = first;
}

fn severity_style(theme: &Theme, severity: AlertSeverity) -> Style {
    match severity {
        AlertSeverity::Critical => theme.error,
        AlertSeverity::Warning => theme.warn,
        AlertSeverity::Info => theme.dim,
    }
}

/// What became of an alert's notices, in words.
fn notices(alert: &Alert, theme: &Theme) -> (String, Style) {
    if let Some(why) = &alert.suppressed {
        return (format!("held: {why}"), theme.warn);
    }
    if alert.undelivered() {
        let failed: Vec<String> = alert
            .last_notice()
            .filter(|a| !a.ok)
            .map(|a| format!("{}: {}", a.output, a.error.as_deref().unwrap_or("failed")))
            .collect();
        return (format!("UNDELIVERED to {}", failed.join("; ")), theme.error);
    }
    match alert.attempts.last() {
        Some(last) => (
            format!(
                "{} notice sent to {}",
                last.event.as_str(),
                alert
                    .last_notice()
                    .map(|a| a.output.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            theme.dim,
        ),
        None if alert.is_firing() => ("notice waits for the group".to_owned(), theme.dim),
        None => ("no notice was owed".to_owned(), theme.dim),
    }
}

fn draw_silences(frame: &mut Frame, area: Rect, app: &App) {
    if area.height == 0 {
        return;
    }
    let theme = &app.theme;
    let silences = &app.model.alerts.silences;
    let unsilence = key_hint(&app.keymap, Action::Command);
    let mut lines = vec![Line::styled(
        format!(" silences in force ({unsilence}unsilence TARGET ends one)"),
        theme.accent,
    )];
    for silence in silences.iter().take(SILENCES_SHOWN) {
        let text = format!(
            " {} until {} by {}: {}",
            silence.target,
            silence.until.format("%m-%d %H:%M UTC"),
            silence.who,
            silence.reason
        );
        lines.push(Line::styled(fit(&text, area.width as usize), theme.warn));
    }
    if silences.len() > SILENCES_SHOWN {
        let more = format!(" and {} more", silences.len() - SILENCES_SHOWN);
        if let Some(last) = lines.last_mut() {
            last.spans.push(Span::styled(more, theme.dim));
        }
    }
    frame.render_widget(Paragraph::new(lines), area);
}

//! The audit log (`:audit`): who did what, to what, when, and from where, newest first,
//! as `patchbay audit` prints it. j/k scroll; Esc goes back.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

use super::ago;
use crate::tui::app::App;
use crate::tui::keymap::{Action, key_hint};

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let entries = app.model.audit.as_deref();
    let title = match entries {
        Some(entries) => format!(
            " audit log: {} entries, newest first ({} back) ",
            entries.len(),
            key_hint(&app.keymap, Action::Back)
        ),
        None => " audit log ".to_owned(),
    };
    let block = Block::default()
        .borders(Borders::TOP)
        .title(title)
        .border_style(theme.dim);
    let entries = match entries {
        Some(entries) if !entries.is_empty() => entries,
        Some(_) => {
            let text = "Nothing audited yet: runs started by hand, pauses, secrets set, cursors moved and silences appear here.";
            frame.render_widget(
                Paragraph::new(Line::styled(text, theme.dim)).block(block),
                area,
            );
            return;
        }
        None => {
            frame.render_widget(
                Paragraph::new(Line::styled("loading…", theme.dim)).block(block),
                area,
            );
            return;
        }
    };
    // Scrolling moves the first row shown; the newest entry is on top.
    let height = area.height.saturating_sub(2) as usize;
    app.drill.scroll = app
        .drill
        .scroll
        .min(entries.len().saturating_sub(height.max(1)));
    let now = app.model.now;
    let wide = area.width >= 120;
    let rows: Vec<Row> = entries
        .iter()
        .skip(app.drill.scroll)
        .take(height)
        .map(|entry| {
            // Narrow, the user alone: where they came from needs the width.
            let (when, who) = if wide {
                let at = entry.at.format("%Y-%m-%d %H:%M:%S");
                (
                    format!("{at} ({})", ago(now, Some(entry.at))),
                    entry.who.as_str(),
                )
            } else {
                let user = entry.who.split(" (").next().unwrap_or(&entry.who);
                (ago(now, Some(entry.at)), user)
            };
            Row::new(vec![
                Cell::from(when).style(theme.dim),
                Cell::from(who.to_owned()),
                Cell::from(entry.action.clone()).style(theme.accent),
                Cell::from(entry.target.clone().unwrap_or_default()),
                Cell::from(entry.detail.clone().unwrap_or_default()).style(theme.dim),
            ])
            .style(theme.text)
        })
        .collect();
    let widths = if wide {
        [
            Constraint::Length(30),
            Constraint::Length(36),
            Constraint::Length(20),
            Constraint::Length(24),
            Constraint::Min(10),
        ]
    } else {
        // The longest action, `integration.disable`, whole, and room for a cursor's
        // value in the detail.
        [
            Constraint::Length(8),
            Constraint::Length(10),
            Constraint::Length(19),
            Constraint::Length(17),
            Constraint::Min(6),
        ]
    };
    let table = Table::new(rows, widths)
        .header(Row::new(vec!["WHEN", "WHO", "WHAT", "TARGET", "DETAIL"]).style(theme.accent))
        .block(block);
    frame.render_widget(table, area);
}

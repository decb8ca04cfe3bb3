//! A source's first records after the pipeline, as `patchbay test NAME --show N`
//! prints them: `+` would be delivered, `-` would not, and why. Nothing is delivered.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::{drill_page, fit};
use crate::tui::app::App;

pub fn draw(frame: &mut Frame, area: Rect, app: &App, name: &str) {
    let theme = &app.theme;
    let mut lines = Vec::new();
    match &app.model.preview {
        Some((shown, Ok(records))) if shown == name => {
            let delivered = records.iter().filter(|r| r.delivered).count();
            lines.push(Line::styled(
                format!(
                    "{} records after the pipeline: {delivered} would be delivered (+), {} not (-). Nothing was delivered.",
                    records.len(),
                    records.len() - delivered
                ),
                theme.accent,
            ));
            let width = usize::from(area.width);
            for record in records {
                let (mark, style) = if record.delivered {
                    ("+", theme.ok)
                } else {
                    ("-", theme.dim)
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("{mark} "), style),
                    Span::styled(record.verdict.describe(), style),
                ]));
                let text = serde_json::to_string(&record.record).unwrap_or_default();
                lines.push(Line::styled(
                    format!("    {}", fit(&text, width.saturating_sub(4))),
                    theme.text,
                ));
            }
        }
        Some((shown, Err(error))) if shown == name => {
            lines.push(Line::styled(format!("no preview: {error}"), theme.error));
        }
        _ => lines.push(Line::styled("fetching the first records…", theme.dim)),
    }
    drill_page(frame, area, app, &format!("preview of {name}"), lines);
}

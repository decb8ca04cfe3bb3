//! The help, generated from the keymap: it always shows the keys in effect.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use crate::tui::app::App;
use crate::tui::keymap::{Context, help_lines};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let mut lines = Vec::new();
    for (context, title) in [
        (Context::Global, "Global"),
        (Context::Navigation, "Moving around"),
        (Context::Actions, "Actions"),
        (Context::Other, "Views"),
        (Context::Logs, "Logs"),
    ] {
        let entries: Vec<_> = help_lines(&app.keymap, app.model.read_only)
            .into_iter()
            .filter(|(c, _, _)| *c == context)
            .collect();
        if entries.is_empty() {
            continue;
        }
        lines.push(Line::styled(title, theme.accent));
        for (_, keys, help) in entries {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<18}"), theme.text),
                Span::styled(help, theme.dim),
            ]));
        }
    }
    if app.model.read_only {
        lines.push(Line::styled(
            "read-only: actions are hidden and refused",
            theme.warn,
        ));
    }
    // On the border, so it shows however small the terminal and however far scrolled.
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" help ")
        .title_bottom(Line::styled(
            " j/k scroll · any other key closes this help ",
            theme.dim,
        ))
        .border_style(theme.accent);
    frame.render_widget(Clear, area);
    let scroll = app.help_scroll.min(lines.len().saturating_sub(1)) as u16;
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        area,
    );
}

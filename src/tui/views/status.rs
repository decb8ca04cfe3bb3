//! The bottom line: the input being typed, a confirmation, a toast, or key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, Mode, ToastLevel};
use crate::tui::keymap::status_hints;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let line = match &app.mode {
        Mode::Command(input) => Line::from(vec![
            Span::styled(":", theme.accent),
            Span::raw(input.clone()),
            Span::styled("▏", theme.accent),
        ]),
        Mode::Filter(input) => Line::from(vec![
            Span::styled("/", theme.accent),
            Span::raw(input.clone()),
            Span::styled("▏", theme.accent),
        ]),
        Mode::Confirm { prompt, .. } => Line::styled(prompt.clone(), theme.warn),
        Mode::SecretName(input) => Line::from(vec![
            Span::styled("secret name: ", theme.accent),
            Span::raw(input.clone()),
            Span::styled("▏", theme.accent),
        ]),
        // The value itself is never drawn: only as many dots as characters.
        Mode::SecretValue { name, value } => Line::from(vec![
            Span::styled(
                format!("value for {name} (Enter stores, Esc abandons): "),
                theme.accent,
            ),
            Span::raw("•".repeat(value.chars().count())),
        ]),
        Mode::Help | Mode::Normal => match &app.toast {
            Some(toast) => Line::styled(
                toast.text.clone(),
                if toast.level == ToastLevel::Error {
                    theme.error
                } else {
                    theme.ok
                },
            ),
            None if app.model.read_only => Line::styled(
                format!("read-only  {}", status_hints(&app.keymap, true, app.pane)),
                theme.dim,
            ),
            None => Line::styled(status_hints(&app.keymap, false, app.pane), theme.dim),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
}

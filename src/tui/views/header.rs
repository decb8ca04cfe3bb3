//! The header (where you are, engine state, counts by health, read-only badge, clock)
//! and the pane tabs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::tui::app::{App, PANES};
use crate::tui::model::Health;

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let count = |h: Health| {
        app.model
            .integrations
            .iter()
            .filter(|i| app.health_of(i) == h)
            .count()
    };
    let mut spans = vec![
        Span::styled(" patchbay ", theme.header),
        Span::raw(" "),
        Span::styled(app.model.engine_state.clone(), theme.accent),
        Span::raw("  "),
        Span::styled(
            format!("{} {} up", Health::Up.symbol(), count(Health::Up)),
            theme.ok,
        ),
        Span::raw("  "),
        Span::styled(
            format!(
                "{} {} pending",
                Health::Pending.symbol(),
                count(Health::Pending)
            ),
            theme.warn,
        ),
        Span::raw("  "),
        Span::styled(
            format!(
                "{} {} degraded",
                Health::Degraded.symbol(),
                count(Health::Degraded)
            ),
            theme.warn,
        ),
        Span::raw("  "),
        Span::styled(
            format!("{} {} down", Health::Down.symbol(), count(Health::Down)),
            theme.error,
        ),
        Span::raw("  "),
        Span::styled(
            format!(
                "{} {} paused",
                Health::Paused.symbol(),
                count(Health::Paused)
            ),
            theme.paused,
        ),
    ];
    if app.model.read_only {
        spans.push(Span::raw("  "));
        spans.push(Span::styled(" READ-ONLY ", theme.header));
    }
    let config_name = std::path::Path::new(&app.model.config_path)
        .file_name()
        .map_or(app.model.config_path.clone(), |n| {
            n.to_string_lossy().into_owned()
        });
    let clock = format!(" {} UTC ", app.model.now.format("%H:%M"));
    let used: usize = spans.iter().map(|s| s.content.chars().count()).sum();
    // Two spaces apart from the counts; the file name goes first when room is short.
    let room = (area.width as usize).saturating_sub(used + 2);
    let right = if room >= config_name.chars().count() + clock.chars().count() + 2 {
        format!("{config_name}  {clock}")
    } else {
        clock
    };
    if room >= right.chars().count() {
        spans.push(Span::raw(" ".repeat(room + 2 - right.chars().count())));
        spans.push(Span::styled(right, theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn draw_tabs(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    let mut spans = Vec::new();
    for (index, name) in PANES.iter().enumerate() {
        let label = format!(" {} {} ", index + 1, name);
        let style = if index == app.pane.index() {
            theme.selection
        } else {
            theme.dim
        };
        spans.push(Span::styled(label, style));
        spans.push(Span::raw(" "));
    }
    if !app.filter.is_empty() {
        spans.push(Span::styled(
            format!(" filter: {} ", app.filter),
            theme.warn,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

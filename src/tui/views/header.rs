//! The header (where you are, engine state, counts by health, read-only badge, clock)
//! and the pane tabs.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::control::Origin;
use crate::domain::stats::long_span;
use crate::tui::app::{App, PANES};
use crate::tui::model::{Health, health};

pub fn draw(frame: &mut Frame, area: Rect, app: &App) {
    let theme = &app.theme;
    // One pass over the integrations, however many states are counted.
    let mut by_health = [0usize; Health::ALL.len()];
    for integration in &app.model.integrations {
        by_health[health(integration) as usize] += 1;
    }
    let count = |h: Health| by_health[h as usize];
    let counts = [
        (Health::Up, "up", theme.ok),
        (Health::Pending, "pending", theme.warn),
        (Health::Degraded, "degraded", theme.warn),
        (Health::Down, "down", theme.error),
        (Health::Paused, "paused", theme.paused),
    ];
    let alerts = app.model.alert_counts;
    let mut alert_spans = vec![Span::styled(
        format!("⚑ {} firing", alerts.firing),
        if alerts.firing > 0 {
            theme.error
        } else {
            theme.dim
        },
    )];
    if alerts.undelivered > 0 {
        alert_spans.push(Span::raw("  "));
        alert_spans.push(Span::styled(
            format!("✉ {} undelivered", alerts.undelivered),
            theme.error,
        ));
    }
    // Words when they fit; on a narrow screen the symbols alone (each is distinct, so
    // states stay readable without colour).
    // Narrower and narrower: words, then symbols, then without saying which engine.
    let with_words = |words: bool, with_origin: bool| {
        let mut spans = vec![Span::styled(" patchbay ", theme.header), Span::raw(" ")];
        if with_origin {
            spans.push(Span::styled(origin(app, words), theme.dim));
            spans.push(Span::raw(" "));
        }
        spans.push(Span::styled(app.model.engine_state.clone(), theme.accent));
        for (health, word, style) in counts {
            spans.push(Span::raw(if words { "  " } else { " " }));
            let text = if words {
                format!("{} {} {word}", health.symbol(), count(health))
            } else {
                format!("{}{}", health.symbol(), count(health))
            };
            spans.push(Span::styled(text, style));
        }
        spans.push(Span::raw("  "));
        spans.extend(alert_spans.iter().cloned());
        spans
    };
    let width = |spans: &[Span]| {
        spans
            .iter()
            .map(|s| s.content.chars().count())
            .sum::<usize>()
    };
    let badge = |mut spans: Vec<Span<'static>>| {
        if app.model.read_only {
            spans.push(Span::raw("  "));
            spans.push(Span::styled(" READ-ONLY ", theme.header));
        }
        spans
    };
    let fits = |spans: &[Span]| width(spans) <= area.width as usize;
    let mut spans = badge(with_words(true, true));
    if !fits(&spans) {
        spans = badge(with_words(false, true));
    }
    if !fits(&spans) {
        spans = badge(with_words(false, false));
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

/// Which engine this is: `attached · pid 4121 · up 3d 4h`, or `local engine`; on a
/// narrow screen `pid 4121` or `local`.
fn origin(app: &App, words: bool) -> String {
    match (&app.model.origin, words) {
        (
            Origin::Attached {
                pid, started_at, ..
            },
            true,
        ) => format!(
            "attached · pid {pid} · up {} ·",
            long_span((app.model.now - *started_at).num_seconds())
        ),
        (Origin::Attached { pid, .. }, false) => format!("pid {pid}"),
        (Origin::Local, true) => "local engine ·".to_owned(),
        (Origin::Local, false) => "local".to_owned(),
    }
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
    if !app.integrations.filter.is_empty() {
        spans.push(Span::styled(
            format!(" filter: {} ", app.integrations.filter),
            theme.warn,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

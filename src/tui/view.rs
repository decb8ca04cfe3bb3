//! One frame: header, pane tabs, the pane (or the view opened over it), status line,
//! and the help over everything.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;

use super::app::{App, Drill, Mode, Pane};
use super::views;

/// Below this the console says so instead of drawing a garbled screen.
pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 12;

pub fn draw(frame: &mut Frame, app: &mut App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let message = format!(
            "patchbay needs at least {MIN_WIDTH}x{MIN_HEIGHT}; this terminal is {}x{}",
            area.width, area.height
        );
        frame.render_widget(
            Paragraph::new(Line::styled(message, app.theme.warn))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let [header, tabs, body, status] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    views::header::draw(frame, header, app);
    views::header::draw_tabs(frame, tabs, app);
    draw_body(frame, body, app);
    views::status::draw(frame, status, app);
    if matches!(app.mode, Mode::Help) {
        views::help::draw(frame, centered(body, 90, 100), app);
    }
}

fn draw_body(frame: &mut Frame, area: Rect, app: &mut App) {
    match app.drill.last().cloned() {
        Some(Drill::Integration(name)) => views::detail::draw(frame, area, app, &name),
        Some(Drill::Run(run)) => views::run::draw(frame, area, app, &run),
        Some(Drill::Request(run, index)) => views::request::draw(frame, area, app, &run, index),
        Some(Drill::Audit) => views::audit::draw(frame, area, app),
        Some(Drill::Preview(name)) => views::preview::draw(frame, area, app, &name),
        None => match app.pane {
            Pane::Integrations => views::integrations::draw(frame, area, app),
            Pane::History => views::history::draw(frame, area, app),
            Pane::Metrics => views::metrics::draw(frame, area, app),
            Pane::Logs => views::logs::draw(frame, area, app),
            Pane::Alerts => views::alerts::draw(frame, area, app),
        },
    }
}

/// A rectangle of `percent_x` by `percent_y` of `area`, centred.
fn centered(area: Rect, percent_x: u16, percent_y: u16) -> Rect {
    let [_, middle, _] = Layout::vertical([
        Constraint::Percentage((100 - percent_y) / 2),
        Constraint::Percentage(percent_y),
        Constraint::Percentage((100 - percent_y) / 2),
    ])
    .areas(area);
    let [_, center, _] = Layout::horizontal([
        Constraint::Percentage((100 - percent_x) / 2),
        Constraint::Percentage(percent_x),
        Constraint::Percentage((100 - percent_x) / 2),
    ])
    .areas(middle);
    center
}

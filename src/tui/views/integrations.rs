//! The home pane: every integration, its health, last and next run, success rate,
//! latency and its last runs at a glance. Narrow terminals drop the last columns.

use std::collections::VecDeque;

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table, TableState};

use super::{ago, fit, millis, status_style, until};
use crate::domain::run::RunStatus;
use crate::runtime::metrics::Window;
use crate::tui::app::App;
use crate::tui::keymap::{Action, key_hint};
use crate::tui::model::{Health, health};
use crate::tui::theme::Theme;

/// From this width the table shows success rate, p95 and the recent runs too.
const WIDE: u16 = 110;
/// How many of the recent runs the wide table spells out, one glyph each.
const RUNS_SPELLED_OUT: usize = 12;
/// The columns around the name, and the spaces between all seven, at narrow widths.
const NARROW_FIXED: u16 = 1 + 1 + 10 + 8 + 17 + 8 + 6;

pub fn draw(frame: &mut Frame, area: Rect, app: &mut App) {
    let theme = app.theme.clone();
    let now = app.model.now;
    let wide = area.width >= WIDE;
    app.integrations.figures_shown = wide;
    let visible = app.integrations.visible(&app.model);
    let count = visible.len();
    // A top border and the header row take two lines.
    let (first, end) = super::window(
        count,
        app.integrations.row,
        app.integrations.offset,
        area.height.saturating_sub(2) as usize,
    );
    let rows: Vec<Row> = visible[first..end]
        .iter()
        .map(|view| {
            let h = health(view);
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
            let mut cells = vec![Cell::from(Span::styled(h.symbol(), style))];
            if !wide {
                cells.push(Cell::from(outcome_bar(
                    app.model.recent.get(&view.name),
                    &theme,
                )));
            }
            cells.extend([
                Cell::from(view.name.clone()),
                Cell::from(view.kind.as_str()),
                Cell::from(Span::styled(h.word(), style)),
                Cell::from(Line::from(last)),
                Cell::from(until(now, view.next_run)),
            ]);
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
    let mut name_width = (longest as u16 + 2).clamp(12, 32);
    let mut widths = vec![Constraint::Length(1)];
    let mut header = vec![""];
    if !wide {
        // The recent runs in one cell; the name gives way so that 80 columns fit.
        widths.push(Constraint::Length(1));
        header.push("");
        name_width = name_width.min(area.width.saturating_sub(NARROW_FIXED).max(12));
    }
    widths.extend([
        Constraint::Length(name_width),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(17),
        Constraint::Length(8),
    ]);
    header.extend(["NAME", "KIND", "HEALTH", "LAST RUN", "NEXT"]);
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
        app.integrations.sort.label(),
        if app.integrations.reverse {
            ", reversed"
        } else {
            ""
        }
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
    let mut state =
        TableState::default().with_selected((count > 0).then_some(app.integrations.row - first));
    frame.render_stateful_widget(table, area, &mut state);
    app.table_area = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(1),
        ..area
    };
    app.integrations.offset = first;
    if count == 0 {
        let message = if app.integrations.filter.is_empty() {
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

/// The recent runs in one cell, for narrow tables: a bar as high as the share of them
/// that succeeded (skipped ones left out), red when the last one failed, yellow when
/// another did not succeed.
fn outcome_bar(recent: Option<&VecDeque<RunStatus>>, theme: &Theme) -> Span<'static> {
    const BARS: [&str; 8] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"];
    let ended: Vec<RunStatus> = recent
        .into_iter()
        .flatten()
        .copied()
        .filter(|s| !matches!(s, RunStatus::Skipped | RunStatus::Running))
        .collect();
    let Some(last) = ended.last() else {
        return Span::raw(" ");
    };
    let succeeded = ended.iter().filter(|s| **s == RunStatus::Success).count();
    let height = (succeeded * (BARS.len() - 1) + ended.len() / 2) / ended.len();
    let style = if matches!(last, RunStatus::Failed | RunStatus::Interrupted) {
        theme.error
    } else if succeeded < ended.len() {
        theme.warn
    } else {
        theme.ok
    };
    Span::styled(BARS[height], style)
}

/// The statuses of the last runs, oldest first, one glyph each.
fn recent_runs(app: &App, name: &str, theme: &Theme) -> Line<'static> {
    let Some(recent) = app.model.recent.get(name) else {
        return Line::styled("", theme.dim);
    };
    Line::from(
        recent
            .iter()
            .skip(recent.len().saturating_sub(RUNS_SPELLED_OUT))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(statuses: &[RunStatus]) -> (String, bool, bool) {
        let theme = Theme::load("default", false).unwrap();
        let recent: VecDeque<RunStatus> = statuses.iter().copied().collect();
        let span = outcome_bar(Some(&recent), &theme);
        (
            span.content.into_owned(),
            span.style == theme.error,
            span.style == theme.warn,
        )
    }

    #[test]
    fn the_one_cell_bar_is_as_high_as_the_share_that_succeeded() {
        use RunStatus::{Failed, Skipped, Success};
        assert_eq!(bar(&[Success; 30]), ("█".into(), false, false));
        assert_eq!(bar(&[Failed; 30]), ("▁".into(), true, false));
        let mut half = vec![Failed; 15];
        half.extend([Success; 15]);
        assert_eq!(bar(&half), ("▅".into(), false, true), "earlier failures");
        half.push(Failed);
        assert!(bar(&half).1, "the last run failed");
        assert_eq!(
            bar(&[Success, RunStatus::Partial]),
            ("▅".into(), false, true)
        );
        assert_eq!(bar(&[Success, Skipped, Skipped]).0, "█", "skips left out");
        assert_eq!(bar(&[]).0, " ");
    }
}

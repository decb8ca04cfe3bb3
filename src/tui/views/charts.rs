//! Charts of one integration's stored minutes: requests and errors per minute,
//! latency percentiles, and records per minute where there is room, over the last
//! hour (or day, with the 24h window). Braille lines with labelled axes and units.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, LegendPosition};

use crate::domain::stats::{MinuteRollup, Stats};
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// Below this height the records chart is left out: requests and latency matter more.
const ROOM_FOR_THREE: u16 = 24;

/// One line of a chart: its name, style, and (minutes before now, value) points.
struct Series {
    name: &'static str,
    style: Style,
    points: Vec<(f64, f64)>,
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let span_minutes = app.metrics.chart_minutes();
    let now_minute = app.model.now.timestamp() / 60;
    let rollups: Vec<&MinuteRollup> = app
        .model
        .rollups
        .iter()
        .filter(|r| now_minute - r.minute <= span_minutes)
        .collect();
    let whose = app
        .selected_name()
        .unwrap_or_else(|| "no integration selected".to_owned());
    let points = |value: fn(&Stats) -> Option<f64>| -> Vec<(f64, f64)> {
        rollups
            .iter()
            .filter_map(|r| Some(((r.minute - now_minute) as f64, value(&r.stats)?)))
            .collect()
    };
    let traffic = [
        Series {
            name: "requests",
            style: theme.accent,
            points: points(|s| Some((s.requests_ok + s.requests_failed) as f64)),
        },
        Series {
            name: "errors",
            style: theme.error,
            points: points(|s| Some(s.requests_failed as f64)),
        },
    ];
    let latency = [
        Series {
            name: "p50",
            style: theme.ok,
            points: points(|s| s.p50_ms.map(|ms| ms as f64)),
        },
        Series {
            name: "p95",
            style: theme.warn,
            points: points(|s| s.p95_ms.map(|ms| ms as f64)),
        },
        Series {
            name: "p99",
            style: theme.error,
            points: points(|s| s.p99_ms.map(|ms| ms as f64)),
        },
    ];
    let records = [Series {
        name: "records",
        style: theme.accent,
        points: points(|s| Some(s.records as f64)),
    }];
    let span = span_minutes as f64;
    let wide = area.width >= 160;
    let three = wide || area.height >= ROOM_FOR_THREE;
    let charts: Vec<(String, &[Series], &str)> = [
        (
            format!(" {whose}: requests and errors per minute "),
            &traffic[..],
            "/min",
        ),
        (format!(" {whose}: latency "), &latency[..], "ms"),
        (
            format!(" {whose}: records per minute "),
            &records[..],
            "/min",
        ),
    ]
    .into_iter()
    .take(if three { 3 } else { 2 })
    .collect();
    let constraints = vec![Constraint::Ratio(1, charts.len() as u32); charts.len()];
    let areas = if wide {
        Layout::horizontal(constraints).split(area)
    } else {
        Layout::vertical(constraints).split(area)
    };
    for ((title, series, unit), area) in charts.iter().zip(areas.iter()) {
        // Braille draws two points per cell: more minutes than that only cost time.
        let columns = usize::from(area.width) * 2;
        let drawn: Vec<Series> = series
            .iter()
            .map(|s| Series {
                name: s.name,
                style: s.style,
                points: peaks(&s.points, span, columns),
            })
            .collect();
        frame.render_widget(chart(title, &drawn, unit, span, theme), *area);
    }
}

/// `points` (x from `-span` to 0, in order) thinned to at most `columns`: the highest
/// of each column's points, so a spike in a day of minutes still shows.
fn peaks(points: &[(f64, f64)], span: f64, columns: usize) -> Vec<(f64, f64)> {
    if points.len() <= columns || columns == 0 {
        return points.to_vec();
    }
    let column_of = |x: f64| (((x + span) / span) * (columns - 1) as f64).round() as usize;
    let mut kept: Vec<(f64, f64)> = Vec::with_capacity(columns);
    let mut last_column = usize::MAX;
    for &(x, y) in points {
        let column = column_of(x);
        match kept.last_mut() {
            Some(point) if column == last_column => point.1 = point.1.max(y),
            _ => kept.push((x, y)),
        }
        last_column = column;
    }
    kept
}

fn chart<'a>(title: &str, series: &'a [Series], unit: &str, span: f64, theme: &Theme) -> Chart<'a> {
    let highest = series
        .iter()
        .flat_map(|s| s.points.iter().map(|(_, y)| *y))
        .fold(0.0_f64, f64::max);
    // Round the top up to a figure that reads well, and never to zero.
    let top = nice_ceiling(highest.max(1.0));
    let datasets = series
        .iter()
        .map(|s| {
            Dataset::default()
                .name(s.name)
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(s.style)
                .data(&s.points)
        })
        .collect();
    let title = if series.iter().all(|s| s.points.is_empty()) {
        format!("{title}(no minute stored yet) ")
    } else {
        title.to_owned()
    };
    let ago = |minutes: f64| {
        if minutes >= 120.0 {
            format!("-{}h", (minutes / 60.0).round())
        } else {
            format!("-{minutes}m")
        }
    };
    Chart::new(datasets)
        // Top right, the default, is where the newest minutes are drawn: the legend hid
        // what an operator looks at first.
        .legend_position(Some(LegendPosition::TopLeft))
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(title)
                .border_style(theme.dim),
        )
        .x_axis(
            Axis::default()
                .style(theme.dim)
                .bounds([-span, 0.0])
                .labels([ago(span), ago(span / 2.0), "now".to_owned()].map(Line::from)),
        )
        .y_axis(Axis::default().style(theme.dim).bounds([0.0, top]).labels([
            Line::from("0"),
            Line::from(match unit {
                "ms" => super::millis(Some(top as u64)),
                _ => format!("{}{unit}", short(top)),
            }),
        ]))
}

/// 1, 2 or 5 times a power of ten, at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    let magnitude = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|step| step * magnitude)
        .find(|candidate| *candidate >= value)
        .unwrap_or(value)
}

/// "800", "2k", "1.5M".
fn short(value: f64) -> String {
    match value {
        v if v >= 1e6 => format!("{}M", v / 1e6),
        v if v >= 1e3 => format!("{}k", v / 1e3),
        v => format!("{v}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_day_of_minutes_is_thinned_to_the_columns_keeping_peaks() {
        let day: Vec<(f64, f64)> = (0..1_440)
            .map(|m| (f64::from(m) - 1_440.0, if m == 700 { 99.0 } else { 1.0 }))
            .collect();
        let thinned = super::peaks(&day, 1_440.0, 120);
        assert!(thinned.len() <= 121, "{}", thinned.len());
        assert!(
            thinned.iter().any(|(_, y)| *y == 99.0),
            "the spike survives"
        );
        let hour: Vec<(f64, f64)> = (0..60).map(|m| (f64::from(m) - 60.0, 1.0)).collect();
        assert_eq!(
            super::peaks(&hour, 60.0, 120),
            hour,
            "fewer points than columns stay"
        );
    }

    #[test]
    fn the_top_of_an_axis_is_a_round_figure() {
        assert_eq!(super::nice_ceiling(1.0), 1.0);
        assert_eq!(super::nice_ceiling(7.3), 10.0);
        assert_eq!(super::nice_ceiling(130.0), 200.0);
        assert_eq!(super::nice_ceiling(4_100.0), 5_000.0);
        assert_eq!(super::short(5_000.0), "5k");
        assert_eq!(super::short(2_000_000.0), "2M");
        assert_eq!(super::short(200.0), "200");
    }
}

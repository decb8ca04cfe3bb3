//! The Integrations pane's state: filter, sort, the selected integration, and the
//! table's order kept between frames.

use std::cell::RefCell;

use super::{moved, rows_moved, within};
use crate::engine::IntegrationView;
use crate::tui::keymap::Action;
use crate::tui::model::{Model, health};

/// Columns the integrations table sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Name,
    Kind,
    Health,
    LastRun,
    NextRun,
}

impl SortBy {
    fn next(self) -> Self {
        match self {
            Self::Name => Self::Kind,
            Self::Kind => Self::Health,
            Self::Health => Self::LastRun,
            Self::LastRun => Self::NextRun,
            Self::NextRun => Self::Name,
        }
    }

    /// Whether the order reads run times, which change with every run: it must then be
    /// kept up with every integration's times, not only with how they stand.
    pub fn by_time(self) -> bool {
        matches!(self, Self::LastRun | Self::NextRun)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Kind => "kind",
            Self::Health => "health",
            Self::LastRun => "last run",
            Self::NextRun => "next run",
        }
    }
}

#[derive(Debug, Default)]
pub struct IntegrationsPane {
    pub filter: String,
    pub sort: SortBy,
    pub reverse: bool,
    /// The selected row of the filtered, sorted table.
    pub row: usize,
    /// The selected integration by name: the table re-sorts as runs finish, and the
    /// selection follows the integration, not the row (`clamp` finds it again), so
    /// `r` runs what the operator was reading.
    pub name: Option<String>,
    /// The first row on screen.
    pub offset: usize,
    /// Whether the last frame was wide enough for the figure columns (success rate,
    /// p95): only then are the rows' figures worth fetching.
    pub figures_shown: bool,
    /// The table's rows as last filtered and sorted, and from what.
    rows: RefCell<Option<(RowsKey, Vec<usize>)>>,
}

impl IntegrationsPane {
    /// The integrations the table shows: filtered and sorted. The order is kept until
    /// the filter, the sort or what they read changes (`Model::rows_generation`).
    pub fn visible<'m>(&self, model: &'m Model) -> Vec<&'m IntegrationView> {
        let generation = model.rows_generation;
        let key = RowsKey {
            standing: generation.standing,
            times: self.sort.by_time().then_some(generation.times),
            filter: self.filter.clone(),
            sort: self.sort,
            reverse: self.reverse,
        };
        let mut cache = self.rows.borrow_mut();
        if cache.as_ref().is_none_or(|(known, _)| *known != key) {
            *cache = Some((key, self.sorted_rows(model)));
        }
        let (_, rows) = cache.as_ref().expect("filled above");
        rows.iter()
            .filter_map(|&at| model.integrations.get(at))
            .collect()
    }

    /// Positions in `model.integrations` of the rows the filter keeps, in sort order.
    fn sorted_rows(&self, model: &Model) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        let all = &model.integrations;
        let mut rows: Vec<usize> = (0..all.len())
            .filter(|&at| {
                let i = &all[at];
                needle.is_empty()
                    || i.name.to_lowercase().contains(&needle)
                    || i.kind.contains(needle.as_str())
                    || health(i).word().contains(needle.as_str())
                    || i.tags.iter().any(|t| t.to_lowercase().contains(&needle))
            })
            .collect();
        match self.sort {
            SortBy::Name => rows.sort_by(|&a, &b| all[a].name.cmp(&all[b].name)),
            SortBy::Kind => rows
                .sort_by(|&a, &b| (&all[a].kind, &all[a].name).cmp(&(&all[b].kind, &all[b].name))),
            SortBy::Health => rows.sort_by(|&a, &b| {
                (health(&all[a]), &all[a].name).cmp(&(health(&all[b]), &all[b].name))
            }),
            SortBy::LastRun => rows.sort_by_key(|&at| std::cmp::Reverse(all[at].state.last_run_at)),
            SortBy::NextRun => rows.sort_by_key(|&at| {
                all[at]
                    .next_run
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
            }),
        }
        if self.reverse {
            rows.reverse();
        }
        rows
    }

    pub fn selected<'m>(&self, model: &'m Model) -> Option<&'m IntegrationView> {
        let rows = self.visible(model);
        rows.get(within(self.row, rows.len())).copied()
    }

    /// Whether `action` was the pane's to handle.
    pub fn on_action(&mut self, action: Action, model: &Model) -> bool {
        match action {
            Action::Sort => self.sort = self.sort.next(),
            Action::SortReverse => self.reverse = !self.reverse,
            _ => match rows_moved(action) {
                Some(by) => self.select_row(moved(self.row, by), model),
                None => return false,
            },
        }
        self.clamp(model);
        true
    }

    /// Selects the integration on `row` of the table (clamped to the rows there are).
    pub fn select_row(&mut self, row: usize, model: &Model) {
        let (row, name) = row_and_name(&self.visible(model), row);
        self.row = row;
        self.name = name;
    }

    /// Filters the table by `text`. The selected integration stays selected if the
    /// filter keeps it; else the first match is.
    pub fn set_filter(&mut self, text: String, model: &Model) {
        self.filter = text;
        self.row = 0;
        self.clamp(model);
    }

    /// Keeps the selection in range after the data, filter or sort changed: the
    /// selected integration's row is found again by name; if it is gone (filtered out,
    /// removed by a reload), the row at the same place is selected.
    pub fn clamp(&mut self, model: &Model) {
        // One sort of the rows: with 10,000 of them it is most of this.
        let rows = self.visible(model);
        let found = self
            .name
            .as_ref()
            .and_then(|name| rows.iter().position(|view| &view.name == name));
        let (row, name) = row_and_name(&rows, found.unwrap_or(self.row));
        self.row = row;
        self.name = name;
    }

    /// The integrations around the selection that a table `height` rows high can show
    /// as the operator scrolls: whose figures are worth fetching.
    pub fn names_around(&self, model: &Model, height: u16) -> Vec<String> {
        let height = usize::from(height.max(24));
        self.visible(model)
            .iter()
            .skip(self.row.saturating_sub(height))
            .take(height * 2)
            .map(|v| v.name.clone())
            .collect()
    }
}

/// `row` clamped to `rows`, and the name of the integration there.
fn row_and_name(rows: &[&IntegrationView], row: usize) -> (usize, Option<String>) {
    let row = within(row, rows.len());
    (row, rows.get(row).map(|view| view.name.clone()))
}

/// What the table's order was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct RowsKey {
    standing: u64,
    /// Only when sorted by a time.
    times: Option<u64>,
    filter: String,
    sort: SortBy,
    reverse: bool,
}

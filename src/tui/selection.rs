//! What the console shows and points at: the integrations, runs and alerts visible
//! under the filter and sort, the selected one, and keeping the selection in range.

use std::sync::Arc;

use super::app::{App, Drill, SortBy};
use super::model::{Health, health};
use crate::domain::Alert;
use crate::domain::run::RunRecord;
use crate::domain::trace::RequestTrace;
use crate::engine::IntegrationView;
use crate::telemetry::LogEvent;

impl App {
    /// The integrations the table shows: filtered and sorted. The order is kept until
    /// the filter, the sort or what they read changes (`Model::rows_generation`).
    pub fn visible_integrations(&self) -> Vec<&IntegrationView> {
        let by_time = self.sort.by_time();
        let generation = self.model.rows_generation;
        let key = RowsKey {
            standing: generation.standing,
            times: by_time.then_some(generation.times),
            filter: self.filter.clone(),
            sort: self.sort,
            reverse: self.sort_reverse,
        };
        let mut cache = self.rows.borrow_mut();
        if cache.as_ref().is_none_or(|(known, _)| *known != key) {
            *cache = Some((key, self.sorted_rows()));
        }
        let (_, rows) = cache.as_ref().expect("filled above");
        rows.iter()
            .filter_map(|&at| self.model.integrations.get(at))
            .collect()
    }

    /// Positions in `model.integrations` of the rows the filter keeps, in sort order.
    fn sorted_rows(&self) -> Vec<usize> {
        let needle = self.filter.to_lowercase();
        let all = &self.model.integrations;
        let mut rows: Vec<usize> = (0..all.len())
            .filter(|&at| {
                let i = &all[at];
                needle.is_empty()
                    || i.name.to_lowercase().contains(&needle)
                    || i.kind.contains(needle.as_str())
                    || self.health_of(i).word().contains(needle.as_str())
                    || i.tags.iter().any(|t| t.to_lowercase().contains(&needle))
            })
            .collect();
        match self.sort {
            SortBy::Name => rows.sort_by(|&a, &b| all[a].name.cmp(&all[b].name)),
            SortBy::Kind => rows
                .sort_by(|&a, &b| (&all[a].kind, &all[a].name).cmp(&(&all[b].kind, &all[b].name))),
            SortBy::Health => rows.sort_by(|&a, &b| {
                (self.health_of(&all[a]), &all[a].name)
                    .cmp(&(self.health_of(&all[b]), &all[b].name))
            }),
            SortBy::LastRun => rows.sort_by_key(|&at| std::cmp::Reverse(all[at].state.last_run_at)),
            SortBy::NextRun => rows.sort_by_key(|&at| {
                all[at]
                    .next_run
                    .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
            }),
        }
        if self.sort_reverse {
            rows.reverse();
        }
        rows
    }

    pub fn selected(&self) -> Option<&IntegrationView> {
        let rows = self.visible_integrations();
        rows.get(self.selected_integration.min(rows.len().saturating_sub(1)))
            .copied()
    }

    pub(super) fn selected_name(&self) -> Option<String> {
        match self.drill.last() {
            Some(Drill::Integration(name) | Drill::Preview(name)) => Some(name.clone()),
            Some(Drill::Run(run) | Drill::Request(run, _)) => Some(run.integration.clone()),
            Some(Drill::Audit) | None => self.selected().map(|i| i.name.clone()),
        }
    }

    /// The Logs pane's lines: the level, scope and search filters applied, oldest first.
    pub fn visible_logs(&self) -> Vec<&LogEvent> {
        let focus = (!self.scope_all).then(|| self.focus_name()).flatten();
        let view = &self.logs;
        self.model
            .logs
            .iter()
            .filter(|e| view.min_level.is_none_or(|min| e.level <= min))
            .filter(|e| {
                focus
                    .as_ref()
                    .is_none_or(|f| e.integration.as_ref() == Some(f))
            })
            .filter(|e| {
                view.search.is_empty()
                    || e.message.contains(&view.search)
                    || e.integration
                        .as_deref()
                        .is_some_and(|i| i.contains(&view.search))
            })
            .collect()
    }

    /// Where the Logs pane's lines end: all of them when following, else as far as
    /// scrolled up. The line before it, the bottom one on screen, is the one Enter
    /// opens.
    pub fn logs_end(&self, shown: usize) -> usize {
        shown.saturating_sub(if self.logs.follow {
            0
        } else {
            self.logs.scroll
        })
    }

    /// The traced requests of `run`, once loaded.
    pub fn run_requests(&self, run: &RunRecord) -> Option<&[RequestTrace]> {
        match &self.model.run_requests {
            Some((id, requests)) if *id == run.id => Some(requests),
            _ => None,
        }
    }

    /// History rows: all runs, or the selected integration's.
    pub fn visible_runs(&self) -> Vec<&Arc<RunRecord>> {
        let only = (!self.scope_all).then(|| self.selected_name()).flatten();
        self.model
            .runs
            .iter()
            .filter(|r| only.as_ref().is_none_or(|name| &r.integration == name))
            .collect()
    }

    /// The integration the metrics pane and scoped views are about.
    pub fn focus_name(&self) -> Option<String> {
        self.selected_name()
    }

    /// The alerts pane's rows: firing (most severe first), then resolved, newest first.
    pub fn visible_alerts(&self) -> Vec<&Alert> {
        let alerts = &self.model.alerts;
        alerts.firing.iter().chain(&alerts.recent).collect()
    }

    /// The integrations whose figures are on screen: the table's rows around the
    /// selection (the Metrics pane asks the engine for its figures on its own).
    pub fn names_on_screen(&self) -> Vec<String> {
        let rows = self.visible_integrations();
        let height = usize::from(self.table_area.height.max(24));
        let first = self.selected_integration.saturating_sub(height);
        rows.iter()
            .skip(first)
            .take(height * 2)
            .map(|v| v.name.clone())
            .collect()
    }

    /// Selects the integration on `row` of the table (clamped to the rows there are).
    pub(super) fn select_integration_row(&mut self, row: usize) {
        let (row, name) = row_and_name(&self.visible_integrations(), row);
        self.selected_integration = row;
        self.selected_name = name;
    }

    /// Keeps every selection in range after the data, filter or sort changed: the
    /// selected integration's row is found again by name; if it is gone (filtered out,
    /// removed by a reload), the row at the same place is selected.
    pub fn clamp(&mut self) {
        // One sort of the rows: with 10,000 of them it is most of this.
        let rows = self.visible_integrations();
        let found = self
            .selected_name
            .as_ref()
            .and_then(|name| rows.iter().position(|view| &view.name == name));
        let (row, name) = row_and_name(&rows, found.unwrap_or(self.selected_integration));
        drop(rows);
        self.selected_integration = row;
        self.selected_name = name;
        let runs = self.visible_runs().len();
        self.selected_run = self.selected_run.min(runs.saturating_sub(1));
        let alerts = self.visible_alerts().len();
        self.selected_alert = self.selected_alert.min(alerts.saturating_sub(1));
        self.logs.scroll = self.logs.scroll.min(self.model.logs.len());
    }

    pub fn health_of(&self, view: &IntegrationView) -> Health {
        health(view)
    }
}

/// `row` clamped to `rows`, and the name of the integration there.
fn row_and_name(rows: &[&IntegrationView], row: usize) -> (usize, Option<String>) {
    let row = row.min(rows.len().saturating_sub(1));
    (row, rows.get(row).map(|view| view.name.clone()))
}

/// What the table's order was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RowsKey {
    standing: u64,
    /// Only when sorted by a time.
    times: Option<u64>,
    filter: String,
    sort: SortBy,
    reverse: bool,
}

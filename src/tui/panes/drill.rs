//! The views opened over a pane with Enter, stacked (an integration, one of its runs,
//! one request of that run), and how far the top one is scrolled.

use std::sync::Arc;

use super::{moved, rows_moved};
use crate::domain::run::RunRecord;
use crate::tui::keymap::Action;
use crate::tui::model::Model;

/// A view opened over the pane with Enter; Esc closes it.
#[derive(Debug, Clone)]
pub enum Drill {
    Integration(String),
    Run(Arc<RunRecord>),
    /// One traced request of a run: its headers and the start of its body.
    Request(Arc<RunRecord>, usize),
    /// A source's first records after the pipeline, and what would become of each.
    Preview(String),
    /// The audit log (`:audit`): who did what, to what, when, from where.
    Audit,
}

impl Drill {
    /// The integration the view is about, if it is about one.
    pub fn integration(&self) -> Option<&str> {
        match self {
            Self::Integration(name) | Self::Preview(name) => Some(name),
            Self::Run(run) | Self::Request(run, _) => Some(&run.integration),
            Self::Audit => None,
        }
    }
}

#[derive(Debug, Default)]
pub struct DrillStack {
    views: Vec<Drill>,
    /// How far the top view is scrolled.
    pub scroll: usize,
    /// The traced request selected in a run view.
    pub request: usize,
}

impl DrillStack {
    pub fn last(&self) -> Option<&Drill> {
        self.views.last()
    }

    pub fn len(&self) -> usize {
        self.views.len()
    }

    pub fn is_empty(&self) -> bool {
        self.views.is_empty()
    }

    /// Opens `drill` over the others, at its top.
    pub fn push(&mut self, drill: Drill) {
        self.views.push(drill);
        self.scroll = 0;
    }

    pub fn pop(&mut self) -> Option<Drill> {
        self.scroll = 0;
        self.views.pop()
    }

    pub fn clear(&mut self) {
        self.views.clear();
        self.scroll = 0;
    }

    /// What `action` does to the open views: `false` when none is open or it is not
    /// theirs to handle. Up and down in a run's requests pick one, as in a browser's
    /// network tab, and Enter opens it; elsewhere the moves scroll.
    pub fn on_action(&mut self, action: Action, model: &Model) -> bool {
        let Some(top) = self.views.last() else {
            return false;
        };
        let requests = match top {
            Drill::Run(run) => model.requests_of(run.id).map_or(0, <[_]>::len),
            _ => 0,
        };
        if action == Action::Open {
            if let Drill::Run(run) = top
                && requests > 0
            {
                let open = Drill::Request(Arc::clone(run), self.request);
                self.push(open);
            }
            return true;
        }
        let Some(by) = rows_moved(action) else {
            return false;
        };
        if requests > 0 && by.abs() == 1 {
            self.request = moved(self.request, by).min(requests - 1);
        } else {
            self.scroll = moved(self.scroll, by);
        }
        true
    }
}

//! A page of records as a source hands it to its run: values, or, when the run said it
//! builds no values (no transform reshapes or filters its records), their canonical
//! JSON lines, each with its primary key's text. A run whose outputs only send JSON
//! (files, webhooks) then never builds a record as a tree of values.

use serde_json::Value;

use super::JsonLines;

#[derive(Debug)]
pub enum Page {
    Values(Vec<Value>),
    Lines(KeyedLines),
}

/// Canonical JSON lines and, for each, the text of its primary key, if it has one.
#[derive(Debug, Default)]
pub struct KeyedLines {
    pub json: JsonLines,
    pub keys: Vec<Option<String>>,
}

impl From<Vec<Value>> for Page {
    fn from(values: Vec<Value>) -> Self {
        Self::Values(values)
    }
}

impl Page {
    pub fn len(&self) -> usize {
        match self {
            Self::Values(values) => values.len(),
            Self::Lines(lines) => lines.json.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The records as values, parsed from their lines if need be.
    pub fn into_values(self) -> Vec<Value> {
        match self {
            Self::Values(values) => values,
            Self::Lines(lines) => super::Records::from_json(lines.json).into_values(),
        }
    }
}

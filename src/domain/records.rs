//! A page of records on its way to the outputs, with each record's JSON text made at
//! most once: change detection hashes that text, and the outputs that send JSON (files,
//! webhooks) send the same bytes instead of serialising every record again. Serialising
//! twice was a fifth of a keyed extraction's CPU. Records that came as text
//! (`Page::Lines`) are built as values only if an output asks for them.

use std::ops::Range;
use std::sync::OnceLock;

use serde_json::Value;

/// Records as JSON text, each followed by a newline.
#[derive(Debug, Default)]
pub struct JsonLines {
    text: Vec<u8>,
    /// Where each record's line ends, its newline included.
    ends: Vec<usize>,
}

impl JsonLines {
    /// Room for `records` lines of about 128 bytes: a page's buffer grows once or
    /// twice, not a dozen times from empty.
    pub fn with_capacity(records: usize) -> Self {
        Self {
            text: Vec::with_capacity(records.saturating_mul(128)),
            ends: Vec::with_capacity(records),
        }
    }

    fn of(values: &[Value]) -> Self {
        let mut lines = Self::with_capacity(values.len());
        for value in values {
            lines.push(value);
        }
        lines
    }

    /// Appends `value` as a line; returns its text without the newline.
    pub fn push(&mut self, value: &Value) -> &[u8] {
        let start = self.text.len();
        // A `Value` always serialises: its keys are strings and its numbers finite.
        serde_json::to_writer(&mut self.text, value).expect("JSON values serialise");
        let end = self.text.len();
        self.text.push(b'\n');
        self.ends.push(self.text.len());
        &self.text[start..end]
    }

    /// Appends the canonical text of the JSON value `text` (`domain::canonical`) as a
    /// line, and returns the scalar text of each top-level member named in `fields`.
    /// On an error nothing is appended.
    pub fn push_canonical(
        &mut self,
        text: &str,
        fields: &[&str],
    ) -> Result<Vec<Option<String>>, serde_json::Error> {
        let start = self.text.len();
        match super::canonical::canonical(text, &mut self.text, fields) {
            Ok(found) => {
                self.text.push(b'\n');
                self.ends.push(self.text.len());
                Ok(found)
            }
            Err(error) => {
                self.text.truncate(start);
                Err(error)
            }
        }
    }

    /// Appends a line of another's, `at`.
    pub fn push_from(&mut self, other: &JsonLines, at: usize) {
        self.text.extend_from_slice(other.record(at));
        self.text.push(b'\n');
        self.ends.push(self.text.len());
    }

    /// Takes back the line pushed last.
    pub fn pop(&mut self) {
        self.ends.pop();
        self.text.truncate(self.ends.last().copied().unwrap_or(0));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Every record, one per line.
    pub fn as_bytes(&self) -> &[u8] {
        &self.text
    }

    /// Each record's text, without its newline.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|at| self.record(at))
    }

    /// One record's text, without its newline.
    pub fn record(&self, at: usize) -> &[u8] {
        let start = at.checked_sub(1).map_or(0, |before| self.ends[before]);
        &self.text[start..self.ends[at] - 1]
    }

    /// The records in `range` as one JSON array.
    pub fn array(&self, range: Range<usize>) -> Vec<u8> {
        let mut body = Vec::with_capacity(2 + range.len() * 128);
        body.push(b'[');
        for at in range {
            if body.len() > 1 {
                body.push(b',');
            }
            body.extend_from_slice(self.record(at));
        }
        body.push(b']');
        body
    }
}

/// Records as values, as JSON text, or both: each made from the other when an output
/// first asks for it.
#[derive(Debug)]
pub struct Records {
    values: OnceLock<Vec<Value>>,
    json: OnceLock<JsonLines>,
}

impl Records {
    /// Records whose text is made when an output first asks for it.
    pub fn new(values: Vec<Value>) -> Self {
        Self {
            values: OnceLock::from(values),
            json: OnceLock::new(),
        }
    }

    /// Records with their text already made, a line for each, in order.
    pub fn with_json(values: Vec<Value>, json: JsonLines) -> Self {
        debug_assert_eq!(values.len(), json.len(), "a line for each record");
        Self {
            values: OnceLock::from(values),
            json: OnceLock::from(json),
        }
    }

    /// Records that are JSON text only (file and webhook outputs never build values).
    /// Each line must be one JSON value, as `JsonLines` makes them.
    pub fn from_json(json: JsonLines) -> Self {
        Self {
            values: OnceLock::new(),
            json: OnceLock::from(json),
        }
    }

    pub fn values(&self) -> &[Value] {
        self.values.get_or_init(|| {
            let json = self.json.get().map(JsonLines::lines).into_iter().flatten();
            // Each line was written from a value (`push`) or checked while made
            // canonical (`push_canonical`), within the parser's nesting limit.
            json.map(|line| serde_json::from_slice(line).expect("a line is one JSON value"))
                .collect()
        })
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values();
        self.values.into_inner().unwrap_or_default()
    }

    pub fn json(&self) -> &JsonLines {
        self.json
            .get_or_init(|| JsonLines::of(self.values.get().map_or(&[], Vec::as_slice)))
    }

    pub fn len(&self) -> usize {
        match (self.values.get(), self.json.get()) {
            (Some(values), _) => values.len(),
            (None, Some(json)) => json.len(),
            (None, None) => 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "\\PC{0,8}".prop_map(Value::from),
        ];
        crate::domain::arbitrary::json(leaf, "\\PC{0,4}")
    }

    proptest! {
        /// The text made once is the text each record serialises to: lines, single
        /// records and arrays read back as the values.
        #[test]
        fn lines_records_and_arrays_are_the_values_text(values in proptest::collection::vec(value(), 0..8)) {
            let records = Records::new(values.clone());
            let json = records.json();
            prop_assert_eq!(json.len(), values.len());
            for (at, value) in values.iter().enumerate() {
                let text = serde_json::to_vec(value).unwrap();
                prop_assert_eq!(json.record(at), text.as_slice());
            }
            let lines: Vec<Value> = json
                .as_bytes()
                .split(|b| *b == b'\n')
                .filter(|line| !line.is_empty())
                .map(|line| serde_json::from_slice(line).unwrap())
                .collect();
            prop_assert_eq!(&lines, &values);
            let array: Vec<Value> = serde_json::from_slice(&json.array(0..values.len())).unwrap();
            prop_assert_eq!(array, values);
        }
    }

    #[test]
    fn a_line_taken_back_leaves_the_others() {
        let mut lines = JsonLines::default();
        assert_eq!(lines.push(&json!({"a": 1})), br#"{"a":1}"#);
        lines.push(&json!([2]));
        lines.pop();
        lines.push(&json!("three"));
        assert_eq!(lines.as_bytes(), b"{\"a\":1}\n\"three\"\n");
        assert_eq!(lines.array(1..2), br#"["three"]"#);
        assert_eq!(lines.array(0..0), b"[]");
    }
}

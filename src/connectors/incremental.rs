//! The incremental cursor a run earns: the largest `cursor_field` it fetched, but only
//! when no record between the old cursor and that value can have been skipped.
//!
//! A run that read every page has seen everything up to its largest value. A run that
//! stopped early (a page failed, `max_pages`, a pagination loop) has not: on an API that
//! lists newest first, page 1 holds the newest records, and moving the cursor there
//! would skip the older ones on the pages never fetched, for good. Only a source that
//! declares `order = "ascending"` may keep such a run's progress, because everything it
//! did not fetch sorts after what it did. dlt's `row_order` and Airbyte's
//! `is_data_feed` answer the same question.

use serde_json::Value;

pub use crate::config::kinds::http::Order;

/// How far a run read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every page, to the last one the server offered.
    End,
    /// Stopped before the last page: a page failed, `max_pages`, or a loop.
    Cut,
}

/// Follows the largest `cursor_field` page by page and decides what the run earned.
#[derive(Debug)]
pub struct Watermark {
    field: String,
    order: Option<Order>,
    stored: Option<String>,
    largest: Option<String>,
}

impl Watermark {
    /// Starts from the stored cursor (`None` on the first run).
    pub fn new(field: &str, order: Option<Order>, stored: Option<String>) -> Self {
        Self {
            field: field.to_owned(),
            order,
            largest: stored.clone(),
            stored,
        }
    }

    /// The field the cursor follows.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Takes in one page that was fetched whole and handed to the outputs.
    pub fn page(&mut self, records: &[Value]) {
        for record in records {
            if let Some(value) = record.get(&self.field).and_then(scalar_text) {
                self.offer(value);
            }
        }
    }

    /// Takes in one record's `field`, as `scalar_text` gives it, from a page fetched
    /// whole and handed to the outputs.
    pub fn offer(&mut self, value: String) {
        if self
            .largest
            .as_deref()
            .is_none_or(|largest| compare(&value, largest).is_gt())
        {
            self.largest = Some(value);
        }
    }

    /// The cursor to store if every output accepts the records: the largest value seen
    /// when that is safe, else the stored cursor unchanged.
    pub fn earned(self, reach: Reach) -> Option<String> {
        match (reach, self.order) {
            (Reach::End, _) | (Reach::Cut, Some(Order::Ascending)) => self.largest,
            (Reach::Cut, Some(Order::Descending) | None) => self.stored,
        }
    }
}

/// A string or number as text; other JSON values are not cursors.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Cursor values compare as numbers or RFC 3339 times when both are, else as text.
pub fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    if let (Ok(x), Ok(y)) = (a.parse::<f64>(), b.parse::<f64>()) {
        return x.total_cmp(&y);
    }
    if let (Ok(x), Ok(y)) = (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        return x.cmp(&y);
    }
    a.cmp(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pages(order: Option<Order>, stored: Option<&str>, reach: Reach) -> Option<String> {
        let mut mark = Watermark::new("at", order, stored.map(str::to_owned));
        // Newest first: page 1 holds the largest values.
        mark.page(&[json!({"at": 9}), json!({"at": 8})]);
        mark.page(&[json!({"at": 7}), json!({"at": null}), json!({})]);
        mark.earned(reach)
    }

    #[test]
    fn a_run_that_read_to_the_end_earns_its_largest_value_whatever_the_order() {
        for order in [None, Some(Order::Ascending), Some(Order::Descending)] {
            assert_eq!(pages(order, Some("3"), Reach::End), Some("9".into()));
        }
    }

    #[test]
    fn a_cut_run_keeps_the_stored_cursor_unless_the_source_is_ascending() {
        assert_eq!(pages(None, Some("3"), Reach::Cut), Some("3".into()));
        assert_eq!(
            pages(Some(Order::Descending), Some("3"), Reach::Cut),
            Some("3".into())
        );
        assert_eq!(pages(None, None, Reach::Cut), None);
    }

    #[test]
    fn an_ascending_cut_run_earns_the_largest_value_of_its_pages() {
        let mut mark = Watermark::new("at", Some(Order::Ascending), Some("2".into()));
        mark.page(&[json!({"at": 3}), json!({"at": 4})]);
        mark.page(&[json!({"at": 5}), json!({"at": 5})]);
        assert_eq!(mark.earned(Reach::Cut), Some("5".into()));
    }

    #[test]
    fn the_cursor_never_moves_back() {
        let mut mark = Watermark::new("at", None, Some("2024-06-01T00:00:00Z".into()));
        mark.page(&[json!({"at": "2024-01-01T00:00:00Z"})]);
        assert_eq!(mark.earned(Reach::End), Some("2024-06-01T00:00:00Z".into()));
    }

    #[test]
    fn cursors_compare_as_numbers_times_or_text() {
        use std::cmp::Ordering::*;
        assert_eq!(compare("9", "10"), Less);
        assert_eq!(
            compare("2024-01-01T00:00:00Z", "2024-01-01T01:00:00+02:00"),
            Greater
        );
        assert_eq!(compare("b", "a"), Greater);
    }
}

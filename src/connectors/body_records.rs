//! Splitting a page's JSON body at its records without building them: the records of
//! `$.data[*]` are found as spans of the body's text, and the rest of the document (the
//! next cursor, an error field) is built as a value for the paths that read it.

use std::fmt;
use std::ops::Range;

use crate::domain::{JsonLines, KeyedLines};
use bytes::Bytes;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A page's body split at its records.
#[derive(Debug)]
pub struct Split {
    /// The document, its records array left empty.
    pub document: Value,
    /// Where each record's text is in the body.
    pub records: Vec<Range<usize>>,
}

/// Splits `text` at the array that `members` name (`["data"]` for `$.data[*]`).
///
/// `None` when the text is not JSON, or is not that shape: a member on the way is not
/// an object, or is named twice, or the records are not an array. The caller then
/// parses the whole body, which gives the error, or the records that a JSONPath finds
/// in such a document (an object's members, the last of repeated names).
pub fn split(text: &str, members: &[String]) -> Option<Split> {
    let mut records = Vec::new();
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let document = Walk {
        members,
        records: &mut records,
    }
    .deserialize(&mut deserializer)
    .ok()?;
    deserializer.end().ok()?;
    let start = text.as_ptr() as usize;
    let records = records
        .into_iter()
        .map(|raw| {
            let at = raw.get().as_ptr() as usize - start;
            at..at + raw.get().len()
        })
        .collect();
    Some(Split { document, records })
}

/// A page's records as JSON texts inside its body.
#[derive(Debug)]
pub struct RecordTexts {
    body: Bytes,
    spans: Vec<Range<usize>>,
}

impl RecordTexts {
    /// `None` if a span is not inside `body`.
    pub fn new(body: Bytes, spans: Vec<Range<usize>>) -> Option<Self> {
        spans
            .iter()
            .all(|span| span.start <= span.end && span.end <= body.len())
            .then_some(Self { body, spans })
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// The records as canonical JSON lines (`domain::canonical`), with the text of each
    /// record's top-level `key` and `cursor` members, if asked for and scalar. An error
    /// names the record that is not JSON, as `parse` does.
    pub fn lines(
        &self,
        key: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<(KeyedLines, Vec<Option<String>>), String> {
        let fields: Vec<&str> = key.into_iter().chain(cursor).collect();
        let mut lines = KeyedLines {
            json: JsonLines::with_capacity(self.len()),
            keys: Vec::with_capacity(self.len()),
        };
        let mut cursors = Vec::with_capacity(if cursor.is_some() { self.len() } else { 0 });
        for at in 0..self.len() {
            let mut found = lines
                .json
                .push_canonical(self.text(at)?, &fields)
                .map_err(|e| not_json(at, &e))?
                .into_iter();
            lines.keys.push(key.and_then(|_| found.next()).flatten());
            if cursor.is_some() {
                cursors.push(found.next().flatten());
            }
        }
        Ok((lines, cursors))
    }

    /// The records as values. An error names the record that is not JSON: the split
    /// finds a record's end without parsing it, so a record nested deeper than the
    /// parser allows is found whole, and refused here.
    pub fn parse(&self) -> Result<Vec<Value>, String> {
        (0..self.len())
            .map(|at| serde_json::from_str(self.text(at)?).map_err(|e| not_json(at, &e)))
            .collect()
    }

    /// Record `at`'s text. UTF-8 is checked once for the whole record, which is then
    /// read as a `str`: faster than reading bytes, which checks each string on its own.
    fn text(&self, at: usize) -> Result<&str, String> {
        std::str::from_utf8(&self.body[self.spans[at].clone()]).map_err(|e| not_json(at, &e))
    }
}

/// Why record `at` (from 0) of a page is not JSON, naming it from 1.
fn not_json(at: usize, error: &dyn fmt::Display) -> String {
    format!("record {}: {error}", at + 1)
}

/// Walks down `members` to the records array, building everything beside the way.
struct Walk<'w, 'de> {
    members: &'w [String],
    records: &'w mut Vec<&'de RawValue>,
}

impl<'de> DeserializeSeed<'de> for Walk<'_, 'de> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        if self.members.is_empty() {
            deserializer.deserialize_seq(self)
        } else {
            deserializer.deserialize_map(self)
        }
    }
}

impl<'de> Visitor<'de> for Walk<'_, 'de> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.members.first() {
            Some(name) => write!(f, "an object with `{name}`"),
            None => f.write_str("an array of records"),
        }
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        while let Some(record) = seq.next_element::<&'de RawValue>()? {
            self.records.push(record);
        }
        Ok(Value::Array(Vec::new()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let (next, rest) = self
            .members
            .split_first()
            .ok_or_else(|| de::Error::custom("records are not an array"))?;
        let mut fields = Map::new();
        let mut walked = false;
        while let Some(name) = map.next_key::<String>()? {
            let value = if name == *next {
                if walked {
                    return Err(de::Error::custom(format!("`{next}` is named twice")));
                }
                walked = true;
                map.next_value_seed(Walk {
                    members: rest,
                    records: &mut *self.records,
                })?
            } else {
                map.next_value::<Value>()?
            };
            fields.insert(name, value);
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jsonpath::JsonPathExpr;
    use proptest::prelude::*;

    fn split(text: &str, members: &[&str]) -> Option<Split> {
        let members: Vec<String> = members.iter().map(|m| (*m).to_owned()).collect();
        super::split(text, &members)
    }

    /// What a JSONPath finds in the whole document: the records and what is left.
    fn by_path(text: &str, path: &str) -> (Vec<Value>, Value) {
        let mut document: Value = serde_json::from_str(text).unwrap();
        let path = JsonPathExpr::parse(path).unwrap();
        let records = path.locate(&document).take_from(&mut document);
        (records, document)
    }

    fn texts(text: &str, split: &Split) -> Vec<Value> {
        split
            .records
            .iter()
            .map(|span| serde_json::from_str(&text[span.clone()]).unwrap())
            .collect()
    }

    #[test]
    fn records_are_found_where_the_path_finds_them() {
        let text =
            r#"{ "meta": {"next": "c2"}, "data": [ {"id": 1, "s": "a\"]"}, 2 , [3] ], "x": 1 }"#;
        let split = split(text, &["data"]).unwrap();
        let (records, _) = by_path(text, "$.data[*]");
        assert_eq!(texts(text, &split), records);
        assert_eq!(
            split.document,
            serde_json::json!({"meta": {"next": "c2"}, "data": [], "x": 1})
        );
        let top = r#"[{"id": 1}, {"id": 2}]"#;
        assert_eq!(texts(top, &split_top(top)), by_path(top, "$[*]").0);
    }

    fn split_top(text: &str) -> Split {
        split(text, &[]).unwrap()
    }

    #[test]
    fn texts_parse_into_their_values_and_bad_spans_are_refused() {
        let body = Bytes::from_static(br#"{"data":[{"id":1},"two",[3]]}"#);
        let texts = RecordTexts::new(body.clone(), vec![9..17, 18..23, 24..27]).unwrap();
        assert_eq!(
            texts.parse().unwrap(),
            [
                serde_json::json!({"id": 1}),
                serde_json::json!("two"),
                serde_json::json!([3])
            ]
        );
        assert!(RecordTexts::new(body.clone(), vec![9..17, 18..40]).is_none());
        let broken = RecordTexts::new(body, vec![9..12, 18..23]).unwrap();
        let error = broken.parse().unwrap_err();
        assert!(error.starts_with("record 1: "), "{error}");
    }

    #[test]
    fn other_shapes_are_left_to_the_whole_parse() {
        for text in [
            r#"{"data": {"a": 1}}"#,
            r#"{"data": [1], "data": [2]}"#,
            r#"[{"data": [1]}]"#,
            r#"{"data": [1]"#,
            r#"{"data": [1]} trailing"#,
            "",
        ] {
            assert!(split(text, &["data"]).is_none(), "{text}");
        }
        let missing = split(r#"{"other": [1]}"#, &["data"]).unwrap();
        assert!(missing.records.is_empty());
    }

    fn json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "[a\"\\\\\\]\\[{}é]{0,6}".prop_map(Value::from),
        ];
        crate::domain::arbitrary::json(leaf, "[a-d]{1,2}")
    }

    proptest! {
        /// Wherever the split answers, it finds the records the JSONPath finds, as text
        /// that parses to them, and leaves the document the path leaves (its records'
        /// places aside); whitespace and escapes in the text change nothing.
        #[test]
        fn a_split_agrees_with_the_path(
            doc in json(),
            records in proptest::collection::vec(json(), 0..5),
            pretty in any::<bool>(),
        ) {
            let mut doc = match doc {
                Value::Object(fields) => Value::Object(fields),
                other => serde_json::json!({"a": other}),
            };
            doc["data"] = Value::Array(records);
            let text = if pretty {
                serde_json::to_string_pretty(&doc).unwrap()
            } else {
                serde_json::to_string(&doc).unwrap()
            };
            let split = split(&text, &["data"]).unwrap();
            let (found, mut left) = by_path(&text, "$.data[*]");
            prop_assert_eq!(texts(&text, &split), found);
            left["data"] = Value::Array(Vec::new());
            prop_assert_eq!(split.document, left);
        }

        /// Any text: the split never panics, and never finds records the path does not.
        #[test]
        fn any_text_splits_safely(text in "[\\[\\]{}\",:a-c0-9 \\\\]{0,40}") {
            if let Some(split) = split(&text, &["a"]) {
                let (records, _) = by_path(&text, "$.a[*]");
                prop_assert_eq!(texts(&text, &split), records);
            }
        }
    }
}

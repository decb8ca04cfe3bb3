//! A serde `Deserializer` over toml's spanned document tree.
//!
//! toml's own deserializer stops at the first error and, for typed values nested in
//! tables, often cannot say where the error is. Walking the spanned tree ourselves lets
//! the loader report *every* unknown key (with a suggestion taken from serde's own list
//! of field names) and locate every type error at the exact value that caused it.

use std::cell::RefCell;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::mismatch::{Mismatch, find_literal};
use super::problem::Problem;
use crate::domain::did_you_mean;

pub type Value<'i> = Spanned<DeValue<'i>>;

/// An error raised while decoding one value, located at the innermost value it concerns.
#[derive(Debug, Clone)]
pub struct DecodeError {
    pub message: String,
    pub span: Option<Range<usize>>,
    pub help: Option<String>,
    /// Set once the error is said in terms of the key whose value is wrong.
    keyed: bool,
}

impl DecodeError {
    pub fn into_problem(self) -> Problem {
        let problem = Problem::error(self.message, self.span);
        match self.help {
            Some(help) => problem.with_help(help),
            None => problem,
        }
    }

    fn located(mut self, span: &Range<usize>) -> Self {
        self.span.get_or_insert_with(|| span.clone());
        self
    }

    /// Says a type error in the user's words, naming `key`: "`page_size` must be a
    /// whole number, without quotes". serde's "invalid type: string \"100\", expected
    /// u64" from inside a tagged table carries no location; the value it quotes is
    /// looked up under `value` to point at it.
    fn keyed(mut self, key: &str, value: &Value<'_>) -> Self {
        if self.keyed {
            return self;
        }
        let Some(mismatch) = Mismatch::parse(&self.message) else {
            return self;
        };
        let (key, span) = match (&self.span, mismatch.literal.as_deref()) {
            (None, Some(literal)) => match find_literal(value, literal) {
                Some((inner_key, span)) => (inner_key, Some(span)),
                None => (key.to_owned(), None),
            },
            _ => (key.to_owned(), self.span.clone()),
        };
        self.message = format!("`{key}` must be {}", mismatch.expected_words());
        if mismatch.found == "string" && mismatch.unquoted_would_fit() {
            self.message.push_str(", without quotes");
            if let Some(literal) = &mismatch.literal {
                self.help = Some(format!("write `{key} = {literal}`"));
            }
        } else {
            self.help = Some(format!("found {}", mismatch.found_words()));
        }
        self.span = span.or(self.span);
        self.keyed = true;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self {
            message: msg.to_string(),
            span: None,
            help: None,
            keyed: false,
        }
    }

    fn unknown_variant(variant: &str, expected: &'static [&'static str]) -> Self {
        Self {
            message: format!("unknown value `{variant}`"),
            span: None,
            keyed: false,
            help: Some(match did_you_mean(variant, expected.iter().copied()) {
                Some(close) => {
                    format!("did you mean `{close}`? expected one of {}", list(expected))
                }
                None => format!("expected one of {}", list(expected)),
            }),
        }
    }

    fn unknown_field(field: &str, expected: &'static [&'static str]) -> Self {
        Self {
            message: format!("unknown key `{field}`"),
            span: None,
            keyed: false,
            help: Some(unknown_key_help(field, expected)),
        }
    }

    fn missing_field(field: &'static str) -> Self {
        Self {
            message: format!("missing key `{field}`"),
            span: None,
            keyed: false,
            help: Some(format!("add `{field} = ...` to this table")),
        }
    }
}

pub fn unknown_key_help(field: &str, expected: &[&str]) -> String {
    match did_you_mean(field, expected.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None if expected.is_empty() => "this table takes no keys; remove it".to_owned(),
        None => format!("the keys allowed here are {}", list(expected)),
    }
}

fn list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What to do with keys of the *outermost* struct that serde does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OuterKeys {
    /// Report each one as a problem (the normal case).
    Report,
    /// Leave them alone: an integration table mixes common keys and its kind's keys,
    /// and the loader decodes both from the same table before judging the leftovers.
    Ignore,
}

/// Shared state of one decode: the problems collected so far and the outer struct's
/// field names, captured so that the loader can judge leftover keys itself.
#[derive(Default)]
struct Session {
    problems: RefCell<Vec<Problem>>,
    outer_fields: RefCell<Option<&'static [&'static str]>>,
}

/// Decodes `value` into `T`, reporting every problem in one pass. Unknown keys become
/// problems and decoding goes on without them. A hard error (wrong type, missing key,
/// bad value) fails the decode, but the value at fault is then taken out and the rest
/// decoded again, so that the errors behind it are reported now, not one fix later.
pub fn decode<T: serde::de::DeserializeOwned>(
    value: &Value<'_>,
    outer_keys: OuterKeys,
) -> Decoded<T> {
    /// Enough for any table a person writes; a bound so a pathological one ends.
    const MAX_ERRORS: usize = 32;
    let first = decode_once::<T>(value, outer_keys);
    let Err(error) = &first.value else {
        return first;
    };
    let mut problems = first.problems.clone();
    let mut seen: Vec<Option<Range<usize>>> = vec![error.span.clone()];
    let mut pruned_keys = Vec::new();
    let mut rest = value.clone();
    let mut span = error.span.clone();
    while let Some(at) = span.take()
        && seen.len() < MAX_ERRORS
    {
        let Some(key) = prune(&mut rest, &at) else {
            break;
        };
        pruned_keys.push(key);
        let again = decode_once::<T>(&rest, outer_keys);
        for problem in again.problems {
            if !problems
                .iter()
                .any(|p| p.span == problem.span && p.message == problem.message)
            {
                problems.push(problem);
            }
        }
        let Err(next) = again.value else {
            break;
        };
        // Taking a value out may make its key missing: that is not a new mistake.
        let caused_by_pruning = pruned_keys
            .iter()
            .any(|key| next.message == format!("missing key `{key}`"));
        if caused_by_pruning || seen.contains(&next.span) {
            break;
        }
        seen.push(next.span.clone());
        span = next.span.clone();
        problems.push(next.into_problem());
    }
    Decoded {
        value: first.value,
        problems,
        outer_fields: first.outer_fields,
    }
}

/// Takes the entry whose value is at `span` out of `value`, searching every nested
/// table and array (a `[section]`'s own span is only its header, so containment
/// cannot guide the search), and returns its key.
fn prune(value: &mut Value<'_>, span: &Range<usize>) -> Option<String> {
    let at = |inner: &Value<'_>| {
        let own = inner.span();
        own == *span
            || (!matches!(inner.get_ref(), DeValue::Table(_) | DeValue::Array(_))
                && own.start <= span.start
                && span.end <= own.end)
    };
    match value.get_mut() {
        DeValue::Table(table) => {
            let mut doomed = None;
            for (key, inner) in table.iter_mut() {
                if at(inner) {
                    doomed = Some(key.get_ref().to_string());
                    break;
                }
                if let Some(deeper) = prune(inner, span) {
                    return Some(deeper);
                }
            }
            let doomed = doomed?;
            let kept = std::mem::take(table)
                .into_iter()
                .filter(|(k, _)| k.get_ref().as_ref() != doomed.as_str());
            *table = kept.collect();
            Some(doomed)
        }
        DeValue::Array(items) => {
            let mut doomed = None;
            for (index, item) in items.as_mut().iter_mut().enumerate() {
                if at(item) {
                    doomed = Some(index);
                    break;
                }
                if let Some(deeper) = prune(item, span) {
                    return Some(deeper);
                }
            }
            let doomed = doomed?;
            let mut kept = toml::de::DeArray::new();
            for (index, item) in items.iter().enumerate() {
                if index != doomed {
                    kept.push(item.clone());
                }
            }
            *items = kept;
            Some(String::new())
        }
        _ => None,
    }
}

fn decode_once<T: serde::de::DeserializeOwned>(
    value: &Value<'_>,
    outer_keys: OuterKeys,
) -> Decoded<T> {
    let session = Session::default();
    let result = T::deserialize(ValueDeserializer {
        value,
        session: &session,
        outer: Some(outer_keys),
    });
    Decoded {
        value: result,
        problems: session.problems.into_inner(),
        outer_fields: session.outer_fields.into_inner().unwrap_or(&[]),
    }
}

pub struct Decoded<T> {
    pub value: Result<T, DecodeError>,
    /// Unknown keys found on the way.
    pub problems: Vec<Problem>,
    /// The field names of the outermost struct, as serde declared them.
    pub outer_fields: &'static [&'static str],
}

struct ValueDeserializer<'a, 'de> {
    value: &'de Value<'de>,
    session: &'a Session,
    /// `Some` only for the outermost value of a decode.
    outer: Option<OuterKeys>,
}

impl<'a, 'de> ValueDeserializer<'a, 'de> {
    fn nested(&self, value: &'de Value<'de>) -> Self {
        Self {
            value,
            session: self.session,
            outer: None,
        }
    }

    fn span(&self) -> Range<usize> {
        self.value.span()
    }

    fn integer(&self) -> Result<i128, DecodeError> {
        match self.value.get_ref() {
            DeValue::Integer(i) => i128::from_str_radix(i.as_str(), i.radix())
                .map_err(|_| de::Error::custom(format!("integer `{i}` is out of range"))),
            other => Err(self.type_error(other, "an integer")),
        }
    }

    fn type_error(&self, found: &DeValue<'_>, expected: &str) -> DecodeError {
        DecodeError {
            message: format!("expected {expected}, found {}", found.type_str()),
            span: Some(self.span()),
            help: None,
            keyed: false,
        }
    }
}

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident: $ty:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
            let span = self.span();
            let wide = self.integer()?;
            let narrow = <$ty>::try_from(wide).map_err(|_| DecodeError {
                message: format!(
                    "{wide} is out of range: expected {} to {}",
                    <$ty>::MIN,
                    <$ty>::MAX
                ),
                span: Some(span.clone()),
                help: None,
                keyed: false,
            })?;
            visitor.$visit(narrow).map_err(|e: DecodeError| e.located(&span))
        }
    )*};
}

impl<'a, 'de> de::Deserializer<'de> for ValueDeserializer<'a, 'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let span = self.span();
        let result = match self.value.get_ref() {
            DeValue::String(s) => visitor.visit_str(s),
            DeValue::Integer(_) => {
                let wide = self.integer()?;
                match i64::try_from(wide) {
                    Ok(v) => visitor.visit_i64(v),
                    Err(_) => visitor.visit_i128(wide),
                }
            }
            DeValue::Float(f) => match f.as_str().parse::<f64>() {
                Ok(v) => visitor.visit_f64(v),
                Err(_) => Err(de::Error::custom(format!("`{f}` is not a valid float"))),
            },
            DeValue::Boolean(b) => visitor.visit_bool(*b),
            DeValue::Datetime(d) => visitor.visit_string(d.to_string()),
            DeValue::Array(items) => visitor.visit_seq(SeqAccess {
                items: items.iter(),
                parent: &self,
            }),
            DeValue::Table(table) => visitor.visit_map(MapAccess::new(table, None, &self)),
        };
        result.map_err(|e: DecodeError| e.located(&span))
    }

    deserialize_integer! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        // TOML has no null: a present key is always `Some`.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let span = self.span();
        let DeValue::Table(table) = self.value.get_ref() else {
            return Err(self.type_error(self.value.get_ref(), "a table"));
        };
        let report_unknown = match self.outer {
            Some(outer) => {
                *self.session.outer_fields.borrow_mut() = Some(fields);
                outer == OuterKeys::Report
            }
            None => true,
        };
        let mut access = MapAccess::new(table, Some(fields), &self);
        access.report_unknown = report_unknown;
        visitor
            .visit_map(access)
            .map_err(|e: DecodeError| e.located(&span))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        let span = self.span();
        match self.value.get_ref() {
            // Only unit variants are written as plain strings in our configs.
            DeValue::String(s) => visitor
                .visit_enum(s.as_ref().into_deserializer())
                .map_err(|e: DecodeError| e.located(&span)),
            other => Err(self.type_error(other, "a string")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i128 u128 f32 f64 char str string bytes byte_buf unit unit_struct seq tuple
        tuple_struct map identifier ignored_any
    }
}

struct SeqAccess<'a, 'b, 'de> {
    items: std::slice::Iter<'de, Value<'de>>,
    parent: &'b ValueDeserializer<'a, 'de>,
}

impl<'de> de::SeqAccess<'de> for SeqAccess<'_, '_, 'de> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        match self.items.next() {
            Some(item) => seed
                .deserialize(self.parent.nested(item))
                .map(Some)
                .map_err(|e| e.located(&item.span())),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

type Entry<'de> = (&'de Spanned<toml::de::DeString<'de>>, &'de Value<'de>);

struct MapAccess<'a, 'b, 'de> {
    entries: Vec<Entry<'de>>,
    next: usize,
    parent: &'b ValueDeserializer<'a, 'de>,
    /// The struct's field names when decoding a struct; `None` for maps.
    fields: Option<&'static [&'static str]>,
    report_unknown: bool,
}

impl<'a, 'b, 'de> MapAccess<'a, 'b, 'de> {
    fn new(
        table: &'de DeTable<'de>,
        fields: Option<&'static [&'static str]>,
        parent: &'b ValueDeserializer<'a, 'de>,
    ) -> Self {
        Self {
            entries: table.iter().collect(),
            next: 0,
            parent,
            fields,
            report_unknown: true,
        }
    }
}

impl<'de> de::MapAccess<'de> for MapAccess<'_, '_, 'de> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        while let Some((key, _)) = self.entries.get(self.next) {
            let known = self
                .fields
                .is_none_or(|f| f.contains(&key.get_ref().as_ref()));
            if known {
                return seed
                    .deserialize(key.get_ref().as_ref().into_deserializer())
                    .map(Some)
                    .map_err(|e: DecodeError| e.located(&key.span()));
            }
            if self.report_unknown {
                let fields = self.fields.unwrap_or(&[]);
                self.parent.session.problems.borrow_mut().push(
                    Problem::error(format!("unknown key `{}`", key.get_ref()), Some(key.span()))
                        .with_help(unknown_key_help(key.get_ref(), fields)),
                );
            }
            self.next += 1;
        }
        Ok(None)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        let (key, value) = self.entries[self.next];
        self.next += 1;
        // Located here too: a type's own check (a bad time zone, say) fails after the
        // string it read decoded fine, so no inner value could locate it.
        seed.deserialize(self.parent.nested(value))
            .map_err(|e| e.keyed(key.get_ref(), value).located(&value.span()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        requests: u32,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(rename_all = "snake_case")]
    enum Mode {
        Wait,
        Stop,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Outer {
        name: String,
        #[serde(default)]
        limit: Option<Inner>,
        #[serde(default)]
        tags: Vec<String>,
        mode: Option<Mode>,
    }

    fn parse(text: &str) -> Value<'_> {
        let table = DeTable::parse(text).unwrap();
        let span = table.span();
        Spanned::new(span, DeValue::Table(table.into_inner()))
    }

    #[test]
    fn decodes_nested_values() {
        let doc = parse("name = 'a'\ntags = ['x']\nmode = 'stop'\n[limit]\nrequests = 3\n");
        let decoded = decode::<Outer>(&doc, OuterKeys::Report);
        assert!(decoded.problems.is_empty());
        assert_eq!(
            decoded.value.unwrap(),
            Outer {
                name: "a".into(),
                limit: Some(Inner { requests: 3 }),
                tags: vec!["x".into()],
                mode: Some(Mode::Stop),
            }
        );
    }

    #[test]
    fn every_unknown_key_is_reported_with_a_suggestion() {
        let text = "name = 'a'\nnmae = 'b'\n[limit]\nrequests = 3\nrequets = 4\n";
        let doc = parse(text);
        let decoded = decode::<Outer>(&doc, OuterKeys::Report);
        assert!(decoded.value.is_ok());
        let messages: Vec<_> = decoded
            .problems
            .iter()
            .map(|p| p.message.as_str())
            .collect();
        assert_eq!(messages, ["unknown key `nmae`", "unknown key `requets`"]);
        assert_eq!(
            decoded.problems[1].help.as_deref(),
            Some("did you mean `requests`?")
        );
        assert_eq!(
            decoded.problems[1].span,
            Some(text.find("requets").unwrap()..text.find("requets").unwrap() + 7)
        );
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let text = "name = 'a'\n[limit]\nrequests = 'many'\n";
        let doc = parse(text);
        let error = decode::<Outer>(&doc, OuterKeys::Report).value.unwrap_err();
        assert_eq!(
            error.span,
            Some(text.find("'many'").unwrap()..text.find("'many'").unwrap() + 6)
        );
    }

    #[test]
    fn unknown_enum_values_suggest_the_closest() {
        let doc = parse("name = 'a'\nmode = 'wiat'\n");
        let error = decode::<Outer>(&doc, OuterKeys::Report).value.unwrap_err();
        assert_eq!(error.message, "unknown value `wiat`");
        assert!(error.help.unwrap().starts_with("did you mean `wait`?"));
    }

    #[test]
    fn missing_keys_point_at_their_table() {
        let doc = parse("[limit]\nrequests = 1\n");
        let error = decode::<Outer>(&doc, OuterKeys::Report).value.unwrap_err();
        assert_eq!(error.message, "missing key `name`");
        assert!(error.span.is_some());
    }

    #[test]
    fn out_of_range_integers_are_errors() {
        let doc = parse("name = 'a'\n[limit]\nrequests = -1\n");
        let error = decode::<Outer>(&doc, OuterKeys::Report).value.unwrap_err();
        assert!(error.message.contains("out of range"), "{}", error.message);
    }

    #[test]
    fn ignored_outer_keys_are_left_for_the_caller() {
        let doc = parse("name = 'a'\nurl = 'x'\n");
        let decoded = decode::<Outer>(&doc, OuterKeys::Ignore);
        assert!(decoded.problems.is_empty());
        assert!(decoded.outer_fields.contains(&"name"));
    }
}

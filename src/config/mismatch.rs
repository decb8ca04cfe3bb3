//! Type errors in the user's words: "`page_size` must be a whole number, without
//! quotes", not "invalid type: string \"100\", expected u64", and where the value at
//! fault is when serde did not say.

use std::ops::Range;

use toml::de::DeValue;

use super::de::Value;

/// A value of the wrong type, as serde or this deserializer words it.
pub(super) struct Mismatch {
    pub(super) found: String,
    pub(super) literal: Option<String>,
    pub(super) expected: String,
}

impl Mismatch {
    /// `invalid type: string "100", expected u64` (serde) or `expected an integer,
    /// found string` (ours).
    pub(super) fn parse(message: &str) -> Option<Self> {
        if let Some(rest) = message.strip_prefix("invalid type: ") {
            let (found, expected) = rest.split_once(", expected ")?;
            let (kind, literal) = match found.split_once(' ') {
                Some((kind, literal)) => (kind, Some(literal)),
                None => (found, None),
            };
            let literal = literal.map(|l| l.trim_matches(|c| c == '"' || c == '`').to_owned());
            return Some(Self {
                found: kind.to_owned(),
                literal,
                expected: expected.to_owned(),
            });
        }
        let rest = message.strip_prefix("expected ")?;
        let (expected, found) = rest.split_once(", found ")?;
        Some(Self {
            found: found.to_owned(),
            literal: None,
            expected: expected.to_owned(),
        })
    }

    pub(super) fn expected_words(&self) -> &str {
        match self.expected.as_str() {
            "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize"
            | "an integer" | "integer" => "a whole number",
            "f32" | "f64" | "a float" | "float" => "a number",
            "a boolean" | "bool" => "`true` or `false`",
            "a string" | "string" => "text in quotes",
            "a table" => "a table (`{ key = value }` or a `[section]`)",
            other => other,
        }
    }

    pub(super) fn found_words(&self) -> String {
        match &self.literal {
            Some(literal) => format!("{} `{literal}`", self.found),
            None => self.found.clone(),
        }
    }

    /// A quoted number or boolean where a number or boolean belongs.
    pub(super) fn unquoted_would_fit(&self) -> bool {
        let Some(literal) = &self.literal else {
            return false;
        };
        match self.expected_words() {
            "a whole number" => literal.parse::<i128>().is_ok(),
            "a number" => literal.parse::<f64>().is_ok(),
            "`true` or `false`" => literal == "true" || literal == "false",
            _ => false,
        }
    }
}

/// The innermost key under `value` whose value is written as `literal`.
pub(super) fn find_literal(value: &Value<'_>, literal: &str) -> Option<(String, Range<usize>)> {
    let DeValue::Table(table) = value.get_ref() else {
        return None;
    };
    table.iter().find_map(|(key, inner)| {
        let matches = match inner.get_ref() {
            DeValue::String(s) => s.as_ref() == literal,
            DeValue::Integer(i) => i.as_str() == literal,
            DeValue::Float(f) => f.as_str() == literal,
            DeValue::Boolean(b) => b.to_string() == literal,
            DeValue::Table(_) => return find_literal(inner, literal),
            _ => false,
        };
        matches.then(|| (key.get_ref().to_string(), inner.span()))
    })
}

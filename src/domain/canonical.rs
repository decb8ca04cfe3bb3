//! A record's canonical JSON text, made from the text a server sent without building
//! the record: the text `serde_json` writes for the parsed record (members sorted by
//! name, the last of a repeated name kept, numbers and escapes as `serde_json` writes
//! them). Content hashes and JSON outputs use that text; making it straight from the
//! server's text skips building, writing out and dropping a tree of values per record.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

/// Appends the canonical text of the JSON value `text` to `out`, and returns the
/// scalar text (a string's contents, a number as written) of each top-level member
/// named in `fields`, in their order. On an error `out` may hold part of the value.
pub fn canonical(
    text: &str,
    out: &mut Vec<u8>,
    fields: &[&str],
) -> Result<Vec<Option<String>>, serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let mut found = vec![None; fields.len()];
    let top = Top {
        out,
        fields,
        found: &mut found,
    };
    deserializer.deserialize_any(top)?;
    deserializer.end()?;
    Ok(found)
}

/// The top-level value: written like any other, with the named members' scalars kept.
struct Top<'a> {
    out: &'a mut Vec<u8>,
    fields: &'a [&'a str],
    found: &'a mut Vec<Option<String>>,
}

/// Any value below the top.
struct Write<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for Write<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// Writes scalars and arrays the way both visitors do.
macro_rules! scalars_and_arrays {
    ($out:tt) => {
        fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
            self.$out
                .extend_from_slice(if value { b"true" } else { b"false" });
            Ok(())
        }

        fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
            write_json(self.$out, &value)
        }

        fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
            write_json(self.$out, &value)
        }

        fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
            // As a parsed value: a number that is not finite would be `null`.
            match serde_json::Number::from_f64(value) {
                Some(number) => write_json(self.$out, &number),
                None => self.visit_unit(),
            }
        }

        fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
            write_json(self.$out, value)
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            self.$out.extend_from_slice(b"null");
            Ok(())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            self.$out.push(b'[');
            let mut first = true;
            loop {
                let comma = self.$out.len();
                if !first {
                    self.$out.push(b',');
                }
                if seq.next_element_seed(Write(&mut *self.$out))?.is_none() {
                    self.$out.truncate(comma);
                    break;
                }
                first = false;
            }
            self.$out.push(b']');
            Ok(())
        }
    };
}

impl<'de> Visitor<'de> for Write<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_and_arrays!(0);

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        write_object(self.0, map, |_, _| {})
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    scalars_and_arrays!(out);

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        let (fields, found) = (self.fields, self.found);
        write_object(self.out, map, |name, text| {
            // A field may be asked for twice (a primary key that is also the cursor).
            for (field, found) in fields.iter().zip(found.iter_mut()) {
                if *field == name {
                    *found = scalar(text);
                }
            }
        })
    }
}

/// Writes an object with its members sorted by name, each name once (its last value),
/// showing each kept member's name and canonical text to `kept`.
fn write_object<'de, A: MapAccess<'de>>(
    out: &mut Vec<u8>,
    mut map: A,
    mut kept: impl FnMut(&str, &[u8]),
) -> Result<(), A::Error> {
    let start = out.len();
    let mut members: Vec<(Cow<'de, str>, Range<usize>)> = Vec::new();
    while let Some(name) = map.next_key_seed(Name)? {
        let value_start = out.len() - start;
        map.next_value_seed(Write(&mut *out))?;
        members.push((name, value_start..out.len() - start));
    }
    // A stable sort keeps repeated names in the order they came: the last one counts.
    members.sort_by(|a, b| a.0.cmp(&b.0));
    let values = out.split_off(start);
    out.push(b'{');
    let mut first = true;
    for (at, (name, range)) in members.iter().enumerate() {
        if members.get(at + 1).is_some_and(|next| next.0 == *name) {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        write_json(out, name.as_ref())?;
        out.push(b':');
        let value = &values[range.clone()];
        out.extend_from_slice(value);
        kept(name, value);
    }
    out.push(b'}');
    Ok(())
}

/// A string member's contents or a number's text; `None` for other values.
fn scalar(text: &[u8]) -> Option<String> {
    match text.first()? {
        b'"' => serde_json::from_slice(text).ok(),
        b'-' | b'0'..=b'9' => std::str::from_utf8(text).ok().map(str::to_owned),
        _ => None,
    }
}

fn write_json<E: de::Error>(
    out: &mut Vec<u8>,
    value: &(impl serde::Serialize + ?Sized),
) -> Result<(), E> {
    serde_json::to_writer(out, value).map_err(E::custom)
}

/// A member name, borrowed from the text when it has no escapes.
struct Name;

impl<'de> DeserializeSeed<'de> for Name {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Name {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(self, name: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(name))
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    fn through_values(text: &str) -> (Vec<u8>, Option<String>) {
        let value: Value = serde_json::from_str(text).unwrap();
        let id = value.get("id").and_then(|id| match id {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        (serde_json::to_vec(&value).unwrap(), id)
    }

    fn check(text: &str) {
        let mut out = Vec::new();
        let found = canonical(text, &mut out, &["id", "id"]).unwrap();
        let (expected, id) = through_values(text);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            String::from_utf8(expected).unwrap(),
            "{text}"
        );
        assert_eq!(found, [id.clone(), id], "{text}");
    }

    #[test]
    fn members_sort_the_last_of_a_name_counts_and_numbers_read_as_serde_json_writes_them() {
        check(r#"{"b": 1, "a": [1, 2.50, -0, 1e3, {"z": null, "y": true}], "b": "two"}"#);
        check(r#"{"id": "x\u00e9\n\"", "é": 1, "e": 2, "": {}}"#);
        check(r#"{"id": 12345678901234567890123, "n": -9223372036854775808}"#);
        check(r#"[1, "a", [], {}]"#);
        check(r#"{"id": [1], "x": 0.1}"#);
        check("  \"just text\"  ");
    }

    #[test]
    fn text_that_is_not_json_is_an_error() {
        for text in [
            r#"{"a": }"#,
            "[1,]",
            "{} {}",
            &format!("{}{}", "[".repeat(200), "]".repeat(200)),
        ] {
            assert!(canonical(text, &mut Vec::new(), &[]).is_err(), "{text}");
        }
    }

    proptest! {
        /// The canonical text is the text of the parsed value, whatever the spacing and
        /// the order and repetition of names; the captured field is that value's field.
        #[test]
        fn the_canonical_text_is_the_parsed_values_text(
            value in crate::domain::arbitrary::json(
                prop_oneof![
                    Just(Value::Null),
                    any::<bool>().prop_map(Value::from),
                    any::<i64>().prop_map(Value::from),
                    any::<u64>().prop_map(Value::from),
                    any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
                    "[a\"\\\\é\\n\u{1}]{0,6}".prop_map(Value::from),
                ],
                "(id|[a-c\"é]{0,2})",
            ),
            pretty in any::<bool>(),
            repeat in any::<bool>(),
        ) {
            let mut text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            // A name repeated with another value first: the later one must count.
            if repeat && text.starts_with('{') && text.len() > 2 {
                text = format!(r#"{{"id": [0], "a": "first",{}"#, &text[1..]);
            }
            let mut out = Vec::new();
            let found = canonical(&text, &mut out, &["id"]).unwrap();
            let (expected, id) = through_values(&text);
            prop_assert_eq!(out, expected);
            prop_assert_eq!(found, vec![id]);
        }
    }
}

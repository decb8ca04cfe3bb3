//! JSONPath expressions in config (`records.path`, `cursor_path`, ...), parsed when the
//! config loads so a typo is a located config error, not a failed run.

use std::fmt;

use serde_json::Value;
use serde_json_path::{JsonPath, PathElement};

#[derive(Clone)]
pub struct JsonPathExpr {
    source: String,
    path: JsonPath,
}

impl JsonPathExpr {
    pub fn parse(text: &str) -> Result<Self, String> {
        JsonPath::parse(text)
            .map(|path| Self {
                source: text.to_owned(),
                path,
            })
            .map_err(|e| {
                format!("`{text}` is not a valid JSONPath ({e}); write it like \"$.data[*]\"")
            })
    }

    pub fn query<'a>(&self, value: &'a Value) -> Vec<&'a Value> {
        self.path.query(value).all()
    }

    /// Where the matches are in `value`, so they can be moved out of it later
    /// ([`Matches::take_from`]) instead of copied.
    pub fn locate(&self, value: &Value) -> Matches {
        let paths: Vec<Vec<Step>> = self
            .path
            .query_located(value)
            .locations()
            .map(|path| path.iter().map(Step::from).collect())
            .collect();
        let mut sorted: Vec<&Vec<Step>> = paths.iter().collect();
        sorted.sort_unstable();
        // Sorted, a path is directly followed by the paths nested in it, if any.
        let disjoint = sorted.windows(2).all(|pair| !pair[1].starts_with(pair[0]));
        Matches { paths, disjoint }
    }

    /// The first match, if any.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.path.query(value).first()
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The member names of a path that only names members, `$.data.next` giving
    /// `["data", "next"]` (`$` gives none), or `None` for any other path.
    pub fn members(&self) -> Option<Vec<&str>> {
        member_chain(self.source.strip_prefix('$')?)
    }

    /// The member names before a final `[*]`, `$.data[*]` giving `["data"]`, or `None`
    /// for any other path: the shape of most APIs' records, which a page can then be
    /// split on without building the records (`connectors::body_records`).
    pub fn members_then_each(&self) -> Option<Vec<&str>> {
        member_chain(self.source.strip_prefix('$')?.strip_suffix("[*]")?)
    }
}

/// `.a.b` as `["a", "b"]`, each name in JSONPath's shorthand (a letter or `_` first,
/// then letters, digits and `_`); `None` for anything else, so that a path this does
/// not understand is never taken for one it does.
fn member_chain(text: &str) -> Option<Vec<&str>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.strip_prefix('.')?
        .split('.')
        .map(|name| {
            let mut chars = name.chars();
            let first = chars.next()?;
            let plain = (first.is_ascii_alphabetic() || first == '_')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
            plain.then_some(name)
        })
        .collect()
}

impl fmt::Debug for JsonPathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonPath({})", self.source)
    }
}

crate::config::deserialize_with_parse!(JsonPathExpr);

/// One step of a located match: a member name or an array index.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Name(String),
    Index(usize),
}

impl From<&PathElement<'_>> for Step {
    fn from(element: &PathElement<'_>) -> Self {
        match element {
            PathElement::Name(name) => Self::Name((*name).to_owned()),
            PathElement::Index(index) => Self::Index(*index),
        }
    }
}

/// The places a path matched in one document, in match order.
#[derive(Debug)]
pub struct Matches {
    paths: Vec<Vec<Step>>,
    /// No match is inside another (or the same twice), so each can be moved out whole.
    disjoint: bool,
}

impl Matches {
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The matched values, moved out of `value` (which keeps `null` in their place):
    /// a page's records are handed on without a deep copy of each. Matches nested in
    /// one another (`$..items`) are copied, since moving one would change the other.
    pub fn take_from(self, value: &mut Value) -> Vec<Value> {
        if !self.disjoint {
            return self
                .paths
                .iter()
                .map(|path| walk(value, path).cloned().unwrap_or(Value::Null))
                .collect();
        }
        self.paths
            .iter()
            .map(|path| walk_mut(value, path).map_or(Value::Null, Value::take))
            .collect()
    }
}

fn walk<'a>(value: &'a Value, path: &[Step]) -> Option<&'a Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Name(name) => value.get(name),
        Step::Index(index) => value.get(index),
    })
}

fn walk_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |value, step| match step {
        Step::Name(name) => value.get_mut(name),
        Step::Index(index) => value.get_mut(index),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selects_records_and_rejects_bad_paths() {
        let path = JsonPathExpr::parse("$.data[*]").unwrap();
        let doc = serde_json::json!({"data": [{"id": 1}, {"id": 2}]});
        assert_eq!(path.query(&doc).len(), 2);
        assert!(JsonPathExpr::parse("$.data[").is_err());
    }

    #[test]
    fn member_chains_are_recognised_and_nothing_else() {
        let members = |text: &str| {
            JsonPathExpr::parse(text)
                .unwrap()
                .members()
                .map(|m| m.join(","))
        };
        let each = |text: &str| {
            JsonPathExpr::parse(text)
                .unwrap()
                .members_then_each()
                .map(|m| m.join(","))
        };
        assert_eq!(
            members("$.data.next_cursor").as_deref(),
            Some("data,next_cursor")
        );
        assert_eq!(members("$").as_deref(), Some(""));
        assert_eq!(each("$.data[*]").as_deref(), Some("data"));
        assert_eq!(each("$[*]").as_deref(), Some(""));
        assert_eq!(each("$.a._b2[*]").as_deref(), Some("a,_b2"));
        for other in [
            "$.data[0]",
            "$..id",
            "$['data']",
            "$.data.*",
            "$.data[1:]",
            "$.data[*].id",
        ] {
            assert_eq!(members(other), None, "{other}");
            assert_eq!(each(other), None, "{other}");
        }
    }

    proptest::proptest! {
        /// Where `members` and `members_then_each` say what a path is, the path selects
        /// exactly that: the names walked from the root, then each element of an array.
        #[test]
        fn a_recognised_path_selects_what_its_members_name(
            names in proptest::collection::vec("[a-c_][a-c0-9_]{0,2}", 0..3),
            seed in proptest::arbitrary::any::<u8>(),
        ) {
            use proptest::prop_assert_eq;
            let doc = sample_doc(seed);
            let chain = names.iter().map(|n| format!(".{n}")).collect::<String>();
            let plain = JsonPathExpr::parse(&format!("${chain}")).unwrap();
            prop_assert_eq!(plain.members(), Some(names.iter().map(String::as_str).collect()));
            let walked = names.iter().try_fold(&doc, |value, name| value.get(name));
            prop_assert_eq!(plain.first(&doc), walked);
            let each = JsonPathExpr::parse(&format!("${chain}[*]")).unwrap();
            prop_assert_eq!(each.members_then_each(), Some(names.iter().map(String::as_str).collect()));
            if let Some(Value::Array(items)) = walked {
                prop_assert_eq!(each.query(&doc), items.iter().collect::<Vec<_>>());
            }
        }
    }

    /// A document whose members are named like the property test's paths, nested two
    /// deep, with arrays, objects and scalars where a path may look.
    fn sample_doc(seed: u8) -> Value {
        let leaf = |n: u8| match n % 4 {
            0 => serde_json::json!([1, {"a": 2}]),
            1 => serde_json::json!({"a": [3], "b_": null}),
            2 => serde_json::json!("text"),
            _ => serde_json::json!([]),
        };
        serde_json::json!({
            "a": {"a": leaf(seed), "b": leaf(seed / 4), "_": [leaf(seed / 16)]},
            "b": leaf(seed / 64),
            "_0": [{"a": 1}, {"a": 2}],
        })
    }

    #[test]
    fn matches_move_out_of_the_document_unless_they_overlap() {
        let path = JsonPathExpr::parse("$.data[*]").unwrap();
        let mut doc = serde_json::json!({"data": [{"id": 1}, {"id": 2}], "next": "c"});
        let matches = path.locate(&doc);
        assert_eq!(matches.len(), 2);
        let records = matches.take_from(&mut doc);
        assert_eq!(
            records,
            [serde_json::json!({"id": 1}), serde_json::json!({"id": 2})]
        );
        assert_eq!(doc, serde_json::json!({"data": [null, null], "next": "c"}));

        // `$..id` under `$..*`-style recursion and a repeated index both overlap:
        // every match is still whole.
        for text in ["$..a", "$.data[0,0]"] {
            let path = JsonPathExpr::parse(text).unwrap();
            let mut doc = serde_json::json!({"data": [{"a": {"a": 1}}], "a": {"a": 2}});
            let expected: Vec<Value> = path.query(&doc).into_iter().cloned().collect();
            let taken = path.locate(&doc).take_from(&mut doc);
            assert_eq!(taken, expected, "{text}");
        }
    }
}

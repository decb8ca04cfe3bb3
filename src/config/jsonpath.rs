//! JSONPath expressions in config (`records.path`, `cursor_path`, ...), parsed when the
//! config loads so a typo is a located config error, not a failed run.

use std::fmt;

use serde_json::Value;
use serde_json_path::JsonPath;

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

    /// The first match, if any.
    pub fn first<'a>(&self, value: &'a Value) -> Option<&'a Value> {
        self.path.query(value).first()
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for JsonPathExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonPath({})", self.source)
    }
}

crate::config::deserialize_with_parse!(JsonPathExpr);

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
}

//! The record pipeline, shared by every source: transforms in a fixed order (select,
//! rename, set, drop_if / keep_if), then change detection by primary key.

pub mod dedupe;
pub mod preview;

use serde_json::{Map, Value};

use crate::config::pipeline::PipelineSpec;

/// A record that a transform could not handle: counted and logged, never dropped
/// silently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransformFailure {
    pub key: String,
    pub reason: String,
}

/// What a transform made of one record.
enum Kept {
    Record(Value),
    /// Dropped by a filter, named.
    Dropped(String),
}

#[derive(Debug, Default)]
pub struct Transformed {
    pub records: Vec<Value>,
    pub dropped: usize,
    pub failed: Vec<TransformFailure>,
}

impl PipelineSpec {
    /// Applies the transforms to every record. `key_field` names records in failures.
    pub fn transform(&self, records: Vec<Value>, key_field: Option<&str>) -> Transformed {
        if self.changes_nothing() {
            return Transformed {
                records,
                ..Transformed::default()
            };
        }
        let mut out = Transformed::default();
        let set = self.set_fields();
        for (index, record) in records.into_iter().enumerate() {
            let key = record_key(&record, key_field).unwrap_or_else(|| format!("#{}", index + 1));
            match self.transform_one(record, &set) {
                Ok(Kept::Record(record)) => out.records.push(record),
                Ok(Kept::Dropped(_)) => out.dropped += 1,
                Err(reason) => out.failed.push(TransformFailure { key, reason }),
            }
        }
        out
    }

    /// No transform is configured: records pass as they are.
    pub fn changes_nothing(&self) -> bool {
        self.select.is_empty()
            && self.rename.is_empty()
            && self.set.is_empty()
            && self.drop_if.is_none()
            && self.keep_if.is_none()
    }

    /// The fixed `set` fields as JSON, once per page.
    fn set_fields(&self) -> Map<String, Value> {
        self.set
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
            .collect()
    }

    fn transform_one(&self, record: Value, set: &Map<String, Value>) -> Result<Kept, String> {
        let reshapes = !self.select.is_empty() || !self.rename.is_empty() || !set.is_empty();
        let record = if reshapes {
            self.reshape(record, set)?
        } else {
            record
        };
        if let Some(drop_if) = &self.drop_if
            && drop_if.eval(&record).map_err(|e| format!("drop_if: {e}"))?
        {
            return Ok(Kept::Dropped(format!("drop_if `{}`", drop_if.source())));
        }
        if let Some(keep_if) = &self.keep_if
            && !keep_if.eval(&record).map_err(|e| format!("keep_if: {e}"))?
        {
            return Ok(Kept::Dropped(format!("not keep_if `{}`", keep_if.source())));
        }
        Ok(Kept::Record(record))
    }

    /// select, rename, set: these need a record with fields.
    fn reshape(&self, record: Value, set: &Map<String, Value>) -> Result<Value, String> {
        let Value::Object(mut fields) = record else {
            return Err("select, rename and set need records that are JSON objects".to_owned());
        };
        if !self.select.is_empty() {
            fields.retain(|name, _| self.select.contains(name));
        }
        for (old, new) in &self.rename {
            if let Some(value) = fields.remove(old) {
                fields.insert(new.clone(), value);
            }
        }
        fields.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
        Ok(Value::Object(fields))
    }
}

/// The value of `key_field` as text, for strings and numbers.
pub fn record_key(record: &Value, key_field: Option<&str>) -> Option<String> {
    match record.get(key_field?)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// What the store knows a record by: the 128-bit hash of its key's text (`"7"` and `7`
/// are the same key, as they are to `record_key`), made without the text.
pub fn record_key_hash(record: &Value, key_field: Option<&str>) -> Option<u128> {
    let mut hasher = crate::fingerprint::Fnv1a128::default();
    match record.get(key_field?)? {
        Value::String(s) => return Some(key_text_hash(s)),
        Value::Number(n) => {
            use std::fmt::Write;
            // Writing into a hasher cannot fail.
            let _ = write!(hasher, "{n}");
        }
        _ => return None,
    }
    Some(hasher.finish())
}

/// The hash of a key's text (`record_key_hash`), for a key read off a record's text.
pub fn key_text_hash(text: &str) -> u128 {
    let mut hasher = crate::fingerprint::Fnv1a128::default();
    hasher.add(text.as_bytes());
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(toml_text: &str) -> PipelineSpec {
        toml::from_str(toml_text).unwrap()
    }

    /// The store's migration to hashed keys hashes each stored key's text: a key's
    /// hash must be that of its text, whether it came as a string or a number.
    #[test]
    fn a_key_hash_is_the_hash_of_the_keys_text() {
        let mut hasher = crate::fingerprint::Fnv1a128::default();
        hasher.add(b"42");
        let text = hasher.finish();
        assert_eq!(record_key_hash(&json!({"id": 42}), Some("id")), Some(text));
        assert_eq!(
            record_key_hash(&json!({"id": "42"}), Some("id")),
            Some(text)
        );
        assert_eq!(record_key_hash(&json!({"id": [42]}), Some("id")), None);
        assert_eq!(record_key_hash(&json!({"id": 42}), None), None);
    }

    #[test]
    fn transforms_apply_in_order() {
        let spec = spec(
            "select = ['id', 'name', 'status']\nrename = { name = 'full_name' }\nset = { source = 'crm', version = 2 }\ndrop_if = 'status == \"deleted\"'\n",
        );
        let records = vec![
            json!({"id": 1, "name": "Ada", "status": "active", "secret": "x"}),
            json!({"id": 2, "name": "Bob", "status": "deleted"}),
        ];
        let out = spec.transform(records, Some("id"));
        assert_eq!(
            out.records,
            [
                json!({"id": 1, "full_name": "Ada", "status": "active", "source": "crm", "version": 2})
            ]
        );
        assert_eq!(out.dropped, 1);
        assert!(out.failed.is_empty());
    }

    #[test]
    fn records_that_are_not_objects_pass_when_nothing_reshapes_them() {
        let out = PipelineSpec::default().transform(vec![json!("UP"), json!(3)], None);
        assert_eq!((out.records.len(), out.failed.len()), (2, 0));
        let out = spec("set = { a = 1 }\n").transform(vec![json!("UP")], Some("id"));
        assert_eq!(out.failed[0].key, "#1");
        assert!(
            out.failed[0]
                .reason
                .contains("need records that are JSON objects")
        );
    }

    #[test]
    fn keep_if_and_failures_are_counted_with_their_key() {
        let spec = spec("keep_if = 'amount >= 10'\n");
        let records = vec![
            json!({"id": "a", "amount": 5}),
            json!({"id": "b", "amount": 50}),
            json!({"id": "c", "amount": "lots"}),
            json!([1]),
        ];
        let out = spec.transform(records, Some("id"));
        assert_eq!(out.records, [json!({"id": "b", "amount": 50})]);
        // `[1]` has no `amount`: a missing field is null, so keep_if drops it.
        assert_eq!(out.dropped, 2);
        assert_eq!(out.failed.len(), 1);
        assert_eq!(out.failed[0].key, "c");
        assert!(out.failed[0].reason.starts_with("keep_if:"));
    }
}

//! Change detection: each record's content hash is kept by primary key, so a run knows
//! which records are new, changed or unchanged, and passes on only what changed.

use std::collections::HashMap;

use serde_json::Value;

use super::{Deliver, record_key};
use crate::fingerprint::fnv1a;

#[derive(Debug, Default, PartialEq)]
pub struct Classified {
    /// What the outputs receive.
    pub deliver: Vec<Value>,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
    /// (key, hash) of every keyed record, to store once the outputs accepted them.
    pub seen: Vec<(String, u64)>,
}

pub fn content_hash(record: &Value) -> u64 {
    fnv1a(&serde_json::to_vec(record).expect("JSON values serialise"))
}

/// Classifies `records` against the hashes stored for their keys. Records without a
/// key cannot be recognised again: they count as new.
pub fn classify(
    records: Vec<Value>,
    key_field: Option<&str>,
    known: &HashMap<String, u64>,
    deliver: Deliver,
) -> Classified {
    let mut out = Classified::default();
    let mut this_run: HashMap<String, u64> = HashMap::new();
    for record in records {
        let Some(key) = record_key(&record, key_field) else {
            out.new += 1;
            out.deliver.push(record);
            continue;
        };
        let hash = content_hash(&record);
        let previous = this_run.get(&key).or_else(|| known.get(&key)).copied();
        let is_change = match previous {
            None => {
                out.new += 1;
                true
            }
            Some(old) if old != hash => {
                out.changed += 1;
                true
            }
            Some(_) => {
                out.unchanged += 1;
                false
            }
        };
        if is_change || deliver == Deliver::All {
            out.deliver.push(record);
        }
        if this_run.insert(key.clone(), hash).is_none() {
            out.seen.push((key, hash));
        } else if let Some(entry) = out.seen.iter_mut().find(|(k, _)| *k == key) {
            entry.1 = hash;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_changed_unchanged() {
        let known = HashMap::from([
            ("1".to_owned(), content_hash(&json!({"id": 1, "v": "a"}))),
            ("2".to_owned(), content_hash(&json!({"id": 2, "v": "b"}))),
        ]);
        let records = vec![
            json!({"id": 1, "v": "a"}),
            json!({"id": 2, "v": "CHANGED"}),
            json!({"id": 3, "v": "c"}),
            json!({"v": "no key"}),
        ];
        let out = classify(records, Some("id"), &known, Deliver::Changes);
        assert_eq!((out.new, out.changed, out.unchanged), (2, 1, 1));
        assert_eq!(out.deliver.len(), 3);
        assert_eq!(out.seen.len(), 3);
        let all = classify(
            vec![json!({"id": 1, "v": "a"})],
            Some("id"),
            &known,
            Deliver::All,
        );
        assert_eq!((all.unchanged, all.deliver.len()), (1, 1));
    }

    #[test]
    fn a_record_repeated_within_a_run_is_delivered_once() {
        let records = vec![json!({"id": 1}), json!({"id": 1})];
        let out = classify(records, Some("id"), &HashMap::new(), Deliver::Changes);
        assert_eq!(
            (out.new, out.unchanged, out.deliver.len(), out.seen.len()),
            (1, 1, 1, 1)
        );
    }
}

//! A dry run of the pipeline on a few records: what the outputs would receive and, for
//! the rest, why not (a filter, unchanged since the last delivery, a transform that
//! failed). `patchbay test NAME --show N` and the console's detail view show it; nothing
//! is delivered or stored.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Kept;
use super::dedupe::{Change, ChangeDetector};
use crate::config::pipeline::{Deliver, PipelineSpec};

/// One record after the pipeline, and what would become of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreviewRecord {
    /// The record as an output would receive it (after select, rename, set); as
    /// fetched when a filter or a transform dropped it.
    pub record: Value,
    pub verdict: Verdict,
    pub delivered: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    New,
    Changed,
    /// The same as when it was last delivered (by primary key).
    Unchanged,
    /// Dropped by `drop_if` or `keep_if`, named.
    Filtered(String),
    /// A transform could not handle it.
    Failed(String),
}

impl Verdict {
    /// "new", "dropped: drop_if `status == \"refunded\"`", ...
    pub fn describe(&self) -> String {
        match self {
            Self::New => "new".to_owned(),
            Self::Changed => "changed".to_owned(),
            Self::Unchanged => "unchanged since it was last delivered".to_owned(),
            Self::Filtered(filter) => format!("dropped by {filter}"),
            Self::Failed(reason) => format!("failed: {reason}"),
        }
    }
}

/// Runs `records` through the pipeline against the stored hashes in `known`.
pub fn preview(
    spec: &PipelineSpec,
    records: Vec<Value>,
    key_field: Option<&str>,
    known: &HashMap<u128, u64>,
) -> Vec<PreviewRecord> {
    let set = spec.set_fields();
    let mut changes = ChangeDetector::new(key_field.map(str::to_owned), spec.deliver);
    records
        .into_iter()
        .map(|fetched| {
            let (record, verdict) = match spec.transform_one(fetched.clone(), &set) {
                Ok(Kept::Record(record)) => {
                    let verdict = match changes.classify(&record, known) {
                        Change::New => Verdict::New,
                        Change::Changed => Verdict::Changed,
                        Change::Unchanged => Verdict::Unchanged,
                    };
                    (record, verdict)
                }
                Ok(Kept::Dropped(filter)) => (fetched, Verdict::Filtered(filter)),
                Err(reason) => (fetched, Verdict::Failed(reason)),
            };
            let delivered = match &verdict {
                Verdict::New | Verdict::Changed => true,
                Verdict::Unchanged => spec.deliver == Deliver::All,
                Verdict::Filtered(_) | Verdict::Failed(_) => false,
            };
            PreviewRecord {
                record,
                verdict,
                delivered,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::dedupe::content_hash;
    use serde_json::json;

    #[test]
    fn each_record_says_whether_it_is_delivered_and_why_not() {
        let spec: PipelineSpec =
            toml::from_str("select = ['id', 'status']\ndrop_if = 'status == \"refunded\"'\n")
                .unwrap();
        let known = HashMap::from([(
            crate::pipeline::record_key_hash(&json!({"id": 2}), Some("id")).unwrap(),
            content_hash(&json!({"id": 2, "status": "paid"})),
        )]);
        let shown = preview(
            &spec,
            vec![
                json!({"id": 1, "status": "open", "note": "x"}),
                json!({"id": 2, "status": "paid"}),
                json!({"id": 3, "status": "refunded"}),
                json!("not an object"),
            ],
            Some("id"),
            &known,
        );
        let verdicts: Vec<(String, bool)> = shown
            .iter()
            .map(|p| (p.verdict.describe(), p.delivered))
            .collect();
        assert_eq!(
            verdicts,
            [
                ("new".to_owned(), true),
                ("unchanged since it was last delivered".to_owned(), false),
                (
                    "dropped by drop_if `status == \"refunded\"`".to_owned(),
                    false
                ),
                (
                    "failed: select, rename and set need records that are JSON objects".to_owned(),
                    false
                ),
            ]
        );
        assert_eq!(
            shown[0].record,
            json!({"id": 1, "status": "open"}),
            "as delivered"
        );
    }
}

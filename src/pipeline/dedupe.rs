//! Change detection: each record's content hash is kept by primary key, so a run knows
//! which records are new, changed or unchanged, and passes on only what changed.
//! Pages arrive one at a time; the detector carries what this run has seen across them.

use std::collections::HashMap;

use hashbrown::HashTable;
use serde_json::Value;

use super::{key_text_hash, record_key_hash};
use crate::config::pipeline::Deliver;
use crate::domain::{JsonLines, KeyedLines, Page, Records};
use crate::fingerprint::{same_content, spread};

/// The hash of a record's JSON text (keys in order).
pub fn content_hash(record: &Value) -> u64 {
    crate::fingerprint::content_hash(&to_text(record))
}

fn to_text(record: &Value) -> Vec<u8> {
    // A `Value` always serialises: its keys are strings and its numbers finite.
    serde_json::to_vec(record).expect("JSON values serialise")
}

/// What a record is to the store of what was delivered before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    New,
    Changed,
    Unchanged,
}

#[derive(Debug, Default)]
pub struct ChangeDetector {
    key_field: Option<String>,
    deliver: Deliver,
    /// (key hash, content hash) of every keyed record this run, the latest for each
    /// key, in the order first seen. Kept as a list with an index into it, rather than
    /// as a map, so that the end of the run hands the list to the store (which sorts
    /// it in place) instead of copying a map of 100,000 records into a list.
    this_run: Vec<(u128, u64)>,
    /// Positions in `this_run`, found by key hash.
    index: HashTable<u32>,
    pub new: u64,
    pub changed: u64,
    pub unchanged: u64,
}

impl ChangeDetector {
    pub fn new(key_field: Option<String>, deliver: Deliver) -> Self {
        Self {
            key_field,
            deliver,
            ..Self::default()
        }
    }

    /// The keys of the page's records whose stored hashes are needed (not seen yet this
    /// run).
    pub fn keys_to_look_up(&self, page: &Page) -> Vec<u128> {
        let unseen = |key: &u128| self.seen_at(*key).is_none();
        match page {
            Page::Values(records) => records
                .iter()
                .filter_map(|r| record_key_hash(r, self.key_field.as_deref()))
                .filter(unseen)
                .collect(),
            Page::Lines(lines) => lines
                .keys
                .iter()
                .flatten()
                .map(|key| key_text_hash(key))
                .filter(unseen)
                .collect(),
        }
    }

    /// Where in `this_run` the record with key hash `key` is, if it was seen this run.
    fn seen_at(&self, key: u128) -> Option<usize> {
        let this_run = &self.this_run;
        let at = self
            .index
            .find(spread(key), |&at| this_run[at as usize].0 == key)?;
        Some(*at as usize)
    }

    /// Classifies one page against `known` (stored hashes by key) and what this run saw
    /// before; returns what the outputs should receive. Each keyed record's hash is
    /// that of its JSON text, which the outputs then get with the records.
    pub fn page(&mut self, page: Page, known: &HashMap<u128, u64>) -> Records {
        match page {
            Page::Values(records) => self.values(records, known),
            Page::Lines(lines) => self.lines(lines, known),
        }
    }

    /// A page of canonical lines: judged by their text as it is, never built.
    fn lines(&mut self, lines: KeyedLines, known: &HashMap<u128, u64>) -> Records {
        let KeyedLines { json, keys } = lines;
        if self.key_field.is_none() {
            self.new += json.len() as u64;
            return Records::from_json(json);
        }
        let changes: Vec<Change> = keys
            .iter()
            .enumerate()
            .map(|(at, key)| match key {
                Some(key) => self.judge(key_text_hash(key), json.record(at), known),
                None => self.count(Change::New),
            })
            .collect();
        let delivered =
            |change: &Change| *change != Change::Unchanged || self.deliver == Deliver::All;
        if changes.iter().all(delivered) {
            return Records::from_json(json);
        }
        let mut deliver = JsonLines::with_capacity(json.len());
        for (at, _) in changes.iter().enumerate().filter(|(_, c)| delivered(c)) {
            deliver.push_from(&json, at);
        }
        Records::from_json(deliver)
    }

    fn values(&mut self, records: Vec<Value>, known: &HashMap<u128, u64>) -> Records {
        let Some(key_field) = self.key_field.clone() else {
            // Nothing to recognise a record by: every one is new.
            self.new += records.len() as u64;
            return Records::new(records);
        };
        let mut json = JsonLines::with_capacity(records.len());
        let mut deliver = Vec::with_capacity(records.len());
        for record in records {
            let text = json.push(&record);
            let change = match record_key_hash(&record, Some(&key_field)) {
                Some(key) => self.judge(key, text, known),
                None => self.count(Change::New),
            };
            if change != Change::Unchanged || self.deliver == Deliver::All {
                deliver.push(record);
            } else {
                json.pop();
            }
        }
        Records::with_json(deliver, json)
    }

    /// Whether `record` is new, changed or unchanged, counting it. Records without a
    /// key cannot be recognised again: they count as new.
    pub fn classify(&mut self, record: &Value, known: &HashMap<u128, u64>) -> Change {
        match record_key_hash(record, self.key_field.as_deref()) {
            Some(key) => self.judge(key, &to_text(record), known),
            None => self.count(Change::New),
        }
    }

    fn count(&mut self, change: Change) -> Change {
        match change {
            Change::New => self.new += 1,
            Change::Changed => self.changed += 1,
            Change::Unchanged => self.unchanged += 1,
        }
        change
    }

    /// Judges the record with key hash `key` and JSON text `text` against what this run
    /// saw and `known`, remembering it.
    fn judge(&mut self, key: u128, text: &[u8], known: &HashMap<u128, u64>) -> Change {
        let hash = crate::fingerprint::content_hash(text);
        let seen_at = self.seen_at(key);
        let before = match seen_at {
            Some(at) => Some(&self.this_run[at].1),
            None => known.get(&key),
        };
        let change = self.count(match before {
            None => Change::New,
            Some(&old) if same_content(old, text, hash) => Change::Unchanged,
            Some(_) => Change::Changed,
        });
        match seen_at {
            Some(at) => self.this_run[at].1 = hash,
            None => {
                // Past 4 billion keyed records in one run the index is full: later ones
                // are still classified against the store, but not remembered, so the
                // next run delivers them again rather than never.
                if let Ok(at) = u32::try_from(self.this_run.len()) {
                    let this_run = &self.this_run;
                    self.index
                        .insert_unique(spread(key), at, |&at| spread(this_run[at as usize].0));
                    self.this_run.push((key, hash));
                }
            }
        }
        change
    }

    /// (key hash, content hash) of every keyed record of the run, to store once the
    /// outputs accepted them.
    pub fn into_seen(self) -> Vec<(u128, u64)> {
        self.this_run
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_changed_unchanged() {
        let key = |record: &Value| record_key_hash(record, Some("id")).unwrap();
        let known = HashMap::from([
            (
                key(&json!({"id": 1})),
                content_hash(&json!({"id": 1, "v": "a"})),
            ),
            (
                key(&json!({"id": "2"})),
                content_hash(&json!({"id": 2, "v": "b"})),
            ),
        ]);
        let records = vec![
            json!({"id": 1, "v": "a"}),
            json!({"id": 2, "v": "CHANGED"}),
            json!({"id": 3, "v": "c"}),
            json!({"v": "no key"}),
        ];
        let mut detector = ChangeDetector::new(Some("id".into()), Deliver::Changes);
        assert_eq!(
            detector.keys_to_look_up(&Page::Values(records.clone())),
            [
                key(&json!({"id": "1"})),
                key(&json!({"id": 2})),
                key(&json!({"id": 3}))
            ],
            "a key is its text: 2 and \"2\" are one record"
        );
        let out = detector.page(records.into(), &known);
        assert_eq!(
            (detector.new, detector.changed, detector.unchanged),
            (2, 1, 1)
        );
        assert_eq!(out.len(), 3);
        assert_eq!(detector.into_seen().len(), 3);
        let mut all = ChangeDetector::new(Some("id".into()), Deliver::All);
        let out = all.page(vec![json!({"id": 1, "v": "a"})].into(), &known);
        assert_eq!((all.unchanged, out.len()), (1, 1));
    }

    #[test]
    fn a_record_repeated_on_a_later_page_is_delivered_once() {
        let mut detector = ChangeDetector::new(Some("id".into()), Deliver::Changes);
        let first = detector.page(vec![json!({"id": 1})].into(), &HashMap::new());
        assert!(
            detector
                .keys_to_look_up(&vec![json!({"id": 1})].into())
                .is_empty(),
            "already known this run"
        );
        let second = detector.page(vec![json!({"id": 1})].into(), &HashMap::new());
        assert_eq!((first.len(), second.len()), (1, 0));
        assert_eq!((detector.new, detector.unchanged), (1, 1));
        assert_eq!(detector.into_seen().len(), 1);
    }

    #[test]
    fn the_seen_list_holds_each_key_once_with_its_latest_hash() {
        let mut detector = ChangeDetector::new(Some("id".into()), Deliver::Changes);
        let page = |version: u32| -> Vec<Value> {
            (0..5_000)
                .map(|id| json!({"id": id, "v": version}))
                .collect()
        };
        assert_eq!(detector.page(page(1).into(), &HashMap::new()).len(), 5_000);
        let again = detector.page(page(2).into(), &HashMap::new());
        assert_eq!(again.len(), 5_000, "every record changed on the later page");
        assert_eq!((detector.new, detector.changed), (5_000, 5_000));
        let seen = detector.into_seen();
        let keys: std::collections::HashSet<u128> = seen.iter().map(|&(key, _)| key).collect();
        assert_eq!((seen.len(), keys.len()), (5_000, 5_000));
        let latest = content_hash(&json!({"id": 7, "v": 2}));
        let key = record_key_hash(&json!({"id": 7}), Some("id")).unwrap();
        assert!(seen.contains(&(key, latest)));
    }

    /// A store from before schema v6 holds FNV-1a hashes: its records are recognised
    /// as unchanged (an upgrade delivers nothing twice) and remembered under XXH3.
    #[test]
    fn hashes_of_an_older_store_still_recognise_their_records() {
        let record = json!({"id": 1, "v": "a"});
        let key = record_key_hash(&record, Some("id")).unwrap();
        let text = serde_json::to_vec(&record).unwrap();
        let fnv = crate::fingerprint::legacy_content_hash(crate::fingerprint::fnv1a(&text));
        let known = HashMap::from([(key, fnv)]);
        let mut detector = ChangeDetector::new(Some("id".into()), Deliver::Changes);
        assert!(
            detector
                .page(vec![record.clone()].into(), &known)
                .is_empty()
        );
        assert_eq!(detector.unchanged, 1);
        let changed = json!({"id": 1, "v": "b"});
        let mut again = ChangeDetector::new(Some("id".into()), Deliver::Changes);
        assert_eq!(again.page(vec![changed].into(), &known).len(), 1);
        assert_eq!(detector.into_seen(), [(key, content_hash(&record))]);
    }

    /// The same records judged as canonical lines (`Page::Lines`, what an HTTP source
    /// sends when nothing transforms) and as values: the same counts, the same text
    /// delivered, the same hashes remembered, whatever the store held.
    fn lines_of(records: &[Value]) -> Page {
        let mut lines = KeyedLines::default();
        for record in records {
            let text = serde_json::to_string_pretty(record).unwrap();
            let mut found = lines.json.push_canonical(&text, &["id"]).unwrap();
            lines.keys.push(found.remove(0));
        }
        Page::Lines(lines)
    }

    proptest::proptest! {
        #[test]
        fn lines_and_values_are_judged_alike(
            pages in proptest::collection::vec(
                proptest::collection::vec((0u8..6, 0u8..3, proptest::arbitrary::any::<bool>()), 0..6),
                1..4,
            ),
            stored in proptest::collection::vec((0u8..6, 0u8..3), 0..6),
            all in proptest::arbitrary::any::<bool>(),
        ) {
            let record = |id: u8, v: u8, text_key: bool| match (id, text_key) {
                (0, _) => json!({"v": v}),
                (id, true) => json!({"id": id.to_string(), "v": v}),
                (id, false) => json!({"v": v, "id": id}),
            };
            let known: HashMap<u128, u64> = stored
                .iter()
                .map(|&(id, v)| {
                    let stored = record(id.max(1), v, false);
                    (record_key_hash(&stored, Some("id")).unwrap(), content_hash(&stored))
                })
                .collect();
            let deliver = if all { Deliver::All } else { Deliver::Changes };
            let mut by_values = ChangeDetector::new(Some("id".into()), deliver);
            let mut by_lines = ChangeDetector::new(Some("id".into()), deliver);
            for page in &pages {
                let records: Vec<Value> = page.iter().map(|&(id, v, t)| record(id, v, t)).collect();
                let lines = lines_of(&records);
                proptest::prop_assert_eq!(
                    by_lines.keys_to_look_up(&lines),
                    by_values.keys_to_look_up(&Page::Values(records.clone()))
                );
                let from_lines = by_lines.page(lines, &known);
                let from_values = by_values.page(Page::Values(records), &known);
                proptest::prop_assert_eq!(from_lines.json().as_bytes(), from_values.json().as_bytes());
                proptest::prop_assert_eq!(from_lines.values(), from_values.values());
            }
            proptest::prop_assert_eq!(
                (by_lines.new, by_lines.changed, by_lines.unchanged),
                (by_values.new, by_values.changed, by_values.unchanged)
            );
            proptest::prop_assert_eq!(by_lines.into_seen(), by_values.into_seen());
        }
    }
}

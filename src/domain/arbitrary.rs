//! Property-test strategies that more than one module's tests use.

use proptest::prelude::*;
use serde_json::Value;

/// JSON values up to three deep built over `leaf`: arrays, and objects whose member
/// names match the regex `names`.
pub fn json(
    leaf: impl Strategy<Value = Value> + 'static,
    names: &'static str,
) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map(names, inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

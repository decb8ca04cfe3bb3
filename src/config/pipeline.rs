//! `[integration.pipeline]`: what every source's records go through. The transforms
//! themselves are `crate::pipeline`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::expr::Expr;

/// `[integration.pipeline]`
#[derive(Debug, Clone, Default, Deserialize)]
pub struct PipelineSpec {
    /// Keep only these fields.
    #[serde(default)]
    pub select: Vec<String>,
    /// `{ old = "new" }`
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Fields added (or replaced) with fixed values.
    #[serde(default)]
    pub set: BTreeMap<String, toml::Value>,
    pub drop_if: Option<Expr>,
    pub keep_if: Option<Expr>,
    #[serde(default)]
    pub deliver: Deliver,
}

/// What outputs receive: only new and changed records, or everything fetched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deliver {
    #[default]
    Changes,
    All,
}

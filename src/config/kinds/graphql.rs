//! `kind = "graphql"`: the settings of a GraphQL source. Its runtime is
//! `connectors::graphql`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::credential::Credential;
use crate::config::jsonpath::JsonPathExpr;
use crate::config::url::ConfigUrl;

#[derive(Debug, Clone, Deserialize)]
pub struct GraphqlSettings {
    pub url: ConfigUrl,
    pub query: String,
    /// Variables sent with every page; the cursor variable is added per page.
    #[serde(default)]
    pub variables: BTreeMap<String, toml::Value>,
    #[serde(default)]
    pub headers: BTreeMap<String, Credential>,
    pub records: GraphqlRecords,
    pub paginate: Option<GraphqlPaginate>,
}

/// `[integration.records]`
#[derive(Debug, Clone, Deserialize)]
pub struct GraphqlRecords {
    /// JSONPath to the records, e.g. `$.data.repositories.nodes[*]`.
    pub path: JsonPathExpr,
    pub primary_key: Option<String>,
}

/// `[integration.paginate]`
#[derive(Debug, Clone, Deserialize)]
pub struct GraphqlPaginate {
    /// JSONPath to the connection's `pageInfo`.
    pub page_info_path: JsonPathExpr,
    /// The query variable that takes `endCursor`.
    #[serde(default = "after")]
    pub cursor_variable: String,
    #[serde(default = "default_max_pages")]
    pub max_pages: u32,
}

fn after() -> String {
    "after".to_owned()
}

fn default_max_pages() -> u32 {
    10_000
}

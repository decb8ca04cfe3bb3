//! `kind = "http"`: a REST/JSON source with pagination and incremental sync.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::credential::Credential;

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub request: RequestSpec,
    #[serde(default)]
    pub records: RecordsSpec,
    #[serde(default)]
    pub paginate: Paginate,
    pub incremental: Option<Incremental>,
}

/// `[integration.request]`
#[derive(Debug, Clone, Deserialize)]
pub struct RequestSpec {
    pub url: String,
    #[serde(default)]
    pub method: Method,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Header values may be credentials (`secret:NAME`).
    #[serde(default)]
    pub headers: BTreeMap<String, Credential>,
    /// A minijinja template for the request body (POST).
    pub body: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum Method {
    #[default]
    #[serde(alias = "get")]
    GET,
    #[serde(alias = "post")]
    POST,
}

/// `[integration.records]`
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RecordsSpec {
    /// JSONPath to the records of one page.
    pub path: String,
    /// The field that identifies a record, for dedupe and change detection.
    pub primary_key: Option<String>,
}

impl Default for RecordsSpec {
    fn default() -> Self {
        Self {
            path: "$[*]".to_owned(),
            primary_key: None,
        }
    }
}

/// `[integration.paginate]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Paginate {
    #[default]
    None,
    Cursor {
        cursor_path: String,
        param: String,
        #[serde(default = "default_max_pages")]
        max_pages: u32,
    },
    NextUrl {
        url_path: String,
        #[serde(default = "default_max_pages")]
        max_pages: u32,
    },
    LinkHeader {
        #[serde(default = "default_max_pages")]
        max_pages: u32,
    },
    PageNumber {
        param: String,
        #[serde(default = "one")]
        start: u64,
        page_size_param: Option<String>,
        page_size: Option<u64>,
        #[serde(default = "default_max_pages")]
        max_pages: u32,
    },
    Offset {
        param: String,
        limit_param: String,
        limit: u64,
        #[serde(default = "default_max_pages")]
        max_pages: u32,
    },
}

fn default_max_pages() -> u32 {
    10_000
}

fn one() -> u64 {
    1
}

/// `[integration.incremental]`
#[derive(Debug, Clone, Deserialize)]
pub struct Incremental {
    /// The record field whose largest delivered value is kept as the cursor.
    pub cursor_field: String,
    /// The query parameter that sends the cursor on the next run.
    pub param: String,
    /// The cursor of the very first run.
    pub start: Option<String>,
}

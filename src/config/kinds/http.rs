//! `kind = "http"`: the settings of a REST/JSON source. Its runtime is
//! `connectors::http`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::config::credential::Credential;
use crate::config::jsonpath::JsonPathExpr;
use crate::config::url::ConfigUrl;

#[derive(Debug, Clone, Deserialize)]
pub struct HttpSettings {
    pub request: RequestSpec,
    #[serde(default)]
    pub records: RecordsSpec,
    #[serde(default)]
    pub paginate: Paginate,
    pub incremental: Option<Incremental>,
    /// Overrides for how some statuses are treated.
    #[serde(default)]
    pub response_actions: Vec<ResponseAction>,
    #[serde(default)]
    pub on_rate_limit: OnRateLimit,
    /// JSONPath to an error an API reports inside a 200 answer (Slack's
    /// `{"ok": false, "error": "invalid_auth"}`): when it finds a value, the page fails.
    pub error_path: Option<JsonPathExpr>,
}

/// `[integration.request]`
#[derive(Debug, Clone, Deserialize)]
pub struct RequestSpec {
    pub url: ConfigUrl,
    #[serde(default)]
    pub method: Method,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Header values may be credentials (`secret:NAME`).
    #[serde(default)]
    pub headers: BTreeMap<String, Credential>,
    /// A minijinja template for the request body (POST); sees `cursor` (incremental),
    /// `page_cursor` (cursor pagination), `page` and `offset`.
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
    pub path: JsonPathExpr,
    /// The field that identifies a record, for dedupe and change detection.
    pub primary_key: Option<String>,
}

impl Default for RecordsSpec {
    fn default() -> Self {
        Self {
            path: JsonPathExpr::parse("$[*]").expect("a valid path"),
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
        cursor_path: JsonPathExpr,
        /// The query parameter that sends the cursor; without it only the request
        /// body sends it (`page_cursor`).
        param: Option<String>,
        #[serde(default = "default_max_pages")]
        max_pages: u32,
    },
    NextUrl {
        url_path: JsonPathExpr,
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

impl Paginate {
    pub fn max_pages(&self) -> u32 {
        match self {
            Self::None => 1,
            Self::Cursor { max_pages, .. }
            | Self::NextUrl { max_pages, .. }
            | Self::LinkHeader { max_pages }
            | Self::PageNumber { max_pages, .. }
            | Self::Offset { max_pages, .. } => *max_pages,
        }
    }
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
    /// The query parameter that sends the cursor on the next run; without it only the
    /// request body sends it (`cursor`).
    pub param: Option<String>,
    /// The cursor of the very first run.
    pub start: Option<String>,
    /// How the API sorts by `cursor_field`; only `ascending` lets a run that stopped
    /// early keep its progress (see `connectors::incremental`).
    pub order: Option<Order>,
}

/// The order in which a source lists records by its `cursor_field`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Oldest first: a run cut short has seen every record up to its largest value.
    Ascending,
    /// Newest first: only a run that read to the end may move the cursor.
    Descending,
}

/// `response_actions = [{ status = 404, action = "ignore" }]`
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
pub struct ResponseAction {
    pub status: u16,
    pub action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Treat the response as an empty success.
    Ignore,
    /// Retry it like a server error.
    Retry,
    /// Fail at once, without retrying.
    Fail,
    /// Wait and retry like a 429.
    RateLimited,
}

/// What a rate limit answer does: wait as the server asks, or stop the run (`partial`)
/// so the next run resumes from the cursor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnRateLimit {
    #[default]
    Wait,
    Stop,
}

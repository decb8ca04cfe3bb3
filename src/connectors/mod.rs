//! Connector kinds: each declares its settings (decoded from its integration's table),
//! which of them are secrets (`Credential` fields), and its roles.

pub mod auth;
pub mod body_records;
pub mod chat;
pub mod check;
pub mod feed;
pub mod file;
pub mod graphql;
pub mod group_commit;
pub mod http;
pub mod incremental;
pub mod link;
pub mod oauth;
pub mod oauth_code;
pub mod page_parser;
pub mod paging;
pub mod sql;
pub mod webhook;
pub mod webhook_in;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::alerts::Notice;
use crate::config::Integration;
use crate::config::kinds::KindSettings;
use crate::domain::{Failure, Page, Records};
use crate::runtime::context::RunContext;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a source sends each page of records as soon as it has it, so the run can
/// process one page while the next is fetched, and memory holds a few pages, not a run.
pub struct Pages {
    tx: tokio::sync::mpsc::Sender<Page>,
    lines_will_do: bool,
}

impl Pages {
    /// Pages of values.
    pub fn new(tx: tokio::sync::mpsc::Sender<Page>) -> Self {
        Self {
            tx,
            lines_will_do: false,
        }
    }

    /// Pages that may come as canonical JSON lines (`Page::Lines`): the run builds no
    /// values of its own, so a source that has the records' text need not either.
    pub fn lines_will_do(mut self) -> Self {
        self.lines_will_do = true;
        self
    }

    pub fn takes_lines(&self) -> bool {
        self.lines_will_do
    }

    /// Hands a page on. `false` means the run stopped taking pages (an output failed):
    /// the source should stop fetching.
    pub async fn send(&self, records: impl Into<Page>) -> bool {
        let page = records.into();
        page.is_empty() || self.tx.send(page).await.is_ok()
    }
}

/// How a source's fetching went; the records themselves went through [`Pages`].
#[derive(Debug, Default)]
pub struct Fetch {
    /// The incremental cursor these records earn, stored only if every output accepts them.
    pub cursor: Option<String>,
    /// Set when some pages were fetched and a later one failed: the run is `partial`.
    pub partial: Option<Failure>,
    pub pages: u32,
    /// Inbound events these records came from, removed once the outputs accepted them.
    pub consumed: Vec<u128>,
}

/// The result of a connection test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestReport {
    pub ok: bool,
    pub latency_ms: u64,
    pub message: String,
    pub hint: Option<String>,
}

impl TestReport {
    pub fn from_result(result: Result<String, Failure>, latency: Duration) -> Self {
        let latency_ms = latency.as_millis() as u64;
        match result {
            Ok(message) => Self {
                ok: true,
                latency_ms,
                message,
                hint: None,
            },
            Err(failure) => Self {
                ok: false,
                latency_ms,
                message: failure.message,
                hint: Some(failure.hint),
            },
        }
    }
}

/// A kind that produces records.
pub trait Source: Send + Sync {
    /// Fetches every page, sending each to `pages`. `Err` only when nothing was fetched;
    /// a failure after some pages is `Fetch::partial`.
    fn fetch<'a>(
        &'a self,
        ctx: &'a RunContext,
        pages: Pages,
    ) -> BoxFuture<'a, Result<Fetch, Failure>>;
    /// The field that identifies a record, for change detection.
    fn primary_key(&self) -> Option<&str>;
    /// A cheap check that the source answers: its first page, nothing delivered.
    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>>;
}

/// A kind that accepts records.
pub trait Output: Send + Sync {
    /// Delivers `records` from the integration `from`; all or nothing per call.
    fn deliver<'a>(
        &'a self,
        ctx: &'a RunContext,
        from: &'a str,
        records: &'a Records,
    ) -> BoxFuture<'a, Result<(), Failure>>;
    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>>;
    /// Delivers an alert notice. Outputs that carry records get it as one record;
    /// chat outputs post its text instead of their record template.
    fn notify<'a>(
        &'a self,
        ctx: &'a RunContext,
        notice: &'a Notice,
    ) -> BoxFuture<'a, Result<(), Failure>> {
        Box::pin(async move {
            let record = Records::new(vec![notice.to_json()]);
            self.deliver(ctx, "patchbay", &record).await
        })
    }
}

/// An integration's connector, built once per config load.
#[derive(Clone)]
pub enum Connector {
    Source(Arc<dyn Source>),
    Output(Arc<dyn Output>),
}

impl Connector {
    pub fn build(integration: &Integration) -> Self {
        use chat::{ChatOutput, Flavor};
        match &integration.settings {
            KindSettings::Http(s) => Self::Source(Arc::new(http::HttpSource::new((**s).clone()))),
            KindSettings::Graphql(s) => {
                Self::Source(Arc::new(graphql::GraphqlSource::new((**s).clone())))
            }
            KindSettings::Feed(s) => Self::Source(Arc::new(feed::FeedSource::new(s.clone()))),
            KindSettings::WebhookIn(s) => {
                Self::Source(Arc::new(webhook_in::WebhookInSource::new(s.clone())))
            }
            KindSettings::Webhook(s) => {
                Self::Output(Arc::new(webhook::WebhookOutput::new(s.clone())))
            }
            KindSettings::Slack(s) => {
                Self::Output(Arc::new(ChatOutput::new(Flavor::Slack, s.clone())))
            }
            KindSettings::Discord(s) => {
                Self::Output(Arc::new(ChatOutput::new(Flavor::Discord, s.clone())))
            }
            KindSettings::File(s) => Self::Output(Arc::new(file::FileOutput::new(s.clone()))),
            KindSettings::SqlSource(s) => {
                Self::Source(Arc::new(sql::SqlSource::new((**s).clone())))
            }
            KindSettings::SqlOutput(s) => {
                Self::Output(Arc::new(sql::SqlOutput::new((**s).clone())))
            }
            KindSettings::Check(s) => {
                Self::Source(Arc::new(check::CheckSource::new((**s).clone())))
            }
        }
    }

    pub fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        match self {
            Self::Source(source) => source.test(ctx),
            Self::Output(output) => output.test(ctx),
        }
    }
}

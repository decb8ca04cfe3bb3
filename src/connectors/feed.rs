//! `kind = "feed"`: RSS 2.0 and Atom (feed-rs). Each item is a record keyed by its guid
//! or id, so change detection passes on only new or changed items.

use serde_json::{Value, json};

use super::{BoxFuture, Fetch, Pages, Source, auth};
use crate::config::kinds::outputs::FeedSettings;
use crate::domain::Failure;
use crate::domain::run::ErrorClass;
use crate::runtime::context::RunContext;
use crate::runtime::http::RequestPolicy;
use secrecy::ExposeSecret;

pub struct FeedSource {
    settings: FeedSettings,
}

impl FeedSource {
    pub fn new(settings: FeedSettings) -> Self {
        Self { settings }
    }

    async fn items(&self, ctx: &RunContext) -> Result<Vec<Value>, Failure> {
        let fetched = auth::send(ctx, &RequestPolicy::default(), || {
            let mut builder = ctx.http().reqwest().get(self.settings.url.url().clone());
            for (name, value) in &self.settings.headers {
                builder = builder.header(name.as_str(), ctx.resolve(value)?.expose_secret());
            }
            Ok(builder)
        })
        .await?;
        let feed = feed_rs::parser::parse(fetched.body.as_ref()).map_err(|e| {
            Failure::new(
                ErrorClass::Decode,
                format!(
                    "{} did not answer with an RSS or Atom feed: {e}",
                    self.settings.url.host()
                ),
                "check `url`: it should be the feed itself, not its web page",
            )
        })?;
        Ok(feed
            .entries
            .into_iter()
            .map(|entry| {
                json!({
                    "id": entry.id,
                    "title": entry.title.map(|t| t.content),
                    "link": entry.links.first().map(|l| l.href.clone()),
                    "published": entry.published.map(|t| t.to_rfc3339()),
                    "updated": entry.updated.map(|t| t.to_rfc3339()),
                    "summary": entry.summary.map(|t| t.content),
                    "authors": entry.authors.into_iter().filter_map(|a| a.name).collect::<Vec<_>>(),
                })
            })
            .collect())
    }
}

impl Source for FeedSource {
    fn primary_key(&self) -> Option<&str> {
        Some("id")
    }

    fn fetch<'a>(
        &'a self,
        ctx: &'a RunContext,
        pages: Pages,
    ) -> BoxFuture<'a, Result<Fetch, Failure>> {
        Box::pin(async move {
            let records = self.items(ctx).await?;
            ctx.log(format!("the feed has {} items", records.len()));
            pages.send(records).await;
            Ok(Fetch {
                pages: 1,
                ..Fetch::default()
            })
        })
    }

    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let items = self.items(ctx).await?;
            Ok(format!(
                "{} serves a feed with {} items",
                self.settings.url.host(),
                items.len()
            ))
        })
    }
}

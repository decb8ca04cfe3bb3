//! `kind = "graphql"`: a GraphQL query, paginated through a connection's
//! `pageInfo { endCursor hasNextPage }`; GraphQL `errors` are reported.

use serde_json::{Value, json};

use super::paging::Paging;
use super::{BoxFuture, Fetch, Pages, Source, auth};
use crate::config::kinds::graphql::GraphqlSettings;
use crate::domain::Failure;
use crate::domain::run::ErrorClass;
use crate::runtime::context::RunContext;
use crate::runtime::http::{Fetched, RequestPolicy};
use secrecy::ExposeSecret;

pub struct GraphqlSource {
    settings: GraphqlSettings,
}

impl GraphqlSource {
    pub fn new(settings: GraphqlSettings) -> Self {
        Self { settings }
    }

    fn request(
        &self,
        ctx: &RunContext,
        cursor: Option<&str>,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let mut variables: serde_json::Map<String, Value> = self
            .settings
            .variables
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
            .collect();
        if let (Some(paginate), Some(cursor)) = (&self.settings.paginate, cursor) {
            variables.insert(
                paginate.cursor_variable.clone(),
                Value::String(cursor.to_owned()),
            );
        }
        let mut builder = ctx
            .http()
            .reqwest()
            .post(self.settings.url.url().clone())
            .json(&json!({ "query": self.settings.query, "variables": variables }));
        for (name, value) in &self.settings.headers {
            builder = builder.header(name.as_str(), ctx.resolve(value)?.expose_secret());
        }
        Ok(builder)
    }

    /// One page: its records, the next cursor, and the GraphQL errors it reported.
    async fn page(&self, ctx: &RunContext, cursor: Option<&str>) -> Result<GraphqlPage, Failure> {
        let fetched: Fetched =
            auth::send(ctx, &RequestPolicy::default(), || self.request(ctx, cursor)).await?;
        let mut doc = fetched.json().map_err(|e| {
            Failure::new(
                ErrorClass::Decode,
                format!(
                    "the GraphQL answer from {} is not JSON: {e}",
                    self.settings.url.host()
                ),
                "check `url`: it should be the GraphQL endpoint",
            )
        })?;
        let errors: Vec<String> = doc
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e.get("message")
                            .and_then(Value::as_str)
                            .unwrap_or("unknown error")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default();
        let matches = self.settings.records.path.locate(&doc);
        let next = self.settings.paginate.as_ref().and_then(|p| {
            let info = p.page_info_path.first(&doc)?;
            let more = info
                .get("hasNextPage")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            more.then(|| {
                info.get("endCursor")
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .flatten()
        });
        // After the page info is read: the records move out of the document.
        let records = matches.take_from(&mut doc);
        Ok(GraphqlPage {
            records,
            next,
            errors,
            body: fetched.body,
        })
    }
}

/// One answer: its records, the next cursor when there is a next page, the GraphQL
/// errors it reported, and its body (for the repeated-page guard).
struct GraphqlPage {
    records: Vec<Value>,
    next: Option<String>,
    errors: Vec<String>,
    body: bytes::Bytes,
}

fn graphql_failure(errors: &[String]) -> Failure {
    Failure::new(
        ErrorClass::Client,
        format!("GraphQL errors: {}", errors.join("; ")),
        "fix the query; the errors name the fields the server rejects",
    )
}

impl Source for GraphqlSource {
    fn primary_key(&self) -> Option<&str> {
        self.settings.records.primary_key.as_deref()
    }

    fn fetch<'a>(
        &'a self,
        ctx: &'a RunContext,
        pages: Pages,
    ) -> BoxFuture<'a, Result<Fetch, Failure>> {
        Box::pin(async move {
            let max_pages = self.settings.paginate.as_ref().map_or(1, |p| p.max_pages);
            let mut paging = Paging::new(max_pages);
            let mut fetch = Fetch::default();
            let mut cursor: Option<String> = None;
            let mut records_total = 0usize;
            loop {
                let page = match self.page(ctx, cursor.as_deref()).await {
                    Ok(page) => page,
                    Err(failure) if paging.pages() > 0 => {
                        ctx.warn(format!(
                            "page {} failed: {}",
                            paging.pages() + 1,
                            failure.message
                        ));
                        fetch.partial = Some(failure);
                        break;
                    }
                    Err(failure) => return Err(failure),
                };
                if let Err(stop) = paging.fetched(&page.body) {
                    paging.end(ctx, stop);
                    break;
                }
                records_total += page.records.len();
                if !page.errors.is_empty() {
                    // Data with errors is a partial answer; errors alone fail the run.
                    if records_total == 0 {
                        return Err(graphql_failure(&page.errors));
                    }
                    pages.send(page.records).await;
                    fetch.partial = Some(graphql_failure(&page.errors));
                    break;
                }
                if !pages.send(page.records).await {
                    break;
                }
                let Some(next) = page.next else {
                    break;
                };
                if let Err(stop) = paging.advance(Some(next.clone())) {
                    paging.end(ctx, stop);
                    break;
                }
                cursor = Some(next);
            }
            fetch.pages = paging.pages();
            ctx.log(format!(
                "fetched {records_total} records in {} pages",
                fetch.pages
            ));
            Ok(fetch)
        })
    }

    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let GraphqlPage {
                records, errors, ..
            } = self.page(ctx, None).await?;
            if !errors.is_empty() {
                return Err(graphql_failure(&errors));
            }
            Ok(format!(
                "{} answered: {} records on the first page",
                self.settings.url.host(),
                records.len()
            ))
        })
    }
}

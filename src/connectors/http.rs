//! `kind = "http"`: a REST/JSON source with pagination and incremental sync. Its
//! settings are `config::kinds::http`.

use reqwest::Url;
use reqwest::header::LINK;
use secrecy::ExposeSecret;
use serde_json::Value;

use super::body_records::{self, RecordTexts};
use super::incremental::{Reach, Watermark, scalar_text};
use super::link;
use super::page_parser::{End, PageParser, PageRecords};
use super::paging::Paging;
use super::{BoxFuture, Fetch, Pages, Source, auth};
use crate::config::kinds::http::{HttpSettings, Method, OnRateLimit, Paginate};
use crate::domain::Failure;
use crate::domain::run::ErrorClass;
use crate::runtime::context::RunContext;
use crate::runtime::http::{Fetched, RequestPolicy};

pub struct HttpSource {
    settings: HttpSettings,
    /// The member names down to the records array, when a page can be split there
    /// and its records handed on as text (`records_as_text`).
    records_at: Option<Vec<String>>,
}

/// Where the next page is.
#[derive(Debug, Clone, Default)]
struct PageState {
    /// A full URL from `next_url` or a Link header, replacing the configured one.
    url: Option<Url>,
    cursor: Option<String>,
    page: u64,
    offset: u64,
}

/// One fetched page.
struct FetchedPage {
    fetched: Fetched,
    records: PageRecords,
    next: Option<PageState>,
}

impl HttpSource {
    pub fn new(settings: HttpSettings) -> Self {
        let records_at = records_as_text(&settings);
        Self {
            settings,
            records_at,
        }
    }

    fn first_page(&self) -> PageState {
        PageState {
            page: match self.settings.paginate {
                Paginate::PageNumber { start, .. } => start,
                _ => 0,
            },
            ..PageState::default()
        }
    }

    /// The request for `page`, without credentials (`auth::send` adds them).
    fn request(
        &self,
        ctx: &RunContext,
        page: &PageState,
    ) -> Result<reqwest::RequestBuilder, Failure> {
        let spec = &self.settings.request;
        let client = ctx.http().reqwest();
        let url = page.url.clone().unwrap_or_else(|| spec.url.url().clone());
        let mut builder = match spec.method {
            Method::GET => client.get(url),
            Method::POST => client.post(url),
        };
        // A URL handed over by the server already carries its own query.
        if page.url.is_none() {
            builder = builder
                .query(&spec.query)
                .query(&self.page_params(ctx, page));
        }
        for (name, value) in &spec.headers {
            builder = builder.header(name.as_str(), ctx.resolve(value)?.expose_secret());
        }
        if let Some(template) = &spec.body {
            let body = render_body(template, ctx, page)?;
            builder = builder
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body);
        }
        Ok(builder)
    }

    fn policy(&self) -> RequestPolicy<'_> {
        RequestPolicy {
            response_actions: &self.settings.response_actions,
            on_rate_limit: self.settings.on_rate_limit,
        }
    }

    /// Fetches `page`: its records and where the page after it is (`None` when it was
    /// the last).
    async fn page(&self, ctx: &RunContext, page: &PageState) -> Result<FetchedPage, Failure> {
        let fetched = auth::send(ctx, &self.policy(), || self.request(ctx, page)).await?;
        if fetched.body.is_empty() {
            // An ignored status (response_actions) or an empty answer: no records.
            return Ok(FetchedPage {
                fetched,
                records: PageRecords::Values(Vec::new()),
                next: None,
            });
        }
        if let Some((doc, records)) = self.split(&fetched) {
            self.check_reported_error(ctx, &fetched, &doc)?;
            let next = self.next_page(page, &fetched, &doc, records.len());
            return Ok(FetchedPage {
                fetched,
                records: PageRecords::Texts(records),
                next,
            });
        }
        let mut doc = fetched.json().map_err(|e| not_json(ctx, &fetched.url, e))?;
        self.check_reported_error(ctx, &fetched, &doc)?;
        let matches = self.settings.records.path.locate(&doc);
        // The next page is read off the document before the records move out of it.
        let next = self.next_page(page, &fetched, &doc, matches.len());
        let records = matches.take_from(&mut doc);
        Ok(FetchedPage {
            fetched,
            records: PageRecords::Values(records),
            next,
        })
    }

    /// The page split at its records, which stay text for the run to parse, when the
    /// records path allows it and the body is that shape; else the whole body is
    /// parsed (which also reports a body that is not JSON).
    fn split(&self, fetched: &Fetched) -> Option<(Value, RecordTexts)> {
        let members = self.records_at.as_deref()?;
        let text = std::str::from_utf8(&fetched.body).ok()?;
        let split = body_records::split(text, members)?;
        let records = RecordTexts::new(fetched.body.clone(), split.records)?;
        Some((split.document, records))
    }

    /// An error the API reported inside a successful answer (`error_path`).
    fn check_reported_error(
        &self,
        ctx: &RunContext,
        fetched: &Fetched,
        doc: &Value,
    ) -> Result<(), Failure> {
        if let Some(path) = &self.settings.error_path
            && let Some(error) = path
                .first(doc)
                .filter(|e| !matches!(e, Value::Null | Value::Bool(false)))
        {
            return Err(reported_error(ctx, fetched, error));
        }
        Ok(())
    }

    fn page_params(&self, ctx: &RunContext, page: &PageState) -> Vec<(String, String)> {
        let mut params = Vec::new();
        if let Some(incremental) = &self.settings.incremental
            && let Some(cursor) = ctx.cursor.clone().or_else(|| incremental.start.clone())
            && let Some(param) = &incremental.param
        {
            params.push((param.clone(), cursor));
        }
        match &self.settings.paginate {
            Paginate::Cursor { param, .. } => {
                if let (Some(param), Some(cursor)) = (param, &page.cursor) {
                    params.push((param.clone(), cursor.clone()));
                }
            }
            Paginate::PageNumber {
                param,
                page_size_param,
                page_size,
                ..
            } => {
                params.push((param.clone(), page.page.to_string()));
                if let (Some(name), Some(size)) = (page_size_param, page_size) {
                    params.push((name.clone(), size.to_string()));
                }
            }
            Paginate::Offset {
                param,
                limit_param,
                limit,
                ..
            } => {
                params.push((param.clone(), page.offset.to_string()));
                params.push((limit_param.clone(), limit.to_string()));
            }
            Paginate::None | Paginate::NextUrl { .. } | Paginate::LinkHeader { .. } => {}
        }
        params
    }

    /// Where the page after `page` is, or `None` when this was the last.
    fn next_page(
        &self,
        page: &PageState,
        fetched: &Fetched,
        doc: &Value,
        count: usize,
    ) -> Option<PageState> {
        let mut next = page.clone();
        match &self.settings.paginate {
            Paginate::None => return None,
            Paginate::Cursor { cursor_path, .. } => {
                next.cursor = Some(scalar_text(cursor_path.first(doc)?)?).filter(|c| !c.is_empty());
                next.cursor.as_ref()?;
            }
            Paginate::NextUrl { url_path, .. } => {
                let target = scalar_text(url_path.first(doc)?)?;
                next.url = Some(fetched.url.join(&target).ok()?);
            }
            Paginate::LinkHeader { .. } => {
                let target = fetched
                    .headers
                    .get_all(LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(|header| link::target(header, "next"))?;
                next.url = Some(fetched.url.join(&target).ok()?);
            }
            Paginate::PageNumber { page_size, .. } => {
                if page_size.is_some_and(|size| (count as u64) < size) {
                    return None;
                }
                next.page += 1;
            }
            Paginate::Offset { limit, .. } => {
                if (count as u64) < *limit {
                    return None;
                }
                next.offset += *limit;
            }
        }
        Some(next)
    }

    /// Fetches page after page into `parser`, and says how far it read. `Err` only
    /// when the first page failed.
    async fn fetch_pages(
        &self,
        ctx: &RunContext,
        parser: &PageParser,
        fetch: &mut Fetch,
    ) -> Result<Reach, Failure> {
        let mut paging = Paging::new(self.settings.paginate.max_pages());
        let mut page = self.first_page();
        let mut records_total = 0usize;
        let reach = loop {
            let FetchedPage {
                fetched,
                records,
                next,
            } = match self.page(ctx, &page).await {
                Ok(page) => page,
                // Pages already fetched are kept: the run is partial. `on_rate_limit =
                // "stop"` ends the run the same way even on the first page.
                Err(failure)
                    if paging.pages() > 0
                        || (failure.class == ErrorClass::RateLimited
                            && self.settings.on_rate_limit == OnRateLimit::Stop) =>
                {
                    ctx.warn(format!(
                        "page {} failed: {}",
                        paging.pages() + 1,
                        failure.message
                    ));
                    fetch.partial = Some(failure);
                    break Reach::Cut;
                }
                Err(failure) => return Err(failure),
            };
            let count = records.len();
            if let Err(stop) = paging.fetched(&fetched.body) {
                break paging.end(ctx, stop);
            }
            if count == 0 {
                break Reach::End;
            }
            records_total += count;
            if !parser.send(records).await {
                // An output failed (the run earns nothing, however far it read), or a
                // page's records could not be parsed.
                break Reach::Cut;
            }
            let Some(next) = next else {
                break Reach::End;
            };
            let position = next
                .cursor
                .clone()
                .or_else(|| next.url.as_ref().map(Url::to_string));
            if let Err(stop) = paging.advance(position) {
                break paging.end(ctx, stop);
            }
            page = next;
        };
        fetch.pages = paging.pages();
        ctx.log(format!(
            "fetched {records_total} records in {} pages",
            fetch.pages
        ));
        Ok(reach)
    }
}

impl Source for HttpSource {
    fn primary_key(&self) -> Option<&str> {
        self.settings.records.primary_key.as_deref()
    }

    fn fetch<'a>(
        &'a self,
        ctx: &'a RunContext,
        pages: Pages,
    ) -> BoxFuture<'a, Result<Fetch, Failure>> {
        Box::pin(async move {
            let mut fetch = Fetch::default();
            let watermark = self.settings.incremental.as_ref().map(|incremental| {
                Watermark::new(
                    &incremental.cursor_field,
                    incremental.order,
                    ctx.cursor.clone(),
                )
            });
            let parser = PageParser::spawn(pages, watermark, self.primary_key().map(str::to_owned));
            let reach = self.fetch_pages(ctx, &parser, &mut fetch).await?;
            let parsed = parser.finish().await;
            let reach = match parsed.end {
                End::AllHanded => reach,
                End::Stopped => Reach::Cut,
                // As a body that is not JSON: the run fails on its first page, and is
                // partial, earning only what came before, on a later one.
                End::NotJson(reason) => {
                    let failure = not_json(ctx, self.settings.request.url.url(), reason);
                    if parsed.handed == 0 {
                        return Err(failure);
                    }
                    ctx.warn(format!(
                        "page {} failed: {}",
                        parsed.handed + 1,
                        failure.message
                    ));
                    fetch.partial = Some(failure);
                    Reach::Cut
                }
            };
            fetch.cursor = match parsed.watermark {
                Some(watermark) => watermark.earned(reach),
                None => ctx.cursor.clone(),
            };
            Ok(fetch)
        })
    }

    fn test<'a>(&'a self, ctx: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
        Box::pin(async move {
            let FetchedPage {
                fetched, records, ..
            } = self.page(ctx, &self.first_page()).await?;
            Ok(format!(
                "{} from {}: {} records on the first page",
                fetched.status,
                fetched.url.host_str().unwrap_or("the server"),
                records.len()
            ))
        })
    }
}

/// A body, or a record in it, that is not JSON.
fn not_json(ctx: &RunContext, url: &Url, error: impl std::fmt::Display) -> Failure {
    let host = url.host_str().unwrap_or("the server");
    Failure::new(
        ErrorClass::Decode,
        format!("the body from {host} is not valid JSON: {error}"),
        crate::runtime::classify::hint(ErrorClass::Decode, &ctx.integration, host),
    )
}

/// The member names down to the records array (`$.data[*]`: `data`), when handing a
/// page's records on as text finds the same records as the JSONPath and leaves every
/// other path the same document: the records path names members and then each
/// element, and each other path on the page (`error_path`, the cursor or next URL)
/// names members that part from the records' way before reaching them.
fn records_as_text(settings: &HttpSettings) -> Option<Vec<String>> {
    let records = settings.records.path.members_then_each()?;
    let others = [
        settings.error_path.as_ref(),
        match &settings.paginate {
            Paginate::Cursor { cursor_path, .. } => Some(cursor_path),
            Paginate::NextUrl { url_path, .. } => Some(url_path),
            _ => None,
        },
    ];
    let apart = others.into_iter().flatten().all(|path| {
        path.members().is_some_and(|members| {
            members
                .iter()
                .zip(&records)
                .any(|(theirs, ours)| theirs != ours)
        })
    });
    apart.then(|| records.into_iter().map(str::to_owned).collect())
}

/// An error the API reported inside a successful answer (`error_path`), classed by its
/// words: Slack's `invalid_auth`, `token_revoked` and `missing_scope` are auth
/// problems, `ratelimited` a rate limit, anything else the request's fault.
fn reported_error(ctx: &RunContext, fetched: &Fetched, error: &Value) -> Failure {
    let text = match error {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let text: String = text.chars().take(200).collect();
    let lower = text.to_ascii_lowercase();
    let class = if ["auth", "token", "scope", "permission"]
        .iter()
        .any(|w| lower.contains(w))
    {
        ErrorClass::Auth
    } else if lower.contains("ratelimit") || lower.contains("rate_limit") {
        ErrorClass::RateLimited
    } else {
        ErrorClass::Client
    };
    let host = fetched.url.host_str().unwrap_or("the server");
    Failure::new(
        class,
        format!(
            "{host} answered {} but reported an error: {text}",
            fetched.status.as_u16()
        ),
        crate::runtime::classify::hint(class, &ctx.integration, host),
    )
}

fn render_body(template: &str, ctx: &RunContext, page: &PageState) -> Result<String, Failure> {
    let env = minijinja::Environment::new();
    env.render_str(
        template,
        minijinja::context! {
            cursor => ctx.cursor.as_deref(),
            page_cursor => page.cursor.as_deref(),
            page => page.page,
            offset => page.offset,
        },
    )
    .map_err(|e| {
        Failure::config(
            format!("request.body template: {e}"),
            "fix the template in request.body",
        )
    })
}

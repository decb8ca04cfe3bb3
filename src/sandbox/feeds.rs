//! RSS 2.0 and Atom feeds whose items appear over time.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, Utc};

use super::Shared;

/// Items the feeds start with; one more appears every `NEW_ITEM_SECS`.
const INITIAL_ITEMS: u64 = 20;
const NEW_ITEM_SECS: u64 = 15;
/// The newest items a feed shows.
const SHOWN: u64 = 30;

fn visible(state: &Shared) -> impl Iterator<Item = (u64, DateTime<Utc>)> {
    let newest = INITIAL_ITEMS + state.elapsed_secs() / NEW_ITEM_SECS;
    let started = state.started_at;
    (newest.saturating_sub(SHOWN) + 1..=newest)
        .rev()
        .map(move |n| {
            let published = if n <= INITIAL_ITEMS {
                started - Duration::hours((INITIAL_ITEMS - n) as i64)
            } else {
                started + Duration::seconds(((n - INITIAL_ITEMS) * NEW_ITEM_SECS) as i64)
            };
            (n, published)
        })
}

pub async fn rss(State(state): State<Shared>) -> Response {
    let items: String = visible(&state)
        .map(|(n, published)| {
            format!(
                "<item><title>Release notes {n}</title><link>https://sandbox.invalid/releases/{n}</link>\
                 <guid>release-{n}</guid><pubDate>{}</pubDate><description>What changed in release {n}.</description></item>",
                published.to_rfc2822()
            )
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Sandbox releases</title>\
         <link>https://sandbox.invalid/</link><description>Releases</description>{items}</channel></rss>"
    );
    ([(header::CONTENT_TYPE, "application/rss+xml")], body).into_response()
}

pub async fn atom(State(state): State<Shared>) -> Response {
    let entries: String = visible(&state)
        .map(|(n, published)| {
            format!(
                "<entry><title>Incident report {n}</title><id>urn:sandbox:incident:{n}</id>\
                 <link href=\"https://sandbox.invalid/incidents/{n}\"/><updated>{}</updated>\
                 <summary>Incident {n} resolved.</summary></entry>",
                published.to_rfc3339()
            )
        })
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><feed xmlns=\"http://www.w3.org/2005/Atom\">\
         <title>Sandbox incidents</title><id>urn:sandbox:incidents</id><updated>{}</updated>{entries}</feed>",
        Utc::now().to_rfc3339()
    );
    ([(header::CONTENT_TYPE, "application/atom+xml")], body).into_response()
}

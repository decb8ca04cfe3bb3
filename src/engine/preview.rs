//! `patchbay test NAME --show N`: a source's first records through the pipeline, each
//! with what would become of it, against what was delivered before. The source stops
//! fetching once it has enough; nothing is delivered, stored or counted as a run.

use std::sync::Arc;

use super::executor::stored_hashes;
use crate::connectors::{Pages, Source};
use crate::domain::{Failure, Page};
use crate::pipeline::preview::{PreviewRecord, preview};
use crate::pipeline::record_key_hash;
use crate::runtime::context::{RunContext, Services};

/// The most records a preview shows.
pub const MOST: usize = 100;

pub(super) async fn sample(
    source: Arc<dyn Source>,
    ctx: &RunContext,
    services: &Arc<Services>,
    limit: usize,
) -> Result<Vec<PreviewRecord>, Failure> {
    let limit = limit.clamp(1, MOST);
    let (pages, mut received) = tokio::sync::mpsc::channel(1);
    let gather = async move {
        let mut records = Vec::new();
        while records.len() < limit {
            match received.recv().await {
                Some(page) => records.extend(Page::into_values(page)),
                None => break,
            }
        }
        records.truncate(limit);
        // Dropping the receiver here tells the source to stop fetching.
        records
    };
    let (fetched, records) = tokio::join!(source.fetch(ctx, Pages::new(pages)), gather);
    if records.is_empty() {
        fetched?;
    }
    let key_field = source.primary_key();
    let keys = records
        .iter()
        .filter_map(|record| record_key_hash(record, key_field))
        .collect();
    let known = stored_hashes(services, &ctx.integration.name, keys).await?;
    Ok(preview(
        &ctx.integration.pipeline,
        records,
        key_field,
        &known,
    ))
}

//! One run, start to finish: fetch from the source, hand the records to every output,
//! decide the status, and write the run (with the cursor it earned) to the store.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use ulid::Ulid;

use super::classify::Failure;
use super::context::{RunContext, Services};
use super::counters::RunCounters;
use super::limits::RateLimiter;
use super::writer::Writer;
use crate::config::Integration;
use crate::connectors::{Fetch, Output, Source};
use crate::pipeline::dedupe::{Classified, classify};
use crate::pipeline::record_key;
use crate::run::{Delivery, ErrorClass, RunRecord, RunStatus, Trigger};
use crate::store::{Cursor, Progress, WriteOp};

/// Why a run was cancelled: by an operator (`cancelled`) or by shutdown (`interrupted`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelReason {
    Operator,
    Shutdown,
}

/// Cancels one run, remembering why.
#[derive(Clone, Default)]
pub struct Cancel {
    token: CancellationToken,
    reason: Arc<OnceLock<CancelReason>>,
}

impl Cancel {
    pub fn cancel(&self, reason: CancelReason) {
        let _ = self.reason.set(reason);
        self.token.cancel();
    }

    pub fn token(&self) -> CancellationToken {
        self.token.clone()
    }

    fn reason(&self) -> CancelReason {
        self.reason.get().copied().unwrap_or(CancelReason::Operator)
    }
}

pub struct OutputPlan {
    pub integration: Arc<Integration>,
    pub output: Arc<dyn Output>,
    pub limiter: Option<Arc<RateLimiter>>,
}

/// Everything one run needs, resolved when it is started.
pub struct Plan {
    pub run_id: Ulid,
    pub trigger: Trigger,
    pub integration: Arc<Integration>,
    pub source: Arc<dyn Source>,
    pub limiter: Option<Arc<RateLimiter>>,
    pub outputs: Vec<OutputPlan>,
    pub cursor: Option<String>,
}

enum Outcome {
    Fetched {
        fetch: Fetch,
        records_in: u64,
        processed: Processed,
        deliveries: Vec<(Delivery, Option<Failure>)>,
    },
    SourceFailed(Failure),
    TimedOut,
    Cancelled(CancelReason),
}

/// The records after the pipeline.
struct Processed {
    classified: Classified,
    failed_transforms: usize,
}

/// Runs `plan` and returns the finished record and the cursor it stored, if any.
pub async fn execute(
    plan: Plan,
    services: Arc<Services>,
    writer: Writer,
    cancel: Cancel,
) -> (RunRecord, Option<Cursor>) {
    let integration = Arc::clone(&plan.integration);
    let mut record = RunRecord::start(&integration.name, plan.trigger, services.clock.now());
    record.id = plan.run_id;
    writer
        .write(WriteOp::Run {
            run: Box::new(record.clone()),
            logs: Vec::new(),
            progress: Progress::default(),
        })
        .await;
    let ctx = RunContext::new(
        Arc::clone(&integration),
        plan.run_id,
        Arc::clone(&services),
        plan.limiter.clone(),
        plan.cursor.clone(),
        cancel.token(),
    );
    ctx.log(format!("run started ({})", plan.trigger.as_str()));
    let outcome = tokio::select! {
        result = tokio::time::timeout(integration.timeout, pipeline(&ctx, &plan, &services, &cancel)) => {
            result.unwrap_or(Outcome::TimedOut)
        }
        () = cancel.token.cancelled() => Outcome::Cancelled(cancel.reason()),
    };
    let progress = settle(&mut record, &ctx, outcome, &plan, services.clock.now());
    let logs = ctx.take_log();
    let cursor = progress.cursor.clone();
    writer
        .write(WriteOp::Run {
            run: Box::new(record.clone()),
            logs,
            progress,
        })
        .await;
    // A run is finished once it is durable: whoever hears of it (the next run reading
    // the record hashes, the console, `patchbay run`) sees it in the store. Flushes of
    // concurrent runs are answered by the same commit, so this stays group commit.
    writer.flush().await;
    (record, cursor)
}

async fn pipeline(
    ctx: &RunContext,
    plan: &Plan,
    services: &Arc<Services>,
    cancel: &Cancel,
) -> Outcome {
    let mut fetch = match plan.source.fetch(ctx).await {
        Ok(fetch) => fetch,
        Err(failure) => return Outcome::SourceFailed(failure),
    };
    let records = std::mem::take(&mut fetch.records);
    let records_in = records.len() as u64;
    let processed = match process(ctx, plan, services, records).await {
        Ok(processed) => processed,
        Err(failure) => return Outcome::SourceFailed(failure),
    };
    let mut deliveries = Vec::with_capacity(plan.outputs.len());
    for output in &plan.outputs {
        deliveries
            .push(deliver(ctx, output, &processed.classified.deliver, services, cancel).await);
    }
    Outcome::Fetched {
        fetch,
        records_in,
        processed,
        deliveries,
    }
}

/// Transforms, then change detection against the hashes in the store.
async fn process(
    ctx: &RunContext,
    plan: &Plan,
    services: &Arc<Services>,
    records: Vec<serde_json::Value>,
) -> Result<Processed, Failure> {
    let pipeline = &plan.integration.pipeline;
    let key_field = plan.source.primary_key().map(str::to_owned);
    let transformed = pipeline.transform(records, key_field.as_deref());
    if transformed.dropped > 0 {
        ctx.log(format!(
            "{} records dropped by drop_if/keep_if",
            transformed.dropped
        ));
    }
    for failure in &transformed.failed {
        ctx.log(format!(
            "record {} failed a transform: {}",
            failure.key, failure.reason
        ));
    }
    let keys: Vec<String> = transformed
        .records
        .iter()
        .filter_map(|r| record_key(r, key_field.as_deref()))
        .collect();
    let known = if keys.is_empty() {
        HashMap::new()
    } else {
        let store = Arc::clone(&services.store);
        let name = plan.integration.name.clone();
        tokio::task::spawn_blocking(move || store.record_hashes(&name, &keys))
            .await
            .map_err(|e| {
                Failure::config(format!("reading record hashes failed: {e}"), "see the logs")
            })?
            .map_err(|e| {
                Failure::config(format!("reading record hashes failed: {e}"), "see the logs")
            })?
    };
    let classified = classify(
        transformed.records,
        key_field.as_deref(),
        &known,
        pipeline.deliver,
    );
    ctx.log(format!(
        "{} new, {} changed, {} unchanged",
        classified.new, classified.changed, classified.unchanged
    ));
    Ok(Processed {
        classified,
        failed_transforms: transformed.failed.len(),
    })
}

async fn deliver(
    source: &RunContext,
    plan: &OutputPlan,
    records: &[serde_json::Value],
    services: &Arc<Services>,
    cancel: &Cancel,
) -> (Delivery, Option<Failure>) {
    let name = plan.integration.name.clone();
    if records.is_empty() {
        let delivery = Delivery {
            output: name,
            ok: true,
            records: 0,
            attempts: 0,
            error: None,
        };
        return (delivery, None);
    }
    // The output runs under its own policies (retries, rate limit, timeout).
    let ctx = RunContext::new(
        Arc::clone(&plan.integration),
        source.run_id,
        Arc::clone(services),
        plan.limiter.clone(),
        None,
        cancel.token(),
    );
    let result = match tokio::time::timeout(
        plan.integration.timeout,
        plan.output.deliver(&ctx, &source.integration.name, records),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(Failure::new(
            ErrorClass::Timeout,
            format!("delivery to `{name}` exceeded its timeout"),
            format!("raise `timeout` of `{name}`"),
        )),
    };
    for line in ctx.take_log() {
        source.log(format!(
            "{name}: {}",
            line.split_once(' ').map_or(line.as_str(), |(_, rest)| rest)
        ));
    }
    let counters = &source.counters;
    counters
        .requests
        .fetch_add(RunCounters::get(&ctx.counters.requests), Ordering::Relaxed);
    counters
        .retries
        .fetch_add(RunCounters::get(&ctx.counters.retries), Ordering::Relaxed);
    counters.bytes.fetch_add(
        ctx.counters.bytes.load(Ordering::Relaxed),
        Ordering::Relaxed,
    );
    let attempts = 1 + RunCounters::get(&ctx.counters.retries);
    match result {
        Ok(()) => {
            source.log(format!("delivered {} records to {name}", records.len()));
            let delivery = Delivery {
                output: name,
                ok: true,
                records: records.len() as u64,
                attempts,
                error: None,
            };
            (delivery, None)
        }
        Err(failure) => {
            source.log(format!("delivery to {name} failed: {}", failure.message));
            let delivery = Delivery {
                output: name,
                ok: false,
                records: 0,
                attempts,
                error: Some(failure.message.clone()),
            };
            (delivery, Some(failure))
        }
    }
}

/// Fills the record from the outcome; returns what it earned, which is stored only
/// when every output accepted the records.
fn settle(
    record: &mut RunRecord,
    ctx: &RunContext,
    outcome: Outcome,
    plan: &Plan,
    now: chrono::DateTime<chrono::Utc>,
) -> Progress {
    let counters = &ctx.counters;
    record.requests = RunCounters::get(&counters.requests);
    record.attempts = 1 + RunCounters::get(&counters.retries);
    record.bytes = counters.bytes.load(Ordering::Relaxed);
    let mut earned = Progress::default();
    let (status, failure) = match outcome {
        Outcome::SourceFailed(failure) => (RunStatus::Failed, Some(failure)),
        Outcome::TimedOut => {
            let failure = Failure::new(
                ErrorClass::Timeout,
                format!(
                    "the run exceeded its timeout of {}",
                    humantime::format_duration(plan.integration.timeout)
                ),
                "raise `timeout`, or lower `max_pages` so a run does less",
            );
            (RunStatus::Failed, Some(failure))
        }
        Outcome::Cancelled(CancelReason::Operator) => (RunStatus::Cancelled, None),
        Outcome::Cancelled(CancelReason::Shutdown) => (RunStatus::Interrupted, None),
        Outcome::Fetched {
            fetch,
            records_in,
            processed,
            deliveries,
        } => {
            let classified = processed.classified;
            record.records_in = records_in;
            record.records_new = classified.new;
            record.records_changed = classified.changed;
            record.records_unchanged = classified.unchanged;
            record.records_delivered = deliveries.iter().map(|(d, _)| d.records).sum();
            let to_deliver = classified.deliver.len();
            let failed: Vec<Failure> = deliveries.iter().filter_map(|(_, f)| f.clone()).collect();
            let all_outputs_failed =
                !deliveries.is_empty() && failed.len() == deliveries.len() && to_deliver > 0;
            record.deliveries = deliveries.into_iter().map(|(d, _)| d).collect();
            if failed.is_empty() {
                earned.seen = classified.seen;
                earned.consumed = fetch.consumed;
                earned.cursor = fetch
                    .cursor
                    .filter(|c| Some(c) != plan.cursor.as_ref())
                    .map(|value| Cursor {
                        value,
                        run_id: record.id,
                        updated_at: now,
                    });
            }
            let transform_failure = (processed.failed_transforms > 0).then(|| {
                Failure::new(
                    ErrorClass::Decode,
                    format!(
                        "{} records failed a transform (see the run log for their keys)",
                        processed.failed_transforms
                    ),
                    "fix [integration.pipeline] or the records; the other records were processed",
                )
            });
            match (
                fetch.partial.or(transform_failure),
                failed.into_iter().next(),
            ) {
                (None, None) => (RunStatus::Success, None),
                (_, Some(failure)) if all_outputs_failed => (RunStatus::Failed, Some(failure)),
                (Some(failure), _) | (None, Some(failure)) => (RunStatus::Partial, Some(failure)),
            }
        }
    };
    if let Some(failure) = failure {
        ctx.log(format!("{}: {}", failure.class, failure.message));
        record.error_class = Some(failure.class);
        record.error_message = Some(failure.message);
        record.hint = Some(failure.hint);
    }
    record.finish(status, now);
    ctx.log(format!(
        "run {status} in {} ms",
        record.duration_ms.unwrap_or(0)
    ));
    earned
}

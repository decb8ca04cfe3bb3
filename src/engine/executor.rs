//! One run, start to finish: fetch from the source, hand the records to every output,
//! decide the status, and write the run (with the cursor it earned) to the store.

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
use crate::run::{Delivery, ErrorClass, RunRecord, RunStatus, Trigger};
use crate::store::{Cursor, WriteOp};

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
        deliveries: Vec<(Delivery, Option<Failure>)>,
    },
    SourceFailed(Failure),
    TimedOut,
    Cancelled(CancelReason),
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
            cursor: None,
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
    let cursor = settle(&mut record, &ctx, outcome, &plan, services.clock.now());
    let logs = ctx.take_log();
    writer
        .write(WriteOp::Run {
            run: Box::new(record.clone()),
            logs,
            cursor: cursor.clone(),
        })
        .await;
    (record, cursor)
}

async fn pipeline(
    ctx: &RunContext,
    plan: &Plan,
    services: &Arc<Services>,
    cancel: &Cancel,
) -> Outcome {
    let fetch = match plan.source.fetch(ctx).await {
        Ok(fetch) => fetch,
        Err(failure) => return Outcome::SourceFailed(failure),
    };
    let mut deliveries = Vec::with_capacity(plan.outputs.len());
    for output in &plan.outputs {
        deliveries.push(deliver(ctx, output, &fetch.records, services, cancel).await);
    }
    Outcome::Fetched { fetch, deliveries }
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

/// Fills the record from the outcome; returns the cursor to store with it.
fn settle(
    record: &mut RunRecord,
    ctx: &RunContext,
    outcome: Outcome,
    plan: &Plan,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Cursor> {
    let counters = &ctx.counters;
    record.requests = RunCounters::get(&counters.requests);
    record.attempts = 1 + RunCounters::get(&counters.retries);
    record.bytes = counters.bytes.load(Ordering::Relaxed);
    let mut cursor = None;
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
        Outcome::Fetched { fetch, deliveries } => {
            let records = fetch.records.len() as u64;
            record.records_in = records;
            record.records_new = records;
            record.records_delivered = deliveries.iter().map(|(d, _)| d.records).sum();
            let failed: Vec<Failure> = deliveries.iter().filter_map(|(_, f)| f.clone()).collect();
            let all_outputs_failed =
                !deliveries.is_empty() && failed.len() == deliveries.len() && records > 0;
            record.deliveries = deliveries.into_iter().map(|(d, _)| d).collect();
            if failed.is_empty() {
                cursor = fetch
                    .cursor
                    .filter(|c| Some(c) != plan.cursor.as_ref())
                    .map(|value| Cursor {
                        value,
                        run_id: record.id,
                        updated_at: now,
                    });
            }
            match (fetch.partial, failed.into_iter().next()) {
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
    cursor
}

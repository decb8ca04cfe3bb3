//! One run, start to finish: the source fetches pages while the run transforms,
//! classifies and delivers the page before; then the status is decided and the run is
//! written to the store with what it earned (cursor, record hashes, consumed events),
//! which is kept only when every output accepted every page.

use std::collections::HashMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

use futures::FutureExt;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::AbortOnDropHandle;
use ulid::Ulid;

use super::writer::Writer;
use crate::config::Integration;
use crate::connectors::{Fetch, Output, Pages, Source};
use crate::domain::run::{Delivery, ErrorClass, RunRecord, RunStatus, Trigger};
use crate::domain::trace;
use crate::domain::{Failure, Page, Records};
use crate::pipeline::dedupe::ChangeDetector;
use crate::runtime::classify::INTERNAL_HINT;
use crate::runtime::context::{RunContext, Services, log_line};
use crate::runtime::counters::RunCounters;
use crate::runtime::limits::RateLimiter;
use crate::store::{Cursor, Progress, Store, WriteOp};

/// Pages in flight between the source and the outputs: enough to overlap fetching
/// with processing, few enough that memory holds pages, not runs.
const PAGES_IN_FLIGHT: usize = 2;

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
        tally: Box<Tally>,
        /// The run's timeout cut a page short: what went out is counted, but nothing is
        /// earned, since the detector may have seen records whose delivery was cut.
        cut_short: bool,
    },
    SourceFailed(Failure),
    TimedOut,
    Cancelled(CancelReason),
}

/// What one output did during a run.
struct OutputTally {
    ctx: RunContext,
    records: u64,
    failure: Option<Failure>,
}

/// What a run's pages came to, page after page.
struct Tally {
    records_in: u64,
    failed_transforms: usize,
    dropped: u64,
    detector: ChangeDetector,
    outputs: Vec<OutputTally>,
}

/// Runs `plan` and returns the finished record and the cursor it stored, if any.
///
/// A panic anywhere in the run (source, pipeline, an output) becomes a `failed` run of
/// class `internal` that is recorded like any other, so the engine always hears back:
/// the integration keeps its schedule and a shutdown does not wait for it.
pub async fn execute(
    plan: Plan,
    services: Arc<Services>,
    writer: Writer,
    cancel: Cancel,
) -> (RunRecord, Option<Cursor>) {
    let (name, trigger, run_id) = (plan.integration.name.clone(), plan.trigger, plan.run_id);
    let started_at = services.clock.now();
    let run = run_plan(plan, Arc::clone(&services), writer.clone(), cancel);
    let panic = match AssertUnwindSafe(run).catch_unwind().await {
        Ok(finished) => return finished,
        Err(panic) => panic,
    };
    let failure = Failure::new(
        ErrorClass::Internal,
        format!("the run panicked: {}", panic_text(panic.as_ref())),
        INTERNAL_HINT,
    );
    tracing::error!(integration = %name, run = %run_id, error = %failure.message, "run panicked");
    let now = services.clock.now();
    let logs = vec![log_line(now, &format!("internal: {}", failure.message))];
    let mut record = RunRecord::start(&name, trigger, started_at);
    record.id = run_id;
    record.note_failure(failure);
    record.finish(RunStatus::Failed, now);
    writer
        .write(WriteOp::Run {
            run: Box::new(record.clone()),
            logs,
            requests: Vec::new(),
            progress: Progress::default(),
        })
        .await;
    writer.flush().await;
    (record, None)
}

/// The message a panic was raised with, when it is text.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

async fn run_plan(
    plan: Plan,
    services: Arc<Services>,
    writer: Writer,
    cancel: Cancel,
) -> (RunRecord, Option<Cursor>) {
    let integration = Arc::clone(&plan.integration);
    let mut record = RunRecord::start(&integration.name, plan.trigger, services.clock.now());
    record.id = plan.run_id;
    writer.write(WriteOp::run_record(record.clone())).await;
    let ctx = Arc::new(RunContext::new(
        Arc::clone(&integration),
        plan.run_id,
        Arc::clone(&services),
        plan.limiter.clone(),
        plan.cursor.clone(),
        cancel.token(),
    ));
    ctx.log(format!("run started ({})", plan.trigger.as_str()));
    let outcome = tokio::select! {
        outcome = pipeline(&ctx, &plan, &services, &cancel) => outcome,
        () = cancel.token.cancelled() => Outcome::Cancelled(cancel.reason()),
    };
    let progress = settle(&mut record, &ctx, outcome, &plan, services.clock.now());
    let logs = ctx.take_log();
    let requests = trace::kept(record.status == RunStatus::Success, ctx.take_requests());
    let cursor = progress.cursor.clone();
    writer
        .write(WriteOp::Run {
            run: Box::new(record.clone()),
            logs,
            requests,
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
    ctx: &Arc<RunContext>,
    plan: &Plan,
    services: &Arc<Services>,
    cancel: &Cancel,
) -> Outcome {
    let (tx, rx) = mpsc::channel(PAGES_IN_FLIGHT);
    let outputs = plan
        .outputs
        .iter()
        .map(|output| OutputTally {
            // Each output runs under its own policies (retries, rate limit).
            ctx: RunContext::new(
                Arc::clone(&output.integration),
                ctx.run_id,
                Arc::clone(services),
                output.limiter.clone(),
                None,
                cancel.token(),
            ),
            records: 0,
            failure: None,
        })
        .collect();
    let mut tally = Tally {
        records_in: 0,
        failed_transforms: 0,
        dropped: 0,
        detector: ChangeDetector::new(
            plan.source.primary_key().map(str::to_owned),
            plan.integration.pipeline.deliver,
        ),
        outputs,
    };
    // The source is a task of its own, so on more than one core the next page is
    // fetched and parsed while this one is transformed and delivered. Dropping the
    // handle (timeout, cancel) stops it.
    let source = {
        let (source, ctx) = (Arc::clone(&plan.source), Arc::clone(ctx));
        let pages = if plan.integration.pipeline.changes_nothing() {
            Pages::new(tx).lines_will_do()
        } else {
            Pages::new(tx)
        };
        AbortOnDropHandle::new(tokio::spawn(async move { source.fetch(&ctx, pages).await }))
    };
    let work = async {
        let (fetched, ()) = tokio::join!(source, tally.consume(rx, ctx, plan, services));
        // A panic in the source is the run's panic: `execute` records it.
        fetched.unwrap_or_else(|error| match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => Err(Failure::new(
                ErrorClass::Internal,
                "the source was stopped",
                INTERNAL_HINT,
            )),
        })
    };
    let (fetched, cut_short) = match tokio::time::timeout(plan.integration.timeout, work).await {
        Ok(fetched) => (fetched, false),
        // Out of time with nothing taken in: the run failed.
        Err(_) if tally.records_in == 0 => return Outcome::TimedOut,
        // Out of time after some pages: the record counts what went out (it used to
        // say "0 records" with pages delivered), the run is partial, and it earns
        // nothing, so the next run sends those records again (at least once).
        Err(_) => {
            let fetch = Fetch {
                partial: Some(timeout_failure(plan)),
                ..Fetch::default()
            };
            (Ok(fetch), true)
        }
    };
    match fetched {
        Ok(fetch) => Outcome::Fetched {
            fetch,
            tally: Box::new(tally),
            cut_short,
        },
        Err(failure) => Outcome::SourceFailed(failure),
    }
}

fn timeout_failure(plan: &Plan) -> Failure {
    Failure::new(
        ErrorClass::Timeout,
        format!(
            "the run exceeded its timeout of {}",
            humantime::format_duration(plan.integration.timeout)
        ),
        "raise `timeout`, or lower `max_pages` so a run does less",
    )
}

impl Tally {
    /// Takes pages until the source is done, or until an output fails: returning then
    /// drops the receiver, which tells the source to stop.
    async fn consume(
        &mut self,
        mut pages: mpsc::Receiver<Page>,
        ctx: &RunContext,
        plan: &Plan,
        services: &Arc<Services>,
    ) {
        let pipeline = &plan.integration.pipeline;
        // A keyed integration with nothing stored (its first run, often the largest it
        // will do) has nothing to look up: a record is new unless this run saw it. That
        // saves a trip off the runtime for every page.
        let look_up = if plan.source.primary_key().is_some() {
            match anything_stored(services, &plan.integration.name).await {
                Ok(stored) => stored,
                Err(failure) => return self.fail_outputs(failure),
            }
        } else {
            false
        };
        while let Some(page) = pages.recv().await {
            self.records_in += page.len() as u64;
            // Lines come only when nothing transforms: records pass as they are.
            let page = if pipeline.changes_nothing() {
                page
            } else {
                Page::Values(self.transform(ctx, plan, page.into_values()))
            };
            let keys = if look_up {
                self.detector.keys_to_look_up(&page)
            } else {
                Vec::new()
            };
            let known = match stored_hashes(services, &plan.integration.name, keys).await {
                Ok(known) => known,
                Err(failure) => return self.fail_outputs(failure),
            };
            let deliver = self.detector.page(page, &known);
            if deliver.is_empty() {
                continue;
            }
            for (output, tally) in plan.outputs.iter().zip(&mut self.outputs) {
                match deliver_page(&tally.ctx, output, &plan.integration.name, &deliver).await {
                    Ok(()) => tally.records += deliver.len() as u64,
                    Err(failure) => {
                        tally.failure = Some(failure);
                        return;
                    }
                }
            }
        }
    }

    /// The page through the integration's transforms, what they dropped and what
    /// failed them counted and logged.
    fn transform(&mut self, ctx: &RunContext, plan: &Plan, page: Vec<Value>) -> Vec<Value> {
        let pipeline = &plan.integration.pipeline;
        let transformed = pipeline.transform(page, plan.source.primary_key());
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
        self.failed_transforms += transformed.failed.len();
        self.dropped += transformed.dropped as u64;
        transformed.records
    }

    /// Every output that has not failed yet fails with `failure`.
    fn fail_outputs(&mut self, failure: Failure) {
        for output in &mut self.outputs {
            output.failure.get_or_insert_with(|| failure.clone());
        }
    }

    /// Each output's result; its log lines and request counts join the run's.
    fn deliveries(&self, ctx: &RunContext) -> Vec<(Delivery, Option<Failure>)> {
        self.outputs
            .iter()
            .map(|output| {
                let name = &output.ctx.integration.name;
                for line in output.ctx.take_log() {
                    let line = line.split_once(' ').map_or(line.as_str(), |(_, rest)| rest);
                    ctx.log(format!("{name}: {line}"));
                }
                let counters = &output.ctx.counters;
                ctx.counters
                    .retries
                    .fetch_add(RunCounters::get(&counters.retries), Ordering::Relaxed);
                ctx.counters
                    .bytes
                    .fetch_add(counters.bytes.load(Ordering::Relaxed), Ordering::Relaxed);
                match &output.failure {
                    Some(failure) => {
                        ctx.warn(format!("delivery to {name} failed: {}", failure.message))
                    }
                    None if output.records > 0 => {
                        ctx.log(format!("delivered {} records to {name}", output.records))
                    }
                    None => {}
                }
                let delivery = Delivery {
                    output: name.clone(),
                    ok: output.failure.is_none(),
                    records: output.records,
                    requests: RunCounters::get(&counters.requests),
                    attempts: 1 + RunCounters::get(&counters.retries),
                    error: output.failure.as_ref().map(|f| f.message.clone()),
                    error_class: output.failure.as_ref().map(|f| f.class),
                };
                (delivery, output.failure.clone())
            })
            .collect()
    }
}

/// The stored content hashes for `keys`, read off the async runtime.
pub(super) async fn stored_hashes(
    services: &Arc<Services>,
    integration: &str,
    keys: Vec<u128>,
) -> Result<HashMap<u128, u64>, Failure> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let name = integration.to_owned();
    read_hashes(services, move |store| store.record_hashes(&name, &keys)).await
}

/// Whether `integration` has delivered anything that the store remembers.
async fn anything_stored(services: &Arc<Services>, integration: &str) -> Result<bool, Failure> {
    let name = integration.to_owned();
    read_hashes(services, move |store| store.has_record_hashes(&name)).await
}

async fn read_hashes<T: Send + 'static>(
    services: &Arc<Services>,
    read: impl FnOnce(&Store) -> crate::store::Result<T> + Send + 'static,
) -> Result<T, Failure> {
    let store = Arc::clone(&services.store);
    let failure =
        |e: String| Failure::config(format!("reading record hashes failed: {e}"), "see the logs");
    tokio::task::spawn_blocking(move || read(&store))
        .await
        .map_err(|e| failure(e.to_string()))?
        .map_err(|e| failure(e.to_string()))
}

async fn deliver_page(
    ctx: &RunContext,
    plan: &OutputPlan,
    from: &str,
    records: &Records,
) -> Result<(), Failure> {
    let name = &plan.integration.name;
    match tokio::time::timeout(
        plan.integration.timeout,
        plan.output.deliver(ctx, from, records),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err(Failure::new(
            ErrorClass::Timeout,
            format!("delivery to `{name}` exceeded its timeout"),
            format!("raise `timeout` of `{name}`"),
        )),
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
    let mut earned = Progress::default();
    let (status, failure) = match outcome {
        Outcome::SourceFailed(failure) => (RunStatus::Failed, Some(failure)),
        Outcome::TimedOut => (RunStatus::Failed, Some(timeout_failure(plan))),
        Outcome::Cancelled(CancelReason::Operator) => (RunStatus::Cancelled, None),
        Outcome::Cancelled(CancelReason::Shutdown) => (RunStatus::Interrupted, None),
        Outcome::Fetched {
            fetch,
            tally,
            cut_short,
        } => {
            let deliveries = tally.deliveries(ctx);
            record.records_in = tally.records_in;
            record.records_new = tally.detector.new;
            record.records_changed = tally.detector.changed;
            record.records_unchanged = tally.detector.unchanged;
            record.records_dropped = tally.dropped;
            record.records_delivered = deliveries.iter().map(|(d, _)| d.records).min().unwrap_or(0);
            record.output_requests = deliveries.iter().map(|(d, _)| d.requests).sum();
            let failed: Vec<Failure> = deliveries.iter().filter_map(|(_, f)| f.clone()).collect();
            // An output refused and none accepted anything: the run achieved nothing.
            let nothing_delivered = deliveries.iter().all(|(d, _)| d.records == 0);
            let all_outputs_failed = !failed.is_empty() && nothing_delivered;
            record.deliveries = deliveries.into_iter().map(|(d, _)| d).collect();
            let transform_failure = (tally.failed_transforms > 0).then(|| {
                Failure::new(
                    ErrorClass::Decode,
                    format!(
                        "{} records failed a transform (see the run log for their keys)",
                        tally.failed_transforms
                    ),
                    "fix [integration.pipeline] or the records; the other records were processed",
                )
            });
            if failed.is_empty() && !cut_short {
                earned.set_seen(tally.detector.into_seen());
                earned.consumed = fetch.consumed;
                earned.cursor = fetch
                    .cursor
                    .filter(|c| Some(c) != plan.cursor.as_ref())
                    .map(|value| Cursor {
                        value,
                        run_id: Some(record.id),
                        updated_at: now,
                    });
            }
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
    let counters = &ctx.counters;
    record.requests = RunCounters::get(&counters.requests);
    record.attempts = 1 + RunCounters::get(&counters.retries);
    record.bytes = counters.bytes.load(Ordering::Relaxed);
    record.rate_limit_hits = RunCounters::get(&counters.rate_limit_hits);
    record.certificate_expires_at = counters.certificate_not_after();
    record.quota_left = counters.quota_left();
    if let Some(failure) = failure {
        ctx.log(format!("{}: {}", failure.class, failure.message));
        record.note_failure(failure);
    }
    record.finish(status, now);
    ctx.log(format!(
        "run {status} in {} ms",
        record.duration_ms.unwrap_or(0)
    ));
    earned
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;
    use crate::config::{Config, SourceFile};
    use crate::connectors::BoxFuture;
    use crate::runtime::clock::SystemClock;
    use crate::runtime::http::HttpClient;
    use crate::runtime::metrics::Metrics;
    use crate::store::Store;

    /// A source with a bug: it panics halfway through its first page.
    struct PanickingSource;

    impl Source for PanickingSource {
        fn fetch<'a>(
            &'a self,
            _: &'a RunContext,
            _: Pages,
        ) -> BoxFuture<'a, Result<Fetch, Failure>> {
            Box::pin(async { panic!("index out of bounds: the len is 0 but the index is 3") })
        }

        fn primary_key(&self) -> Option<&str> {
            None
        }

        fn test<'a>(&'a self, _: &'a RunContext) -> BoxFuture<'a, Result<String, Failure>> {
            Box::pin(async { Ok(String::new()) })
        }
    }

    #[tokio::test]
    async fn a_panicking_run_is_recorded_as_a_failed_internal_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open_in(dir.path()).unwrap());
        let config = Config::parse(SourceFile::new(
            "c.toml",
            "[[integration]]\nname = \"buggy\"\nkind = \"http\"\nevery = \"1m\"\n[integration.request]\nurl = \"http://127.0.0.1:9/\"\n",
        ));
        assert!(config.is_valid(), "{}", config.render_problems());
        let services = Arc::new(Services {
            http: HttpClient::new(NonZeroU32::new(4).unwrap()),
            store: Arc::clone(&store),
            tokens: Default::default(),
            inbound_addr: Default::default(),
            vault: None,
            clock: Arc::new(SystemClock),
            metrics: Arc::new(Metrics::default()),
        });
        let (writer, _task) = Writer::spawn(Arc::clone(&store));
        let plan = Plan {
            run_id: Ulid::new(),
            trigger: Trigger::Manual,
            integration: Arc::new(config.integrations[0].clone()),
            source: Arc::new(PanickingSource),
            limiter: None,
            outputs: Vec::new(),
            cursor: Some("41".into()),
        };
        let run_id = plan.run_id;
        let (record, cursor) = execute(plan, services, writer, Cancel::default()).await;
        assert_eq!(record.status, RunStatus::Failed);
        assert_eq!(record.error_class, Some(ErrorClass::Internal));
        assert!(
            record
                .error_message
                .as_deref()
                .is_some_and(|m| m.contains("index out of bounds")),
            "{record:?}"
        );
        assert_eq!(cursor, None, "a panicking run earns nothing");
        let stored = store.run("buggy", run_id).unwrap().expect("recorded");
        assert_eq!(
            stored, record,
            "the store holds the finished record, not `running`"
        );
        assert!(store.run_logs(run_id).unwrap()[0].contains("internal: the run panicked"));
    }
}

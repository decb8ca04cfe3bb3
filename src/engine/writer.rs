//! The one task that writes to the store. It takes whatever has queued up while the
//! previous commit was in flight, and for `GATHER` after the first write, and commits
//! it as one transaction (group commit), so a burst of thousands of runs costs a
//! handful of fsyncs, not one each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::store::{Store, WriteOp};

/// Ops taken into one transaction at most, to bound a commit's size and latency.
const MAX_BATCH: usize = 4096;
/// How long writes are gathered before a commit. Runs that end at a steady pace (2,000
/// checks a second) otherwise each got a commit and an fsync of their own, which was a
/// fifth of the service's CPU; a few milliseconds more before a run is durable is not
/// noticed, and commits fall to at most a couple of hundred a second.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);
const QUEUE: usize = 65_536;

// Nearly every message is an `Op`; boxing it to shrink the rare `Flush` would cost an
// allocation per write.
#[allow(clippy::large_enum_variant)]
enum Message {
    Op(WriteOp),
    Flush(oneshot::Sender<()>),
}

/// Sends writes to the writer task. Cheap to clone.
#[derive(Clone)]
pub struct Writer {
    tx: mpsc::Sender<Message>,
    stats: Arc<WriterStats>,
}

#[derive(Debug, Default)]
pub struct WriterStats {
    pub commits: AtomicU64,
    pub ops: AtomicU64,
    pub failures: AtomicU64,
}

impl Writer {
    pub fn spawn(store: Arc<Store>) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(QUEUE);
        let stats = Arc::new(WriterStats::default());
        let task = tokio::spawn(run(store, rx, Arc::clone(&stats)));
        (Self { tx, stats }, task)
    }

    /// Queues a write; waits only when the queue is full.
    pub async fn write(&self, op: WriteOp) {
        if self.tx.send(Message::Op(op)).await.is_err() {
            tracing::error!("the store writer has stopped; a write was lost");
        }
    }

    /// Returns once everything queued before it is committed.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    pub fn stats(&self) -> &WriterStats {
        &self.stats
    }
}

/// How long a failed batch is retried before it is given up: a full disk gets about
/// half a minute to make room, during which writers wait rather than lose records.
const RETRY_DELAYS_MS: [u64; 6] = [500, 1_000, 2_000, 4_000, 8_000, 16_000];

/// Commits `ops` in one transaction; on failure (a full disk, say) retries the same
/// batch with growing delays, so a passing failure loses nothing. Only a failure that
/// outlasts every retry drops the batch, saying how much.
async fn commit(store: &Arc<Store>, mut ops: Vec<WriteOp>, stats: &WriterStats) {
    let count = ops.len() as u64;
    for (attempt, delay) in std::iter::once(0).chain(RETRY_DELAYS_MS).enumerate() {
        if delay > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
        }
        let task_store = Arc::clone(store);
        let result = tokio::task::spawn_blocking(move || {
            let result = task_store.apply(&ops);
            (ops, result)
        })
        .await;
        let error = match result {
            Ok((_, Ok(()))) => {
                stats.commits.fetch_add(1, Ordering::Relaxed);
                stats.ops.fetch_add(count, Ordering::Relaxed);
                if attempt > 0 {
                    tracing::info!(ops = count, attempt, "the store accepts writes again");
                }
                return;
            }
            Ok((back, Err(error))) => {
                ops = back;
                error.to_string()
            }
            Err(error) => {
                stats.failures.fetch_add(1, Ordering::Relaxed);
                tracing::error!(%error, ops = count, "the store write task failed; these writes are lost");
                return;
            }
        };
        stats.failures.fetch_add(1, Ordering::Relaxed);
        tracing::error!(%error, ops = count, attempt = attempt + 1, "writing to the store failed; retrying");
    }
    tracing::error!(
        ops = count,
        "writing to the store kept failing; these writes are lost"
    );
}

async fn run(store: Arc<Store>, mut rx: mpsc::Receiver<Message>, stats: Arc<WriterStats>) {
    while let Some(first) = rx.recv().await {
        tokio::time::sleep(GATHER).await;
        let mut ops = Vec::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Op(op) => ops.push(op),
                Message::Flush(done) => flushes.push(done),
            }
            next = if ops.len() < MAX_BATCH {
                rx.try_recv().ok()
            } else {
                None
            };
        }
        if !ops.is_empty() {
            commit(&store, ops, &stats).await;
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::run::{RunRecord, RunStatus, Trigger};

    #[tokio::test]
    async fn a_burst_is_persisted_whole_in_few_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open_in(dir.path()).unwrap());
        let (writer, _task) = Writer::spawn(Arc::clone(&store));
        let start = chrono::Utc::now();
        for i in 0..5000 {
            // Manual runs: scheduled successes alike would fold into one record.
            let mut run = RunRecord::start(
                &format!("i{}", i % 50),
                Trigger::Manual,
                start + chrono::Duration::milliseconds(i),
            );
            run.finish(RunStatus::Success, run.started_at);
            writer
                .write(WriteOp::Run {
                    run: Box::new(run),
                    logs: vec![format!("line {i}")],
                    requests: Vec::new(),
                    progress: Default::default(),
                })
                .await;
        }
        writer.flush().await;
        assert_eq!(store.runs(None, 10_000).unwrap().len(), 5000);
        assert_eq!(store.runs(Some("i7"), 1000).unwrap().len(), 100);
        let commits = writer.stats().commits.load(Ordering::Relaxed);
        assert_eq!(writer.stats().ops.load(Ordering::Relaxed), 5000);
        assert!(commits < 100, "{commits} commits for 5000 runs");
    }
}

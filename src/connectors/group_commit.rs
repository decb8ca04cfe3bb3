//! Group commit for inbound events. Each accepted event must be durable before its
//! sender hears `202`, and a commit costs an fsync: events that arrive while one
//! commit is under way share the next, so sixteen senders pay one fsync, not sixteen.
//! Every sender still waits for the commit that holds its event.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::store::Store;

/// Events waiting for a commit; a sender beyond this waits, which bounds memory.
const QUEUE: usize = 1024;
/// The most one commit takes, in bytes of events, so one commit stays short.
const BATCH_BYTES: usize = 16 * 1024 * 1024;

struct Pending {
    integration: String,
    id: u128,
    event: Vec<u8>,
    committed: oneshot::Sender<bool>,
}

#[derive(Clone)]
pub struct InboxWriter {
    tx: mpsc::Sender<Pending>,
}

impl InboxWriter {
    /// Starts the committing thread; it ends when every writer is dropped.
    pub fn spawn(store: Arc<Store>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel(QUEUE);
        std::thread::Builder::new()
            .name("inbox-commit".into())
            .spawn(move || commit_loop(&store, rx))?;
        Ok(Self { tx })
    }

    /// Stores one event; `true` once it is durable, `false` if the store refused it.
    pub async fn put(&self, integration: &str, id: u128, event: Vec<u8>) -> bool {
        let (committed, wait) = oneshot::channel();
        let pending = Pending {
            integration: integration.to_owned(),
            id,
            event,
            committed,
        };
        self.tx.send(pending).await.is_ok() && wait.await.unwrap_or(false)
    }
}

fn commit_loop(store: &Store, mut rx: mpsc::Receiver<Pending>) {
    while let Some(first) = rx.blocking_recv() {
        let mut bytes = first.event.len();
        let mut batch = vec![first];
        while bytes < BATCH_BYTES {
            let Ok(next) = rx.try_recv() else { break };
            bytes += next.event.len();
            batch.push(next);
        }
        let events: Vec<(&str, u128, &[u8])> = batch
            .iter()
            .map(|p| (p.integration.as_str(), p.id, p.event.as_slice()))
            .collect();
        let stored = match store.put_inbox_events(&events) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, events = batch.len(), "could not store inbound events");
                false
            }
        };
        for pending in batch {
            let _ = pending.committed.send(stored);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_events_are_all_stored_and_share_commits() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open_in(dir.path()).unwrap());
        let writer = InboxWriter::spawn(Arc::clone(&store)).unwrap();
        let puts = (0..200u128).map(|id| {
            let writer = writer.clone();
            async move {
                writer
                    .put("hook", id, format!("{{\"n\":{id}}}").into_bytes())
                    .await
            }
        });
        let results = futures::future::join_all(puts).await;
        assert!(results.iter().all(|ok| *ok));
        let stored = store.inbox("hook", 1000).unwrap();
        assert_eq!(stored.len(), 200);
        assert_eq!(stored[7], (7, b"{\"n\":7}".to_vec()));
    }
}

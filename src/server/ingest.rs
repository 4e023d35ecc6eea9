//! Group commit for the webhook receiver: concurrent notifications are stored together, in
//! one transaction per batch, and each request is answered only after the transaction that
//! holds its event has committed.
//!
//! Requests hand their receipt to a queue; a writer takes everything queued (up to
//! [`MAX_BATCH`]) and stores it with [`Store::ingest_webhook_events`]. There is no waiting
//! window: while one batch commits, the next gathers, so a lone request is written at once
//! and a burst is written in as many commits as the database needs, not one per request.

use std::sync::Arc;

use tokio::sync::{Mutex, mpsc, oneshot};

use crate::store::{BackendKind, Store, StoreError, StoreResult, WebhookInsert, WebhookReceipt};

/// The most notifications one transaction stores.
pub const MAX_BATCH: usize = 256;

/// Receipts waiting for a writer; beyond this, requests wait to be queued (backpressure
/// rather than unbounded memory).
const QUEUE: usize = 4 * MAX_BATCH;

struct Queued {
    receipt: WebhookReceipt,
    reply: oneshot::Sender<StoreResult<WebhookInsert>>,
}

/// The receiver's handle on its writers (cheap to clone).
#[derive(Clone)]
pub struct GroupCommit {
    queue: mpsc::Sender<Queued>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// Starts the writers on the current runtime: two on PostgreSQL, so one batch gathers
    /// and is sent while the other waits for its commit; one on SQLite, which has a single
    /// writer anyway. They stop when every handle is dropped.
    pub fn start(store: Store) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE);
        let rx = Arc::new(Mutex::new(rx));
        let writers = match store.backend() {
            BackendKind::Postgres => 2,
            BackendKind::Sqlite => 1,
        };
        for _ in 0..writers {
            tokio::spawn(writer(store.clone(), rx.clone()));
        }
        Self { queue }
    }

    /// Stores one receipt with whatever else is queued; returns once it is committed.
    pub async fn store(&self, receipt: WebhookReceipt) -> StoreResult<WebhookInsert> {
        let (reply, answer) = oneshot::channel();
        if self.queue.send(Queued { receipt, reply }).await.is_err() {
            return Err(writer_gone());
        }
        answer.await.unwrap_or_else(|_| Err(writer_gone()))
    }
}

/// The writers are gone (the process is stopping): the caller answers "try again later".
fn writer_gone() -> StoreError {
    StoreError::Database(sqlx::Error::PoolClosed)
}

async fn writer(store: Store, rx: Arc<Mutex<mpsc::Receiver<Queued>>>) {
    let mut batch: Vec<Queued> = Vec::with_capacity(MAX_BATCH);
    loop {
        {
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut batch, MAX_BATCH).await == 0 {
                return;
            }
        }
        let (receipts, replies): (Vec<WebhookReceipt>, Vec<_>) =
            batch.drain(..).map(|q| (q.receipt, q.reply)).unzip();
        let results = store.ingest_webhook_events(&receipts).await;
        for (reply, result) in replies.into_iter().zip(results) {
            // A caller that went away (client disconnected) needs no answer; its event is
            // stored all the same and a redelivery is a duplicate.
            let _ = reply.send(result);
        }
    }
}

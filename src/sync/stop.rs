//! An orderly stop (SIGTERM, Ctrl-C): stop claiming, let the sends already under way finish
//! within the grace period, then hand every claim still held back to the queue so the next
//! process sends those orders at once instead of waiting out the lease.
//!
//! Handing a claim back must never let an order reach Stream twice. The next claim of an
//! order looks it up in Stream before creating it only when an earlier attempt may have
//! reached Stream (`attempts > 1`). So this process remembers which of its claimed orders
//! have had a Stream call started: those are handed back with their attempt counted, and
//! their next send looks them up first; the others get their attempt back. Once the
//! claims are handed over no further Stream call may start here, or an order handed back
//! as untouched could be created by this process and then again by the next one.

use std::collections::HashSet;
use std::sync::Mutex;

use tokio::sync::watch;

use crate::store::Store;

#[derive(Debug)]
pub struct StopState {
    stopping: watch::Sender<bool>,
    calls: Mutex<Calls>,
}

#[derive(Debug, Default)]
struct Calls {
    /// Claims were handed back: no Stream call may start any more.
    handed_over: bool,
    /// Row ids of claimed orders whose Stream create has started and whose result is not
    /// recorded yet.
    started: HashSet<i64>,
}

impl Default for StopState {
    fn default() -> Self {
        Self {
            stopping: watch::channel(false).0,
            calls: Mutex::new(Calls::default()),
        }
    }
}

impl StopState {
    /// The process is stopping: no new claims, no new jobs.
    pub fn begin(&self) {
        self.stopping.send_replace(true);
    }

    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once the process is stopping.
    pub async fn stopping(&self) {
        let mut rx = self.stopping.subscribe();
        let _ = rx.wait_for(|s| *s).await;
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called just before the Stream create of a claimed order (its row id); false once the
    /// claims were handed back, and then the order must not be sent.
    pub fn stream_call_starts(&self, order_row_id: i64) -> bool {
        let mut calls = self.calls();
        if calls.handed_over {
            return false;
        }
        calls.started.insert(order_row_id);
        true
    }

    /// The order's claim has ended in the store (Completed or Failed): nothing to protect.
    pub fn stream_call_recorded(&self, order_row_id: i64) {
        self.calls().started.remove(&order_row_id);
    }

    /// Closes the gate and returns the orders whose Stream create may have started.
    fn hand_over(&self) -> Vec<i64> {
        let mut calls = self.calls();
        calls.handed_over = true;
        calls.started.iter().copied().collect()
    }
}

/// Hands every claim this process still holds back to the queue (see the module comment);
/// returns how many orders. Call it once nothing of this process sends any more, or after the
/// grace period: a send still running afterwards cannot reach Stream.
pub async fn hand_back_claims(stop: &StopState, store: &Store, worker_id: &str) -> u64 {
    let started = stop.hand_over();
    // Webhook events cut off mid-way are applied again by the next process, as after a
    // lapsed lease, only sooner.
    match store.release_webhook_claims(worker_id).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(events = n, "webhook events handed back to the queue"),
        Err(e) => tracing::warn!(
            "could not hand the webhook events back; they return when their lease ends: {e}"
        ),
    }
    match store.release_claims(worker_id, &started).await {
        Ok(n) => {
            if n > 0 {
                tracing::info!(
                    orders = n,
                    "claims handed back to the queue; the next process sends them at once"
                );
            }
            n
        }
        Err(e) => {
            tracing::error!(
                "could not hand the claims back; they return when their lease ends: {e}"
            );
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_stream_call_starts_once_the_claims_are_handed_over() {
        let stop = StopState::default();
        assert!(!stop.is_stopping());
        assert!(stop.stream_call_starts(1));
        assert!(stop.stream_call_starts(2));
        stop.stream_call_recorded(2);
        stop.begin();
        assert!(stop.is_stopping());
        // Still allowed while stopping: sends under way finish within the grace period.
        assert!(stop.stream_call_starts(3));
        let mut started = stop.hand_over();
        started.sort();
        assert_eq!(started, [1, 3]);
        assert!(!stop.stream_call_starts(4));
    }
}

//! Wake-ups: work stored for an installation (a webhook event, an order back in the queue, a
//! manual send) wakes the process that serves the installation at once, instead of waiting
//! for its next interval tick. The interval stays as the fallback for a wake-up that is
//! missed (a listener reconnecting, a crash between commit and signal).
//!
//! A [`Wakeups`] registry maps (installation, [`Work`]) to a counter that waiters watch. On
//! SQLite (one process) the store bumps it in-process after a commit. On PostgreSQL the
//! store sends `NOTIFY linnstream_wake, '<work> <namespace>/<name>'` after the commit that
//! stored the work (never inside it: a notifying transaction holds a database-wide lock
//! until its commit is flushed, which would serialise the commits of every writer), and
//! every process that waits for any installation runs one `LISTEN` connection
//! that bumps its local counters: the signal reaches whichever process holds the
//! installation, and processes that do not serve it ignore it.
//!
//! Interface for schedulers and the worker pool:
//! - [`Store::wakeup`](super::Store::wakeup)`(installation, work)` returns a [`Wakeup`];
//!   await [`Wakeup::woken`] alongside the interval timer, then [`Wakeup::take`] to consume
//!   the signal. Any number of waiters per installation, each sees every signal; a signal
//!   sent while nobody waits is kept until the next wait.
//! - [`Store::wake`](super::Store::wake)`(installation, work)` signals by hand.
//! - After a reconnect of the `LISTEN` connection every waiter is woken once, since
//!   notifications sent meanwhile are lost.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::{OnceCell, watch};

/// The PostgreSQL notification channel every linnstream process listens on.
pub const CHANNEL: &str = "linnstream_wake";

/// Which of an installation's loops a signal is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Work {
    /// Webhook processing: an event was stored or queued again.
    Webhooks,
    /// Sending: an order became Ready for Retry or a manual send went through.
    Send,
}

impl Work {
    pub fn as_str(self) -> &'static str {
        match self {
            Work::Webhooks => "webhooks",
            Work::Send => "send",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "webhooks" => Some(Work::Webhooks),
            "send" => Some(Work::Send),
            _ => None,
        }
    }

    /// The notification payload for `installation` (`namespace/name`).
    pub fn payload(self, installation: &str) -> String {
        format!("{} {installation}", self.as_str())
    }
}

/// Parses a payload written by [`Work::payload`]; `None` for anything else on the channel.
fn parse_payload(payload: &str) -> Option<(Work, &str)> {
    let (work, installation) = payload.split_once(' ')?;
    let work = Work::parse(work)?;
    (!installation.trim().is_empty()).then_some((work, installation))
}

/// The registry of one process (shared by every clone of a store).
#[derive(Default)]
pub struct Wakeups {
    counters: Mutex<HashMap<(String, Work), watch::Sender<u64>>>,
    /// Set once the `LISTEN` connection is up (PostgreSQL only).
    listening: OnceCell<()>,
}

impl std::fmt::Debug for Wakeups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wakeups").finish_non_exhaustive()
    }
}

/// One waiter's view of an installation's signals for one kind of work.
#[derive(Debug)]
pub struct Wakeup {
    rx: watch::Receiver<u64>,
    /// A signal [`Wakeup::woken`] saw that [`Wakeup::take`] has not yet consumed.
    pending: bool,
}

impl Wakeup {
    /// Resolves when a signal came that [`Wakeup::take`] has not consumed yet (at once if
    /// one is pending; signals from before this waiter was made are not replayed). Does not
    /// consume it, so a loop can wait on several and then `take` each to see which fired.
    /// Cancel-safe.
    pub async fn woken(&mut self) {
        if self.pending || self.rx.has_changed().unwrap_or(false) {
            self.pending = true;
            return;
        }
        if self.rx.changed().await.is_err() {
            // The registry keeps every sender for the life of the process, so this is only
            // reached while the process ends: wait for ever rather than spin.
            std::future::pending::<()>().await;
        }
        self.pending = true;
    }

    /// Whether a signal came since the last `take`; consumes it.
    pub fn take(&mut self) -> bool {
        let changed = self.pending || self.rx.has_changed().unwrap_or(false);
        self.rx.borrow_and_update();
        self.pending = false;
        changed
    }
}

impl Wakeups {
    fn sender(&self, installation: &str, work: Work) -> watch::Sender<u64> {
        let mut map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        map.entry((installation.to_string(), work))
            .or_insert_with(|| watch::channel(0).0)
            .clone()
    }

    /// A waiter for `installation`'s `work` signals.
    pub fn subscribe(&self, installation: &str, work: Work) -> Wakeup {
        let mut rx = self.sender(installation, work).subscribe();
        rx.borrow_and_update();
        Wakeup { rx, pending: false }
    }

    /// Signals `installation`'s `work` in this process only.
    pub fn wake_local(&self, installation: &str, work: Work) {
        self.sender(installation, work)
            .send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Wakes every waiter of this process (after signals may have been lost).
    pub fn wake_all(&self) {
        let map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        for sender in map.values() {
            sender.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    fn on_payload(&self, payload: &str) {
        match parse_payload(payload) {
            Some((work, installation)) => self.wake_local(installation, work),
            None => tracing::debug!(payload, "ignored a notification on {CHANNEL}"),
        }
    }

    /// Starts this process's `LISTEN` connection once; returns when it listens (or after a
    /// few seconds if the database does not answer: the listener keeps trying, and the
    /// interval covers the gap).
    pub(crate) async fn listen(self: &Arc<Self>, pool: &PgPool) {
        let this = self.clone();
        let pool = pool.clone();
        let _ = self
            .listening
            .get_or_init(|| async move {
                let (ready, is_ready) = tokio::sync::oneshot::channel();
                tokio::spawn(listen_loop(pool, this, ready));
                let _ = tokio::time::timeout(LISTEN_READY_WAIT, is_ready).await;
            })
            .await;
    }
}

/// How long a first waiter waits for the `LISTEN` connection before going on without it.
const LISTEN_READY_WAIT: Duration = Duration::from_secs(5);
/// Pause before connecting again after the `LISTEN` connection failed.
const LISTEN_RETRY: Duration = Duration::from_secs(2);

async fn listen_loop(pool: PgPool, wakeups: Arc<Wakeups>, ready: tokio::sync::oneshot::Sender<()>) {
    let mut ready = Some(ready);
    loop {
        if pool.is_closed() {
            return;
        }
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen(CHANNEL).await?;
            Ok::<_, sqlx::Error>(l)
        }
        .await;
        match listener {
            Ok(mut listener) => {
                if let Some(r) = ready.take() {
                    let _ = r.send(());
                }
                // Whatever was signalled while not listening is lost: look once.
                wakeups.wake_all();
                loop {
                    match listener.try_recv().await {
                        Ok(Some(n)) => wakeups.on_payload(n.payload()),
                        // Reconnected: notifications sent meanwhile are lost.
                        Ok(None) => wakeups.wake_all(),
                        Err(sqlx::Error::PoolClosed) => return,
                        Err(e) => {
                            tracing::warn!("the {CHANNEL} listener stopped: {e}; reconnecting");
                            break;
                        }
                    }
                }
            }
            Err(sqlx::Error::PoolClosed) => return,
            Err(e) => tracing::warn!(
                "could not listen on {CHANNEL}: {e}; wake-ups wait for the interval until it works"
            ),
        }
        tokio::time::sleep(LISTEN_RETRY).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_strangers_are_ignored() {
        let p = Work::Webhooks.payload("shop/acme");
        assert_eq!(p, "webhooks shop/acme");
        assert_eq!(parse_payload(&p), Some((Work::Webhooks, "shop/acme")));
        assert_eq!(parse_payload("send ns/n"), Some((Work::Send, "ns/n")));
        assert_eq!(parse_payload("fetch ns/n"), None);
        assert_eq!(parse_payload("send "), None);
        assert_eq!(parse_payload("garbage"), None);
    }

    #[tokio::test]
    async fn a_signal_wakes_its_installation_only_and_is_kept_until_looked_at() {
        let w = Wakeups::default();
        let mut a = w.subscribe("ns/a", Work::Webhooks);
        let mut a_send = w.subscribe("ns/a", Work::Send);
        let mut b = w.subscribe("ns/b", Work::Webhooks);
        w.wake_local("ns/a", Work::Webhooks);
        // Sent before anyone waited, still seen.
        tokio::time::timeout(Duration::from_secs(1), a.woken())
            .await
            .expect("woken");
        assert!(!a_send.take());
        assert!(!b.take());
        assert!(a.take(), "woken does not consume");
        assert!(!a.take(), "seen once");
        w.wake_all();
        assert!(a.take() && a_send.take() && b.take());
    }
}

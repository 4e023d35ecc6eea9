//! MaxInstallationsPerBatch: how many installations' jobs run at once. In one process a
//! semaphore; in the shared worker pool also a permit slot in the store, so the limit holds
//! across every pooled worker (docs/pool.md).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use crate::store::Store;

/// How often a worker waiting for a pool-wide permit looks again when none was given back
/// in this process meanwhile.
const POLL: Duration = Duration::from_millis(100);

pub struct Permits {
    local: Semaphore,
    shared: Option<Shared>,
}

struct Shared {
    store: Store,
    holder: String,
    limit: u32,
    ttl: Duration,
    freed: Arc<Notify>,
}

impl std::fmt::Debug for Permits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permits")
            .field("available_here", &self.local.available_permits())
            .field("pool_wide", &self.shared.as_ref().map(|s| s.limit))
            .finish()
    }
}

impl Permits {
    /// `n` at once in this process.
    pub fn local(n: usize) -> Self {
        Self {
            local: Semaphore::new(n),
            shared: None,
        }
    }

    /// `limit` at once across every process sharing `store`'s permit slots; `holder` names
    /// this process (its slots expire `ttl` after the last renewal, see
    /// [`Store::renew_batch_permits`], so a dead process's slots come free).
    pub async fn pool_wide(
        store: Store,
        holder: impl Into<String>,
        limit: u32,
        ttl: Duration,
    ) -> Result<Self, crate::store::StoreError> {
        store.ensure_batch_permits(limit).await?;
        Ok(Self {
            local: Semaphore::new(limit as usize),
            shared: Some(Shared {
                store,
                holder: holder.into(),
                limit,
                ttl,
                freed: Arc::new(Notify::new()),
            }),
        })
    }

    /// Waits for a permit; `None` once closed.
    pub async fn acquire(&self) -> Option<Permit<'_>> {
        let local = self.local.acquire().await.ok()?;
        let Some(shared) = &self.shared else {
            return Some(Permit {
                _local: local,
                slot: None,
                permits: self,
            });
        };
        loop {
            // Registered before looking, so a permit given back meanwhile wakes us.
            let freed = shared.freed.notified();
            match shared
                .store
                .take_batch_permit(&shared.holder, shared.limit, shared.ttl)
                .await
            {
                Ok(Some(slot)) => {
                    return Some(Permit {
                        _local: local,
                        slot: Some(slot),
                        permits: self,
                    });
                }
                Ok(None) => {
                    let _ = tokio::time::timeout(POLL, freed).await;
                }
                Err(e) => {
                    tracing::warn!("could not take a MaxInstallationsPerBatch permit: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }
}

/// Held while a job runs; given back on drop.
pub struct Permit<'a> {
    _local: SemaphorePermit<'a>,
    slot: Option<i64>,
    permits: &'a Permits,
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let (Some(slot), Some(shared)) = (self.slot, &self.permits.shared) else {
            return;
        };
        let (store, holder, freed) = (
            shared.store.clone(),
            shared.holder.clone(),
            shared.freed.clone(),
        );
        // Given back in the background: a drop cannot wait. Until then (or until the slot
        // expires, should this fail) the slot stays taken: never more than the limit.
        tokio::spawn(async move {
            if let Err(e) = store.give_back_batch_permit(slot, &holder).await {
                tracing::warn!("could not give back permit slot {slot}: {e}");
            }
            freed.notify_waiters();
        });
    }
}

//! Retention: history past its retention is deleted by the daily prune job. Deletes run in
//! batches, so a first prune of a table that grew for months never holds SQLite's single
//! write lock (or PostgreSQL row locks) for long while the queue keeps working.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{Store, StoreResult, with_pool};

/// Rows one delete statement removes at most.
const BATCH: u64 = 5_000;

/// What one prune removed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PruneReport {
    pub audit_entries: u64,
    pub webhook_events: u64,
    pub job_runs: u64,
    pub manifests: u64,
    pub workers: u64,
}

impl std::fmt::Display for PruneReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} audit entries, {} webhook events, {} job runs, {} manifests and {} silent workers removed",
            self.audit_entries, self.webhook_events, self.job_runs, self.manifests, self.workers
        )
    }
}

impl Store {
    /// Deletes everything older than `cutoff` that is history: audit entries, Processed and
    /// Failed webhook events (events still to be processed are kept whatever their age),
    /// job runs, manifests, and heartbeats of workers silent since then.
    pub async fn prune_history(&self, cutoff: DateTime<Utc>) -> StoreResult<PruneReport> {
        Ok(PruneReport {
            audit_entries: self.prune_audit(cutoff).await?,
            webhook_events: self.prune_webhook_events(cutoff).await?,
            job_runs: self.prune_job_runs(cutoff).await?,
            manifests: self.prune_manifests(cutoff).await?,
            workers: self.prune_workers(cutoff).await?,
        })
    }

    /// Deletes the rows of `table` (which has an `id` key) matching `condition`, where `$1`
    /// is `cutoff`, a batch at a time; returns how many.
    pub(crate) async fn delete_in_batches(
        &self,
        table: &str,
        condition: &str,
        cutoff: DateTime<Utc>,
    ) -> StoreResult<u64> {
        let sql = format!(
            "DELETE FROM {table} WHERE id IN \
             (SELECT id FROM {table} WHERE {condition} LIMIT {BATCH})"
        );
        let mut total = 0;
        loop {
            let n = with_pool!(self, pool => {
                sqlx::query(&sql).bind(cutoff).execute(pool).await?.rows_affected()
            });
            total += n;
            if n < BATCH {
                return Ok(total);
            }
        }
    }
}

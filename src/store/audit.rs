//! The audit log: one row per fetch, send, label, webhook and master-data action.

use chrono::{DateTime, Utc};

use super::model::{AuditEntry, AuditQuery, NewAuditEntry};
use super::{Store, StoreResult, builder, sql_limit, with_pool};

const AUDIT_COLUMNS: &str = "id, at, installation, order_id, correlation_id, action, outcome, \
    message, duration_ms, actor";

const INSERT_AUDIT: &str = "INSERT INTO audit_log (at, installation, order_id, correlation_id, \
        action, outcome, message, duration_ms, actor) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id";

const PRUNE_AUDIT: &str = "at < $1";

impl Store {
    /// Appends one entry to the audit log; returns its id.
    pub async fn audit(&self, entry: &NewAuditEntry) -> StoreResult<i64> {
        let duration_ms = i64::try_from(entry.duration_ms).unwrap_or(i64::MAX);
        let (id,): (i64,) = with_pool!(self, pool => {
            sqlx::query_as(INSERT_AUDIT)
                .bind(entry.at)
                .bind(&entry.installation)
                .bind(&entry.order_id)
                .bind(&entry.correlation_id)
                .bind(entry.action.as_str())
                .bind(entry.outcome.as_str())
                .bind(&entry.message)
                .bind(duration_ms)
                .bind(&entry.actor)
                .fetch_one(pool)
                .await?
        });
        Ok(id)
    }

    /// Audit entries matching every field set in `query`, newest first, at most `query.limit`.
    pub async fn audit_entries(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEntry>> {
        let rows = with_pool!(self, pool => {
            let mut qb = builder(pool, &format!("SELECT {AUDIT_COLUMNS} FROM audit_log WHERE 1 = 1"));
            if let Some(v) = &query.installation {
                qb.push(" AND installation = ").push_bind(v.clone());
            }
            if let Some(v) = &query.order_id {
                qb.push(" AND order_id = ").push_bind(v.clone());
            }
            if let Some(v) = &query.correlation_id {
                qb.push(" AND correlation_id = ").push_bind(v.clone());
            }
            if let Some(v) = query.action {
                qb.push(" AND action = ").push_bind(v.as_str());
            }
            if let Some(v) = query.from {
                qb.push(" AND at >= ").push_bind(v);
            }
            if let Some(v) = query.to {
                qb.push(" AND at < ").push_bind(v);
            }
            qb.push(" ORDER BY at DESC, id DESC LIMIT ").push_bind(sql_limit(query.limit));
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows)
    }

    /// Deletes audit entries older than `older_than` (the retention setting); returns how many.
    pub async fn prune_audit(&self, older_than: DateTime<Utc>) -> StoreResult<u64> {
        self.delete_in_batches("audit_log", PRUNE_AUDIT, older_than)
            .await
    }
}

//! Webhook events: stored raw and parsed, deduplicated, claimed in batches in arrival order
//! per order, retried up to WebhookMaxRetryAttempts.
//!
//! Events have no In Progress status (the guide names four); a processor's claim is the owner
//! and lease columns, and an event whose lease lapsed is simply claimable again.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::types::Json;

use super::model::{
    NewWebhookEvent, ReceiptAudit, WebhookClaim, WebhookCounts, WebhookEvent, WebhookInsert,
    WebhookReceipt,
};

use super::wakeups::Work;
use super::{
    BackendKind, Dialect, Pool, Store, StoreError, StoreResult, chrono_duration,
    fetch_all_claiming, now, require, sql_limit, with_pool,
};
use crate::domain::{AuditAction, AuditOutcome, WebhookStatus};

const EVENT_COLUMNS: &str = "id, installation, dedup_key, received_at, body, event_code, \
    consignment_no, order_no, run, grp, status, retry_count, last_error, version, claim_owner, \
    lease_expires_at, claimed_at, processed_at, updated_at";

/// Statuses of events still to be processed; an earlier such event for the same order holds
/// back later ones. A finally Failed event does not: one poisoned event must not stall its
/// order for ever.
const OPEN: &str = "'Pending', 'ReadyForRetry'";

const SELECT_ID_BY_KEY: &str =
    "SELECT id FROM webhook_events WHERE installation = $1 AND dedup_key = $2";

/// The receiver's group commit on PostgreSQL: a whole batch of notifications in one
/// statement, hence one round trip and one commit. Events (new dedup keys only, in arrival
/// order so ids keep it), their order references and one audit entry per notification
/// (receipts without an audit entry have a NULL subject). No NOTIFY in here: a transaction
/// that notifies holds a database-wide lock until its commit is flushed, so every receiver
/// replica and every other notifying transaction would commit one after the other; the
/// caller wakes after the commit instead.
/// The earlier event of a duplicate is looked up only for duplicates. `first` is false for a
/// notification repeating an earlier one of the same batch: it is reported and audited as a
/// duplicate of that one. A duplicate of an event committed by a concurrent transaction after
/// this statement's snapshot comes back without an id; the caller looks it up.
const INGEST_PG: &str = "WITH input AS ( \
        SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::timestamptz[], \
            $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], \
            $11::boolean[], $12::text[], $13::text[], $14::text[], $15::bigint[]) \
        AS t(ord, installation, dedup_key, received_at, body, event_code, consignment_no, \
            order_no, run, grp, first, subject, correlation_id, actor, duration_ms)), \
    ins AS ( \
        INSERT INTO webhook_events (installation, dedup_key, received_at, body, event_code, \
            consignment_no, order_no, run, grp, status, updated_at) \
        SELECT installation, dedup_key, received_at, body, event_code, consignment_no, \
            order_no, run::jsonb, grp::jsonb, 'Pending', $16 FROM input WHERE first ORDER BY ord \
        ON CONFLICT (installation, dedup_key) DO NOTHING \
        RETURNING id, installation, dedup_key), \
    refs AS ( \
        INSERT INTO webhook_event_refs (event_id, installation, order_ref) \
        SELECT ins.id, ins.installation, r.order_ref \
        FROM UNNEST($17::bigint[], $18::text[]) AS r(ord, order_ref) \
        JOIN input ON input.ord = r.ord AND input.first \
        JOIN ins ON ins.installation = input.installation AND ins.dedup_key = input.dedup_key \
        ON CONFLICT DO NOTHING), \
    result AS ( \
        SELECT input.ord, input.installation, input.subject, input.correlation_id, input.actor, \
            input.duration_ms, \
            CASE WHEN ins.id IS NOT NULL THEN ins.id ELSE (SELECT old.id FROM webhook_events old \
                WHERE old.installation = input.installation AND old.dedup_key = input.dedup_key) \
            END AS id, \
            (ins.id IS NULL OR NOT input.first) AS duplicate \
        FROM input \
        LEFT JOIN ins ON ins.installation = input.installation AND ins.dedup_key = input.dedup_key), \
    audit AS ( \
        INSERT INTO audit_log (at, installation, order_id, correlation_id, action, outcome, \
            message, duration_ms, actor) \
        SELECT $16, installation, NULL, correlation_id, $19, \
            CASE WHEN duplicate THEN $21 ELSE $20 END, \
            CASE WHEN duplicate \
                THEN 'received ' || subject || ' again: a duplicate of event ' \
                    || COALESCE(id::text, '(stored meanwhile)') || ', ignored' \
                ELSE 'received ' || subject || ': stored as event ' || id::text END, \
            duration_ms, actor \
        FROM result WHERE subject IS NOT NULL) \
    SELECT ord, id, duplicate FROM result ORDER BY ord";

/// Claims go round the orders rather than down the arrival list: only the oldest open event
/// of an order can be claimed, and among those the one that has waited longest since it
/// became its order's next (since it arrived, or since its order's previous event was
/// settled) goes first. An order with thousands of events then gets one event per turn, and
/// a new order's event waits for one turn of the others, not for their whole backlog. An
/// event that failed in the running cycle (updated at or after `$6`) is left for the next
/// cycle, so its retries stay spread over cycles.
///
/// Both look-ups of earlier events walk back from the event (`ORDER BY ... DESC LIMIT 1`):
/// an order's settled events come before its open ones, so the nearest earlier event
/// answers at once, where a forward walk would pass every settled event of the order for
/// every open one, on every claim.
fn claim_sql(kind: BackendKind) -> String {
    let greatest = match kind {
        BackendKind::Postgres => "GREATEST",
        BackendKind::Sqlite => "MAX",
    };
    let pick = super::picked(
        kind,
        &format!(
            "SELECT e.id FROM webhook_events e \
            WHERE e.installation = $1 AND e.status IN ({OPEN}) \
              AND (e.lease_expires_at IS NULL OR e.lease_expires_at < $4) \
              AND (e.status = 'Pending' OR e.updated_at < $6) \
              AND NOT EXISTS (SELECT 1 FROM webhook_event_refs r \
                  JOIN webhook_event_refs earlier ON earlier.installation = r.installation \
                   AND earlier.order_ref = r.order_ref AND earlier.event_id < r.event_id \
                  JOIN webhook_events p ON p.id = earlier.event_id \
                  WHERE r.event_id = e.id AND p.status IN ({OPEN}) \
                  ORDER BY earlier.event_id DESC LIMIT 1) \
            ORDER BY {greatest}(e.updated_at, COALESCE((SELECT p.updated_at \
                  FROM webhook_event_refs r \
                  JOIN webhook_event_refs earlier ON earlier.installation = r.installation \
                   AND earlier.order_ref = r.order_ref AND earlier.event_id < r.event_id \
                  JOIN webhook_events p ON p.id = earlier.event_id \
                  WHERE r.event_id = e.id ORDER BY earlier.event_id DESC LIMIT 1), \
                  e.updated_at)), e.id \
            LIMIT $5"
        ),
    );
    format!(
        "{pick} \
        UPDATE webhook_events SET claim_owner = $2, lease_expires_at = $3, claimed_at = $4, \
            updated_at = $4, version = version + 1 \
        WHERE id IN (SELECT id FROM picked) \
        RETURNING {EVENT_COLUMNS}"
    )
}
static CLAIM_PG: LazyLock<String> = LazyLock::new(|| claim_sql(BackendKind::Postgres));
static CLAIM_SQLITE: LazyLock<String> = LazyLock::new(|| claim_sql(BackendKind::Sqlite));

static MARK_PROCESSED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE webhook_events SET status = 'Processed', processed_at = $4, updated_at = $4, \
            last_error = NULL, claim_owner = NULL, lease_expires_at = NULL, version = version + 1 \
        WHERE id = $1 AND claim_owner = $2 AND version = $3 AND status IN ({OPEN}) \
        RETURNING {EVENT_COLUMNS}"
    )
});

static MARK_FAILED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE webhook_events SET retry_count = retry_count + 1, \
            status = CASE WHEN retry_count + 1 <= $5 THEN 'ReadyForRetry' ELSE 'Failed' END, \
            last_error = $6, updated_at = $4, claim_owner = NULL, lease_expires_at = NULL, \
            version = version + 1 \
        WHERE id = $1 AND claim_owner = $2 AND version = $3 AND status IN ({OPEN}) \
        RETURNING {EVENT_COLUMNS}"
    )
});

static RETRY_FAILED: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE webhook_events SET status = 'ReadyForRetry', retry_count = 0, updated_at = $2, \
            version = version + 1 \
        WHERE id = $1 AND status = 'Failed' RETURNING {EVENT_COLUMNS}"
    )
});

static RELEASE_WEBHOOK_CLAIMS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "UPDATE webhook_events SET claim_owner = NULL, lease_expires_at = NULL, updated_at = $2, \
            version = version + 1 \
        WHERE claim_owner = $1 AND status IN ({OPEN}) RETURNING installation"
    )
});

static SELECT_EVENT: LazyLock<String> =
    LazyLock::new(|| format!("SELECT {EVENT_COLUMNS} FROM webhook_events WHERE id = $1"));

static LIST_EVENTS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLUMNS} FROM webhook_events \
        WHERE installation = $1 AND ($2 IS NULL OR status = $2) ORDER BY id DESC LIMIT $3"
    )
});

static LIST_EVENTS_BY_CODE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {EVENT_COLUMNS} FROM webhook_events \
        WHERE installation = $1 AND ($2 IS NULL OR status = $2) AND event_code = $3 \
        ORDER BY id DESC LIMIT $4"
    )
});

const SELECT_REFS: &str = "SELECT event_id, order_ref FROM webhook_event_refs \
    WHERE installation = $1 AND event_id >= $2 AND event_id <= $3 ORDER BY event_id, order_ref";

const COUNT_EVENTS: &str =
    "SELECT status, COUNT(*) FROM webhook_events WHERE installation = $1 GROUP BY status";

const PRUNE_EVENTS: &str = "received_at < $1 AND status IN ('Processed', 'Failed')";

static PRUNE_REFS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "DELETE FROM webhook_event_refs WHERE event_id IN \
            (SELECT id FROM webhook_events WHERE {PRUNE_EVENTS})"
    )
});

impl Store {
    /// Stores a received webhook event as Pending, unless an event with the same dedup key was
    /// stored for the installation before (then nothing is written and `duplicate` is true),
    /// and wakes the installation's webhook processing when the event is new.
    pub async fn insert_webhook_event(
        &self,
        event: &NewWebhookEvent,
    ) -> StoreResult<WebhookInsert> {
        let receipt = WebhookReceipt {
            event: event.clone(),
            audit: None,
        };
        let inserted = self
            .ingest_batch(std::slice::from_ref(&receipt))
            .await?
            .pop()
            .ok_or_else(|| missing_result(&receipt))?;
        if !inserted.duplicate {
            self.wake(&event.installation, Work::Webhooks).await;
        }
        Ok(inserted)
    }

    /// The webhook receiver's group commit: stores every receipt's event (or finds it a
    /// duplicate) with its order references and audit entry, all in one transaction. The
    /// results come back in the receipts' order. When the batch as a whole fails, each receipt
    /// is tried on its own, so one event the database refuses does not fail the others.
    ///
    /// It does not wake anyone: the caller wakes the installations that got a new event
    /// ([`Store::wake_all_of`]) once it has answered, off the path of the next batch.
    pub async fn ingest_webhook_events(
        &self,
        receipts: &[WebhookReceipt],
    ) -> Vec<StoreResult<WebhookInsert>> {
        match self.ingest_batch(receipts).await {
            Ok(results) => results.into_iter().map(Ok).collect(),
            Err(e) if receipts.len() <= 1 => vec![Err(e)],
            Err(e) => {
                tracing::debug!(
                    receipts = receipts.len(),
                    "a webhook batch failed ({e}); storing its events one by one"
                );
                let mut out = Vec::with_capacity(receipts.len());
                for receipt in receipts {
                    out.push(
                        self.ingest_batch(std::slice::from_ref(receipt))
                            .await
                            .and_then(|mut r| r.pop().ok_or_else(|| missing_result(receipt))),
                    );
                }
                out
            }
        }
    }

    async fn ingest_batch(&self, receipts: &[WebhookReceipt]) -> StoreResult<Vec<WebhookInsert>> {
        for r in receipts {
            require("installation", &r.event.installation)?;
            require("webhook dedup key", &r.event.dedup_key)?;
        }
        // The first receipt of each (installation, dedup key) in the batch; later ones are
        // duplicates of it.
        let mut first_of: HashMap<(&str, &str), usize> = Default::default();
        let firsts: Vec<Option<usize>> = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let k = (r.event.installation.as_str(), r.event.dedup_key.as_str());
                match first_of.get(&k) {
                    Some(&earlier) => Some(earlier),
                    None => {
                        first_of.insert(k, i);
                        None
                    }
                }
            })
            .collect();
        let at = now();
        let mut results = match &self.pool {
            Pool::Postgres(pool) => ingest_pg(pool, receipts, &firsts, at).await?,
            Pool::Sqlite(pool) => ingest_sqlite(pool, receipts, &firsts, at).await?,
        };
        // Stored by a concurrent transaction after the statement's snapshot: look it up.
        for (i, result) in results.iter_mut().enumerate() {
            if result.id == 0 {
                let e = &receipts[i].event;
                let (id,): (i64,) = with_pool!(self, pool => {
                    sqlx::query_as(SELECT_ID_BY_KEY)
                        .bind(&e.installation)
                        .bind(&e.dedup_key)
                        .fetch_one(pool)
                        .await?
                });
                result.id = id;
            }
        }
        Ok(results)
    }

    /// Claims up to `batch` events of `installation` to process for `worker` until `lease`
    /// from now: per order in arrival order, round-robin across orders. Never hands out an
    /// event while an earlier event for one of the same orders is still Pending or Ready for
    /// Retry, so a batch holds at most one event per order.
    pub async fn claim_webhook_events(
        &self,
        installation: &str,
        batch: u32,
        worker: &str,
        lease: Duration,
    ) -> StoreResult<Vec<WebhookEvent>> {
        self.claim_webhook_events_since(installation, batch, worker, lease, None)
            .await
    }

    /// As [`Store::claim_webhook_events`], leaving out events that failed at or after
    /// `cycle_start`: a cycle that repeats batches does not retry its own failures at once.
    pub async fn claim_webhook_events_since(
        &self,
        installation: &str,
        batch: u32,
        worker: &str,
        lease: Duration,
        cycle_start: Option<DateTime<Utc>>,
    ) -> StoreResult<Vec<WebhookEvent>> {
        require("worker id", worker)?;
        if batch == 0 {
            return Ok(Vec::new());
        }
        let at = now();
        let expires = at + chrono_duration(lease);
        let limit = sql_limit(batch);
        let mut events: Vec<WebhookEvent> = fetch_all_claiming!(
            self,
            &CLAIM_PG,
            &CLAIM_SQLITE,
            [
                installation,
                worker,
                expires,
                at,
                limit,
                cycle_start.unwrap_or(expires)
            ]
        );
        events.sort_by_key(|e| e.id);
        Ok(events)
    }

    /// Records that a claimed event was applied: it becomes Processed.
    pub async fn mark_webhook_processed(&self, claim: &WebhookClaim) -> StoreResult<WebhookEvent> {
        let row: Option<WebhookEvent> = with_pool!(self, pool => {
            sqlx::query_as(&MARK_PROCESSED)
                .bind(claim.id)
                .bind(&claim.owner)
                .bind(claim.version)
                .bind(now())
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some(event) => Ok(event),
            None => Err(self.webhook_claim_lost(claim).await),
        }
    }

    /// Records that processing a claimed event failed: its retry count grows, and it becomes
    /// Ready for Retry while the count is at most `max_retry_attempts`, else Failed.
    pub async fn mark_webhook_failed(
        &self,
        claim: &WebhookClaim,
        error: &str,
        max_retry_attempts: u32,
    ) -> StoreResult<WebhookEvent> {
        let row: Option<WebhookEvent> = with_pool!(self, pool => {
            sqlx::query_as(&MARK_FAILED)
                .bind(claim.id)
                .bind(&claim.owner)
                .bind(claim.version)
                .bind(now())
                .bind(i64::from(max_retry_attempts))
                .bind(error)
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some(event) => Ok(event),
            None => Err(self.webhook_claim_lost(claim).await),
        }
    }

    /// Manually queues a Failed event again, with its retry count reset.
    pub async fn retry_webhook_event(&self, id: i64) -> StoreResult<WebhookEvent> {
        let row: Option<WebhookEvent> = with_pool!(self, pool => {
            sqlx::query_as(&RETRY_FAILED).bind(id).bind(now()).fetch_optional(pool).await?
        });
        match row {
            Some(event) => {
                self.wake(&event.installation, Work::Webhooks).await;
                Ok(event)
            }
            None => match self.webhook_event(id).await? {
                Some(event) => Err(StoreError::WebhookIllegal {
                    id,
                    status: event.status,
                    action: "queue it for retry (only Failed events can be)",
                }),
                None => Err(StoreError::WebhookEventNotFound { id }),
            },
        }
    }

    /// One webhook event by id.
    pub async fn webhook_event(&self, id: i64) -> StoreResult<Option<WebhookEvent>> {
        let row = with_pool!(self, pool => {
            sqlx::query_as(&SELECT_EVENT).bind(id).fetch_optional(pool).await?
        });
        Ok(row)
    }

    /// The newest `limit` events of `installation`, optionally of one status.
    pub async fn list_webhook_events(
        &self,
        installation: &str,
        status: Option<WebhookStatus>,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(&LIST_EVENTS)
                .bind(installation)
                .bind(status.map(WebhookStatus::as_str))
                .bind(sql_limit(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// The newest `limit` events of `installation` with exactly the event code `code`,
    /// optionally of one status.
    pub async fn list_webhook_events_with_code(
        &self,
        installation: &str,
        status: Option<WebhookStatus>,
        code: &str,
        limit: u32,
    ) -> StoreResult<Vec<WebhookEvent>> {
        let rows = with_pool!(self, pool => {
            sqlx::query_as(&LIST_EVENTS_BY_CODE)
                .bind(installation)
                .bind(status.map(WebhookStatus::as_str))
                .bind(code)
                .bind(sql_limit(limit))
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// The orders each of `events` concerns (the references the processor orders them by,
    /// e.g. consignment numbers), by event id. One query over the events' id range when the
    /// page is dense (the usual newest-first page), one per event when it is sparse.
    pub async fn webhook_event_refs(
        &self,
        installation: &str,
        events: &[WebhookEvent],
    ) -> StoreResult<HashMap<i64, Vec<String>>> {
        let mut out: HashMap<i64, Vec<String>> = Default::default();
        let (Some(low), Some(high)) = (
            events.iter().map(|e| e.id).min(),
            events.iter().map(|e| e.id).max(),
        ) else {
            return Ok(out);
        };
        // A filtered page can be sparse (a few Failed events among many): then the range
        // would read every reference in between, so each event is looked up by itself.
        let span = u64::try_from(high - low).unwrap_or(u64::MAX);
        let ranges: Vec<(i64, i64)> = if span > 4 * events.len() as u64 {
            events.iter().map(|e| (e.id, e.id)).collect()
        } else {
            vec![(low, high)]
        };
        let mut rows: Vec<(i64, String)> = Vec::new();
        for (from, to) in ranges {
            let found: Vec<(i64, String)> = with_pool!(self, pool => {
                sqlx::query_as(SELECT_REFS)
                    .bind(installation)
                    .bind(from)
                    .bind(to)
                    .fetch_all(pool)
                    .await?
            });
            rows.extend(found);
        }
        let wanted: std::collections::HashSet<i64> = events.iter().map(|e| e.id).collect();
        for (id, order_ref) in rows.into_iter().filter(|(id, _)| wanted.contains(id)) {
            out.entry(id).or_default().push(order_ref);
        }
        Ok(out)
    }

    /// Events per status for one installation.
    pub async fn webhook_counts(&self, installation: &str) -> StoreResult<WebhookCounts> {
        let rows: Vec<(String, i64)> = with_pool!(self, pool => {
            sqlx::query_as(COUNT_EVENTS).bind(installation).fetch_all(pool).await?
        });
        let mut counts = WebhookCounts::default();
        for (status, n) in rows {
            let status: WebhookStatus = status
                .parse()
                .map_err(|e| StoreError::Database(sqlx::Error::Decode(Box::new(e))))?;
            counts.set(status, u64::try_from(n).unwrap_or(0));
        }
        Ok(counts)
    }

    /// Deletes Processed and Failed events received before `older_than`, with their order
    /// references; returns how many events.
    pub async fn prune_webhook_events(&self, older_than: DateTime<Utc>) -> StoreResult<u64> {
        // References first, by the same condition: on PostgreSQL no foreign key cascades
        // them (migration 0006), and no reference is added to an event once it is stored.
        with_pool!(self, pool => {
            sqlx::query(&PRUNE_REFS).bind(older_than).execute(pool).await?;
        });
        self.delete_in_batches("webhook_events", PRUNE_EVENTS, older_than)
            .await
    }

    /// Hands back the events `worker` still holds (an orderly shutdown): claimable again at
    /// once rather than when the lease ends. Their retry counts are untouched. Returns how
    /// many.
    pub async fn release_webhook_claims(&self, worker: &str) -> StoreResult<u64> {
        require("worker id", worker)?;
        let released: Vec<(String,)> = with_pool!(self, pool => {
            sqlx::query_as(&RELEASE_WEBHOOK_CLAIMS)
                .bind(worker)
                .bind(now())
                .fetch_all(pool)
                .await?
        });
        // Claimable again: whichever process serves the installation takes them now.
        let n = released.len() as u64;
        let installations: Vec<String> = released.into_iter().map(|(i,)| i).collect();
        self.wake_all_of(&installations, Work::Webhooks).await;
        Ok(n)
    }

    async fn webhook_claim_lost(&self, claim: &WebhookClaim) -> StoreError {
        match self.webhook_event(claim.id).await {
            Ok(Some(event)) => StoreError::WebhookClaimLost {
                id: claim.id,
                owner: claim.owner.clone(),
                status: event.status,
            },
            Ok(None) => StoreError::WebhookEventNotFound { id: claim.id },
            Err(e) => e,
        }
    }
}

fn missing_result(receipt: &WebhookReceipt) -> StoreError {
    StoreError::InvalidArgument(format!(
        "the store returned no result for webhook event {} of {}",
        receipt.event.dedup_key, receipt.event.installation
    ))
}

fn duration_ms(a: &ReceiptAudit) -> i64 {
    i64::try_from(a.started.elapsed().as_millis()).unwrap_or(i64::MAX)
}

fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(serde_json::Value::to_string)
}

async fn ingest_pg(
    pool: &sqlx::PgPool,
    receipts: &[WebhookReceipt],
    firsts: &[Option<usize>],
    at: DateTime<Utc>,
) -> StoreResult<Vec<WebhookInsert>> {
    let n = receipts.len();
    let events = || receipts.iter().map(|r| &r.event);
    let audits = || receipts.iter().map(|r| r.audit.as_ref());
    let mut ref_ord: Vec<i64> = Vec::new();
    let mut ref_text: Vec<&str> = Vec::new();
    for (i, e) in events().enumerate() {
        for order_ref in &e.order_refs {
            ref_ord.push(i as i64);
            ref_text.push(order_ref);
        }
    }
    let rows: Vec<(i64, Option<i64>, bool)> = sqlx::query_as(INGEST_PG)
        .bind((0..n as i64).collect::<Vec<i64>>())
        .bind(
            events()
                .map(|e| e.installation.as_str())
                .collect::<Vec<_>>(),
        )
        .bind(events().map(|e| e.dedup_key.as_str()).collect::<Vec<_>>())
        .bind(events().map(|e| e.received_at).collect::<Vec<_>>())
        .bind(events().map(|e| e.body.as_str()).collect::<Vec<_>>())
        .bind(events().map(|e| e.event_code.as_str()).collect::<Vec<_>>())
        .bind(
            events()
                .map(|e| e.consignment_no.as_deref())
                .collect::<Vec<_>>(),
        )
        .bind(events().map(|e| e.order_no.as_deref()).collect::<Vec<_>>())
        .bind(events().map(|e| json_text(&e.run)).collect::<Vec<_>>())
        .bind(events().map(|e| json_text(&e.group)).collect::<Vec<_>>())
        .bind(firsts.iter().map(Option::is_none).collect::<Vec<_>>())
        .bind(
            audits()
                .map(|a| a.map(|a| a.subject.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(
            audits()
                .map(|a| a.map(|a| a.correlation_id.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(
            audits()
                .map(|a| a.map(|a| a.actor.as_str()))
                .collect::<Vec<_>>(),
        )
        .bind(audits().map(|a| a.map(duration_ms)).collect::<Vec<_>>())
        .bind(at)
        .bind(ref_ord)
        .bind(ref_text)
        .bind(AuditAction::Webhook.as_str())
        .bind(AuditOutcome::Success.as_str())
        .bind(AuditOutcome::Skipped.as_str())
        .fetch_all(pool)
        .await?;
    let mut out = vec![
        WebhookInsert {
            id: 0,
            duplicate: true
        };
        n
    ];
    for (ord, id, duplicate) in rows {
        if let Some(slot) = usize::try_from(ord).ok().and_then(|i| out.get_mut(i)) {
            *slot = WebhookInsert {
                id: id.unwrap_or(0),
                duplicate,
            };
        }
    }
    Ok(out)
}

/// The SQLite group commit: one write transaction, and in it one multi-row statement per
/// table per chunk (chunks of 128, 64, ... 1 rows, so any batch takes a few statements and
/// the statement cache holds a few texts). Each statement is a round trip to the
/// connection's thread, so statements per batch, not per event, set the rate.
async fn ingest_sqlite(
    pool: &sqlx::SqlitePool,
    receipts: &[WebhookReceipt],
    firsts: &[Option<usize>],
    at: DateTime<Utc>,
) -> StoreResult<Vec<WebhookInsert>> {
    let mut tx = pool.begin_write().await?;
    // Events: the first receipt of each dedup key; ids follow the batch's order.
    let new: Vec<&NewWebhookEvent> = receipts
        .iter()
        .zip(firsts)
        .filter(|(_, first)| first.is_none())
        .map(|(r, _)| &r.event)
        .collect();
    // Installation, then dedup key, to the id stored now.
    let mut ids: HashMap<String, HashMap<String, i64>> = HashMap::new();
    for rows in sqlite_chunks(&new) {
        let mut q = sqlx::query_as::<_, (i64, String, String)>(sqlite_insert(
            &SQLITE_INSERT_EVENTS,
            rows.len(),
        ));
        for e in rows {
            q = q
                .bind(&e.installation)
                .bind(&e.dedup_key)
                .bind(e.received_at)
                .bind(&e.body)
                .bind(&e.event_code)
                .bind(&e.consignment_no)
                .bind(&e.order_no)
                .bind(e.run.as_ref().map(Json))
                .bind(e.group.as_ref().map(Json))
                .bind(at);
        }
        for (id, installation, dedup_key) in q.fetch_all(&mut *tx).await? {
            ids.entry(installation).or_default().insert(dedup_key, id);
        }
    }
    // Order references of the events stored now (not of duplicates).
    let stored_id = |e: &NewWebhookEvent| {
        ids.get(e.installation.as_str())
            .and_then(|keys| keys.get(e.dedup_key.as_str()))
            .copied()
    };
    let refs: Vec<(i64, &str, &str)> = new
        .iter()
        .filter_map(|e| stored_id(e).map(|id| (id, e)))
        .flat_map(|(id, e)| {
            e.order_refs
                .iter()
                .map(move |r| (id, e.installation.as_str(), r.as_str()))
        })
        .collect();
    for rows in sqlite_chunks(&refs) {
        let mut q = sqlx::query(sqlite_insert(&SQLITE_INSERT_REFS, rows.len()));
        for (id, installation, order_ref) in rows {
            q = q.bind(*id).bind(*installation).bind(*order_ref);
        }
        q.execute(&mut *tx).await?;
    }
    // Results in the receipts' order: stored now, a repeat within the batch, or a duplicate
    // of an event stored before (looked up; rare).
    let mut out: Vec<WebhookInsert> = Vec::with_capacity(receipts.len());
    for (r, first) in receipts.iter().zip(firsts) {
        let e = &r.event;
        let result = match first {
            Some(earlier) => WebhookInsert {
                id: out[*earlier].id,
                duplicate: true,
            },
            None => match stored_id(e) {
                Some(id) => WebhookInsert {
                    id,
                    duplicate: false,
                },
                None => {
                    let (id,): (i64,) = sqlx::query_as(SELECT_ID_BY_KEY)
                        .bind(&e.installation)
                        .bind(&e.dedup_key)
                        .fetch_one(&mut *tx)
                        .await?;
                    WebhookInsert {
                        id,
                        duplicate: true,
                    }
                }
            },
        };
        out.push(result);
    }
    // One audit entry per receipt that asks for one.
    let audits: Vec<(&WebhookReceipt, &ReceiptAudit, AuditOutcome, String)> = receipts
        .iter()
        .zip(&out)
        .filter_map(|(r, result)| {
            r.audit.as_ref().map(|a| {
                let (outcome, message) = receipt_audit(a, *result);
                (r, a, outcome, message)
            })
        })
        .collect();
    for rows in sqlite_chunks(&audits) {
        let mut q = sqlx::query(sqlite_insert(&SQLITE_INSERT_AUDITS, rows.len()));
        for (r, a, outcome, message) in rows {
            q = q
                .bind(at)
                .bind(&r.event.installation)
                .bind(&a.correlation_id)
                .bind(AuditAction::Webhook.as_str())
                .bind(outcome.as_str())
                .bind(message)
                .bind(duration_ms(a))
                .bind(&a.actor);
        }
        q.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(out)
}

/// The largest chunk of rows one SQLite statement takes (within SQLite's parameter limit:
/// 10 parameters a row).
const SQLITE_CHUNK: usize = 128;

/// `rows` in chunks of powers of two, largest first.
fn sqlite_chunks<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        if rows.is_empty() {
            return None;
        }
        let len = 1 << rows.len().min(SQLITE_CHUNK).ilog2();
        let (chunk, rest) = rows.split_at(len);
        rows = rest;
        Some(chunk)
    })
}

/// A multi-row statement's text for each chunk size (index k: 2^k rows): `head`, that many
/// copies of `row`, `tail`.
fn multi_row(head: &str, row: &str, tail: &str) -> Vec<String> {
    (0..=SQLITE_CHUNK.ilog2())
        .map(|k| format!("{head} VALUES {} {tail}", vec![row; 1 << k].join(", ")))
        .collect()
}

fn sqlite_insert(texts: &'static [String], rows: usize) -> &'static str {
    &texts[rows.ilog2() as usize]
}

static SQLITE_INSERT_EVENTS: LazyLock<Vec<String>> = LazyLock::new(|| {
    multi_row(
        "INSERT INTO webhook_events (installation, dedup_key, received_at, body, event_code, \
            consignment_no, order_no, run, grp, status, updated_at)",
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, 'Pending', ?)",
        "ON CONFLICT (installation, dedup_key) DO NOTHING RETURNING id, installation, dedup_key",
    )
});

static SQLITE_INSERT_REFS: LazyLock<Vec<String>> = LazyLock::new(|| {
    multi_row(
        "INSERT INTO webhook_event_refs (event_id, installation, order_ref)",
        "(?, ?, ?)",
        "ON CONFLICT DO NOTHING",
    )
});

static SQLITE_INSERT_AUDITS: LazyLock<Vec<String>> = LazyLock::new(|| {
    multi_row(
        "INSERT INTO audit_log (at, installation, order_id, correlation_id, action, outcome, \
            message, duration_ms, actor)",
        "(?, ?, NULL, ?, ?, ?, ?, ?, ?)",
        "",
    )
});

/// The audit entry of one receipt (the same words as the PostgreSQL statement's).
fn receipt_audit(r: &ReceiptAudit, result: WebhookInsert) -> (AuditOutcome, String) {
    if result.duplicate {
        (
            AuditOutcome::Skipped,
            format!(
                "received {} again: a duplicate of event {}, ignored",
                r.subject, result.id
            ),
        )
    } else {
        (
            AuditOutcome::Success,
            format!("received {}: stored as event {}", r.subject, result.id),
        )
    }
}

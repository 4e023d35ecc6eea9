//! The store's data: row structs and the inputs of its methods. The statuses and kinds they
//! carry are the domain's (`crate::domain`), stored by their variant names.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::{AuditAction, AuditOutcome, JobOutcome, OrderStatus, OrderType, WebhookStatus};

/// One order in the queue, keyed by (installation, Linnworks order id).
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct Order {
    /// Internal row id; stable for the order's life.
    pub id: i64,
    pub installation: String,
    /// Linnworks order id (a GUID string).
    pub order_id: String,
    /// Linnworks numeric order id.
    pub num_order_id: Option<i64>,
    /// Linnworks reference number.
    pub reference: Option<String>,
    pub postal_service_id: Option<String>,
    pub postal_service_name: Option<String>,
    #[sqlx(try_from = "String")]
    pub order_type: OrderType,
    #[sqlx(try_from = "String")]
    pub status: OrderStatus,
    /// Sends started (claims); reset by a manual resend.
    #[sqlx(try_from = "i64")]
    pub attempts: u32,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    /// The Stream order number.
    pub stream_order_id: Option<String>,
    pub consignment_no: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    /// The last Linnworks order fetched for it, as JSON.
    #[sqlx(json(nullable))]
    pub snapshot: Option<Value>,
    /// Bumped by every write; a claim is valid only for the version it returned.
    pub version: i64,
    /// The worker holding it In Progress.
    pub claim_owner: Option<String>,
    /// When an In Progress claim lapses and the order returns to the queue.
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub validation_failed_at: Option<DateTime<Utc>>,
    pub retry_ready_at: Option<DateTime<Utc>>,
    /// When an expired claim last returned it to the queue.
    pub released_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the send's result (tracking number, tracking URL, identifiers) reached Linnworks;
    /// `None` on a Completed order means that write-back is still pending.
    pub written_back_at: Option<DateTime<Utc>>,
    /// Sends that ended because Stream could not be reached (down, timing out, 5xx, 429):
    /// the order went back to the queue and they do not count against MaxRetryAttempts.
    /// Reset with `attempts` by a manual resend.
    #[sqlx(try_from = "i64")]
    pub deferrals: u32,
}

impl Order {
    /// Completed, but Linnworks does not have the tracking details yet: a send cycle retries.
    pub fn write_back_pending(&self) -> bool {
        self.status == OrderStatus::Completed && self.written_back_at.is_none()
    }

    /// The claim this order is held under, if it is In Progress.
    pub fn claim(&self) -> Option<OrderClaim> {
        match (&self.status, &self.claim_owner) {
            (OrderStatus::InProgress, Some(owner)) => Some(OrderClaim {
                id: self.id,
                installation: self.installation.clone(),
                order_id: self.order_id.clone(),
                owner: owner.clone(),
                version: self.version,
            }),
            _ => None,
        }
    }

    /// Automatic retries made so far (sends after the first), deferred sends left out: what
    /// MaxRetryAttempts limits.
    pub fn retries_made(&self) -> u32 {
        self.attempts
            .saturating_sub(self.deferrals)
            .saturating_sub(1)
    }
}

/// Proof that a worker holds an order In Progress: completing or failing the order needs it,
/// and is refused once the claim has expired and the order was claimed again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OrderClaim {
    pub id: i64,
    pub installation: String,
    pub order_id: String,
    pub owner: String,
    pub version: i64,
}

/// An order as fetched from Linnworks, to be stored or refreshed.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedOrder {
    pub installation: String,
    pub order_id: String,
    pub num_order_id: Option<i64>,
    pub reference: Option<String>,
    pub postal_service_id: Option<String>,
    pub postal_service_name: Option<String>,
    pub order_type: OrderType,
    pub snapshot: Option<Value>,
}

/// What storing a fetched order did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Upserted {
    /// First seen: stored as Pending.
    Inserted,
    /// Already queued; its status was left alone (details refreshed while it is not yet sent).
    Unchanged,
    /// Already queued as Validation Failed: details refreshed; the caller validates again and
    /// calls `mark_revalidated` or `mark_validation_failed`.
    ValidationFailed,
}

/// What Stream returned for an accepted order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendSuccess {
    pub http_status: Option<i32>,
    pub stream_order_id: Option<String>,
    pub consignment_no: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
}

/// Why a send failed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SendFailure {
    /// The HTTP status Stream answered with, if it answered.
    pub http_status: Option<i32>,
    pub error: String,
}

/// One page of orders and the number of orders matching the filter.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OrderPage {
    pub orders: Vec<Order>,
    pub total: u64,
}

/// A filter over the orders of one installation, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderQuery {
    pub installation: String,
    pub status: Option<OrderStatus>,
    /// Matches the Linnworks order id or numeric id, Stream order id or consignment number
    /// exactly, or the reference as a case-insensitive substring.
    pub search: Option<String>,
    pub offset: u64,
    /// At most this many rows (0: 100; never more than 10,000).
    pub limit: u32,
}

/// Orders per status for one installation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueCounts {
    pub pending: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub failed: u64,
    pub validation_failed: u64,
    pub ready_for_retry: u64,
    pub deleted: u64,
}

impl QueueCounts {
    /// The count for one status.
    pub fn get(&self, status: OrderStatus) -> u64 {
        match status {
            OrderStatus::Pending => self.pending,
            OrderStatus::InProgress => self.in_progress,
            OrderStatus::Completed => self.completed,
            OrderStatus::Failed => self.failed,
            OrderStatus::ValidationFailed => self.validation_failed,
            OrderStatus::ReadyForRetry => self.ready_for_retry,
            OrderStatus::Deleted => self.deleted,
        }
    }

    pub(crate) fn set(&mut self, status: OrderStatus, n: u64) {
        let slot = match status {
            OrderStatus::Pending => &mut self.pending,
            OrderStatus::InProgress => &mut self.in_progress,
            OrderStatus::Completed => &mut self.completed,
            OrderStatus::Failed => &mut self.failed,
            OrderStatus::ValidationFailed => &mut self.validation_failed,
            OrderStatus::ReadyForRetry => &mut self.ready_for_retry,
            OrderStatus::Deleted => &mut self.deleted,
        };
        *slot = n;
    }

    /// All orders counted.
    pub fn total(&self) -> u64 {
        OrderStatus::ALL.iter().map(|s| self.get(*s)).sum()
    }
}

/// A webhook notification as received, with the fields the processor needs parsed out.
#[derive(Clone, Debug, PartialEq)]
pub struct NewWebhookEvent {
    pub installation: String,
    /// Stable identity of the notification (e.g. a hash of the body); a second insert with
    /// the same key is reported as a duplicate and stores nothing.
    pub dedup_key: String,
    pub received_at: DateTime<Utc>,
    /// The raw body text.
    pub body: String,
    pub event_code: String,
    pub consignment_no: Option<String>,
    pub order_no: Option<String>,
    /// The orders this event concerns, each named one consistent way (e.g. the consignment
    /// number): events sharing a reference are handed out strictly in arrival order.
    pub order_refs: Vec<String>,
    pub run: Option<Value>,
    pub group: Option<Value>,
}

/// A received notification to store together with its audit entry, in the receiver's
/// group commit ([`Store::ingest_webhook_events`](super::Store::ingest_webhook_events)).
#[derive(Clone, Debug)]
pub struct WebhookReceipt {
    pub event: NewWebhookEvent,
    /// The audit entry written in the same transaction; `None`: none.
    pub audit: Option<ReceiptAudit>,
}

/// What the audit entry of a received notification says (action Webhook; outcome Success
/// when stored, Skipped for a duplicate; the message names the stored event).
#[derive(Clone, Debug)]
pub struct ReceiptAudit {
    /// What was received, e.g. `PARTDELVRD for CN1, CN2`.
    pub subject: String,
    pub correlation_id: String,
    pub actor: String,
    /// When the request arrived, for the entry's duration.
    pub started: std::time::Instant,
}

/// What inserting a webhook event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookInsert {
    /// The stored event (the earlier one, for a duplicate).
    pub id: i64,
    pub duplicate: bool,
}

/// One stored webhook event.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct WebhookEvent {
    pub id: i64,
    pub installation: String,
    pub dedup_key: String,
    pub received_at: DateTime<Utc>,
    pub body: String,
    pub event_code: String,
    pub consignment_no: Option<String>,
    pub order_no: Option<String>,
    #[sqlx(json(nullable))]
    pub run: Option<Value>,
    #[sqlx(json(nullable), rename = "grp")]
    pub group: Option<Value>,
    #[sqlx(try_from = "String")]
    pub status: WebhookStatus,
    /// Failed processing attempts so far.
    #[sqlx(try_from = "i64")]
    pub retry_count: u32,
    pub last_error: Option<String>,
    pub version: i64,
    pub claim_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub claimed_at: Option<DateTime<Utc>>,
    pub processed_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEvent {
    /// The claim this event is held under, if a processor holds it.
    pub fn claim(&self) -> Option<WebhookClaim> {
        self.claim_owner.as_ref().map(|owner| WebhookClaim {
            id: self.id,
            owner: owner.clone(),
            version: self.version,
        })
    }
}

/// Webhook events per status for one installation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookCounts {
    pub pending: u64,
    pub processed: u64,
    pub failed: u64,
    pub ready_for_retry: u64,
}

impl WebhookCounts {
    /// The count for one status.
    pub fn get(&self, status: WebhookStatus) -> u64 {
        match status {
            WebhookStatus::Pending => self.pending,
            WebhookStatus::Processed => self.processed,
            WebhookStatus::Failed => self.failed,
            WebhookStatus::ReadyForRetry => self.ready_for_retry,
        }
    }

    pub(crate) fn set(&mut self, status: WebhookStatus, n: u64) {
        let slot = match status {
            WebhookStatus::Pending => &mut self.pending,
            WebhookStatus::Processed => &mut self.processed,
            WebhookStatus::Failed => &mut self.failed,
            WebhookStatus::ReadyForRetry => &mut self.ready_for_retry,
        };
        *slot = n;
    }
}

/// Proof that a processor holds a webhook event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookClaim {
    pub id: i64,
    pub owner: String,
    pub version: i64,
}

/// One audit log entry to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: DateTime<Utc>,
    pub installation: String,
    pub order_id: Option<String>,
    pub correlation_id: String,
    pub action: AuditAction,
    pub outcome: AuditOutcome,
    pub message: String,
    pub duration_ms: u64,
    /// Who did it: "scheduler", or a user name.
    pub actor: String,
}

/// One stored audit log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub installation: String,
    pub order_id: Option<String>,
    pub correlation_id: String,
    #[sqlx(try_from = "String")]
    pub action: AuditAction,
    #[sqlx(try_from = "String")]
    pub outcome: AuditOutcome,
    pub message: String,
    #[sqlx(try_from = "i64")]
    pub duration_ms: u64,
    pub actor: String,
}

/// A filter over the audit log; every field set must match. Newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub installation: Option<String>,
    pub order_id: Option<String>,
    pub correlation_id: Option<String>,
    pub action: Option<AuditAction>,
    /// Inclusive lower bound.
    pub from: Option<DateTime<Utc>>,
    /// Exclusive upper bound.
    pub to: Option<DateTime<Utc>>,
    /// At most this many rows (0: 100; never more than 10,000).
    pub limit: u32,
}

/// A Stream depot with its delivery methods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Depot {
    pub id: String,
    pub name: String,
    pub delivery_methods: Vec<DeliveryMethod>,
}

/// A Stream delivery method of one depot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryMethod {
    pub id: String,
    pub name: String,
    /// Delivery, Courier, Collection or Trunk; kept as text because Stream may add types.
    pub method_type: String,
}

/// A Linnworks order identifier registered by the integration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Identifier {
    pub tag: String,
    pub name: String,
    /// Linnworks' IdentifierId, once registered.
    pub identifier_id: Option<i64>,
}

/// A Linnworks postal service created from a Stream depot and delivery method.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
pub struct PostalService {
    /// Linnworks postal service id (a GUID string).
    #[sqlx(rename = "service_id")]
    pub id: String,
    pub name: String,
    pub vendor: String,
    pub depot_id: Option<String>,
    pub delivery_method_id: Option<String>,
}

/// A master data set and when it was last replaced (`None`: never synced).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MasterData<T> {
    pub items: Vec<T>,
    pub synced_at: Option<DateTime<Utc>>,
}

/// One run of a scheduled job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct JobRun {
    pub id: i64,
    pub installation: String,
    pub job: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    #[sqlx(try_from = "String")]
    pub outcome: JobOutcome,
    pub message: String,
}

/// What the scheduler dashboard shows for one job of one installation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JobOverview {
    pub job: String,
    pub last_run: Option<JobRun>,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// The last sign of life of one worker loop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct WorkerHeartbeat {
    pub worker_id: String,
    /// What kind of process it is (e.g. "sync-worker", "webhook-receiver").
    pub process: String,
    pub installation: Option<String>,
    pub started_at: DateTime<Utc>,
    pub last_beat_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_counts_set_and_get_agree() {
        let mut c = QueueCounts::default();
        for (i, s) in OrderStatus::ALL.iter().enumerate() {
            c.set(*s, i as u64 + 1);
        }
        for (i, s) in OrderStatus::ALL.iter().enumerate() {
            assert_eq!(c.get(*s), i as u64 + 1);
        }
        assert_eq!(c.total(), 28);
    }
}

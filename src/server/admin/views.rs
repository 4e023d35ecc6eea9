//! The JSON shapes the admin API answers with (camelCase; statuses with the guide's words
//! in `status` and the stable stored name in `statusCode`).

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use crate::store::{AuditEntry, Order, QueueCounts, WebhookCounts, WebhookEvent};
use crate::sync::send::OrderOutcome;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallationView {
    pub id: String,
    pub namespace: String,
    pub name: String,
    pub suspended: bool,
    pub order_sync_enabled: bool,
    pub webhooks_enabled: bool,
    /// Where Stream posts this installation's notifications (`/webhooks/{namespace}/{name}`),
    /// so nobody has to guess the namespace of an installation read from a file.
    pub webhook_path: String,
    pub queue: QueueCounts,
    pub webhooks: WebhookCounts,
    /// Names of the jobs flagged overdue (see the jobs view).
    pub overdue_jobs: Vec<String>,
    /// The circuit breaker of the installation's Stream account in this process.
    pub stream_breaker: crate::sync::breaker::BreakerView,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    pub order_id: String,
    pub num_order_id: Option<i64>,
    pub reference: Option<String>,
    pub postal_service_id: Option<String>,
    pub postal_service_name: Option<String>,
    pub order_type: &'static str,
    pub status: &'static str,
    pub status_code: &'static str,
    /// Sends started; reset by a manual resend.
    pub attempts: u32,
    /// Sends that ended because Stream could not be reached; they do not count against
    /// MaxRetryAttempts.
    pub deferrals: u32,
    pub last_http_status: Option<i32>,
    pub last_error: Option<String>,
    pub stream_order_id: Option<String>,
    pub consignment_no: Option<String>,
    pub tracking_number: Option<String>,
    pub tracking_url: Option<String>,
    pub claim_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
    pub validation_failed_at: Option<DateTime<Utc>>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// When the tracking details reached Linnworks.
    pub written_back_at: Option<DateTime<Utc>>,
    /// Completed, but the tracking details have not reached Linnworks yet (a send cycle
    /// retries the write-back).
    pub write_back_pending: bool,
    /// The Linnworks order as last fetched (detail view only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linnworks: Option<Value>,
}

impl OrderView {
    pub fn new(o: Order, with_snapshot: bool) -> Self {
        let write_back_pending = o.write_back_pending();
        Self {
            order_id: o.order_id,
            num_order_id: o.num_order_id,
            reference: o.reference,
            postal_service_id: o.postal_service_id,
            postal_service_name: o.postal_service_name,
            order_type: o.order_type.label(),
            status: o.status.label(),
            status_code: o.status.as_str(),
            attempts: o.attempts,
            deferrals: o.deferrals,
            last_http_status: o.last_http_status,
            last_error: o.last_error,
            stream_order_id: o.stream_order_id,
            consignment_no: o.consignment_no,
            tracking_number: o.tracking_number,
            tracking_url: o.tracking_url,
            claim_owner: o.claim_owner,
            lease_expires_at: o.lease_expires_at,
            created_at: o.created_at,
            updated_at: o.updated_at,
            completed_at: o.completed_at,
            failed_at: o.failed_at,
            validation_failed_at: o.validation_failed_at,
            deleted_at: o.deleted_at,
            written_back_at: o.written_back_at,
            write_back_pending,
            linnworks: if with_snapshot { o.snapshot } else { None },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditView {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub order_id: Option<String>,
    pub correlation_id: String,
    pub action: &'static str,
    pub action_code: &'static str,
    pub outcome: &'static str,
    pub message: String,
    pub duration_ms: u64,
    pub actor: String,
}

impl From<AuditEntry> for AuditView {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            order_id: e.order_id,
            correlation_id: e.correlation_id,
            action: e.action.label(),
            action_code: e.action.as_str(),
            outcome: e.outcome.label(),
            message: e.message,
            duration_ms: e.duration_ms,
            actor: e.actor,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: i64,
    pub received_at: DateTime<Utc>,
    pub event_code: String,
    pub consignment_no: Option<String>,
    pub order_no: Option<String>,
    pub status: &'static str,
    pub status_code: &'static str,
    pub retry_count: u32,
    pub last_error: Option<String>,
    pub processed_at: Option<DateTime<Utc>>,
    /// The orders the event concerns, as the processor names them (consignment numbers).
    pub orders: Vec<String>,
    pub body: String,
}

impl WebhookView {
    pub fn new(e: WebhookEvent, orders: Vec<String>) -> Self {
        Self {
            orders,
            id: e.id,
            received_at: e.received_at,
            event_code: e.event_code,
            consignment_no: e.consignment_no,
            order_no: e.order_no,
            status: e.status.label(),
            status_code: e.status.as_str(),
            retry_count: e.retry_count,
            last_error: e.last_error,
            processed_at: e.processed_at,
            body: e.body,
        }
    }
}

/// One order's result in an action.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeView {
    pub order_id: String,
    /// The order's status afterwards (or "Not queued").
    pub status: String,
    pub message: String,
    /// Whether the action did what was asked for this order.
    pub ok: bool,
}

impl OutcomeView {
    pub fn new(o: OrderOutcome, ok: bool) -> Self {
        Self {
            ok,
            order_id: o.order_id,
            status: o.status,
            message: o.message,
        }
    }
}

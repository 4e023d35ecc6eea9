//! The write-back: what a send writes to the Linnworks order once Stream has it (tracking
//! number, tracking URL, the "Sent to Stream" identifier), and the later send cycle's retry
//! of a write-back that did not finish. A failed write-back never undoes the send (the order
//! exists in Stream): the order's write-back stays pending until a retry records it.

use std::time::Instant;

use futures::StreamExt as _;
use uuid::Uuid;

use crate::config::InstallationConfig;

use crate::domain::InstallationKey;
use crate::domain::{AuditAction, AuditOutcome};
use crate::linnworks::{BasicExtendedProperty, OrderDetails, UpdateOrderShippingInfoRequest};
use crate::store::Order;

use super::engine::{Clients, Engine};
use super::order_details::{Details, SEND_CONCURRENCY, details_of};
use super::run_context::RunContext;
use crate::domain::identifiers::{ERROR_FROM_STREAM, SENT_TO_STREAM};

/// The name of the extended property that holds the Stream tracking link.
pub const TRACKING_URL_PROPERTY: &str = "StreamTrackingURL";

/// Tracking number and URL onto a sent order, as Linnworks had it when `detail` was read;
/// parts Linnworks already has are not written again. Both are tried; the error names each
/// part that failed. A failure does not undo the send (the order exists in Stream): the
/// order's write-back stays pending and a later send cycle retries it.
pub(super) async fn write_tracking(
    clients: &Clients,
    detail: &OrderDetails,
    tracking: &str,
    url: &str,
) -> Result<(), String> {
    let mut problems = Vec::new();
    let current = detail
        .shipping_info
        .tracking_number
        .as_deref()
        .unwrap_or("");
    if !tracking.trim().is_empty() && current.trim() != tracking.trim() {
        let info = UpdateOrderShippingInfoRequest {
            tracking_number: Some(tracking.to_string()),
            ..UpdateOrderShippingInfoRequest::from_current(&detail.shipping_info)
        };
        if let Err(e) = clients
            .linnworks
            .set_order_shipping_info(detail.order_id, &info)
            .await
        {
            problems.push(format!("could not write the tracking number: {e}"));
        }
    }
    let has_url = detail
        .extended_properties
        .iter()
        .any(|p| p.name == TRACKING_URL_PROPERTY && p.value == url);
    if !url.trim().is_empty() && !has_url {
        let props = vec![BasicExtendedProperty {
            name: TRACKING_URL_PROPERTY.into(),
            value: url.to_string(),
            r#type: "Info".into(),
        }];
        if let Err(e) = clients
            .linnworks
            .add_extended_properties(detail.order_id, props)
            .await
        {
            problems.push(format!("could not write the tracking URL: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The status identifiers of a sent batch, and the write-backs it finished: the orders of
/// `written` (Completed, tracking number and URL in Linnworks) are recorded as written back
/// once "Sent to Stream" is set on the batch; else they stay pending for a later cycle.
pub(super) async fn finish_batch(
    engine: &Engine,
    clients: &Clients,
    key: &InstallationKey,
    sent: &[Uuid],
    errored: &[Uuid],
    written: &[String],
) {
    let tags = tag(clients, key, sent, errored).await;
    if tags.sent_ok() {
        for order_id in written {
            mark_written_back(engine, key, order_id).await;
        }
    } else if !written.is_empty() {
        tracing::warn!(installation = %key, orders = written.len(), "identifiers not set; the write-back stays pending and a later send cycle retries it");
    }
}

/// Records a finished write-back; a store failure leaves it pending (a later cycle finds
/// everything in place and records it then).
async fn mark_written_back(engine: &Engine, key: &InstallationKey, order_id: &str) {
    match engine.store().mark_written_back(&key.id(), order_id).await {
        Ok(_) => tracing::info!(
            order_id,
            "write-back: tracking and identifiers are in Linnworks"
        ),
        Err(e) => {
            tracing::warn!(installation = %key, order_id, "could not record the write-back: {e}")
        }
    }
}

/// Which identifier changes of a batch failed.
#[derive(Default)]
struct TagResult {
    /// Why "Sent to Stream" could not be assigned or "Error from Stream" unassigned.
    sent_failed: Option<String>,
}

impl TagResult {
    fn sent_ok(&self) -> bool {
        self.sent_failed.is_none()
    }
}

/// The status identifiers of a whole batch, one call per tag.
async fn tag(
    clients: &Clients,
    key: &InstallationKey,
    sent: &[Uuid],
    errored: &[Uuid],
) -> TagResult {
    let mut result = TagResult::default();
    // (assign or unassign, orders, tag, whether it is part of the sent orders' write-back)
    let changes = [
        (true, sent, SENT_TO_STREAM.0, true),
        (false, sent, ERROR_FROM_STREAM.0, true),
        (true, errored, ERROR_FROM_STREAM.0, false),
    ];
    for (assign, ids, tag, write_back) in changes {
        if ids.is_empty() {
            continue;
        }
        let done = if assign {
            clients.linnworks.assign_order_identifier(ids, tag).await
        } else {
            clients.linnworks.unassign_order_identifier(ids, tag).await
        };
        if let Err(e) = done {
            tracing::warn!(installation = %key, tag, "could not update identifiers: {e}");
            if write_back && result.sent_failed.is_none() {
                let verb = if assign { "assign" } else { "unassign" };
                result.sent_failed = Some(format!("could not {verb} identifier {tag}: {e}"));
            }
        }
    }
    result
}

/// What retrying the pending write-backs of one installation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteBackSummary {
    /// Written to Linnworks (or found there already), now recorded as written back.
    pub written: usize,
    /// Tried and failed; still pending.
    pub pending: usize,
    /// The order is gone from Linnworks or processed there: nothing left to write to.
    pub skipped: usize,
}

/// Retries the write-backs of `inst`'s Completed orders whose tracking details never reached
/// Linnworks (the write-back after the send failed, or the worker died before it), up to
/// MaxBatchSizePerInstallation of them. Only orders untouched for a claim lease are taken, so
/// a write-back another worker is still doing is not duplicated. Every order is audited
/// (`Write Back`); failures stay pending for a later cycle and never fail the caller.
pub async fn retry_write_backs(run: &RunContext, inst: &InstallationConfig) -> WriteBackSummary {
    let (engine, key) = (run.engine(), &inst.key);
    let taken = engine
        .store()
        .take_pending_write_backs(
            &key.id(),
            engine.lease(),
            engine.settings().max_batch_size_per_installation,
        )
        .await;
    match taken {
        Ok(orders) => write_back(run, inst, orders).await,
        Err(e) => {
            tracing::warn!(installation = %key, "could not read the pending write-backs: {e}");
            WriteBackSummary::default()
        }
    }
}

/// How one order's tracking number and URL fared.
enum Tracking {
    /// In Linnworks now (or already).
    Written,
    /// Nothing to write to: Linnworks no longer has the order, or it is processed there.
    Gone,
    /// Not written, and why.
    Failed(String),
}

/// Writes the tracking number, tracking URL and "Sent to Stream" identifier of Completed
/// `orders` to Linnworks, checking first what Linnworks already has so nothing is written
/// twice, and records each order that ends fully written back. Audited per order.
pub async fn write_back(
    run: &RunContext,
    inst: &InstallationConfig,
    orders: Vec<Order>,
) -> WriteBackSummary {
    let mut summary = WriteBackSummary::default();
    if orders.is_empty() {
        return summary;
    }
    let audit = WriteBackAudit {
        run,
        started: Instant::now(),
        retry_note: format!(
            "; still pending, retried by a send cycle in {} s or later",
            run.engine().lease().as_secs()
        ),
    };
    let read = match run.engine().clients(inst) {
        Ok(clients) => details_of(&clients, &orders, false)
            .await
            .map(|details| (clients, details))
            .map_err(|e| format!("could not read the orders from Linnworks: {e}")),
        Err(e) => Err(e.to_string()),
    };
    let (clients, details) = match read {
        Ok(read) => read,
        Err(e) => {
            for order in &orders {
                audit.failed(order, &e).await;
            }
            summary.pending = orders.len();
            return summary;
        }
    };
    let written = write_tracking_each(&clients, &orders, &details).await;
    let tag_failure = set_identifiers(&clients, &orders, &written, &details).await;
    for (order, tracking) in orders.iter().zip(written) {
        let gone_why = if details.contains_key(&order.order_id) {
            "the order is processed in Linnworks, which no longer accepts changes to it"
        } else {
            "Linnworks no longer has the order"
        };
        record(
            &audit,
            &mut summary,
            order,
            tracking,
            gone_why,
            tag_failure.as_deref(),
        )
        .await;
    }
    summary
}

/// Tracking number and URL, order by order (side by side, as sends go).
async fn write_tracking_each(
    clients: &Clients,
    orders: &[Order],
    details: &Details,
) -> Vec<Tracking> {
    let writes: Vec<_> = orders
        .iter()
        .map(|order| {
            let detail = details.get(&order.order_id);
            let unreadable = details
                .problems
                .get(&order.order_id)
                .filter(|_| detail.is_none());
            async move {
                if let Some(problem) = unreadable {
                    return Tracking::Failed(problem.clone());
                }
                let Some(detail) = detail else {
                    return Tracking::Gone;
                };
                if detail.processed {
                    return Tracking::Gone;
                }
                let written = write_tracking(
                    clients,
                    detail,
                    order.tracking_number.as_deref().unwrap_or(""),
                    order.tracking_url.as_deref().unwrap_or(""),
                )
                .await;
                match written {
                    Ok(()) => Tracking::Written,
                    Err(e) => Tracking::Failed(e),
                }
            }
        })
        .collect();
    futures::stream::iter(writes)
        .buffered(SEND_CONCURRENCY)
        .collect()
        .await
}

/// The identifiers of the orders whose tracking was written, one call per change: "Sent to
/// Stream" where it is missing, "Error from Stream" off where it is set. Returns why a
/// change failed (the second is not tried after the first failed).
async fn set_identifiers(
    clients: &Clients,
    orders: &[Order],
    written: &[Tracking],
    details: &Details,
) -> Option<String> {
    let has_tag = |order: &Order, tag: &str| {
        details.get(&order.order_id).is_some_and(|d| {
            d.general_info
                .identifiers
                .iter()
                .any(|i| i.tag.eq_ignore_ascii_case(tag))
        })
    };
    let ok: Vec<&Order> = orders
        .iter()
        .zip(written)
        .filter(|(_, w)| matches!(w, Tracking::Written))
        .map(|(o, _)| o)
        .collect();
    let uuid = |o: &&Order| Uuid::parse_str(&o.order_id).ok();
    let to_assign: Vec<Uuid> = ok
        .iter()
        .filter(|o| !has_tag(o, SENT_TO_STREAM.0))
        .filter_map(uuid)
        .collect();
    let to_unassign: Vec<Uuid> = ok
        .iter()
        .filter(|o| has_tag(o, ERROR_FROM_STREAM.0))
        .filter_map(uuid)
        .collect();
    if !to_assign.is_empty()
        && let Err(e) = clients
            .linnworks
            .assign_order_identifier(&to_assign, SENT_TO_STREAM.0)
            .await
    {
        return Some(format!(
            "could not assign identifier {}: {e}",
            SENT_TO_STREAM.0
        ));
    }
    if !to_unassign.is_empty()
        && let Err(e) = clients
            .linnworks
            .unassign_order_identifier(&to_unassign, ERROR_FROM_STREAM.0)
            .await
    {
        return Some(format!(
            "could not unassign identifier {}: {e}",
            ERROR_FROM_STREAM.0
        ));
    }
    None
}

/// Records how one order's write-back ended: counted, audited, and marked written back when
/// nothing is left to write.
async fn record(
    audit: &WriteBackAudit<'_>,
    summary: &mut WriteBackSummary,
    order: &Order,
    tracking: Tracking,
    gone_why: &str,
    tag_failure: Option<&str>,
) {
    let engine = audit.run.engine();
    let key = audit.run.key();
    let number = order.tracking_number.as_deref().unwrap_or("");
    match (tracking, tag_failure) {
        (Tracking::Gone, _) => {
            summary.skipped += 1;
            mark_written_back(engine, key, &order.order_id).await;
            audit
                .entry(
                    order,
                    AuditOutcome::Skipped,
                    format!("retried write-back of tracking {number} skipped: {gone_why}"),
                )
                .await;
        }
        (Tracking::Failed(e), _) => {
            summary.pending += 1;
            audit.failed(order, &e).await;
        }
        (Tracking::Written, Some(e)) => {
            summary.pending += 1;
            let message = format!(
                "retried write-back: tracking {number} and its URL are in Linnworks, but {e}{}",
                audit.retry_note
            );
            audit.entry(order, AuditOutcome::Failure, message).await;
        }
        (Tracking::Written, None) => {
            summary.written += 1;
            mark_written_back(engine, key, &order.order_id).await;
            let message = format!(
                "retried write-back: tracking {number}, its {TRACKING_URL_PROPERTY} and the {} identifier are in Linnworks",
                SENT_TO_STREAM.1
            );
            audit.entry(order, AuditOutcome::Success, message).await;
        }
    }
}

/// The audit entries of one write-back: timed from its start, and saying when a failed one
/// is tried again.
struct WriteBackAudit<'a> {
    run: &'a RunContext,
    started: Instant,
    retry_note: String,
}

impl WriteBackAudit<'_> {
    async fn entry(&self, order: &Order, outcome: AuditOutcome, message: String) {
        self.run
            .audit(
                AuditAction::WriteBack,
                Some(&order.order_id),
                outcome,
                message,
                self.started,
            )
            .await;
    }

    async fn failed(&self, order: &Order, e: &str) {
        let message = format!(
            "retried write-back to Linnworks failed: {e}{}",
            self.retry_note
        );
        self.entry(order, AuditOutcome::Failure, message).await;
    }
}

//! The write-back to Linnworks (tracking number, StreamTrackingURL, Sent to Stream) is
//! durable: when it fails after Stream accepted the order, the order stays Completed with its
//! write-back pending, and a later send cycle (after the claim lease, so an in-flight
//! write-back is not duplicated) writes it, once, without sending the order again.

use std::time::Duration;

use linnstream::domain::{AuditAction, AuditOutcome, OrderStatus};
use linnstream::settings::SystemSettings;
use linnstream::sim::world::{NEXT_DAY, order};
use linnstream::store::AuditQuery;
use serde_json::json;

use crate::on_both_backends;
use crate::support::db::Backend;
use crate::support::sync::{Harness, example_settings};

const SHIPPING_INFO: &str = "/api/Orders/SetOrderShippingInfo";
const LEASE_SECONDS: u32 = 5;

/// The harness with a short claim lease: pending write-backs are retried 5 s after the last
/// attempt instead of 5 minutes.
async fn harness(backend: Backend) -> Harness {
    Harness::example_with(
        backend,
        SystemSettings {
            claim_lease_seconds: LEASE_SECONDS,
            ..example_settings()
        },
    )
    .await
}

async fn past_the_lease() {
    tokio::time::sleep(Duration::from_secs(u64::from(LEASE_SECONDS)) + Duration::from_millis(500))
        .await;
}

async fn write_back_audit(h: &Harness, order_id: &str) -> Vec<(AuditOutcome, String)> {
    let mut entries = h
        .engine
        .store()
        .audit_entries(&AuditQuery {
            installation: Some(h.key.id()),
            order_id: Some(order_id.to_string()),
            action: Some(AuditAction::WriteBack),
            ..Default::default()
        })
        .await
        .expect("audit log");
    entries.sort_by_key(|e| e.id);
    entries
        .into_iter()
        .map(|e| (e.outcome, e.message))
        .collect()
}

async fn a_failed_write_back_is_retried_by_a_later_send_cycle(h: &Harness) {
    h.add_orders(vec![order(7001, NEXT_DAY)]).expect("added");
    h.fetch().await;
    // Linnworks refuses the tracking number on every try.
    h.fault(
        false,
        json!({"path": SHIPPING_INFO, "method": "POST", "kind": "status", "status": 500}),
    )
    .await;
    let sent = h.send().await;
    assert_eq!((sent.completed, sent.failed), (1, 0), "{sent:?}");
    let order = h.queued(7001).await;
    assert_eq!(order.status, OrderStatus::Completed, "Stream has the order");
    assert!(order.write_back_pending(), "{order:?}");
    assert!(
        h.tracking_number(7001).is_empty(),
        "Linnworks has no tracking yet"
    );
    let tracking = order.tracking_number.clone().expect("tracking stored");
    let url = order.tracking_url.clone().expect("tracking URL stored");

    // Within the lease the sender may still be writing back: the next cycle leaves it.
    let early = h.send().await;
    assert_eq!((early.written_back, early.write_back_failed), (0, 0));

    // Past the lease, a cycle retries; Linnworks still fails: the order stays pending, the
    // cycle does not fail, and the audit log says why.
    past_the_lease().await;
    let failing = h.send().await;
    assert_eq!(
        (failing.written_back, failing.write_back_failed),
        (0, 1),
        "{failing:?}"
    );
    assert!(h.queued(7001).await.write_back_pending());
    assert!(h.tracking_number(7001).is_empty());
    let audit = write_back_audit(h, &order.order_id).await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].0, AuditOutcome::Failure);
    assert!(
        audit[0]
            .1
            .starts_with("retried write-back to Linnworks failed")
            && audit[0].1.contains("tracking number")
            && audit[0].1.contains("500"),
        "{}",
        audit[0].1
    );

    // Linnworks recovers: the next cycle past the lease writes everything, once.
    h.clear_faults().await;
    past_the_lease().await;
    let calls_before = h.linnworks_calls(SHIPPING_INFO);
    let retried = h.send().await;
    assert_eq!(
        (
            retried.claimed,
            retried.written_back,
            retried.write_back_failed
        ),
        (0, 1, 0),
        "{retried:?}"
    );
    assert!(
        retried.to_string().contains("1 written to Linnworks"),
        "{retried}"
    );
    assert_eq!(h.tracking_number(7001), tracking);
    assert_eq!(h.extended_property(7001, "StreamTrackingURL"), [url]);
    let tags = h.identifiers(7001);
    assert_eq!(
        tags.iter().filter(|t| *t == "SENT_TO_STREAM").count(),
        1,
        "{tags:?}"
    );
    assert!(!tags.contains(&"ERROR_FROM_STREAM".to_string()), "{tags:?}");
    let done = h.queued(7001).await;
    assert!(!done.write_back_pending() && done.written_back_at.is_some());
    assert_eq!(done.status, OrderStatus::Completed);
    let audit = write_back_audit(h, &order.order_id).await;
    let last = audit.last().expect("audited");
    assert_eq!(last.0, AuditOutcome::Success);
    assert!(
        last.1.starts_with("retried write-back") && last.1.contains(&tracking),
        "{}",
        last.1
    );

    // Nothing is written again, and Stream has the order exactly once.
    past_the_lease().await;
    let after = h.send().await;
    assert_eq!((after.written_back, after.write_back_failed), (0, 0));
    assert_eq!(
        h.linnworks_calls(SHIPPING_INFO) - calls_before,
        1,
        "the tracking number was written exactly once"
    );
    assert_eq!(h.extended_property(7001, "StreamTrackingURL").len(), 1);
    let stream = h.stream_orders().await;
    assert_eq!(stream.len(), 1, "exactly one Stream order: {stream:?}");
}

on_both_backends!(with harness; a_failed_write_back_is_retried_by_a_later_send_cycle);

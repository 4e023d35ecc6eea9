//! Stream webhooks end to end: orders fetched from the Linnworks simulator and sent to the
//! Stream simulator, Stream's own notifications delivered to the receiver, stored, and
//! applied to Linnworks by the processing job. On PostgreSQL (a fresh database per test,
//! failing when PostgreSQL is unreachable) and SQLite.

use linnstream::domain::{AuditAction, AuditOutcome, WebhookStatus};
use linnstream::sim::stream::DEMO_CLIENT_ID;
use linnstream::store::{AuditEntry, AuditQuery, Order};
use linnstream::stream::notification::MAX_BODY_BYTES;
use serde_json::{Value, json};

use crate::on_both_backends;
use crate::support::db::Backend;
use crate::support::sync::{Harness, Options, PLAIN_SERVICE, PROCESSING_SERVICE};

on_both_backends!(
    deliveries_add_a_note_and_process_only_when_the_mapping_says_so,
    planning_sets_run_and_day_and_a_replan_replaces_them,
    sequences_follow_the_setting,
    runs_outside_the_identifiers_are_recorded_not_applied,
    the_receiver_refuses_bad_calls_and_stores_nothing,
    duplicates_are_acknowledged_and_stored_once,
    events_of_one_order_are_processed_in_arrival_order,
    failing_linnworks_is_retried_then_failed,
    unknown_orders_and_codes_are_recorded_and_skipped,
);

async fn audit(h: &Harness, order: Option<&Order>) -> Vec<AuditEntry> {
    h.db.store
        .audit_entries(&AuditQuery {
            installation: Some(h.key.id()),
            order_id: order.map(|o| o.order_id.clone()),
            action: Some(AuditAction::Webhook),
            limit: 1000,
            ..AuditQuery::default()
        })
        .await
        .expect("audit")
}

fn consignment(o: &Order) -> String {
    o.consignment_no.clone().expect("consignment number")
}

/// A planning notification as Stream wraps it, for one order.
fn planning_body(code: &str, run: u32, date: &str, consignment: &str, sequence: u32) -> Value {
    json!({"webhook": {
        "subscription": {"party_id": DEMO_CLIENT_ID, "id": "sub-1", "event": code, "event_type": "RUN"},
        "event": {"event_code": code, "event_date": date, "event_time": "06:00:00"},
        "run": {"loadId": format!("L-{run}-{date}"), "status": code, "description": format!("RUN {run:02}")},
        "orders": [{"sequence": sequence, "order": consignment}],
    }})
}

fn delivered_body(consignment: &str, time: &str) -> Value {
    json!({"webhook": {
        "subscription": {"party_id": DEMO_CLIENT_ID, "id": "sub-1"},
        "event": {"event_code": "DELIVERED", "event_code_desc": "Delivered", "event_date": "2026-06-20",
                  "event_time": time, "event_text": "Left with neighbour"},
        "order": {"id": consignment},
    }})
}

async fn post(h: &Harness, body: &Value) -> (u16, Value) {
    let token = h.token();
    h.post_webhook(
        &linnstream::domain::webhook::webhook_path(&h.key),
        body.to_string().into_bytes(),
        Some(&token),
    )
    .await
}

async fn add_fault(h: &Harness, fault: Value) {
    let reply = h
        .http
        .post(format!("{}/_sim/faults", h.linnworks_url))
        .json(&fault)
        .send()
        .await
        .expect("faults");
    assert_eq!(reply.status().as_u16(), 201, "{:?}", reply.text().await);
}

async fn clear_faults(h: &Harness) {
    h.http
        .delete(format!("{}/_sim/faults", h.linnworks_url))
        .send()
        .await
        .expect("faults");
}

async fn deliveries_add_a_note_and_process_only_when_the_mapping_says_so(backend: Backend) {
    let h = Harness::start(backend).await;
    let plain = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let signed = h.ship(PROCESSING_SERVICE, 2).await;
    let (signed, partial) = (&signed[0], &signed[1]);
    for (action, order) in [
        ("deliver", &plain),
        ("deliver", signed),
        ("part-deliver", partial),
    ] {
        h.sim_event(json!({"action": action, "orderNo": order.stream_order_id}))
            .await;
    }
    let events = h.wait_for_events(3).await;
    assert!(events.iter().all(|e| e.status == WebhookStatus::Pending));
    let summary = h.process_all().await;
    assert_eq!(
        (summary.applied, summary.skipped, summary.failed),
        (3, 0, 0),
        "{summary:?}"
    );

    for order in [&plain, signed] {
        let notes = h.notes(order);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("(DELIVERED)"), "{}", notes[0]);
        assert!(notes[0].contains(&consignment(order)), "{}", notes[0]);
    }
    assert!(
        !h.processed(&plain),
        "the plain service does not process on delivery"
    );
    assert!(
        h.processed(signed),
        "processedOnDelivered marks the order processed"
    );
    let notes = h.notes(partial);
    assert!(
        notes.len() == 1 && notes[0].contains("(PARTDELVRD)"),
        "{notes:?}"
    );
    assert!(
        !h.processed(partial),
        "a part delivery does not complete the order"
    );

    for e in h.events().await {
        assert_eq!(e.status, WebhookStatus::Processed, "{e:?}");
    }
    // On each order's own audit trail, with the job's correlation id.
    let trail = audit(&h, Some(signed)).await;
    assert!(
        trail.iter().any(|a| a.outcome == AuditOutcome::Success
            && a.correlation_id == "test-run"
            && a.message.contains("order marked processed")),
        "{trail:?}"
    );
    // Nothing left to do, and nothing done twice.
    assert_eq!(h.process().await.claimed, 0);
    assert_eq!(h.notes(&plain).len(), 1);
}

async fn planning_sets_run_and_day_and_a_replan_replaces_them(backend: Backend) {
    let h = Harness::start(backend).await;
    let orders = h.ship(PLAIN_SERVICE, 2).await;
    let (a, b) = (&orders[0], &orders[1]);
    // 2026-06-20 is a Saturday. OPENPLANNING, LOCKPLANNING and CLOSEPLANNING each arrive.
    h.plan(&[a, b], 3, "2026-06-20", None).await;
    h.wait_for_events(3).await;
    let summary = h.process_all().await;
    assert_eq!((summary.applied, summary.failed), (3, 0), "{summary:?}");
    for o in [a, b] {
        assert_eq!(
            h.planning_tags(o),
            ["RUN_03", "SATURDAY"],
            "no SEQ while sequences are off"
        );
        assert!(h.tags(o).contains(&"SENT_TO_STREAM".to_string()));
    }

    // Re-planned into run 5 on Monday: RUN 03 and SATURDAY go, the other order keeps them.
    h.plan(&[a], 5, "2026-06-22", Some(&["LOCKPLANNING"])).await;
    h.wait_for_events(4).await;
    assert_eq!(h.process_all().await.applied, 1);
    assert_eq!(h.planning_tags(a), ["MONDAY", "RUN_05"]);
    assert_eq!(h.planning_tags(b), ["RUN_03", "SATURDAY"]);
    assert!(
        h.tags(a).contains(&"SENT_TO_STREAM".to_string()),
        "other identifiers stay"
    );
    let trail = audit(&h, Some(a)).await;
    assert!(
        trail
            .iter()
            .any(|e| e.message.contains("RUN 05") && e.message.contains("replacing RUN 03")),
        "{trail:?}"
    );
}

async fn sequences_follow_the_setting(backend: Backend) {
    let h = Harness::start_with(
        backend,
        Options {
            sequences: true,
            ..Options::default()
        },
    )
    .await;
    let orders = h.ship(PLAIN_SERVICE, 2).await;
    let (a, b) = (&orders[0], &orders[1]);
    // PLANNEDGROUP: one notification per order, with its sequence. 2026-06-19 is a Friday.
    h.plan(&[a, b], 7, "2026-06-19", Some(&["PLANNEDGROUP"]))
        .await;
    h.wait_for_events(2).await;
    assert_eq!(h.process_all().await.applied, 2);
    assert_eq!(h.planning_tags(a), ["FRIDAY", "RUN_07", "SEQ_01"]);
    assert_eq!(h.planning_tags(b), ["FRIDAY", "RUN_07", "SEQ_02"]);

    // The run is re-ordered and moved to Tuesday: every identifier follows.
    h.plan(&[b, a], 8, "2026-06-23", Some(&["LOCKPLANNING"]))
        .await;
    h.wait_for_events(3).await;
    assert_eq!(h.process_all().await.applied, 1);
    assert_eq!(h.planning_tags(a), ["RUN_08", "SEQ_02", "TUESDAY"]);
    assert_eq!(h.planning_tags(b), ["RUN_08", "SEQ_01", "TUESDAY"]);

    // Sequences turned off: a new plan sets no SEQ and removes the old one.
    h.update_installation(|i| i.spec.webhooks.group_sequence_identifiers = false);
    h.plan(&[a], 9, "2026-06-23", Some(&["LOCKPLANNING"])).await;
    h.wait_for_events(4).await;
    assert_eq!(h.process_all().await.applied, 1);
    assert_eq!(h.planning_tags(a), ["RUN_09", "TUESDAY"]);
}

async fn runs_outside_the_identifiers_are_recorded_not_applied(backend: Backend) {
    let h = Harness::start(backend).await;
    let a = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    h.plan(&[&a], 21, "2026-06-20", Some(&["LOCKPLANNING"]))
        .await;
    let events = h.wait_for_events(1).await;
    let summary = h.process_all().await;
    assert_eq!((summary.applied, summary.skipped), (0, 1), "{summary:?}");
    assert!(h.planning_tags(&a).is_empty(), "{:?}", h.tags(&a));
    let event =
        h.db.store
            .webhook_event(events[0].id)
            .await
            .expect("store")
            .expect("event");
    assert_eq!(
        event.status,
        WebhookStatus::Processed,
        "recorded, not retried"
    );
    let log = audit(&h, None).await;
    assert!(
        log.iter()
            .any(|e| e.outcome == AuditOutcome::Skipped && e.message.contains("run 21")),
        "{log:?}"
    );
}

async fn the_receiver_refuses_bad_calls_and_stores_nothing(backend: Backend) {
    let h = Harness::start_with(
        backend,
        Options {
            master_data: false,
            ..Options::default()
        },
    )
    .await;
    let path = linnstream::domain::webhook::webhook_path(&h.key);
    let good = delivered_body("CN-1", "10:00:00").to_string().into_bytes();
    let token = h.token();

    let (status, body) = h
        .post_webhook(&path, good.clone(), Some("wrong-token"))
        .await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not match")),
        "{body}"
    );
    let (status, body) = h.post_webhook(&path, good.clone(), None).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("missing")),
        "{body}"
    );

    // An unknown installation is refused as a wrong token is: nothing says it is unknown.
    let (status, unknown) = h
        .post_webhook("/webhooks/shop/nobody", good.clone(), Some(&token))
        .await;
    assert_eq!(status, 401, "{unknown}");
    assert_eq!(unknown, body);

    let (status, body) = h
        .post_webhook(&path, b"{not json".to_vec(), Some(&token))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("not JSON")),
        "{body}"
    );
    let no_order = json!({"webhook": {"event": {"event_code": "DELIVERED"}}});
    let (status, body) = post(&h, &no_order).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("webhook.order.id")),
        "{body}"
    );

    let mut other_tenant = delivered_body("CN-1", "10:00:00");
    other_tenant["webhook"]["subscription"]["party_id"] = json!("SOMEONE-ELSE");
    let (status, body) = post(&h, &other_tenant).await;
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("SOMEONE-ELSE")),
        "{body}"
    );

    let mut huge = delivered_body("CN-1", "10:00:00");
    huge["webhook"]["event"]["event_text"] = json!("x".repeat(MAX_BODY_BYTES));
    let (status, body) = post(&h, &huge).await;
    assert_eq!(status, 413, "{body}");
    assert!(
        body["error"].as_str().is_some_and(|e| e.contains("larger")),
        "{body}"
    );

    h.update_installation(|i| i.spec.webhooks.enabled = false);
    let (status, body) = h.post_webhook(&path, good, Some(&token)).await;
    assert_eq!(status, 409, "{body}");
    assert!(
        body["error"]
            .as_str()
            .is_some_and(|e| e.contains("disabled")),
        "{body}"
    );

    assert!(
        h.events().await.is_empty(),
        "nothing is stored for a refused call"
    );
    let log = audit(&h, None).await;
    assert!(
        log.iter().all(|e| !e.message.contains(&token)),
        "the token is never logged"
    );
}

async fn duplicates_are_acknowledged_and_stored_once(backend: Backend) {
    let h = Harness::start_with(
        backend,
        Options {
            master_data: false,
            ..Options::default()
        },
    )
    .await;
    let body = delivered_body("CN-7", "10:00:00");
    let (status, first) = post(&h, &body).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(
        (first["stored"].clone(), first["duplicate"].clone()),
        (json!(true), json!(false))
    );
    let (status, again) = post(&h, &body).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], json!(true));
    assert_eq!(
        again["id"], first["id"],
        "the duplicate names the stored event"
    );
    // The same notification in the flat envelope, camelCase: one more event, another time.
    let flat = json!({
        "subscription": {"partyId": DEMO_CLIENT_ID},
        "event": {"eventCode": "DELIVERED", "eventDate": "2026-06-20", "eventTime": "11:00:00"},
        "order": {"id": "CN-7"},
    });
    let (status, other) = post(&h, &flat).await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(other["duplicate"], json!(false));
    let events = h.events().await;
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].consignment_no.as_deref(), Some("CN-7"));
    assert_eq!(events[0].event_code, "DELIVERED");
    let log = audit(&h, None).await;
    assert!(
        log.iter()
            .any(|e| e.outcome == AuditOutcome::Skipped && e.message.contains("duplicate")),
        "{log:?}"
    );
}

async fn events_of_one_order_are_processed_in_arrival_order(backend: Backend) {
    let h = Harness::start(backend).await;
    let a = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let cn = consignment(&a);
    let (s1, first) = post(&h, &planning_body("LOCKPLANNING", 3, "2026-06-20", &cn, 1)).await;
    let (s2, second) = post(&h, &planning_body("LOCKPLANNING", 7, "2026-06-21", &cn, 1)).await;
    assert_eq!((s1, s2), (200, 200), "{first} {second}");
    // The first event's identifier change fails once.
    add_fault(
        &h,
        json!({"path": "/api/OpenOrders/AssignOrderIdentifier", "kind": "status", "status": 503, "times": 1}),
    )
    .await;
    let s = h.process().await;
    assert_eq!(
        (s.claimed, s.retrying),
        (1, 1),
        "the later event waits: {s:?}"
    );
    let second_id = second["id"].as_i64().expect("id");
    let waiting =
        h.db.store
            .webhook_event(second_id)
            .await
            .expect("store")
            .expect("event");
    assert_eq!(waiting.status, WebhookStatus::Pending);
    // Retried first, then the later one; the later plan wins.
    let s = h.process().await;
    assert_eq!((s.claimed, s.applied), (1, 1), "{s:?}");
    assert_eq!(h.planning_tags(&a), ["RUN_03", "SATURDAY"]);
    let s = h.process().await;
    assert_eq!((s.claimed, s.applied), (1, 1), "{s:?}");
    assert_eq!(h.planning_tags(&a), ["RUN_07", "SUNDAY"]);
}

async fn failing_linnworks_is_retried_then_failed(backend: Backend) {
    let h = Harness::start(backend).await;
    let a = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    add_fault(
        &h,
        json!({"path": "/api/Orders/AddOrdersNote", "kind": "status", "status": 503}),
    )
    .await;
    h.sim_event(json!({"action": "deliver", "orderNo": a.stream_order_id}))
        .await;
    let id = h.wait_for_events(1).await[0].id;
    let limit = h.engine.settings().webhook_max_retry_attempts;
    for attempt in 1..=limit {
        let s = h.process().await;
        assert_eq!(s.retrying, 1, "attempt {attempt}: {s:?}");
        let e =
            h.db.store
                .webhook_event(id)
                .await
                .expect("store")
                .expect("event");
        assert_eq!(
            (e.status, e.retry_count),
            (WebhookStatus::ReadyForRetry, attempt)
        );
        assert!(
            e.last_error.as_deref().is_some_and(|m| m.contains("503")),
            "{e:?}"
        );
    }
    let s = h.process().await;
    assert_eq!(s.failed, 1, "{s:?}");
    let e =
        h.db.store
            .webhook_event(id)
            .await
            .expect("store")
            .expect("event");
    assert_eq!(e.status, WebhookStatus::Failed);
    clear_faults(&h).await;
    assert_eq!(
        h.process().await.claimed,
        0,
        "a Failed event is not retried automatically"
    );
    assert!(h.notes(&a).is_empty());
    let failures = audit(&h, None)
        .await
        .into_iter()
        .filter(|e| e.outcome == AuditOutcome::Failure)
        .count();
    assert_eq!(failures, limit as usize + 1);

    // Queued again by hand, it applies once.
    h.db.store.retry_webhook_event(id).await.expect("retry");
    assert_eq!(h.process().await.applied, 1);
    assert_eq!(h.notes(&a).len(), 1);
}

async fn unknown_orders_and_codes_are_recorded_and_skipped(backend: Backend) {
    let h = Harness::start(backend).await;
    let a = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let (status, _) = post(&h, &delivered_body("CN-NOT-OURS", "09:00:00")).await;
    assert_eq!(status, 200);
    let mut dispatched = planning_body("DISPATCHED", 4, "2026-06-20", &consignment(&a), 1);
    dispatched["webhook"]["run"]["status"] = json!("DISPATCHED");
    let (status, _) = post(&h, &dispatched).await;
    assert_eq!(status, 200);
    let s = h.process_all().await;
    assert_eq!(
        (s.claimed, s.skipped, s.applied, s.failed),
        (2, 2, 0, 0),
        "{s:?}"
    );
    for e in h.events().await {
        assert_eq!(
            e.status,
            WebhookStatus::Processed,
            "retrying cannot help: {e:?}"
        );
    }
    let log = audit(&h, None).await;
    let skipped: Vec<&str> = log
        .iter()
        .filter(|e| e.outcome == AuditOutcome::Skipped)
        .map(|e| e.message.as_str())
        .collect();
    assert!(
        skipped.iter().any(|m| m.contains("CN-NOT-OURS")),
        "{skipped:?}"
    );
    assert!(
        skipped.iter().any(|m| m.contains("DISPATCHED")),
        "{skipped:?}"
    );
    assert!(h.notes(&a).is_empty() && h.planning_tags(&a).is_empty());
}

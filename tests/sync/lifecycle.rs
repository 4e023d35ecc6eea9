use linnstream::domain::OrderStatus;
use linnstream::sim::world::{NEXT_DAY, demo_orders, order};
use linnstream::sync::{self, RunContext};
use serde_json::json;

use crate::on_both_backends;
use crate::support::sync::Harness;

on_both_backends!(
    with Harness::example;
    orders_flow_to_stream_and_back,
    a_failed_send_is_retried_then_completes,
    retries_stop_at_the_limit_until_a_manual_resend,
    only_completed_orders_can_be_deleted,
    a_lost_reply_creates_exactly_one_stream_order,
    a_corrected_order_is_picked_up_on_the_next_fetch,
    every_validation_error_says_what_is_wrong,
);

pub async fn orders_flow_to_stream_and_back(h: &Harness) {
    h.add_orders(demo_orders(1001)).expect("orders added");
    let fetched = h.fetch().await;
    assert_eq!(fetched.seen, 8);
    assert_eq!(
        fetched.relevant, 7,
        "the Royal Mail order is not the integration's: {fetched:?}"
    );
    assert_eq!((fetched.queued, fetched.invalid), (5, 2));

    let sent = h.send().await;
    assert_eq!(
        (sent.claimed, sent.completed, sent.failed),
        (5, 5, 0),
        "{sent:?}"
    );

    for num in [1001, 1002, 1003, 1006, 1007] {
        let queued = h.queued(num).await;
        assert_eq!(
            queued.status,
            OrderStatus::Completed,
            "order {num}: {:?}",
            queued.last_error
        );
        let tracking = queued
            .tracking_number
            .clone()
            .expect("tracking number stored");
        assert!(queued.consignment_no.is_some() && queued.tracking_url.is_some());
        assert_eq!(
            h.tracking_number(num),
            tracking,
            "tracking written to Linnworks for {num}"
        );
        assert!(
            h.identifiers(num).contains(&"SENT_TO_STREAM".to_string()),
            "{num}"
        );
    }
    let bad_address = h.queued(1004).await;
    assert_eq!(bad_address.status, OrderStatus::ValidationFailed);
    let reason = bad_address.last_error.unwrap_or_default();
    assert!(
        reason.starts_with("Missing delivery address fields") && reason.contains("Town, Postcode"),
        "{reason}"
    );
    let unmapped = h.queued(1005).await;
    assert!(
        unmapped
            .last_error
            .unwrap_or_default()
            .starts_with("Postal service not fully configured")
    );
    assert!(
        h.identifiers(1004)
            .contains(&"ERROR_FROM_STREAM".to_string())
    );
    assert!(h.tracking_number(1004).is_empty());

    let stream = h.stream_orders().await;
    assert_eq!(stream.len(), 5, "one Stream order per valid order");
    let by_no = |no: &str| {
        stream
            .iter()
            .find(|o| o["orderNo"] == no)
            .cloned()
            .unwrap_or_default()
    };
    // The order number carries the installation's prefix.
    let composite = by_no("ACME-1006");
    let codes: Vec<&str> = composite["request"]["delivery"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        ["TABLE-OAK", "CHAIR-OAK"],
        "composite parent skipped"
    );
    let collection = by_no("ACME-1007");
    assert_eq!(collection["request"]["header"]["orderType"], "COLLECTION");
    assert!(collection["request"].get("collection").is_some());
    let simple = by_no("ACME-1001");
    assert_eq!(
        simple["request"]["delivery"]["items"][0]["weight"],
        json!(13.0),
        "2 x 6.5 kg"
    );
    assert_eq!(simple["request"]["header"]["customerOrderNo"], "WEB-1001");

    // A second cycle has nothing to do: nothing is sent twice.
    let again = h.send().await;
    assert_eq!(again.claimed, 0);
    assert_eq!(h.stream_orders().await.len(), 5);
}

pub async fn a_failed_send_is_retried_then_completes(h: &Harness) {
    h.add_orders(vec![order(2001, NEXT_DAY)]).expect("added");
    h.fetch().await;
    // A refusal (not an outage, which would leave the order queued without using a retry).
    h.fault(true, json!({"path": "/api/orders/orders", "method": "POST", "kind": "status", "status": 400, "times": 1})).await;
    let first = h.send().await;
    assert_eq!(first.failed, 1);
    let failed = h.queued(2001).await;
    assert_eq!(failed.status, OrderStatus::Failed);
    assert_eq!(failed.last_http_status, Some(400));
    assert!(
        h.identifiers(2001)
            .contains(&"ERROR_FROM_STREAM".to_string())
    );

    let second = h.send().await;
    assert_eq!((second.retried, second.completed), (1, 1), "{second:?}");
    assert_eq!(h.status(2001).await, OrderStatus::Completed);
    let ids = h.identifiers(2001);
    assert!(
        ids.contains(&"SENT_TO_STREAM".to_string())
            && !ids.contains(&"ERROR_FROM_STREAM".to_string()),
        "{ids:?}"
    );
}

pub async fn retries_stop_at_the_limit_until_a_manual_resend(h: &Harness) {
    h.add_orders(vec![order(3001, NEXT_DAY)]).expect("added");
    h.fetch().await;
    h.fault(
        true,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "status", "status": 422}),
    )
    .await;
    let max = h.engine.settings().max_retry_attempts;
    for _ in 0..=max + 2 {
        h.send().await;
    }
    let order = h.queued(3001).await;
    assert_eq!(
        order.status,
        OrderStatus::Failed,
        "left Failed after the retries"
    );
    assert_eq!(
        order.attempts,
        max + 1,
        "first send plus MaxRetryAttempts retries"
    );

    h.clear_faults().await;
    let outcomes = sync::resend_failed(
        &RunContext::new(&h.engine, &h.key, "c1", "alice"),
        std::slice::from_ref(&order.order_id),
    )
    .await
    .expect("resend runs");
    assert_eq!(outcomes[0].status, "Completed", "{outcomes:?}");
    assert_eq!(h.status(3001).await, OrderStatus::Completed);
    let audit = h
        .engine
        .store()
        .audit_entries(&linnstream::store::AuditQuery {
            correlation_id: Some("c1".into()),
            limit: 10,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert!(
        audit.iter().any(|e| e.actor == "alice"),
        "the resend is audited with who did it"
    );
}

pub async fn only_completed_orders_can_be_deleted(h: &Harness) {
    h.add_orders(vec![order(4001, NEXT_DAY), order(4002, NEXT_DAY)])
        .expect("added");
    h.fetch().await;
    let pending = h.queued(4002).await;
    // Only 4001 is sent: 4002 stays Pending.
    sync::send_selected(
        &RunContext::new(&h.engine, &h.key, "c2", "bob"),
        &[h.queued(4001).await.order_id],
    )
    .await
    .expect("send selected");
    let refused = sync::delete_completed(
        &RunContext::new(&h.engine, &h.key, "c3", "bob"),
        std::slice::from_ref(&pending.order_id),
    )
    .await
    .expect("delete runs");
    assert!(
        refused[0]
            .message
            .starts_with(sync::ONLY_COMPLETED_CAN_BE_DELETED),
        "{refused:?}"
    );
    assert_eq!(
        h.status(4002).await,
        OrderStatus::Pending,
        "a refused delete changes nothing"
    );

    let done = h.queued(4001).await;
    let deleted = sync::delete_completed(
        &RunContext::new(&h.engine, &h.key, "c4", "bob"),
        std::slice::from_ref(&done.order_id),
    )
    .await
    .expect("delete runs");
    assert_eq!(deleted[0].status, "Deleted", "{deleted:?}");
    assert_eq!(h.status(4001).await, OrderStatus::Deleted);
    assert!(
        h.tracking_number(4001).is_empty(),
        "tracking cleared in Linnworks"
    );
    assert!(!h.identifiers(4001).contains(&"SENT_TO_STREAM".to_string()));
    let stream = h.stream_orders().await;
    assert_eq!(stream.iter().filter(|o| o["deleted"] == true).count(), 1);

    let too_many: Vec<String> = (0..11)
        .map(|i| format!("00000000-0000-0000-0000-{i:012}"))
        .collect();
    let err = sync::delete_completed(&RunContext::new(&h.engine, &h.key, "c5", "bob"), &too_many)
        .await
        .expect_err("over the limit");
    assert!(
        err.to_string().starts_with("Too many orders selected"),
        "{err}"
    );
}

pub async fn a_lost_reply_creates_exactly_one_stream_order(h: &Harness) {
    h.add_orders(vec![order(5001, NEXT_DAY)]).expect("added");
    h.fetch().await;
    h.fault(
        true,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "drop", "times": 1}),
    )
    .await;
    // The send fails (no reply) and is retried on the next cycle, which finds the order
    // Stream already has instead of creating a second one.
    h.send().await;
    h.send().await;
    h.send().await;
    assert_eq!(h.status(5001).await, OrderStatus::Completed);
    let stream = h.stream_orders().await;
    assert_eq!(stream.len(), 1, "exactly one order in Stream: {stream:?}");
    assert_eq!(
        h.queued(5001).await.consignment_no.as_deref(),
        stream[0]["consignmentNo"].as_str()
    );
}

pub async fn a_corrected_order_is_picked_up_on_the_next_fetch(h: &Harness) {
    let mut bad = order(6001, NEXT_DAY);
    bad["customer"]["postCode"] = json!("");
    let ids = h.add_orders(vec![bad]).expect("added");
    h.fetch().await;
    assert_eq!(h.status(6001).await, OrderStatus::ValidationFailed);
    assert_eq!(
        h.send().await.claimed,
        0,
        "Validation Failed orders are not retried"
    );

    // Someone fixes the address in Linnworks.
    let url = format!("{}/_sim/orders/{}", h.linnworks_url, ids[0]);
    let fixed = reqwest::Client::new()
        .patch(&url)
        .json(&json!({"customer": {"postCode": "LS6 1AA"}}))
        .send()
        .await
        .expect("sim reachable");
    assert!(
        fixed.status().is_success(),
        "edit refused: {}",
        fixed.status()
    );
    let again = h.fetch().await;
    assert_eq!(again.corrected, 1, "{again:?}");
    assert_eq!(h.send().await.completed, 1);
    assert_eq!(h.status(6001).await, OrderStatus::Completed);
}

pub async fn every_validation_error_says_what_is_wrong(h: &Harness) {
    use linnstream::domain::InstallationKey;
    // No postal service at all: only a manual send would pick it up.
    let mut unassigned = order(9001, NEXT_DAY);
    unassigned["postalServiceName"] = json!(null);
    let ids = h
        .add_orders(vec![unassigned, order(9002, NEXT_DAY)])
        .expect("added");
    let outcomes = sync::send_selected(
        &RunContext::new(&h.engine, &h.key, "v1", "carol"),
        &[ids[0].to_string()],
    )
    .await
    .expect("runs");
    assert!(
        outcomes[0]
            .message
            .starts_with("Postal service not assigned"),
        "{outcomes:?}"
    );
    // An order Linnworks does not have.
    let missing = "6a1b2c3d-0000-4000-8000-000000000000".to_string();
    let outcomes = sync::send_selected(
        &RunContext::new(&h.engine, &h.key, "v2", "carol"),
        std::slice::from_ref(&missing),
    )
    .await
    .expect("runs");
    assert!(
        outcomes[0]
            .message
            .starts_with("Order not found in Linnworks"),
        "{outcomes:?}"
    );
    // An order the queue does not have.
    let outcomes = sync::resend_failed(
        &RunContext::new(&h.engine, &h.key, "v3", "carol"),
        &[missing],
    )
    .await
    .expect("runs");
    assert!(
        outcomes[0]
            .message
            .starts_with("Order not found in database"),
        "{outcomes:?}"
    );
    // Another worker is sending it.
    h.fetch().await;
    let queued = h.queued(9002).await;
    h.engine
        .store()
        .claim_order(
            &h.key.id(),
            &queued.order_id,
            "another-worker",
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("claimed elsewhere");
    let outcomes = sync::send_selected(
        &RunContext::new(&h.engine, &h.key, "v4", "carol"),
        std::slice::from_ref(&queued.order_id),
    )
    .await
    .expect("runs");
    assert!(
        outcomes[0].message.starts_with("Order already in progress"),
        "{outcomes:?}"
    );
    // An installation that is not configured.
    let unknown = InstallationKey::new("default", "nobody");
    let err = sync::fetch(&RunContext::new(&h.engine, &unknown, "v5", "test"))
        .await
        .expect_err("unknown installation");
    assert!(
        err.to_string()
            .starts_with("Installation not found or inactive"),
        "{err}"
    );
    // Order sync switched off: the scheduled send refuses, a manual send still works.
    let mut snapshot = (**h.config.borrow()).clone();
    if let Some(inst) = snapshot.installations.get_mut(&h.key) {
        inst.spec.sync.order_sync_enabled = false;
    }
    h.config.send_replace(std::sync::Arc::new(snapshot.clone()));
    let err = sync::send_cycle(&RunContext::new(&h.engine, &h.key, "v6", "test"))
        .await
        .expect_err("sync disabled");
    assert!(err.to_string().starts_with("Order sync disabled"), "{err}");
    // A revoked Linnworks token.
    if let Some(inst) = snapshot.installations.get_mut(&h.key) {
        inst.spec.sync.order_sync_enabled = true;
        inst.credentials.linnworks_application_secret =
            "00000000-0000-0000-0000-000000000000".into();
    }
    h.config.send_replace(std::sync::Arc::new(snapshot));
    let err = sync::fetch(&RunContext::new(&h.engine, &h.key, "v7", "test"))
        .await
        .expect_err("bad token");
    assert!(
        err.to_string()
            .starts_with("Linnworks token missing or expired"),
        "{err}"
    );
}

//! The store's behaviour, written once and run on both backends (see `on_both_backends!`).

use std::time::Duration;

use chrono::Utc;
use linnstream::domain::*;
use linnstream::store::*;
use serde_json::json;

use crate::on_both_backends;
use crate::seed::{LEASE, fetched, seed_orders};
use crate::support::db::TestDb;

on_both_backends!(
    with TestDb::new;
    fetched_orders_are_stored_pending_and_refreshed,
    an_order_goes_pending_in_progress_completed_deleted,
    illegal_transitions_are_refused_and_write_nothing,
    failed_orders_are_retried_up_to_the_limit,
    lapsed_claims_return_to_the_queue,
    claims_are_per_installation_and_oldest_first,
    webhook_events_are_stored_once,
    webhook_events_are_handed_out_in_order_per_order,
    webhook_failures_are_retried_until_the_limit,
    the_audit_log_is_queryable_and_pruned,
    master_data_is_replaced_whole,
    queue_views_count_list_and_search,
    job_runs_and_next_runs_are_kept,
    heartbeats_tell_live_workers_from_dead_ones,
    migrating_again_changes_nothing,
    bad_arguments_are_refused_with_a_reason,
    orders_are_found_by_number_and_reference,
    manifests_are_stored_per_installation,
    write_backs_stay_pending_until_marked,
    installation_leases_have_one_holder_until_they_expire,
    batch_permits_never_exceed_the_limit,
);

const INST: &str = "default/acme";

fn illegal(err: StoreError) -> (OrderStatus, OrderStatus) {
    match err {
        StoreError::IllegalTransition { from, to, .. } => (from, to),
        other => panic!("expected an illegal transition, got {other:?}"),
    }
}

/// Claims the named order by `worker`, or panics.
async fn claim_one(store: &Store, order_id: &str, worker: &str) -> OrderClaim {
    store
        .claim_order(INST, order_id, worker, LEASE)
        .await
        .expect("claim order")
        .claim()
        .expect("claimed order carries its claim")
}

async fn status_of(store: &Store, order_id: &str) -> OrderStatus {
    store
        .order(INST, order_id)
        .await
        .unwrap()
        .expect("order exists")
        .status
}

pub async fn fetched_orders_are_stored_pending_and_refreshed(store: &Store) {
    let (outcome, order) = store.upsert_fetched(&fetched(INST, "A", 1)).await.unwrap();
    assert_eq!(outcome, Upserted::Inserted);
    assert_eq!(order.status, OrderStatus::Pending);
    assert_eq!(order.attempts, 0);
    assert_eq!(order.num_order_id, Some(1));
    assert_eq!(order.reference.as_deref(), Some("REF-1"));
    assert_eq!(order.order_type, OrderType::Delivery);
    assert_eq!(order.snapshot.as_ref().unwrap()["Items"][0]["SKU"], "A1");
    assert!(order.claim_owner.is_none() && order.claim().is_none());

    // The same order again: nothing changes, not even the version.
    let (outcome, again) = store.upsert_fetched(&fetched(INST, "A", 1)).await.unwrap();
    assert_eq!(outcome, Upserted::Unchanged);
    assert_eq!(again.version, order.version);
    assert_eq!(again.id, order.id);

    // Corrected in Linnworks: the details are refreshed, the status is not.
    let mut corrected = fetched(INST, "A", 1);
    corrected.order_type = OrderType::Collection;
    corrected.snapshot = Some(json!({"OrderId": "A", "Town": "Leeds"}));
    let (outcome, refreshed) = store.upsert_fetched(&corrected).await.unwrap();
    assert_eq!(outcome, Upserted::Unchanged);
    assert_eq!(refreshed.status, OrderStatus::Pending);
    assert_eq!(refreshed.order_type, OrderType::Collection);
    assert_eq!(
        refreshed.snapshot,
        Some(json!({"OrderId": "A", "Town": "Leeds"}))
    );
    assert!(refreshed.version > order.version);

    // Validation at fetch time, then re-fetched while still invalid, then corrected.
    let invalid = store
        .mark_validation_failed(INST, "A", "Postal service not assigned")
        .await
        .unwrap();
    assert_eq!(invalid.status, OrderStatus::ValidationFailed);
    assert_eq!(
        invalid.last_error.as_deref(),
        Some("Postal service not assigned")
    );
    assert!(invalid.validation_failed_at.is_some());
    let (outcome, _) = store.upsert_fetched(&corrected).await.unwrap();
    assert_eq!(outcome, Upserted::ValidationFailed);
    let still = store
        .mark_validation_failed(INST, "A", "Missing delivery address fields")
        .await
        .unwrap();
    assert_eq!(still.status, OrderStatus::ValidationFailed);
    assert_eq!(
        still.last_error.as_deref(),
        Some("Missing delivery address fields")
    );
    let valid = store.mark_revalidated(INST, "A").await.unwrap();
    assert_eq!(valid.status, OrderStatus::Pending);
    assert_eq!(valid.last_error, None);

    // A sent order is not touched by a re-fetch.
    let claim = claim_one(store, "A", "w1").await;
    store
        .complete_claim(&claim, &SendSuccess::default())
        .await
        .unwrap();
    let mut changed = corrected.clone();
    changed.reference = Some("CHANGED".into());
    let (outcome, done) = store.upsert_fetched(&changed).await.unwrap();
    assert_eq!(outcome, Upserted::Unchanged);
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(done.reference.as_deref(), Some("REF-1"));
}

pub async fn an_order_goes_pending_in_progress_completed_deleted(store: &Store) {
    let seeded = seed_orders(store, INST, 3).await;
    let claimed = store.claim(INST, 2, "worker-1", LEASE).await.unwrap();
    let ids: Vec<&str> = claimed.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["ORD-0", "ORD-1"], "oldest first, at most n");
    for order in &claimed {
        assert_eq!(order.status, OrderStatus::InProgress);
        assert_eq!(order.claim_owner.as_deref(), Some("worker-1"));
        assert_eq!(order.attempts, 1);
        assert!(order.claimed_at.is_some());
        let lease = order.lease_expires_at.expect("lease") - order.claimed_at.unwrap();
        assert_eq!(lease.num_seconds(), 300);
        assert!(order.version > seeded[0].version);
    }
    assert_eq!(status_of(store, "ORD-2").await, OrderStatus::Pending);

    let claim = claimed[0].claim().unwrap();
    let done = store
        .complete_claim(
            &claim,
            &SendSuccess {
                http_status: Some(200),
                stream_order_id: Some("LS-1000".into()),
                consignment_no: Some("CN123".into()),
                tracking_number: Some("TRK123".into()),
                tracking_url: Some("https://track.example/TRK123".into()),
            },
        )
        .await
        .unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(done.stream_order_id.as_deref(), Some("LS-1000"));
    assert_eq!(done.consignment_no.as_deref(), Some("CN123"));
    assert_eq!(done.tracking_number.as_deref(), Some("TRK123"));
    assert_eq!(
        done.tracking_url.as_deref(),
        Some("https://track.example/TRK123")
    );
    assert_eq!(done.last_http_status, Some(200));
    assert!(done.completed_at.is_some());
    assert!(done.claim_owner.is_none() && done.lease_expires_at.is_none());

    // Webhooks find the order by its consignment.
    let found = store.order_by_consignment(INST, "CN123").await.unwrap();
    assert_eq!(found.map(|o| o.order_id), Some("ORD-0".to_string()));

    // A claim is spent once used.
    let err = store
        .complete_claim(&claim, &SendSuccess::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::OrderClaimLost {
                status: OrderStatus::Completed,
                ..
            }
        ),
        "{err:?}"
    );

    let deleted = store.mark_deleted(INST, "ORD-0").await.unwrap();
    assert_eq!(deleted.status, OrderStatus::Deleted);
    assert!(deleted.deleted_at.is_some());
    assert_eq!(deleted.tracking_number.as_deref(), Some("TRK123"));
}

pub async fn illegal_transitions_are_refused_and_write_nothing(store: &Store) {
    seed_orders(store, INST, 4).await;
    let before = store.order(INST, "ORD-0").await.unwrap().unwrap();

    // Pending: cannot be deleted, resent, revalidated.
    let err = store.mark_deleted(INST, "ORD-0").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "order ORD-0 of installation default/acme cannot move from Pending to Deleted"
    );
    assert_eq!(illegal(err), (OrderStatus::Pending, OrderStatus::Deleted));
    assert_eq!(
        illegal(store.resend(INST, "ORD-0").await.unwrap_err()),
        (OrderStatus::Pending, OrderStatus::ReadyForRetry)
    );
    assert_eq!(
        illegal(store.mark_revalidated(INST, "ORD-0").await.unwrap_err()),
        (OrderStatus::Pending, OrderStatus::Pending)
    );
    let after = store.order(INST, "ORD-0").await.unwrap().unwrap();
    assert_eq!(after, before, "a refused change writes nothing");

    // In Progress: another claim is "Order already in progress"; so is a fetch-time
    // validation failure; deleting it is illegal.
    let claim = claim_one(store, "ORD-1", "w1").await;
    let err = store
        .claim_order(INST, "ORD-1", "w2", LEASE)
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyInProgress { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().starts_with("Order already in progress"),
        "{err}"
    );
    let err = store
        .mark_validation_failed(INST, "ORD-1", "x")
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::AlreadyInProgress { .. }),
        "{err:?}"
    );
    assert_eq!(
        illegal(store.mark_deleted(INST, "ORD-1").await.unwrap_err()),
        (OrderStatus::InProgress, OrderStatus::Deleted)
    );
    // Only the claim owner can finish it.
    let mut foreign = claim.clone();
    foreign.owner = "w2".into();
    let err = store
        .fail_claim(&foreign, &SendFailure::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::OrderClaimLost {
                status: OrderStatus::InProgress,
                ..
            }
        ),
        "{err:?}"
    );

    // Completed: cannot be claimed, failed validation, resent.
    store
        .complete_claim(&claim, &SendSuccess::default())
        .await
        .unwrap();
    assert_eq!(
        illegal(
            store
                .claim_order(INST, "ORD-1", "w2", LEASE)
                .await
                .unwrap_err()
        ),
        (OrderStatus::Completed, OrderStatus::InProgress)
    );
    assert_eq!(
        illegal(
            store
                .mark_validation_failed(INST, "ORD-1", "x")
                .await
                .unwrap_err()
        ),
        (OrderStatus::Completed, OrderStatus::ValidationFailed)
    );
    assert_eq!(
        illegal(store.resend(INST, "ORD-1").await.unwrap_err()),
        (OrderStatus::Completed, OrderStatus::ReadyForRetry)
    );

    // Deleted is final.
    store.mark_deleted(INST, "ORD-1").await.unwrap();
    assert_eq!(
        illegal(store.mark_deleted(INST, "ORD-1").await.unwrap_err()),
        (OrderStatus::Deleted, OrderStatus::Deleted)
    );
    assert_eq!(
        illegal(
            store
                .claim_order(INST, "ORD-1", "w2", LEASE)
                .await
                .unwrap_err()
        ),
        (OrderStatus::Deleted, OrderStatus::InProgress)
    );

    // Validation Failed waits for a correction: not claimable, not resendable.
    store
        .mark_validation_failed(INST, "ORD-2", "bad")
        .await
        .unwrap();
    assert_eq!(
        illegal(
            store
                .claim_order(INST, "ORD-2", "w1", LEASE)
                .await
                .unwrap_err()
        ),
        (OrderStatus::ValidationFailed, OrderStatus::InProgress)
    );
    assert_eq!(
        illegal(store.resend(INST, "ORD-2").await.unwrap_err()),
        (OrderStatus::ValidationFailed, OrderStatus::ReadyForRetry)
    );
    let batch = store.claim(INST, 10, "w1", LEASE).await.unwrap();
    let ids: Vec<&str> = batch.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(
        ids,
        ["ORD-0", "ORD-3"],
        "Validation Failed orders are never claimed"
    );

    // Failed cannot be completed without a claim, nor deleted.
    let claim = batch[0].claim().unwrap();
    store
        .fail_claim(
            &claim,
            &SendFailure {
                http_status: Some(400),
                error: "bad postcode".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(
        illegal(store.mark_deleted(INST, "ORD-0").await.unwrap_err()),
        (OrderStatus::Failed, OrderStatus::Deleted)
    );

    let err = store.mark_deleted(INST, "NOPE").await.unwrap_err();
    assert!(matches!(err, StoreError::OrderNotFound { .. }), "{err:?}");
    let err = store
        .claim_order(INST, "NOPE", "w1", LEASE)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::OrderNotFound { .. }), "{err:?}");
}

pub async fn failed_orders_are_retried_up_to_the_limit(store: &Store) {
    seed_orders(store, INST, 1).await;
    let max_retries = 2;
    for attempt in 1..=3u32 {
        let batch = store.claim(INST, 5, "w1", LEASE).await.unwrap();
        assert_eq!(batch.len(), 1, "attempt {attempt} claims the order");
        assert_eq!(batch[0].attempts, attempt);
        let failed = store
            .fail_claim(
                &batch[0].claim().unwrap(),
                &SendFailure {
                    http_status: Some(503),
                    error: format!("Stream down ({attempt})"),
                },
            )
            .await
            .unwrap();
        assert_eq!(failed.status, OrderStatus::Failed);
        assert_eq!(failed.last_http_status, Some(503));
        assert_eq!(failed.last_error, Some(format!("Stream down ({attempt})")));
        assert!(failed.failed_at.is_some());
        assert!(
            store.claim(INST, 5, "w1", LEASE).await.unwrap().is_empty(),
            "Failed is not claimable"
        );

        let promoted = store.promote_failed(INST, max_retries).await.unwrap();
        if attempt <= max_retries {
            assert_eq!(promoted, 1, "retry {attempt} of {max_retries}");
            assert_eq!(status_of(store, "ORD-0").await, OrderStatus::ReadyForRetry);
        } else {
            assert_eq!(promoted, 0, "retries exhausted");
            assert_eq!(status_of(store, "ORD-0").await, OrderStatus::Failed);
        }
    }
    assert_eq!(store.promote_failed(INST, max_retries).await.unwrap(), 0);
    let order = store.order(INST, "ORD-0").await.unwrap().unwrap();
    assert_eq!((order.attempts, order.retries_made()), (3, 2));

    // A manual resend restarts the count and the order goes out again.
    let resent = store.resend(INST, "ORD-0").await.unwrap();
    assert_eq!(resent.status, OrderStatus::ReadyForRetry);
    assert_eq!(resent.attempts, 0);
    assert!(resent.retry_ready_at.is_some());
    let batch = store.claim(INST, 5, "w1", LEASE).await.unwrap();
    assert_eq!(batch[0].attempts, 1);
    let done = store
        .complete_claim(&batch[0].claim().unwrap(), &SendSuccess::default())
        .await
        .unwrap();
    assert_eq!(done.status, OrderStatus::Completed);
    assert_eq!(done.last_error, None, "success clears the last error");

    // A claimed order can also turn out invalid.
    store.upsert_fetched(&fetched(INST, "V", 7)).await.unwrap();
    let claim = claim_one(store, "V", "w1").await;
    let invalid = store
        .fail_claim_validation(&claim, "Postal service not fully configured")
        .await
        .unwrap();
    assert_eq!(invalid.status, OrderStatus::ValidationFailed);
    assert_eq!(
        invalid.last_error.as_deref(),
        Some("Postal service not fully configured")
    );
}

pub async fn lapsed_claims_return_to_the_queue(store: &Store) {
    let short = Duration::from_millis(1000);
    seed_orders(store, INST, 2).await;
    // ORD-1 was sent once and failed, so it is Ready for Retry when claimed.
    let first = claim_one(store, "ORD-1", "w0").await;
    store
        .fail_claim(&first, &SendFailure::default())
        .await
        .unwrap();
    store.promote_failed(INST, 3).await.unwrap();

    let held = store.claim(INST, 10, "dying-worker", short).await.unwrap();
    assert_eq!(held.len(), 2);
    assert!(
        store.claim(INST, 10, "w2", LEASE).await.unwrap().is_empty(),
        "leased orders are not shared"
    );
    assert_eq!(
        store.release_expired().await.unwrap(),
        0,
        "nothing has lapsed yet"
    );

    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(store.release_expired().await.unwrap(), 2);
    let a = store.order(INST, "ORD-0").await.unwrap().unwrap();
    let b = store.order(INST, "ORD-1").await.unwrap().unwrap();
    assert_eq!(
        a.status,
        OrderStatus::Pending,
        "back to where it was claimed from"
    );
    assert_eq!(
        b.status,
        OrderStatus::ReadyForRetry,
        "back to where it was claimed from"
    );
    assert!(a.released_at.is_some() && a.claim_owner.is_none() && a.lease_expires_at.is_none());

    // The dead worker's late result is refused, not written twice.
    let err = store
        .complete_claim(&held[0].claim().unwrap(), &SendSuccess::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::OrderClaimLost {
                status: OrderStatus::Pending,
                ..
            }
        ),
        "{err:?}"
    );

    // Claimed again by another worker: the stale claim stays refused.
    let again = store.claim(INST, 10, "w2", LEASE).await.unwrap();
    assert_eq!(again.len(), 2);
    assert_eq!(again[0].attempts, 2, "the lost attempt counts");
    let err = store
        .fail_claim(&held[1].claim().unwrap(), &SendFailure::default())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::OrderClaimLost {
                status: OrderStatus::InProgress,
                ..
            }
        ),
        "{err:?}"
    );
    for order in &again {
        store
            .complete_claim(&order.claim().unwrap(), &SendSuccess::default())
            .await
            .unwrap();
    }

    // A claim lapses for the next claim too, without an explicit release.
    store.upsert_fetched(&fetched(INST, "L", 9)).await.unwrap();
    let lapsing = store.claim(INST, 1, "dying-worker", short).await.unwrap();
    assert_eq!(lapsing.len(), 1);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let taken = store.claim(INST, 1, "w3", LEASE).await.unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].order_id, "L");
    assert_eq!(taken[0].claim_owner.as_deref(), Some("w3"));

    // ...and for a claim of that one order.
    store.upsert_fetched(&fetched(INST, "M", 10)).await.unwrap();
    store
        .claim_order(INST, "M", "dying-worker", short)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let m = store.claim_order(INST, "M", "w4", LEASE).await.unwrap();
    assert_eq!((m.claim_owner.as_deref(), m.attempts), (Some("w4"), 2));

    // A renewed lease keeps the order with its worker.
    store.upsert_fetched(&fetched(INST, "R", 11)).await.unwrap();
    let r = store
        .claim_order(INST, "R", "slow-worker", short)
        .await
        .unwrap();
    let expires = store
        .renew_claim(&r.claim().unwrap(), Duration::from_secs(60))
        .await
        .unwrap();
    assert!(expires > Utc::now() + chrono::Duration::seconds(50));
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert!(store.claim(INST, 10, "w5", LEASE).await.unwrap().is_empty());
    store
        .complete_claim(&r.claim().unwrap(), &SendSuccess::default())
        .await
        .expect("renewing does not change the claim");
}

pub async fn claims_are_per_installation_and_oldest_first(store: &Store) {
    seed_orders(store, "ns/other", 3).await;
    seed_orders(store, INST, 5).await;
    let mine = store.claim(INST, 3, "w1", LEASE).await.unwrap();
    let ids: Vec<&str> = mine.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["ORD-0", "ORD-1", "ORD-2"]);
    assert!(mine.iter().all(|o| o.installation == INST));
    let rest = store.claim(INST, 50, "w2", LEASE).await.unwrap();
    let ids: Vec<&str> = rest.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["ORD-3", "ORD-4"]);
    assert!(store.claim(INST, 50, "w2", LEASE).await.unwrap().is_empty());
    assert_eq!(
        store
            .claim("ns/other", 50, "w3", LEASE)
            .await
            .unwrap()
            .len(),
        3
    );
}

fn event(key: &str, code: &str, refs: &[&str]) -> NewWebhookEvent {
    NewWebhookEvent {
        installation: INST.to_string(),
        dedup_key: key.to_string(),
        received_at: now(),
        body: format!(r#"{{"webhook":{{"event":{{"event_code":"{code}"}},"key":"{key}"}}}}"#),
        event_code: code.to_string(),
        consignment_no: refs.first().map(|r| r.to_string()),
        order_no: None,
        order_refs: refs.iter().map(|r| r.to_string()).collect(),
        run: None,
        group: None,
    }
}

pub async fn webhook_events_are_stored_once(store: &Store) {
    let mut delivered = event("k1", "DELIVERED", &["CN1"]);
    delivered.order_no = Some("LS-1".into());
    delivered.run = Some(json!({"loadId": "RUN-7", "status": "PLANNED"}));
    delivered.group = Some(json!({"int_seq": 3, "loadId": "RUN-7"}));
    let first = store.insert_webhook_event(&delivered).await.unwrap();
    assert!(!first.duplicate);
    let again = store.insert_webhook_event(&delivered).await.unwrap();
    assert_eq!(
        again,
        WebhookInsert {
            id: first.id,
            duplicate: true
        }
    );

    let mut elsewhere = delivered.clone();
    elsewhere.installation = "ns/other".into();
    assert!(
        !store
            .insert_webhook_event(&elsewhere)
            .await
            .unwrap()
            .duplicate,
        "keys are per installation"
    );

    let stored = store.webhook_event(first.id).await.unwrap().unwrap();
    assert_eq!(stored.body, delivered.body);
    assert_eq!(stored.event_code, "DELIVERED");
    assert_eq!(stored.consignment_no.as_deref(), Some("CN1"));
    assert_eq!(stored.order_no.as_deref(), Some("LS-1"));
    assert_eq!(
        stored.run,
        Some(json!({"loadId": "RUN-7", "status": "PLANNED"}))
    );
    assert_eq!(stored.group, Some(json!({"int_seq": 3, "loadId": "RUN-7"})));
    assert_eq!(stored.status, WebhookStatus::Pending);
    assert_eq!(stored.retry_count, 0);
    assert_eq!(stored.received_at, delivered.received_at);

    let counts = store.webhook_counts(INST).await.unwrap();
    assert_eq!(
        counts,
        WebhookCounts {
            pending: 1,
            ..Default::default()
        }
    );
    let listed = store
        .list_webhook_events(INST, Some(WebhookStatus::Pending), 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(
        store
            .list_webhook_events(INST, Some(WebhookStatus::Failed), 10)
            .await
            .unwrap()
            .is_empty()
    );
}

pub async fn webhook_events_are_handed_out_in_order_per_order(store: &Store) {
    let e1 = store
        .insert_webhook_event(&event("e1", "OPENPLANNING", &["X"]))
        .await
        .unwrap()
        .id;
    let e2 = store
        .insert_webhook_event(&event("e2", "OPENPLANNING", &["Y"]))
        .await
        .unwrap()
        .id;
    let e3 = store
        .insert_webhook_event(&event("e3", "DELIVERED", &["X"]))
        .await
        .unwrap()
        .id;
    let e4 = store
        .insert_webhook_event(&event("e4", "LOCKPLANNING", &["X", "Y"]))
        .await
        .unwrap()
        .id;
    let e5 = store
        .insert_webhook_event(&event("e5", "CLOSEPLANNING", &[]))
        .await
        .unwrap()
        .id;
    let e6 = store
        .insert_webhook_event(&event("e6", "DELIVERED", &["Z"]))
        .await
        .unwrap()
        .id;

    let ids = |events: &[WebhookEvent]| events.iter().map(|e| e.id).collect::<Vec<_>>();
    let batch = store
        .claim_webhook_events(INST, 2, "p1", LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&batch), [e1, e2], "batch size, arrival order");
    let batch2 = store
        .claim_webhook_events(INST, 10, "p2", LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&batch2), [e5, e6], "e3 and e4 wait for e1 and e2");

    store
        .mark_webhook_processed(&batch[0].claim().unwrap())
        .await
        .unwrap();
    let batch3 = store
        .claim_webhook_events(INST, 10, "p2", LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&batch3), [e3], "e4 still waits for e2 (Y) and e3 (X)");

    // A failed event that will be retried keeps holding back later ones for its order.
    let retrying = store
        .mark_webhook_failed(&batch3[0].claim().unwrap(), "Linnworks 500", 3)
        .await
        .unwrap();
    assert_eq!(retrying.status, WebhookStatus::ReadyForRetry);
    store
        .mark_webhook_processed(&batch[1].claim().unwrap())
        .await
        .unwrap();
    let batch4 = store
        .claim_webhook_events(INST, 10, "p3", LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&batch4), [e3], "the retry comes first; e4 waits");
    store
        .mark_webhook_processed(&batch4[0].claim().unwrap())
        .await
        .unwrap();
    let batch5 = store
        .claim_webhook_events(INST, 10, "p3", LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&batch5), [e4]);

    // An event that finally failed no longer holds its order back.
    let e7 = store
        .insert_webhook_event(&event("e7", "DELIVERED", &["W"]))
        .await
        .unwrap()
        .id;
    let e8 = store
        .insert_webhook_event(&event("e8", "DELIVERED", &["W"]))
        .await
        .unwrap()
        .id;
    let got = store
        .claim_webhook_events(INST, 10, "p4", LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&got), [e7]);
    let failed = store
        .mark_webhook_failed(&got[0].claim().unwrap(), "bad", 0)
        .await
        .unwrap();
    assert_eq!(failed.status, WebhookStatus::Failed);
    let got = store
        .claim_webhook_events(INST, 10, "p4", LEASE)
        .await
        .unwrap();
    assert_eq!(ids(&got), [e8]);
}

pub async fn webhook_failures_are_retried_until_the_limit(store: &Store) {
    let id = store
        .insert_webhook_event(&event("r1", "DELIVERED", &["CN9"]))
        .await
        .unwrap()
        .id;
    let max = 2;
    for failure in 1..=3u32 {
        let batch = store
            .claim_webhook_events(INST, 5, "p1", LEASE)
            .await
            .unwrap();
        assert_eq!(batch.len(), 1, "failure {failure}: claimable");
        let after = store
            .mark_webhook_failed(&batch[0].claim().unwrap(), &format!("error {failure}"), max)
            .await
            .unwrap();
        assert_eq!(after.retry_count, failure);
        assert_eq!(after.last_error, Some(format!("error {failure}")));
        let expected = if failure <= max {
            WebhookStatus::ReadyForRetry
        } else {
            WebhookStatus::Failed
        };
        assert_eq!(after.status, expected, "failure {failure}");
    }
    assert!(
        store
            .claim_webhook_events(INST, 5, "p1", LEASE)
            .await
            .unwrap()
            .is_empty(),
        "Failed is final"
    );
    assert_eq!(store.webhook_counts(INST).await.unwrap().failed, 1);

    let err = store.retry_webhook_event(id + 1000).await.unwrap_err();
    assert!(
        matches!(err, StoreError::WebhookEventNotFound { .. }),
        "{err:?}"
    );
    let requeued = store.retry_webhook_event(id).await.unwrap();
    assert_eq!(
        (requeued.status, requeued.retry_count),
        (WebhookStatus::ReadyForRetry, 0)
    );
    let err = store.retry_webhook_event(id).await.unwrap_err();
    assert!(matches!(err, StoreError::WebhookIllegal { .. }), "{err:?}");

    // A processor whose lease lapsed loses the event to another, and cannot record a result.
    let stale = store
        .claim_webhook_events(INST, 5, "dying", Duration::from_millis(1000))
        .await
        .unwrap();
    assert_eq!(stale.len(), 1);
    assert!(
        store
            .claim_webhook_events(INST, 5, "p2", LEASE)
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let taken = store
        .claim_webhook_events(INST, 5, "p2", LEASE)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    let err = store
        .mark_webhook_processed(&stale[0].claim().unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::WebhookClaimLost { .. }),
        "{err:?}"
    );
    let done = store
        .mark_webhook_processed(&taken[0].claim().unwrap())
        .await
        .unwrap();
    assert_eq!(done.status, WebhookStatus::Processed);
    assert!(done.processed_at.is_some());

    // Retention removes finished events only.
    store
        .insert_webhook_event(&event("r2", "DELIVERED", &["CN10"]))
        .await
        .unwrap();
    let removed = store
        .prune_webhook_events(Utc::now() + chrono::Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(removed, 1);
    assert_eq!(
        store.webhook_counts(INST).await.unwrap(),
        WebhookCounts {
            pending: 1,
            ..Default::default()
        }
    );
    // ... and their order references with them, not the references of the others.
    let gone = store
        .webhook_event_refs(INST, std::slice::from_ref(&done))
        .await
        .unwrap();
    assert!(!gone.contains_key(&done.id), "{gone:?}");
    let kept = store
        .claim_webhook_events(INST, 5, "p3", LEASE)
        .await
        .unwrap();
    let refs = store.webhook_event_refs(INST, &kept).await.unwrap();
    assert_eq!(refs.get(&kept[0].id), Some(&vec!["CN10".to_string()]));
}

pub async fn the_audit_log_is_queryable_and_pruned(store: &Store) {
    let base = now() - chrono::Duration::days(40);
    let entry = |minutes: i64, inst: &str, order: Option<&str>, corr: &str, action: AuditAction| {
        NewAuditEntry {
            at: base + chrono::Duration::minutes(minutes),
            installation: inst.to_string(),
            order_id: order.map(str::to_string),
            correlation_id: corr.to_string(),
            action,
            outcome: AuditOutcome::Success,
            message: format!("{action} at {minutes}"),
            duration_ms: 120,
            actor: "scheduler".to_string(),
        }
    };
    let rows = [
        entry(0, INST, None, "c1", AuditAction::Fetch),
        entry(1, INST, Some("A"), "c1", AuditAction::Send),
        entry(2, INST, Some("B"), "c2", AuditAction::Send),
        entry(3, "ns/other", Some("A"), "c3", AuditAction::Send),
        entry(60 * 24 * 30, INST, Some("A"), "c4", AuditAction::Label),
        entry(60 * 24 * 35, INST, None, "c5", AuditAction::MasterData),
    ];
    for row in &rows {
        store.audit(row).await.unwrap();
    }
    let mut failure = entry(60 * 24 * 36, INST, Some("A"), "c6", AuditAction::Webhook);
    failure.outcome = AuditOutcome::Failure;
    failure.actor = "alice".into();
    failure.duration_ms = 4500;
    store.audit(&failure).await.unwrap();

    let q = |f: fn(&mut AuditQuery)| {
        let mut q = AuditQuery {
            limit: 100,
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let all = store.audit_entries(&q(|_| {})).await.unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    assert_eq!(all[0].actor, "alice");
    assert_eq!(all[0].outcome, AuditOutcome::Failure);
    assert_eq!(all[0].duration_ms, 4500);
    assert_eq!(all[0].message, "Webhook at 51840");

    let by_inst = store
        .audit_entries(&q(|q| q.installation = Some(INST.into())))
        .await
        .unwrap();
    assert_eq!(by_inst.len(), 6);
    let by_order = store
        .audit_entries(&q(|q| {
            q.installation = Some(INST.into());
            q.order_id = Some("A".into());
        }))
        .await
        .unwrap();
    assert_eq!(by_order.len(), 3);
    let by_corr = store
        .audit_entries(&q(|q| q.correlation_id = Some("c1".into())))
        .await
        .unwrap();
    assert_eq!(by_corr.len(), 2);
    let sends = store
        .audit_entries(&q(|q| q.action = Some(AuditAction::Send)))
        .await
        .unwrap();
    assert_eq!(sends.len(), 3);
    assert!(sends.iter().all(|e| e.action == AuditAction::Send));
    let mut ranged = q(|q| q.installation = Some(INST.into()));
    ranged.from = Some(base + chrono::Duration::minutes(1));
    ranged.to = Some(base + chrono::Duration::minutes(3));
    let in_range = store.audit_entries(&ranged).await.unwrap();
    let messages: Vec<&str> = in_range.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(
        messages,
        ["Send at 2", "Send at 1"],
        "from inclusive, to exclusive"
    );
    let limited = store
        .audit_entries(&AuditQuery {
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(limited.len(), 2);
    assert_eq!(limited[0].id, all[0].id);

    // Retention of 30 days from "now" = base + 40 days keeps the last three.
    let removed = store
        .prune_audit(base + chrono::Duration::days(10))
        .await
        .unwrap();
    assert_eq!(removed, 4);
    let left = store.audit_entries(&q(|_| {})).await.unwrap();
    assert_eq!(left.len(), 3);
    assert!(
        left.iter()
            .all(|e| e.at >= base + chrono::Duration::days(10))
    );
}

pub async fn master_data_is_replaced_whole(store: &Store) {
    assert_eq!(
        store.depots(INST).await.unwrap(),
        MasterData {
            items: vec![],
            synced_at: None
        }
    );
    let method = |id: &str, name: &str, t: &str| DeliveryMethod {
        id: id.into(),
        name: name.into(),
        method_type: t.into(),
    };
    let depots = vec![
        Depot {
            id: "D2".into(),
            name: "Leeds".into(),
            delivery_methods: vec![
                method("M2", "Two-man", "Delivery"),
                method("M1", "Collect", "Collection"),
            ],
        },
        Depot {
            id: "D1".into(),
            name: "Bristol".into(),
            delivery_methods: vec![method("M1", "Courier", "Courier")],
        },
    ];
    let t1 = now();
    store.replace_depots(INST, &depots, t1).await.unwrap();
    store
        .replace_depots("ns/other", &depots[..1], t1)
        .await
        .unwrap();
    let got = store.depots(INST).await.unwrap();
    assert_eq!(got.synced_at, Some(t1));
    let names: Vec<&str> = got.items.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["Bristol", "Leeds"]);
    let leeds = &got.items[1];
    assert_eq!(
        leeds.delivery_methods,
        vec![
            method("M1", "Collect", "Collection"),
            method("M2", "Two-man", "Delivery")
        ]
    );

    let t2 = t1 + chrono::Duration::days(1);
    store.replace_depots(INST, &depots[1..], t2).await.unwrap();
    let got = store.depots(INST).await.unwrap();
    assert_eq!(got.items, depots[1..].to_vec());
    assert_eq!(got.synced_at, Some(t2));
    let other = store.depots("ns/other").await.unwrap().items;
    assert_eq!(other.len(), 1, "other installations untouched");
    assert_eq!(other[0].name, "Leeds");
    assert_eq!(other[0].delivery_methods.len(), 2);

    let dup = vec![depots[1].clone(), depots[1].clone()];
    let err = store.replace_depots(INST, &dup, t2).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "master data lists depot id `D1` more than once"
    );
    assert_eq!(
        store.depots(INST).await.unwrap().items.len(),
        1,
        "a refused replace keeps the old set"
    );

    let identifiers = vec![
        Identifier {
            tag: "SENT_TO_STREAM".into(),
            name: "Sent to Stream".into(),
            identifier_id: Some(11),
        },
        Identifier {
            tag: "RUN_01".into(),
            name: "RUN 01".into(),
            identifier_id: None,
        },
    ];
    store
        .replace_identifiers(INST, &identifiers, t1)
        .await
        .unwrap();
    let got = store.identifiers(INST).await.unwrap();
    assert_eq!(
        got.items,
        vec![identifiers[1].clone(), identifiers[0].clone()]
    );
    assert_eq!(got.synced_at, Some(t1));
    store.replace_identifiers(INST, &[], t2).await.unwrap();
    assert_eq!(
        store.identifiers(INST).await.unwrap(),
        MasterData {
            items: vec![],
            synced_at: Some(t2)
        }
    );

    let services = vec![PostalService {
        id: "6b4c1a6e-1111-4c1b-9a6e-000000000001".into(),
        name: "Stream Leeds Two-man".into(),
        vendor: "STREAM TECH".into(),
        depot_id: Some("D2".into()),
        delivery_method_id: Some("M2".into()),
    }];
    store
        .replace_postal_services(INST, &services, t1)
        .await
        .unwrap();
    assert_eq!(
        store.postal_services(INST).await.unwrap(),
        MasterData {
            items: services.clone(),
            synced_at: Some(t1)
        }
    );
    assert_eq!(
        store
            .master_data_synced_at(INST, MasterDataKind::PostalServices)
            .await
            .unwrap(),
        Some(t1)
    );
    assert_eq!(
        store.postal_services("ns/none").await.unwrap().synced_at,
        None
    );
}

pub async fn queue_views_count_list_and_search(store: &Store) {
    seed_orders(store, INST, 12).await;
    seed_orders(store, "ns/other", 2).await;
    let batch = store.claim(INST, 4, "w1", LEASE).await.unwrap();
    store
        .complete_claim(
            &batch[0].claim().unwrap(),
            &SendSuccess {
                consignment_no: Some("CONS-77".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    store
        .fail_claim(&batch[1].claim().unwrap(), &SendFailure::default())
        .await
        .unwrap();
    store
        .mark_validation_failed(INST, "ORD-11", "no address")
        .await
        .unwrap();

    let counts = store.queue_counts(INST).await.unwrap();
    assert_eq!(
        counts,
        QueueCounts {
            pending: 7,
            in_progress: 2,
            completed: 1,
            failed: 1,
            validation_failed: 1,
            ..Default::default()
        }
    );
    assert_eq!(counts.total(), 12);
    let all = store.queue_counts_all().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all["ns/other"].pending, 2);
    assert_eq!(all[INST], counts);
    assert_eq!(
        store.queue_counts("ns/none").await.unwrap(),
        QueueCounts::default()
    );

    let page =
        |status: Option<OrderStatus>, search: Option<&str>, offset: u64, limit: u32| OrderQuery {
            installation: INST.to_string(),
            status,
            search: search.map(str::to_string),
            offset,
            limit,
        };
    let first = store
        .list_orders(&page(Some(OrderStatus::Pending), None, 0, 5))
        .await
        .unwrap();
    assert_eq!(first.total, 7);
    let ids: Vec<&str> = first.orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(
        ids,
        ["ORD-10", "ORD-9", "ORD-8", "ORD-7", "ORD-6"],
        "newest first"
    );
    let second = store
        .list_orders(&page(Some(OrderStatus::Pending), None, 5, 5))
        .await
        .unwrap();
    let ids: Vec<&str> = second.orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(ids, ["ORD-5", "ORD-4"]);
    let everything = store.list_orders(&page(None, None, 0, 100)).await.unwrap();
    assert_eq!((everything.total, everything.orders.len()), (12, 12));

    let by_num = store
        .list_orders(&page(None, Some("1003"), 0, 10))
        .await
        .unwrap();
    assert_eq!(
        by_num
            .orders
            .iter()
            .map(|o| o.order_id.as_str())
            .collect::<Vec<_>>(),
        ["ORD-3"]
    );
    let by_ref = store
        .list_orders(&page(None, Some(" ref-101 "), 0, 20))
        .await
        .unwrap();
    let ids: Vec<&str> = by_ref.orders.iter().map(|o| o.order_id.as_str()).collect();
    assert_eq!(
        ids,
        ["ORD-11", "ORD-10"],
        "REF-1010 and REF-1011, case-insensitively"
    );
    let by_cons = store
        .list_orders(&page(None, Some("CONS-77"), 0, 10))
        .await
        .unwrap();
    assert_eq!(by_cons.orders[0].order_id, batch[0].order_id);
    let by_id = store
        .list_orders(&page(None, Some("ORD-2"), 0, 10))
        .await
        .unwrap();
    assert_eq!(by_id.total, 1);
    let wildcard = store
        .list_orders(&page(None, Some("%"), 0, 10))
        .await
        .unwrap();
    assert_eq!(wildcard.total, 0, "search text is literal");
    let none = store
        .list_orders(&page(Some(OrderStatus::Completed), Some("1005"), 0, 10))
        .await
        .unwrap();
    assert_eq!(none.total, 0);
}

pub async fn job_runs_and_next_runs_are_kept(store: &Store) {
    assert!(store.job_overview(INST).await.unwrap().is_empty());
    let run = store.start_job_run(INST, "fetch-orders").await.unwrap();
    assert_eq!(run.outcome, JobOutcome::Running);
    assert!(run.finished_at.is_none());
    let finished = store
        .finish_job_run(run.id, JobOutcome::Succeeded, "fetched 12 orders")
        .await
        .unwrap();
    assert_eq!(finished.outcome, JobOutcome::Succeeded);
    assert_eq!(finished.message, "fetched 12 orders");
    assert!(finished.finished_at.unwrap() >= finished.started_at);
    let err = store
        .finish_job_run(run.id + 100, JobOutcome::Failed, "")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::JobRunNotFound { .. }), "{err:?}");

    let t = now();
    let later = store
        .record_job_run(
            INST,
            "fetch-orders",
            t + chrono::Duration::minutes(5),
            t + chrono::Duration::minutes(6),
            JobOutcome::Failed,
            "Linnworks 503",
        )
        .await
        .unwrap();
    store
        .record_job_run(
            "ns/other",
            "fetch-orders",
            t,
            t,
            JobOutcome::Skipped,
            "suspended",
        )
        .await
        .unwrap();
    assert_eq!(
        store.last_job_run(INST, "fetch-orders").await.unwrap(),
        Some(later.clone())
    );
    assert_eq!(
        store
            .job_runs(INST, "fetch-orders", 10)
            .await
            .unwrap()
            .len(),
        2
    );

    store
        .set_next_run(INST, "send-orders", t + chrono::Duration::minutes(7))
        .await
        .unwrap();
    store
        .set_next_run(INST, "send-orders", t + chrono::Duration::minutes(12))
        .await
        .unwrap();
    store
        .set_next_run(INST, "fetch-orders", t + chrono::Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(
        store.next_run(INST, "send-orders").await.unwrap(),
        Some(t + chrono::Duration::minutes(12))
    );
    assert_eq!(store.next_run(INST, "nope").await.unwrap(), None);

    let overview = store.job_overview(INST).await.unwrap();
    let jobs: Vec<&str> = overview.iter().map(|j| j.job.as_str()).collect();
    assert_eq!(jobs, ["fetch-orders", "send-orders"]);
    assert_eq!(
        overview[0].last_run.as_ref().map(|r| r.outcome),
        Some(JobOutcome::Failed)
    );
    assert_eq!(
        overview[0].next_run_at,
        Some(t + chrono::Duration::minutes(10))
    );
    assert_eq!(overview[1].last_run, None);

    let removed = store
        .prune_job_runs(t + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(
        removed, 2,
        "the first fetch run here and the other installation's"
    );
    assert_eq!(
        store.job_runs(INST, "fetch-orders", 10).await.unwrap(),
        vec![later]
    );
}

pub async fn heartbeats_tell_live_workers_from_dead_ones(store: &Store) {
    let first = store
        .heartbeat("worker-a", "sync-worker", Some(INST))
        .await
        .unwrap();
    store
        .heartbeat("worker-b", "webhook-receiver", None)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let cutoff = now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let again = store
        .heartbeat("worker-a", "sync-worker", Some(INST))
        .await
        .unwrap();
    assert_eq!(again.started_at, first.started_at);
    assert!(again.last_beat_at > first.last_beat_at);

    let live = store.live_workers(cutoff).await.unwrap();
    assert_eq!(
        live.iter()
            .map(|w| w.worker_id.as_str())
            .collect::<Vec<_>>(),
        ["worker-a"]
    );
    assert_eq!(live[0].installation.as_deref(), Some(INST));
    assert_eq!(store.workers().await.unwrap().len(), 2);

    assert_eq!(store.prune_workers(cutoff).await.unwrap(), 1);
    assert!(store.remove_worker("worker-a").await.unwrap());
    assert!(!store.remove_worker("worker-a").await.unwrap());
    assert!(store.workers().await.unwrap().is_empty());
}

pub async fn migrating_again_changes_nothing(store: &Store) {
    let report = store.migrate().await.unwrap();
    assert!(report.applied.is_empty(), "{report:?}");
    assert_eq!(report.latest_version, Some(6));
    store.ping().await.unwrap();
}

pub async fn bad_arguments_are_refused_with_a_reason(store: &Store) {
    seed_orders(store, INST, 3).await;
    assert!(
        store.claim(INST, 0, "w1", LEASE).await.unwrap().is_empty(),
        "n = 0 claims nothing"
    );
    assert_eq!(store.queue_counts(INST).await.unwrap().pending, 3);

    let err = store.claim(INST, 5, " ", LEASE).await.unwrap_err();
    assert_eq!(err.to_string(), "worker id must not be empty");
    let err = store
        .upsert_fetched(&fetched(INST, "", 1))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "Linnworks order id must not be empty");
    let mut blank = event("x", "DELIVERED", &[]);
    blank.dedup_key = String::new();
    let err = store.insert_webhook_event(&blank).await.unwrap_err();
    assert_eq!(err.to_string(), "webhook dedup key must not be empty");
    store
        .insert_webhook_event(&event("y", "DELIVERED", &[]))
        .await
        .unwrap();
    let none = store
        .claim_webhook_events(INST, 0, "p1", LEASE)
        .await
        .unwrap();
    assert!(none.is_empty(), "batch 0 claims nothing");
    assert_eq!(store.webhook_counts(INST).await.unwrap().pending, 1);
    assert_eq!(
        store.queue_counts(INST).await.unwrap().total(),
        3,
        "nothing written"
    );

    // Limit 0 means the default, not "one" nor "all".
    let page = store
        .list_orders(&OrderQuery {
            installation: INST.into(),
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((page.orders.len(), page.total), (3, 3));
}

pub async fn orders_are_found_by_number_and_reference(store: &Store) {
    seed_orders(store, INST, 3).await;
    seed_orders(store, "ns/other", 3).await;
    let by_num = store
        .order_by_num_order_id(INST, 1001)
        .await
        .unwrap()
        .expect("order 1001 is queued");
    assert_eq!(by_num.order_id, "ORD-1");
    assert_eq!(by_num.installation, INST);
    let by_ref = store
        .order_by_reference(INST, "REF-1002")
        .await
        .unwrap()
        .expect("REF-1002 is queued");
    assert_eq!(by_ref.order_id, "ORD-2");
    assert!(
        store
            .order_by_num_order_id(INST, 999)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .order_by_reference(INST, "ref-1002")
            .await
            .unwrap()
            .is_none(),
        "references match exactly"
    );
    assert!(
        store
            .order_by_num_order_id("ns/none", 1001)
            .await
            .unwrap()
            .is_none(),
        "another installation's order is not found"
    );
}

pub async fn manifests_are_stored_per_installation(store: &Store) {
    let consignment = |n: i64| ManifestConsignment {
        order_id: format!("ORD-{n}"),
        num_order_id: Some(n),
        order_reference: format!("WEB-{n}"),
        consignment_no: format!("CN{n:07}"),
        tracking_number: format!("STR{n:07}GB"),
        postcode: "LS6 1AA".into(),
        service: "Stream Next Day".into(),
    };
    let first = store
        .create_manifest(INST, &[consignment(1), consignment(2)])
        .await
        .unwrap();
    assert!(first.reference.starts_with("MAN-"), "{}", first.reference);
    assert_eq!(first.installation, INST);
    assert_eq!(first.entries, vec![consignment(1), consignment(2)]);
    let second = store
        .create_manifest(INST, &[consignment(3)])
        .await
        .unwrap();
    assert_ne!(first.reference, second.reference);

    let read = store
        .manifest(INST, &first.reference)
        .await
        .unwrap()
        .expect("the manifest is stored");
    assert_eq!(read, first, "read back as written, timestamps included");
    assert!(
        store
            .manifest("ns/other", &first.reference)
            .await
            .unwrap()
            .is_none(),
        "another installation cannot read it"
    );
    assert!(store.manifest(INST, "MAN-NOPE").await.unwrap().is_none());

    let list = store.manifests(INST, 10).await.unwrap();
    assert_eq!(
        list.iter()
            .map(|m| m.reference.as_str())
            .collect::<Vec<_>>(),
        [second.reference.as_str(), first.reference.as_str()],
        "newest first"
    );
    assert!(store.manifests("ns/other", 10).await.unwrap().is_empty());

    let empty = store.create_manifest(INST, &[]).await.unwrap_err();
    assert!(
        empty.to_string().contains("at least one consignment"),
        "{empty}"
    );

    let later = now() + chrono::Duration::seconds(1);
    assert_eq!(store.prune_manifests(later).await.unwrap(), 2);
    assert!(store.manifests(INST, 10).await.unwrap().is_empty());
}

/// Completes `order_id` (claimed by `worker`) with tracking `TRK-<order_id>`.
async fn complete(store: &Store, installation: &str, order_id: &str) -> Order {
    let claim = store
        .claim_order(installation, order_id, "worker-1", LEASE)
        .await
        .expect("claim order")
        .claim()
        .expect("claimed order carries its claim");
    store
        .complete_claim(
            &claim,
            &SendSuccess {
                http_status: Some(200),
                stream_order_id: Some(format!("LS-{order_id}")),
                consignment_no: Some(format!("CN-{order_id}")),
                tracking_number: Some(format!("TRK-{order_id}")),
                tracking_url: Some(format!("https://track.example/TRK-{order_id}")),
            },
        )
        .await
        .expect("complete claim")
}

fn ids(orders: &[Order]) -> Vec<&str> {
    orders.iter().map(|o| o.order_id.as_str()).collect()
}

pub async fn write_backs_stay_pending_until_marked(store: &Store) {
    const OTHER: &str = "default/other";
    const GRACE: Duration = Duration::from_secs(1);
    seed_orders(store, INST, 4).await;
    seed_orders(store, OTHER, 1).await;
    for id in ["ORD-0", "ORD-1", "ORD-2"] {
        let done = complete(store, INST, id).await;
        assert!(done.written_back_at.is_none(), "{done:?}");
        assert!(done.write_back_pending());
    }
    complete(store, OTHER, "ORD-0").await;
    let pending = store.order(INST, "ORD-3").await.unwrap().unwrap();
    assert!(
        !pending.write_back_pending(),
        "a Pending order has nothing to write back"
    );

    // Within the grace period the sender may still be writing back: nothing is taken.
    let none = store
        .take_pending_write_backs(INST, GRACE, 10)
        .await
        .unwrap();
    assert!(none.is_empty(), "{:?}", ids(&none));

    tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
    let first = store
        .take_pending_write_backs(INST, GRACE, 2)
        .await
        .unwrap();
    assert_eq!(ids(&first), ["ORD-0", "ORD-1"], "oldest first, at most n");
    assert!(first.iter().all(|o| o.installation == INST));
    assert_eq!(first[0].tracking_number.as_deref(), Some("TRK-ORD-0"));
    // Taken ones are not handed out again within the grace period; the rest are.
    let second = store
        .take_pending_write_backs(INST, GRACE, 10)
        .await
        .unwrap();
    assert_eq!(ids(&second), ["ORD-2"]);
    let third = store
        .take_pending_write_backs(INST, GRACE, 10)
        .await
        .unwrap();
    assert!(third.is_empty(), "{:?}", ids(&third));

    let marked = store
        .mark_written_back(INST, "ORD-0")
        .await
        .unwrap()
        .expect("a pending write-back is marked");
    assert!(marked.written_back_at.is_some());
    assert!(!marked.write_back_pending());
    assert_eq!(marked.status, OrderStatus::Completed);
    // Marking is once only, and only for Completed orders.
    assert!(
        store
            .mark_written_back(INST, "ORD-0")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .mark_written_back(INST, "ORD-3")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .mark_written_back(INST, "NOPE")
            .await
            .unwrap()
            .is_none()
    );
    let err = store.mark_written_back(INST, " ").await.unwrap_err();
    assert!(err.to_string().contains("order id"), "{err}");

    // After another grace period, those still pending (and only those) come back.
    tokio::time::sleep(GRACE + Duration::from_millis(100)).await;
    let again = store
        .take_pending_write_backs(INST, GRACE, 0)
        .await
        .unwrap();
    assert_eq!(ids(&again), ["ORD-1", "ORD-2"]);
    let other = store
        .take_pending_write_backs(OTHER, GRACE, 0)
        .await
        .unwrap();
    assert_eq!(ids(&other), ["ORD-0"], "per installation");

    // A written-back order that is deleted stays written back; nothing is pending for it.
    let deleted = store.mark_deleted(INST, "ORD-0").await.unwrap();
    assert!(!deleted.write_back_pending() && deleted.written_back_at.is_some());
}

/// The pool's installation leases: one holder at a time, renewed by its holder, taken over
/// only once expired, given back by its holder only.
pub async fn installation_leases_have_one_holder_until_they_expire(store: &Store) {
    let long = Duration::from_secs(60);
    assert!(store.acquire_lease(INST, "pool-a", long).await.unwrap());
    // Taking it again is keeping it; someone else is refused.
    assert!(store.acquire_lease(INST, "pool-a", long).await.unwrap());
    assert!(!store.acquire_lease(INST, "pool-b", long).await.unwrap());
    let held = store.lease(INST).await.unwrap().expect("held");
    assert_eq!(held.holder, "pool-a");
    assert_eq!(
        store.renew_leases("pool-a", long).await.unwrap(),
        [INST.to_string()]
    );
    assert!(store.renew_leases("pool-b", long).await.unwrap().is_empty());
    // Only its holder gives it back.
    assert!(!store.release_lease(INST, "pool-b").await.unwrap());
    assert!(store.release_lease(INST, "pool-a").await.unwrap());
    assert!(store.lease(INST).await.unwrap().is_none());

    // A holder that stops renewing loses it once it expires: the renewal then comes back
    // without it (it must stop working on it), and another takes it.
    let short = Duration::from_millis(150);
    assert!(
        store
            .acquire_lease("default/other", "pool-a", short)
            .await
            .unwrap()
    );
    assert!(
        !store
            .acquire_lease("default/other", "pool-b", long)
            .await
            .unwrap()
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert!(store.renew_leases("pool-a", long).await.unwrap().is_empty());
    assert!(store.lease("default/other").await.unwrap().is_none());
    assert!(
        store
            .acquire_lease("default/other", "pool-b", long)
            .await
            .unwrap()
    );
    let taken = store
        .lease("default/other")
        .await
        .unwrap()
        .expect("taken over");
    assert_eq!(taken.holder, "pool-b");
    assert!(
        !store
            .acquire_lease("default/other", "pool-a", long)
            .await
            .unwrap()
    );
    let all = store.leases().await.unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].installation, "default/other");
    // Nothing without a name.
    assert!(store.acquire_lease("", "pool-a", long).await.is_err());
    assert!(store.acquire_lease(INST, " ", long).await.is_err());
}

/// MaxInstallationsPerBatch across processes: never more slots taken than the limit; a
/// slot given back or expired is free again; a renewal keeps a holder's slots.
pub async fn batch_permits_never_exceed_the_limit(store: &Store) {
    let long = Duration::from_secs(60);
    store.ensure_batch_permits(2).await.unwrap();
    // Again (another process starting): no more slots.
    store.ensure_batch_permits(2).await.unwrap();
    let a = store.take_batch_permit("pool-a", 2, long).await.unwrap();
    let b = store.take_batch_permit("pool-b", 2, long).await.unwrap();
    assert!(a.is_some() && b.is_some() && a != b);
    assert_eq!(
        store.take_batch_permit("pool-c", 2, long).await.unwrap(),
        None
    );
    assert_eq!(store.batch_permits_held().await.unwrap(), 2);
    // Given back by someone else: nothing happens.
    store
        .give_back_batch_permit(a.unwrap(), "pool-b")
        .await
        .unwrap();
    assert_eq!(
        store.take_batch_permit("pool-c", 2, long).await.unwrap(),
        None
    );
    store
        .give_back_batch_permit(a.unwrap(), "pool-a")
        .await
        .unwrap();
    assert_eq!(store.take_batch_permit("pool-c", 2, long).await.unwrap(), a);
    // A dead holder's slot expires; a renewed one does not.
    store
        .renew_batch_permits("pool-b", Duration::from_millis(150))
        .await
        .unwrap();
    assert_eq!(store.renew_batch_permits("pool-c", long).await.unwrap(), 1);
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_eq!(store.batch_permits_held().await.unwrap(), 1);
    assert_eq!(store.take_batch_permit("pool-d", 2, long).await.unwrap(), b);
    // A lower limit leaves the higher slots alone.
    store.ensure_batch_permits(3).await.unwrap();
    assert_eq!(
        store.take_batch_permit("pool-e", 2, long).await.unwrap(),
        None
    );
    assert_eq!(
        store.take_batch_permit("pool-e", 3, long).await.unwrap(),
        Some(2)
    );
}

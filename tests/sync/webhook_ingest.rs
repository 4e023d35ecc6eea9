//! The webhook receiver's group commit and the wake-ups that replace polling, end to end
//! through both simulators on PostgreSQL and SQLite.
//!
//! - Group commit: many concurrent notifications are all stored, each answered only once
//!   its event is committed (the answer names a stored id), duplicates within and across
//!   batches are reported as such, and one event the database refuses fails alone.
//! - Wake-ups: with every interval at 10 minutes, a stored event, a retried event, an order
//!   handed back to the queue (Ready for Retry) and a manual send reach the scheduler
//!   within seconds.

use linnstream::sync::RunContext;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use linnstream::store::{
    AuditQuery, NewWebhookEvent, ReceiptAudit, SendFailure, Store, WebhookReceipt,
};

use linnstream::domain::Job;
use linnstream::domain::{AuditAction, OrderStatus, WebhookStatus};
use linnstream::sync::{SchedulerOptions, run_scheduler};
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::on_both_backends;
use crate::support;
use crate::support::db::Backend;
use crate::support::sync::{Harness, PLAIN_SERVICE};

on_both_backends!(
    concurrent_notifications_are_all_stored_and_answered_after_commit,
    a_batch_with_a_refused_event_stores_the_others,
    a_large_batch_of_two_installations_is_stored_in_arrival_order,
    a_stored_event_is_applied_long_before_the_interval,
    a_retried_event_is_applied_at_once,
    an_order_back_in_the_queue_is_sent_at_once,
    a_manual_send_wakes_the_serving_process,
);

/// Every interval of the installation: long enough that only a wake-up can explain work
/// done within the test's few seconds.
const INTERVAL: &str = "10m";
/// How long a woken job may take (generous for a loaded machine, far below INTERVAL).
const PROMPTLY: Duration = Duration::from_secs(15);

fn delivered(consignment: &str, text: &str) -> Value {
    json!({"webhook": {
        "event": {"event_code": "DELIVERED", "event_code_desc": "Delivered",
                  "event_date": "2026-06-20", "event_time": "12:00:00", "event_text": text},
        "order": {"id": consignment},
    }})
}

async fn post(h: &Harness, body: &Value) -> (u16, Value) {
    h.post_webhook(
        &linnstream::domain::webhook::webhook_path(&h.key),
        body.to_string().into_bytes(),
        Some(&h.token()),
    )
    .await
}

async fn concurrent_notifications_are_all_stored_and_answered_after_commit(backend: Backend) {
    let h = Harness::start(backend).await;
    const N: usize = 200;
    // Every tenth notification is sent twice at once: one copy is stored, both answered.
    let bodies: Vec<Value> = (0..N)
        .map(|i| delivered(&format!("CN-{i}"), &format!("scan {i}")))
        .collect();
    let mut calls = Vec::new();
    for (i, body) in bodies.iter().enumerate() {
        calls.push(post(&h, body));
        if i % 10 == 0 {
            calls.push(post(&h, body));
        }
    }
    let answers = futures::future::join_all(calls).await;
    let mut stored = HashSet::new();
    let mut duplicates = 0;
    for (status, answer) in &answers {
        assert_eq!(*status, 200, "{answer}");
        let id = answer["id"].as_i64().expect("an id");
        // Answered after the commit: the event is readable by anyone the moment the
        // answer arrives.
        let event =
            h.db.store
                .webhook_event(id)
                .await
                .expect("store")
                .unwrap_or_else(|| panic!("answered with event {id}, which is not stored"));
        assert_eq!(event.status, WebhookStatus::Pending);
        if answer["duplicate"] == json!(true) {
            duplicates += 1;
        } else {
            assert!(stored.insert(id), "two answers claim to have stored {id}");
        }
    }
    assert_eq!(stored.len(), N, "each distinct notification stored once");
    assert_eq!(duplicates, N / 10, "each repeat reported as a duplicate");
    assert_eq!(h.events().await.len(), N);
    // One audit entry per notification, in the same words as before group commit.
    let audit =
        h.db.store
            .audit_entries(&AuditQuery {
                installation: Some(h.key.id()),
                action: Some(AuditAction::Webhook),
                limit: 1000,
                ..AuditQuery::default()
            })
            .await
            .expect("audit");
    assert_eq!(audit.len(), N + N / 10);
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.message.contains("again: a duplicate of event"))
            .count(),
        N / 10
    );
    // Each event keeps its order reference, so its order's events stay in arrival order.
    let refs =
        h.db.store
            .webhook_event_refs(&h.key.id(), &h.events().await)
            .await
            .expect("refs");
    assert_eq!(refs.len(), N);
}

fn receipt(installation: &str, key: &str, body: &str) -> WebhookReceipt {
    WebhookReceipt {
        event: NewWebhookEvent {
            installation: installation.into(),
            dedup_key: key.into(),
            received_at: chrono::Utc::now(),
            body: body.into(),
            event_code: "DELIVERED".into(),
            consignment_no: Some(format!("CN-{key}")),
            order_no: None,
            order_refs: vec![format!("CN-{key}")],
            run: None,
            group: None,
        },
        audit: Some(ReceiptAudit {
            subject: format!("DELIVERED for CN-{key}"),
            correlation_id: "c".into(),
            actor: "test".into(),
            started: Instant::now(),
        }),
    }
}

async fn a_batch_with_a_refused_event_stores_the_others(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres);
    let h = Harness::start(backend).await;
    let store: &Store = &h.db.store;
    let inst = h.key.id();
    let earlier = store
        .ingest_webhook_events(&[receipt(&inst, "k0", "{}")])
        .await;
    let earlier = earlier[0].as_ref().expect("stored").id;
    // A NUL character: PostgreSQL refuses the text, SQLite would keep it cut short. An
    // empty dedup key is refused by the store on both.
    let bad = if postgres {
        receipt(&inst, "k2", "{\"a\":\"\0\"}")
    } else {
        receipt(&inst, "", "{}")
    };
    let batch = vec![
        receipt(&inst, "k1", "{}"),
        bad,
        receipt(&inst, "k0", "{}"),
        receipt(&inst, "k3", "{}"),
        receipt(&inst, "k3", "{}"),
    ];
    let results = store.ingest_webhook_events(&batch).await;
    assert_eq!(results.len(), 5);
    assert!(results[1].is_err(), "the bad event is refused: {results:?}");
    let ok: Vec<_> = results
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, r)| *r.as_ref().expect("the others are stored"))
        .collect();
    assert!(!ok[0].duplicate);
    assert_eq!((ok[1].id, ok[1].duplicate), (earlier, true));
    assert!(!ok[2].duplicate);
    assert_eq!((ok[3].id, ok[3].duplicate), (ok[2].id, true));
    for r in &ok {
        assert!(store.webhook_event(r.id).await.expect("store").is_some());
    }
    assert_eq!(h.events().await.len(), 3, "k0, k1 and k3");
}

/// A batch larger than one statement takes (SQLite writes chunks of at most 128 rows),
/// mixing two installations, events with two order references and repeats: every event is
/// stored once with its references and its audit entry, ids follow the arrival order.
async fn a_large_batch_of_two_installations_is_stored_in_arrival_order(backend: Backend) {
    let h = Harness::start(backend).await;
    let store: &Store = &h.db.store;
    let (a, b) = (h.key.id(), "elsewhere/other".to_string());
    let mut batch = Vec::new();
    for i in 0..301 {
        let inst = if i % 3 == 0 { &b } else { &a };
        let mut r = receipt(inst, &format!("big{i}"), "{}");
        if i % 5 == 0 {
            r.event.order_refs.push(format!("SECOND-{i}"));
        }
        batch.push(r);
        if i % 50 == 0 {
            batch.push(receipt(inst, &format!("big{i}"), "{}"));
        }
    }
    let results: Vec<_> = store
        .ingest_webhook_events(&batch)
        .await
        .into_iter()
        .map(|r| r.expect("stored"))
        .collect();
    let firsts: Vec<_> = results.iter().filter(|r| !r.duplicate).collect();
    assert_eq!(firsts.len(), 301, "each dedup key once");
    assert!(
        firsts.windows(2).all(|w| w[0].id < w[1].id),
        "ids follow the arrival order"
    );
    for (r, receipt) in results.iter().zip(&batch) {
        if r.duplicate {
            let first = batch
                .iter()
                .position(|x| x.event.dedup_key == receipt.event.dedup_key)
                .expect("first");
            assert_eq!(r.id, results[first].id, "a repeat names the first");
        }
    }
    let events = h.events().await;
    let refs = store.webhook_event_refs(&a, &events).await.expect("refs");
    let with_two = refs.values().filter(|r| r.len() == 2).count();
    assert_eq!(
        refs.len(),
        200,
        "the first installation's 200 events have references"
    );
    assert_eq!(with_two, 40, "every fifth of them has two");
    let audited = store
        .audit_entries(&AuditQuery {
            installation: Some(b.clone()),
            action: Some(AuditAction::Webhook),
            limit: 1000,
            ..Default::default()
        })
        .await
        .expect("audit");
    assert_eq!(
        audited.len(),
        101 + 3,
        "one entry per notification, repeats too"
    );
}

/// Runs the scheduler on the harness's engine with every interval at [`INTERVAL`], and
/// waits until its installation loop is up (its first fetch recorded): from then on it
/// listens for wake-ups.
async fn schedule(h: &Harness) -> watch::Sender<bool> {
    h.update_installation(|i| {
        i.spec.schedule.fetch_interval = INTERVAL.into();
        i.spec.schedule.send_interval = INTERVAL.into();
        i.spec.schedule.webhook_interval = INTERVAL.into();
    });
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(run_scheduler(
        h.engine.clone(),
        SchedulerOptions {
            master_data: false,
            process: "test",
            ..SchedulerOptions::default()
        },
        stopped,
    ));
    let deadline = Instant::now() + PROMPTLY;
    while h
        .db
        .store
        .last_job_run(&h.key.id(), Job::Fetch.name())
        .await
        .expect("store")
        .is_none_or(|r| r.finished_at.is_none())
    {
        assert!(Instant::now() < deadline, "the scheduler never fetched");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop
}

async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !done().await {
        assert!(
            started.elapsed() < PROMPTLY,
            "{what}: not within {PROMPTLY:?} (the interval is {INTERVAL})"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

fn consignment(o: &linnstream::store::Order) -> String {
    o.consignment_no.clone().expect("consignment number")
}

async fn a_stored_event_is_applied_long_before_the_interval(backend: Backend) {
    let h = Harness::start(backend).await;
    let order = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let _stop = schedule(&h).await;
    let (status, _) = post(&h, &delivered(&consignment(&order), "Left at the door")).await;
    assert_eq!(status, 200);
    let took = eventually("the delivery note in Linnworks", async || {
        h.notes(&order).iter().any(|n| n.contains("(DELIVERED)"))
    })
    .await;
    eprintln!("applied {took:?} after receipt");
}

async fn a_retried_event_is_applied_at_once(backend: Backend) {
    let h = Harness::start(backend).await;
    let order = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let _stop = schedule(&h).await;
    // Linnworks refuses notes: the event fails for good (WebhookMaxRetryAttempts is 3, and
    // the scheduler retries only on later cycles, so it stays Ready for Retry).
    let reply = h
        .http
        .post(format!("{}/_sim/faults", h.linnworks_url))
        .json(&json!({"path": "/api/Orders/AddOrdersNote", "kind": "status", "status": 500}))
        .send()
        .await
        .expect("faults");
    assert!(reply.status().is_success());
    let (_, answer) = post(&h, &delivered(&consignment(&order), "At the depot")).await;
    let id = answer["id"].as_i64().expect("id");
    eventually("the event tried and failed", async || {
        h.db.store
            .webhook_event(id)
            .await
            .expect("store")
            .is_some_and(|e| e.retry_count > 0)
    })
    .await;
    // Out of retries, as an operator would find it.
    let failed = set_failed(&h.db.store, id).await;
    assert_eq!(failed, WebhookStatus::Failed);
    h.http
        .delete(format!("{}/_sim/faults", h.linnworks_url))
        .send()
        .await
        .expect("faults");
    h.db.store.retry_webhook_event(id).await.expect("retry");
    eventually("the retried note in Linnworks", async || {
        h.notes(&order).iter().any(|n| n.contains("(DELIVERED)"))
    })
    .await;
}

/// Marks event `id` Failed by failing it past its retries, as the processor would.
async fn set_failed(store: &Store, id: i64) -> WebhookStatus {
    loop {
        let claimed = store
            .claim_webhook_events(
                &store.webhook_event(id).await.unwrap().unwrap().installation,
                10,
                "test-failer",
                Duration::from_secs(60),
            )
            .await
            .expect("claim");
        for e in claimed {
            let claim = e.claim().expect("claimed");
            let after = store
                .mark_webhook_failed(&claim, "refused", 0)
                .await
                .expect("fail");
            if after.id == id && after.status == WebhookStatus::Failed {
                return after.status;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A new open order in Linnworks, not yet fetched; its id.
fn new_linnworks_order(h: &Harness) -> String {
    let ids = h
        .linnworks
        .add_orders(vec![linnstream::sim::linnworks::NewOrder {
            postal_service_name: Some(PLAIN_SERVICE.into()),
            ..Default::default()
        }])
        .expect("order");
    ids[0].to_string()
}

async fn an_order_back_in_the_queue_is_sent_at_once(backend: Backend) {
    let h = Harness::start(backend).await;
    let _stop = schedule(&h).await;
    let store = &h.db.store;
    let inst = h.key.id();
    // An order fetched, then sent by another worker that failed it, resent by hand, and
    // claimed again by a worker that stops before sending: it is Ready for Retry.
    let order_id = new_linnworks_order(&h);
    linnstream::sync::fetch(&RunContext::new(&h.engine, &h.key, "setup", "test"))
        .await
        .expect("fetch");
    let hour = Duration::from_secs(3600);
    let claimed = store
        .claim_order(&inst, &order_id, "other-worker", hour)
        .await
        .expect("claim");
    store
        .fail_claim(
            &claimed.claim().expect("claim"),
            &SendFailure {
                http_status: Some(400),
                error: "refused".into(),
            },
        )
        .await
        .expect("fail");
    store.resend(&inst, &order_id).await.expect("resend");
    store
        .claim_order(&inst, &order_id, "stopping-worker", hour)
        .await
        .expect("claim again");
    assert_eq!(
        store
            .release_claims("stopping-worker", &[])
            .await
            .expect("release"),
        1
    );
    let back = store.order(&inst, &order_id).await.unwrap().unwrap();
    assert_eq!(back.status, OrderStatus::ReadyForRetry);
    eventually("the order sent to Stream", async || {
        store
            .order(&inst, &order_id)
            .await
            .unwrap()
            .is_some_and(|o| o.status == OrderStatus::Completed)
    })
    .await;
}

async fn a_manual_send_wakes_the_serving_process(backend: Backend) {
    let h = Harness::start(backend).await;
    let _stop = schedule(&h).await;
    let before =
        h.db.store
            .last_job_run(&h.key.id(), Job::Send.name())
            .await
            .expect("store")
            .map(|r| r.id);
    let console = h.engine_with(
        linnstream::settings::SystemSettings::default(),
        support::sync::test_remote_options(),
    );
    let order_id = new_linnworks_order(&h);
    let outcomes = linnstream::sync::send_selected(
        &RunContext::new(&console, &h.key, "console", "support@example.com"),
        &[order_id],
    )
    .await
    .expect("manual send");
    assert_eq!(outcomes[0].status, "Completed", "{outcomes:?}");
    // The serving process ran its send cycle at once, not at its 10-minute interval.
    eventually("a send cycle on the serving process", async || {
        h.db.store
            .last_job_run(&h.key.id(), Job::Send.name())
            .await
            .expect("store")
            .is_some_and(|r| Some(r.id) != before && r.finished_at.is_some())
    })
    .await;
}

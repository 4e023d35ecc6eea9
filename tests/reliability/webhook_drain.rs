//! A flood of webhook events: 10,000 queued for one installation's orders. What a user
//! checks is Linnworks: a delivery note for another installation's order, or for a fresh
//! order of the flooded one, appears within two processing cycles, not hours later; the
//! backlog is worked off completely, every order's notes in the order Stream sent them,
//! with no call refused by Linnworks' rate limits.

use linnstream::sync::RunContext;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use linnstream::domain::InstallationKey;
use linnstream::domain::WebhookStatus;
use linnstream::linnworks::PUBLISHED_RATE_LIMITS;
use linnstream::remote::RemoteOptions;
use linnstream::settings::SystemSettings;
use linnstream::sim::kit::RateLimitRule;
use linnstream::sim::linnworks::NewPostalService;
use linnstream::store::Order;
use linnstream::stream::notification;
use linnstream::sync::{WebhookSummary, new_stored_event, webhook_cycle};
use serde_json::json;

use crate::support::db::Backend;
use crate::support::sync::{ACTOR, Harness, Options, PLAIN_SERVICE, test_remote_options};

crate::on_both_backends!(a_flood_holds_up_no_other_event_and_drains);

const FLOOD_ORDERS: usize = 100;
const EVENTS_PER_ORDER: usize = 100;
const FLOOD: usize = FLOOD_ORDERS * EVENTS_PER_ORDER;
/// Fewer than the flooded orders: a claim in arrival order would fill every batch with the
/// flood's oldest events and leave a new order's event for last.
const BATCH: u32 = 40;
/// Linnworks' published per-minute limits times this, in the simulator and in the client's
/// pacer alike, so 10,000 events take seconds rather than an hour.
const LIMIT_SCALE: u32 = 100;
/// What the test calls one processing cycle (the scheduler gives a cycle most of the
/// installation's webhook interval).
const CYCLE: Duration = Duration::from_secs(2);
/// Only the second installation's orders use it, so neither installation sends the other's.
const OTHER_SERVICE: &str = "Other Carrier Express";

fn notification(code: &str, consignment: &str, n: usize) -> String {
    json!({"webhook": {
        "event": {
            "event_code": code,
            "event_code_desc": code,
            "event_date": "2026-06-20",
            "event_time": format!("{:02}:{:02}:{:02}", n / 3600, (n / 60) % 60, n % 60),
            "event_text": format!("scan {n}"),
        },
        "order": {"id": consignment},
    }})
    .to_string()
}

/// Stores a notification as the receiver does; returns its event id.
async fn queue(h: &Harness, key: &InstallationKey, body: &str) -> i64 {
    let event = notification::parse(body.as_bytes()).expect("a valid notification");
    let stored = new_stored_event(&key.id(), &event, body, chrono::Utc::now());
    let inserted =
        h.db.store
            .insert_webhook_event(&stored)
            .await
            .expect("store the event");
    assert!(!inserted.duplicate, "{body}");
    inserted.id
}

async fn open_events(h: &Harness, key: &InstallationKey) -> u64 {
    let c = h.db.store.webhook_counts(&key.id()).await.expect("counts");
    c.pending + c.ready_for_retry
}

fn consignment(order: &Order) -> &str {
    order.consignment_no.as_deref().expect("a consignment")
}

async fn a_flood_holds_up_no_other_event_and_drains(backend: Backend) {
    let settings = SystemSettings {
        max_batch_size_per_installation: 50,
        webhook_batch_size: BATCH,
        // One installation at a time: the two must take turns.
        max_installations_per_batch: 1,
        ..SystemSettings::default()
    };
    let h = Harness::start_with(
        backend,
        Options {
            settings: settings.clone(),
            ..Options::default()
        },
    )
    .await;
    let mut orders = h.ship(PLAIN_SERVICE, FLOOD_ORDERS / 2).await;
    orders.extend(h.ship(PLAIN_SERVICE, FLOOD_ORDERS / 2).await);
    let fresh = h.ship(PLAIN_SERVICE, 1).await.remove(0);

    h.linnworks
        .add_postal_services(vec![NewPostalService {
            id: None,
            name: OTHER_SERVICE.into(),
            vendor: Some("OTHER CARRIER".into()),
            tag: None,
            code: None,
            country: Some("GB".into()),
        }])
        .expect("postal service");
    let other = h.add_installation("other-shop", |inst| {
        inst.mappings.truncate(1);
        inst.mappings[0].spec.postal_service.name = Some(OTHER_SERVICE.into());
    });
    h.master_data_of(&other).await;
    let other_order = h.ship_as(&other, OTHER_SERVICE, 1).await.remove(0);

    // The flood: each order's events in arrival order, the orders interleaved.
    let seeding = Instant::now();
    futures::stream::iter(&orders)
        .map(|order| {
            let h = &h;
            async move {
                for n in 0..EVENTS_PER_ORDER {
                    queue(
                        h,
                        &h.key,
                        &notification("PARTDELVRD", consignment(order), n),
                    )
                    .await;
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    assert_eq!(open_events(&h, &h.key).await, FLOOD as u64);
    println!("seeded {FLOOD} events in {:?}", seeding.elapsed());

    let rules = PUBLISHED_RATE_LIMITS
        .iter()
        .map(|(call, per_minute)| {
            RateLimitRule::new(format!("/api/{call}"), per_minute * LIMIT_SCALE)
        })
        .collect();
    h.linnworks
        .kit()
        .rate_limits()
        .set_rules(rules)
        .expect("rate limits");
    // No HTTP retries: a call refused with 429 fails its event, which the test would see.
    let engine = h.engine_with(
        settings,
        RemoteOptions {
            linnworks_pace_scale: f64::from(LIMIT_SCALE),
            ..test_remote_options()
        },
    );
    let permits = Arc::new(linnstream::sync::Permits::local(1));
    let other_event = queue(
        &h,
        &other,
        &notification("DELIVERED", consignment(&other_order), 1),
    )
    .await;

    let cycles = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let drain = tokio::spawn({
        let (engine, key, permits, cycles) = (
            engine.clone(),
            h.key.clone(),
            permits.clone(),
            cycles.clone(),
        );
        let store = h.db.store.clone();
        async move {
            let mut done: Vec<(WebhookSummary, Duration)> = Vec::new();
            loop {
                let began = Instant::now();
                let s = webhook_cycle(
                    &RunContext::new(&engine, &key, "drain", ACTOR),
                    &permits,
                    CYCLE,
                )
                .await
                .expect("a cycle");
                done.push((s, began.elapsed()));
                cycles.fetch_add(1, Ordering::SeqCst);
                let c = store.webhook_counts(&key.id()).await.expect("counts");
                if c.pending + c.ready_for_retry == 0 {
                    return done;
                }
                assert!(done.len() < 300, "not drained after 300 cycles: {done:?}");
            }
        }
    });

    // The other installation, while the flood is being worked off: its one cycle waits for
    // at most a batch of the flood, not for the flood.
    while open_events(&h, &h.key).await > (FLOOD as u64) - u64::from(BATCH) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let s = webhook_cycle(
        &RunContext::new(&engine, &other, "other", ACTOR),
        &permits,
        CYCLE,
    )
    .await
    .expect("the other installation's cycle");
    assert_eq!((s.claimed, s.applied), (1, 1), "{s:?}");
    let left = open_events(&h, &h.key).await;
    assert!(
        left > (FLOOD as u64) * 9 / 10,
        "the other installation's event waited for {} of the flood's events",
        FLOOD as u64 - left
    );
    assert!(
        h.notes(&other_order).iter().any(|n| n.contains("scan 1")),
        "{:?}",
        h.notes(&other_order)
    );
    let event = h.db.store.webhook_event(other_event).await.expect("store");
    assert_eq!(event.map(|e| e.status), Some(WebhookStatus::Processed));

    // A fresh order of the flooded installation: applied in the cycle under way or the next.
    let fresh_event = queue(
        &h,
        &h.key,
        &notification("DELIVERED", consignment(&fresh), 7),
    )
    .await;
    let queued_at_cycle = cycles.load(Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(30);
    let applied_at_cycle = loop {
        let event = h.db.store.webhook_event(fresh_event).await.expect("store");
        if event.is_some_and(|e| e.status == WebhookStatus::Processed) {
            break cycles.load(Ordering::SeqCst);
        }
        assert!(
            Instant::now() < deadline,
            "the fresh order's event was not applied in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let left = open_events(&h, &h.key).await;
    assert!(
        applied_at_cycle <= queued_at_cycle + 1,
        "queued after cycle {queued_at_cycle}, applied after cycle {applied_at_cycle}"
    );
    assert!(
        left > (FLOOD as u64) / 2,
        "only {left} of the flood were left"
    );
    assert!(
        h.notes(&fresh).iter().any(|n| n.contains("scan 7")),
        "{:?}",
        h.notes(&fresh)
    );

    let timed = drain.await.expect("the drain");
    // Every cycle but the last went on past its first batch while events remained, unless
    // that batch alone took the whole cycle (a loaded machine).
    for (i, (s, took)) in timed.iter().enumerate().rev().skip(1) {
        assert!(
            s.claimed > BATCH as usize || *took >= CYCLE,
            "cycle {i}: {s:?} in {took:?}"
        );
    }
    let done: Vec<WebhookSummary> = timed.into_iter().map(|(s, _)| s).collect();
    let elapsed = started.elapsed();
    let claimed: usize = done.iter().map(|s| s.claimed).sum();
    println!(
        "drained {claimed} events in {} cycles, {elapsed:?} ({:.0} events/s)",
        done.len(),
        claimed as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(claimed, FLOOD + 1, "{done:?}");
    assert!(
        done.iter()
            .all(|s| s.retrying == 0 && s.failed == 0 && s.applied == s.claimed),
        "{done:?}"
    );
    let counts =
        h.db.store
            .webhook_counts(&h.key.id())
            .await
            .expect("counts");
    assert_eq!(counts.processed, FLOOD as u64 + 1, "{counts:?}");
    let refused = h
        .linnworks
        .kit()
        .recorder()
        .requests()
        .iter()
        .filter(|r| r.status == Some(429))
        .count();
    assert_eq!(refused, 0, "calls refused by the rate limits");
    // In Linnworks: every order has its notes, in the order Stream sent the events.
    for order in &orders {
        let scans: Vec<String> = h
            .notes(order)
            .iter()
            .filter_map(|n| n.split(". ").last())
            .filter(|t| t.starts_with("scan "))
            .map(str::to_string)
            .collect();
        let expected: Vec<String> = (0..EVENTS_PER_ORDER).map(|n| format!("scan {n}")).collect();
        assert_eq!(scans, expected, "order {}", order.order_id);
    }
}

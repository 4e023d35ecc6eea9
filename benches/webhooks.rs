//! Webhook processing throughput through the simulators, 20 ms latency on every Linnworks
//! call: a backlog of delivery events (notes) drained by the scheduler's webhook cycles.
//!
//!   cargo bench --bench webhooks                          # 10,000 events
//!   LINNSTREAM_BENCH_EVENTS=2000 cargo bench --bench webhooks
//!
//! Under `cargo test` (no `--bench` argument) it runs a small smoke round (200 events), so
//! the test suite proves the benchmark still works without spending minutes.
//!
//! Linnworks' published per-minute limits are scaled by LINNSTREAM_BENCH_LIMIT_SCALE
//! (default 40) in the simulator and in the client's pacer alike, so 10,000 events take
//! about two minutes, not hours. Each delivery event reads its order (GetOrdersById,
//! 250/min) and adds a note (AddOrdersNote, 150/min): the note call is the binding limit.
//! WebhookBatchSize is 50.
//!
//! Prints `name: value unit` lines, all named `webhook_drain_*` (another part of the
//! bench may report ingest figures).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use linnstream::config::InstallationKey;
use linnstream::config::files::load_dir;
use linnstream::linnworks::PUBLISHED_RATE_LIMITS;
use linnstream::remote::RemoteOptions;
use linnstream::settings::SystemSettings;
use linnstream::sim::kit::{FaultSpec, RateLimitRule};
use linnstream::sim::world::{NAME, NAMESPACE, NEXT_DAY, World, WorldSettings, order};
use linnstream::store::Store;
use linnstream::sync::Engine;
use linnstream::sync::process_webhooks::new_stored_event;
use linnstream::sync::schedule::Job;
use linnstream::sync::scheduler::run_job;
use linnstream::sync::webhook_event;
use serde_json::json;

/// The call every delivery event makes that has the lowest published limit.
const BINDING_CALL: &str = "Orders/AddOrdersNote";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn notification(consignment: &str, n: usize) -> String {
    json!({"webhook": {
        "event": {
            "event_code": "PARTDELVRD",
            "event_code_desc": "Part delivered",
            "event_date": "2026-06-20",
            "event_time": format!("{:02}:{:02}:{:02}", n / 3600, (n / 60) % 60, n % 60),
            "event_text": format!("scan {n}"),
        },
        "order": {"id": consignment},
    }})
    .to_string()
}

async fn open_events(store: &Store, key: &InstallationKey) -> u64 {
    let c = store.webhook_counts(&key.id()).await.expect("counts");
    c.pending + c.ready_for_retry
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let events = env_usize("LINNSTREAM_BENCH_EVENTS", if full { 10_000 } else { 200 });
    let orders = env_usize(
        "LINNSTREAM_BENCH_WEBHOOK_ORDERS",
        if full { 100 } else { 20 },
    );
    let scale = env_usize("LINNSTREAM_BENCH_LIMIT_SCALE", 40) as u32;
    let key = InstallationKey::new(NAMESPACE, NAME);

    let world = World::start().await.expect("simulators");
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite:{}", tmp.path().join("bench.db").display()))
        .await
        .expect("store");
    let dir = tmp.path().join("res");
    world
        .write_resources(&dir, &WorldSettings::default())
        .expect("resources");
    let (_config, receiver) =
        tokio::sync::watch::channel(Arc::new(load_dir(&dir).expect("valid resources")));
    let system = SystemSettings {
        max_batch_size_per_installation: 50,
        webhook_batch_size: 50,
        ..SystemSettings::default()
    };
    let mut remote = RemoteOptions::from_settings(&system);
    remote.linnworks_pace_scale = f64::from(scale);
    let engine = Engine::with_remote_options(store.clone(), system, receiver, remote);
    let rules = PUBLISHED_RATE_LIMITS
        .iter()
        .map(|(call, limit)| RateLimitRule::new(format!("/api/{call}"), limit * scale))
        .collect();
    world
        .linnworks
        .kit()
        .rate_limits()
        .set_rules(rules)
        .expect("limits");

    // Orders sent to Stream, so the events have consignments to name.
    let permits = linnstream::sync::permits::Permits::local(1);
    run_job(&engine, &key, Job::Identifiers, &permits).await;
    run_job(&engine, &key, Job::PostalServices, &permits).await;
    let ids = world
        .add_orders(
            (0..orders)
                .map(|i| order(200_000 + i as i64, NEXT_DAY))
                .collect(),
        )
        .expect("orders");
    let shipped = Instant::now();
    loop {
        run_job(&engine, &key, Job::Fetch, &permits).await;
        let c = store.queue_counts(&key.id()).await.expect("counts");
        if c.completed >= orders as u64 {
            break;
        }
        assert!(
            shipped.elapsed() < Duration::from_secs(600),
            "orders not sent"
        );
    }
    let mut consignments = Vec::new();
    for id in ids {
        let o = store
            .order(&key.id(), &id.to_string())
            .await
            .expect("store")
            .expect("queued");
        consignments.push(o.consignment_no.expect("a consignment"));
    }

    // The backlog: each order's events in arrival order, the orders interleaved.
    let per_order = events.div_ceil(orders);
    futures::stream::iter(consignments.iter().enumerate())
        .map(|(i, cn)| {
            let store = &store;
            let key = &key;
            async move {
                for n in 0..per_order {
                    if i * per_order + n >= events {
                        break;
                    }
                    let body = notification(cn, n);
                    let parsed = webhook_event::parse(body.as_bytes()).expect("notification");
                    let stored = new_stored_event(&key.id(), &parsed, &body, chrono::Utc::now());
                    store.insert_webhook_event(&stored).await.expect("insert");
                }
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    assert_eq!(open_events(&store, &key).await, events as u64);

    let latency: FaultSpec =
        serde_json::from_value(json!({"path": "/api/*", "kind": "latency", "latencyMs": 20}))
            .expect("fault");
    world
        .linnworks
        .kit()
        .faults()
        .add(latency)
        .expect("latency");
    let recorder = world.linnworks.kit().recorder();
    let mut seen = recorder.requests().last().map_or(0, |r| r.seq);
    let mut refused = 0;
    let mut cycles = 0;
    let started = Instant::now();
    while open_events(&store, &key).await > 0 {
        run_job(&engine, &key, Job::Webhooks, &permits).await;
        cycles += 1;
        // Read after every cycle: the recorder forgets the oldest of 10,000 requests.
        let since = seen;
        for r in recorder.requests().iter().filter(|r| r.seq > since) {
            refused += usize::from(r.status == Some(429));
            seen = seen.max(r.seq);
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "not drained in an hour"
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let failed = store
        .webhook_counts(&key.id())
        .await
        .expect("counts")
        .failed;
    let rate = events as f64 / secs;
    let binding = PUBLISHED_RATE_LIMITS
        .iter()
        .find(|(call, _)| *call == BINDING_CALL)
        .map_or(f64::NAN, |(_, limit)| f64::from(limit * scale) / 60.0);
    println!("webhook_drain_events: {events} events");
    println!("webhook_drain_duration: {secs:.1} s");
    println!("webhook_drain_cycles: {cycles} cycles");
    println!("webhook_events_applied_per_second: {rate:.1} events/s");
    println!("webhook_drain_binding_rate_limit: {binding:.1} events/s");
    println!(
        "webhook_drain_of_binding_limit: {:.0} %",
        100.0 * rate / binding
    );
    println!("webhook_drain_rate_limited_calls: {refused} calls");
    println!("webhook_drain_failed_events: {failed} events");
    assert_eq!(failed, 0, "events failed");
}

//! Sync engine throughput and latency through the simulators, 20 ms latency on every call.
//!
//!   cargo bench --bench sync                       # 10,000 orders
//!   LINNSTREAM_BENCH_ORDERS=2000 cargo bench --bench sync
//!   LINNSTREAM_BENCH_PACE=0 cargo bench --bench sync  # Linnworks calls not paced
//!
//! Under `cargo test` (no `--bench` argument) it runs a small smoke round: 50 orders, 20
//! trickled, so the test suite proves the benchmark still works without spending minutes.
//!
//! Prints `name: value unit` lines:
//! - throughput of N orders queued at once, against the binding rate limit (the lowest
//!   per-order limit: the simulators are given Linnworks' published per-minute limits scaled
//!   by LINNSTREAM_BENCH_LIMIT_SCALE, default 40, so 10,000 orders take minutes, not hours);
//! - latency from an order appearing in Linnworks to its consignment in Stream, for orders
//!   trickling in while the scheduler runs (fetch interval 10 s; target p99 < 12 s).

use std::sync::Arc;
use std::time::{Duration, Instant};

use linnstream::config::load_dir;
use linnstream::domain::InstallationKey;
use linnstream::domain::Job;
use linnstream::remote::RemoteOptions;
use linnstream::settings::SystemSettings;
use linnstream::sim::world::{NAME, NAMESPACE, NEXT_DAY, World, WorldSettings, order};
use linnstream::store::Store;
use linnstream::sync::Engine;
use linnstream::sync::{SchedulerOptions, run_job, run_scheduler};
use serde_json::{Value, json};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn admin(method: reqwest::Method, url: String, body: Value) {
    let r = reqwest::Client::new()
        .request(method, &url)
        .json(&body)
        .send()
        .await;
    match r {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => panic!("{url}: {}", r.text().await.unwrap_or_default()),
        Err(e) => panic!("{url}: {e}"),
    }
}

/// Latency on every API call, and the scaled per-minute limits; returns the binding limit
/// for one order's calls, in orders per second.
async fn shape(world: &World, scale: u32) -> f64 {
    for server in [&world.linnworks_server, &world.stream_server] {
        admin(
            reqwest::Method::POST,
            format!("{}/_sim/faults", server.url()),
            json!({"path": "/api/*", "kind": "latency", "latencyMs": 20}),
        )
        .await;
    }
    // Published Linnworks limits for the calls every order makes, and a Stream limit as
    // strict as Linnworks' strictest (Stream publishes none).
    let linnworks = [
        ("/api/Auth/AuthorizeByApplication", 150),
        ("/api/Orders/GetOpenOrders", 250),
        ("/api/Orders/GetOrdersById", 250),
        ("/api/Orders/SetOrderShippingInfo", 250),
        ("/api/Orders/AddExtendedProperties", 150),
        ("/api/OpenOrders/AssignOrderIdentifier", 250),
        ("/api/OpenOrders/UnassignOrderIdentifier", 250),
        ("/api/OpenOrders/GetIdentifiers", 150),
        ("/api/OpenOrders/SaveIdentifier", 150),
        ("/api/PostalServices/GetPostalServices", 150),
        ("/api/PostalServices/CreatePostalService", 150),
        ("/api/PostalServices/UpdatePostalService", 150),
    ];
    let rules: Vec<Value> = linnworks
        .iter()
        .map(|(p, l)| json!({"path": p, "perMinute": l * scale}))
        .collect();
    admin(
        reqwest::Method::PUT,
        format!("{}/_sim/rate-limits", world.linnworks_server.url()),
        json!({"rules": rules}),
    )
    .await;
    admin(
        reqwest::Method::PUT,
        format!("{}/_sim/rate-limits", world.stream_server.url()),
        json!({"rules": [{"path": "/api/orders/orders", "perMinute": 150 * scale}]}),
    )
    .await;
    // One AddExtendedProperties and one Stream create per order: 150/min each, scaled.
    f64::from(150 * scale) / 60.0
}

async fn engine_for(
    world: &World,
    dir: &std::path::Path,
    store: Store,
    settings: &WorldSettings,
    scale: u32,
) -> (
    Engine,
    tokio::sync::watch::Sender<Arc<linnstream::config::Snapshot>>,
) {
    world.write_resources(dir, settings).expect("resources");
    let snapshot = load_dir(dir).expect("valid resources");
    let (tx, rx) = tokio::sync::watch::channel(Arc::new(snapshot));
    let system = SystemSettings {
        max_batch_size_per_installation: 50,
        ..SystemSettings::default()
    };
    let mut remote = RemoteOptions::from_settings(&system);
    // The client keeps to the published limits as the simulators scale them
    // (LINNSTREAM_BENCH_PACE=0: it does not, and learns of them from 429s only).
    remote.linnworks_pace_scale = if env_usize("LINNSTREAM_BENCH_PACE", 1) == 0 {
        0.0
    } else {
        f64::from(scale)
    };
    (Engine::with_remote_options(store, system, rx, remote), tx)
}

async fn completed(engine: &Engine, key: &InstallationKey) -> u64 {
    engine
        .store()
        .queue_counts(&key.id())
        .await
        .map(|c| c.completed)
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let orders = env_usize("LINNSTREAM_BENCH_ORDERS", if full { 10_000 } else { 50 });
    let scale = env_usize("LINNSTREAM_BENCH_LIMIT_SCALE", 40) as u32;
    let key = InstallationKey::new(NAMESPACE, NAME);

    // Throughput: N orders at once.
    let world = World::start().await.expect("simulators");
    let binding = shape(&world, scale).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite:{}", tmp.path().join("bench.db").display()))
        .await
        .expect("store");
    let (engine, _tx) = engine_for(
        &world,
        &tmp.path().join("res"),
        store,
        &WorldSettings::default(),
        scale,
    )
    .await;
    let permits = linnstream::sync::Permits::local(1);
    run_job(&engine, &key, Job::Identifiers, &permits).await;
    run_job(&engine, &key, Job::PostalServices, &permits).await;
    for chunk in (0..orders).collect::<Vec<_>>().chunks(1000) {
        world
            .add_orders(
                chunk
                    .iter()
                    .map(|i| order(100_000 + *i as i64, NEXT_DAY))
                    .collect(),
            )
            .expect("orders");
    }
    let started = Instant::now();
    while completed(&engine, &key).await < orders as u64 {
        // A fetch that queues orders sends until the queue is drained.
        run_job(&engine, &key, Job::Fetch, &permits).await;
        if started.elapsed() > Duration::from_secs(3600) {
            panic!("not done after an hour");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let throughput = orders as f64 / secs;
    println!("sync_orders: {orders} orders");
    println!("sync_duration: {secs:.1} s");
    println!("sync_throughput: {throughput:.1} orders/s");
    println!("sync_binding_rate_limit: {binding:.1} orders/s");
    println!(
        "sync_throughput_of_binding_limit: {:.0} %",
        100.0 * throughput / binding
    );

    // Latency: orders trickle in while the scheduler runs.
    let world = World::start().await.expect("simulators");
    shape(&world, scale).await;
    let tmp = tempfile::tempdir().expect("tempdir");
    let store = Store::connect(&format!("sqlite:{}", tmp.path().join("bench.db").display()))
        .await
        .expect("store");
    let (engine, _tx) = engine_for(
        &world,
        &tmp.path().join("res"),
        store,
        &WorldSettings::default(),
        scale,
    )
    .await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(run_scheduler(
        engine.clone(),
        SchedulerOptions::default(),
        stop_rx,
    ));
    let trickle = env_usize("LINNSTREAM_BENCH_TRICKLE", if full { 300 } else { 20 });
    let mut appeared = Vec::new();
    for i in 0..trickle {
        let num = 500_000 + i as i64;
        world.add_orders(vec![order(num, NEXT_DAY)]).expect("order");
        appeared.push((num, chrono::Utc::now()));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    while completed(&engine, &key).await < trickle as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = stop_tx.send(true);
    let _ = scheduler.await;
    let stream: Value = reqwest::get(format!("{}/_sim/orders", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let mut latencies: Vec<f64> = appeared
        .iter()
        .filter_map(|(num, at)| {
            let created = stream["orders"]
                .as_array()?
                .iter()
                .find(|o| o["orderNo"] == format!("ACME-{num}"))?;
            let created: chrono::DateTime<chrono::Utc> =
                created["createdAt"].as_str()?.parse().ok()?;
            Some((created - *at).num_milliseconds() as f64 / 1000.0)
        })
        .collect();
    latencies.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    println!("sync_latency_orders: {} orders", latencies.len());
    println!("sync_latency_p50: {:.2} s", pct(0.50));
    println!("sync_latency_p99: {:.2} s", pct(0.99));
    println!("sync_latency_target_p99: 12.00 s");
}

//! `linnstream run` as real processes against the simulators: killed with SIGKILL in the
//! middle of sending and restarted, killed between Stream accepting an order and the
//! tracking write-back to Linnworks, and two of them on one PostgreSQL database. Every order
//! must end Completed with exactly one Stream order, and its tracking in Linnworks.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use linnstream::domain::OrderStatus;
use linnstream::sim::world::{NEXT_DAY, World, WorldSettings, order};
use linnstream::store::{OrderQuery, Store};
use serde_json::{Value, json};

use crate::support::db;
use crate::support::linnworks::assert_written_back;

fn spawn_run(resources: &Path, database_url: &str, log: &Path) -> Child {
    spawn_run_with(resources, database_url, log, &["--no-master-data"])
}

fn spawn_run_with(resources: &Path, database_url: &str, log: &Path, extra: &[&str]) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(["run", "-f"])
        .arg(resources)
        .args(["--database-url", database_url, "--listen", "127.0.0.1:0"])
        .args(extra)
        // Short timeouts and lease, so a killed worker's claims come back within seconds.
        .args([
            "--stream-api-timeout-seconds",
            "2",
            "--stream-api-max-retry-attempts",
            "1",
            "--claim-lease-seconds",
            "6",
        ])
        .args([
            "--max-batch-size-per-installation",
            "10",
            "--max-retry-attempts",
            "20",
        ])
        .env("LINNSTREAM_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start linnstream run")
}

async fn setup(orders: i64, first: i64) -> (World, tempfile::TempDir) {
    let world = World::start().await.expect("simulators");
    let dir = tempfile::tempdir().expect("tempdir");
    world
        .write_resources(&dir.path().join("resources"), &WorldSettings::default())
        .expect("resources");
    world
        .add_orders(
            (first..first + orders)
                .map(|n| order(n, NEXT_DAY))
                .collect(),
        )
        .expect("orders");
    (world, dir)
}

async fn stream_orders(world: &World) -> Vec<Value> {
    let body: Value = reqwest::get(format!("{}/_sim/orders", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    body["orders"].as_array().cloned().unwrap_or_default()
}

/// How many create calls Stream received per order number (retries of a lost reply count).
async fn creates_per_order(world: &World) -> HashMap<String, usize> {
    let body: Value = reqwest::get(format!("{}/_sim/requests", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let mut counts = HashMap::new();
    for r in body.as_array().cloned().unwrap_or_default() {
        if r["method"] == "POST"
            && r["path"] == "/api/orders/orders"
            && r["status"] != 409
            && let Some(no) = r["json"]["header"]["orderNo"].as_str()
        {
            *counts.entry(no.to_string()).or_default() += 1;
        }
    }
    counts
}

async fn wait_all_completed(store: &Store, n: u64, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let counts = store.queue_counts("default/acme").await.expect("counts");
        if counts.completed == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "not all {n} orders Completed in {secs} s: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn stop(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

async fn fault(world: &World, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/faults", world.stream_server.url()))
        .json(&body)
        .send()
        .await
        .expect("sim");
    assert!(r.status().is_success());
}

async fn linnworks_fault(world: &World, body: Value) {
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/faults", world.linnworks_server.url()))
        .json(&body)
        .send()
        .await
        .expect("sim");
    assert!(r.status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_send_and_restarted_loses_and_duplicates_nothing() {
    let pg = db::create_postgres_database().await;
    let (world, dir) = setup(60, 7001).await;
    // Slow creates, some failing in every way a network can fail.
    fault(&world, json!({"path": "/api/orders/orders", "method": "POST", "kind": "latency", "latencyMs": 150})).await;
    fault(&world, json!({"path": "/api/orders/orders", "method": "POST", "kind": "status", "status": 503, "rate": 0.15})).await;
    fault(
        &world,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "drop", "rate": 0.1}),
    )
    .await;
    fault(&world, json!({"path": "/api/orders/orders", "method": "POST", "kind": "rateLimited", "retryAfterSeconds": 1, "rate": 0.1})).await;
    fault(&world, json!({"path": "/api/orders/orders", "method": "POST", "kind": "timeout", "hangMs": 3000, "rate": 0.05})).await;
    let resources = dir.path().join("resources");
    let first = spawn_run(&resources, &pg.url, &dir.path().join("first.log"));
    let store = Store::connect(&pg.url).await.expect("store");
    // Kill it while it is sending: some orders done, some claimed.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let c = store.queue_counts("default/acme").await.unwrap_or_default();
        if c.completed >= 5 && c.in_progress > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never got going: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop(first);
    let at_kill = store.queue_counts("default/acme").await.expect("counts");
    assert!(
        at_kill.completed < 60,
        "killed too late to prove anything: {at_kill:?}"
    );

    let second = spawn_run(&resources, &pg.url, &dir.path().join("second.log"));
    wait_all_completed(&store, 60, 120).await;
    stop(second);

    let stream = stream_orders(&world).await;
    assert_eq!(
        stream.len(),
        60,
        "exactly one Stream order per Linnworks order"
    );
    let mut numbers: Vec<&str> = stream
        .iter()
        .filter_map(|o| o["orderNo"].as_str())
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 60, "no order number twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_run_processes_on_one_database_never_send_an_order_twice() {
    let pg = db::create_postgres_database().await;
    let (world, dir) = setup(120, 8001).await;
    fault(
        &world,
        json!({"path": "/api/orders/orders", "method": "POST", "kind": "latency", "latencyMs": 30}),
    )
    .await;
    let resources = dir.path().join("resources");
    let a = spawn_run(&resources, &pg.url, &dir.path().join("a.log"));
    let b = spawn_run(&resources, &pg.url, &dir.path().join("b.log"));
    let store = Store::connect(&pg.url).await.expect("store");
    wait_all_completed(&store, 120, 120).await;
    // Both processes ran on the database (each has its own heartbeat). On a loaded machine
    // the second may beat only after the first has sent the last order, so this waits
    // for it while both are still running.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let workers = store.workers().await.expect("heartbeats");
        if workers.len() >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the second process never beat: {workers:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop(a);
    stop(b);
    let creates = creates_per_order(&world).await;
    assert_eq!(creates.len(), 120);
    let twice: Vec<_> = creates.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "orders sent more than once: {twice:?}");
    assert_eq!(stream_orders(&world).await.len(), 120);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_before_the_write_back_leaves_it_to_the_restarted_one() {
    const ORDERS: i64 = 3;
    let pg = db::create_postgres_database().await;
    let (world, dir) = setup(ORDERS, 9001).await;
    // Linnworks hangs on the tracking number, so the worker is killed after Stream accepted
    // an order and the store marked it Completed, before its write-back is done.
    linnworks_fault(&world, json!({"path": "/api/Orders/SetOrderShippingInfo", "method": "POST", "kind": "timeout", "hangMs": 60000})).await;
    let resources = dir.path().join("resources");
    // With master data, so the identifiers the write-back assigns exist in Linnworks.
    let first = spawn_run_with(&resources, &pg.url, &dir.path().join("first.log"), &[]);
    let store = Store::connect(&pg.url).await.expect("store");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let c = store.queue_counts("default/acme").await.unwrap_or_default();
        if c.completed >= 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never completed an order: {c:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop(first);
    let orders = store
        .list_orders(&OrderQuery {
            installation: "default/acme".into(),
            status: Some(OrderStatus::Completed),
            ..OrderQuery::default()
        })
        .await
        .expect("orders")
        .orders;
    let pending: Vec<_> = orders.iter().filter(|o| o.write_back_pending()).collect();
    assert!(
        !pending.is_empty(),
        "killed after the write-back: {orders:?}"
    );
    for o in &pending {
        let num = o.num_order_id.expect("number").to_string();
        let lw = world.linnworks.order(&num).expect("in Linnworks");
        assert_eq!(lw["ShippingInfo"]["TrackingNumber"], json!(""), "{lw}");
    }

    reqwest::Client::new()
        .delete(format!("{}/_sim/faults", world.linnworks_server.url()))
        .send()
        .await
        .expect("sim");
    let second = spawn_run_with(&resources, &pg.url, &dir.path().join("second.log"), &[]);
    // The restarted worker retries the write-back once the dead one's lease has passed.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let orders = store
            .list_orders(&OrderQuery {
                installation: "default/acme".into(),
                ..OrderQuery::default()
            })
            .await
            .expect("orders")
            .orders;
        let done = orders.len() as i64 == ORDERS
            && orders
                .iter()
                .all(|o| o.status == OrderStatus::Completed && !o.write_back_pending());
        if done {
            for o in &orders {
                let num = o.num_order_id.expect("number").to_string();
                let lw = world.linnworks.order(&num).expect("in Linnworks");
                let url = o.tracking_url.as_deref();
                assert!(url.is_some(), "a Completed order has a tracking URL");
                assert_written_back(&lw, o.tracking_number.as_deref(), url);
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "write-backs not done after the restart: {:?}",
            orders
                .iter()
                .map(|o| (o.num_order_id, o.status, o.written_back_at))
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop(second);
    assert_eq!(
        stream_orders(&world).await.len() as i64,
        ORDERS,
        "exactly one Stream order per Linnworks order"
    );
}

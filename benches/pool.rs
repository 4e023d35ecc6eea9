//! The shared worker pool at scale: N Installations (default 1,000), each with a Linnworks
//! account of its own (simulated), sharing one Stream account, served by 4 `linnstream
//! pool-worker` processes and one `pool-webhooks` receiver on this machine, over one
//! PostgreSQL database.
//!
//!   cargo bench --bench pool
//!   LINNSTREAM_BENCH_INSTALLATIONS=200 LINNSTREAM_BENCH_ORDERS_PER_INSTALLATION=2 cargo bench --bench pool
//!
//! Needs PostgreSQL at LINNSTREAM_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres); a fresh database is created and dropped.
//! Under `cargo test` (no `--bench` argument) it runs a smoke round of 12 installations,
//! skipped when PostgreSQL is unreachable unless LINNSTREAM_TEST_REQUIRE_SERVICES=1.
//!
//! Prints `name: value unit` lines:
//! - pool_rss_per_installation: the resident memory of every linnstream process (the
//!   workers and the receiver), summed, divided by the installations (target <= 2 MiB);
//! - pool_send_throughput against pool_stream_rate_limit: orders sent per second while all
//!   installations send at once, and the Stream account's limit (target: at the limit);
//! - pool_takeover_seconds against pool_lease_seconds: from a worker's SIGKILL until every
//!   installation it held is held by another (target <= 2 lease periods).

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Connection;
use tokio::process::{Child, Command};

use linnstream::domain::OrderStatus;
use linnstream::sim::kit::RunningServer;
use linnstream::sim::linnworks::LinnworksSim;
use linnstream::sim::world::{NEXT_DAY, World, WorldSettings, linnworks_account, order};
use linnstream::store::Store;

const WORKERS: usize = 4;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let after_scheme = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[after_scheme..].find('/') {
        Some(slash) => &base[..after_scheme + slash],
        None => base,
    };
    format!("{base}/{name}{query}")
}

/// Resident set size of process `pid`, in bytes (Linux `/proc`).
fn rss_bytes(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn yaml_docs(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read");
    serde_saphyr::from_str_multiple::<Value, Vec<_>>(&text)
        .expect("YAML")
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

/// One folder the processes read: the shared Secrets, and per installation a file with
/// the Installation (pooled, its own Linnworks account and order number prefix) and its
/// two mappings.
fn write_config(world: &World, accounts: &[(LinnworksSim, RunningServer)], dir: &Path) {
    let base = dir.join("base");
    world
        .write_resources(
            &base,
            &WorldSettings {
                fetch_interval: "10s".into(),
                send_interval: "10s".into(),
                send_offset: "2s".into(),
                ..WorldSettings::default()
            },
        )
        .expect("resources");
    let conf = dir.join("conf");
    std::fs::create_dir_all(&conf).expect("mkdir");
    std::fs::copy(base.join("secrets.yaml"), conf.join("secrets.yaml")).expect("copy");
    let inst = yaml_docs(&base.join("installation.yaml")).remove(0);
    let mappings = [
        yaml_docs(&base.join("mapping-delivery.yaml")).remove(0),
        yaml_docs(&base.join("mapping-collection.yaml")).remove(0),
    ];
    for (i, (_, server)) in accounts.iter().enumerate() {
        let name = format!("shop-{i:04}");
        let mut docs = Vec::new();
        let mut inst = inst.clone();
        inst["metadata"]["name"] = json!(name);
        inst["spec"]["linnworks"]["apiBaseUrl"] = json!(server.url());
        inst["spec"]["sync"]["orderNumPrefix"] = json!(format!("S{i:04}-"));
        inst["spec"]["workers"] = json!({"mode": "Pool"});
        docs.push(serde_saphyr::to_string(&inst).expect("yaml"));
        for m in &mappings {
            let mut m = m.clone();
            let base = m["metadata"]["name"].as_str().expect("name").to_string();
            m["metadata"]["name"] = json!(format!("{name}-{base}"));
            m["spec"]["installationRef"]["name"] = json!(name);
            docs.push(serde_saphyr::to_string(&m).expect("yaml"));
        }
        std::fs::write(conf.join(format!("{name}.yaml")), docs.join("---\n")).expect("write");
    }
}

fn spawn(args: &[String], database_url: &str, max_batch: usize, log: &Path) -> Child {
    let log = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args(args)
        .env("LINNSTREAM_DATABASE_URL", database_url)
        .env("LINNSTREAM_LOG", "warn")
        .env(
            "LINNSTREAM_MAX_INSTALLATIONS_PER_BATCH",
            max_batch.to_string(),
        )
        .env("LINNSTREAM_MAX_BATCH_SIZE_PER_INSTALLATION", "10")
        .env("LINNSTREAM_SHUTDOWN_GRACE_SECONDS", "5")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .expect("linnstream")
}

async fn wait_until<F, Fut>(what: &str, limit: Duration, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

async fn completed_total(store: &Store) -> u64 {
    store
        .queue_counts_all()
        .await
        .expect("counts")
        .values()
        .map(|c| c.get(OrderStatus::Completed))
        .sum()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let n = env_usize(
        "LINNSTREAM_BENCH_INSTALLATIONS",
        if full { 1000 } else { 12 },
    );
    let per = env_usize(
        "LINNSTREAM_BENCH_ORDERS_PER_INSTALLATION",
        if full { 5 } else { 1 },
    );
    let scale = env_usize("LINNSTREAM_BENCH_LIMIT_SCALE", 40);
    let lease_seconds = env_usize("LINNSTREAM_BENCH_LEASE_SECONDS", 15);
    let max_batch = env_usize("LINNSTREAM_BENCH_MAX_INSTALLATIONS_PER_BATCH", 16);

    let admin = std::env::var("LINNSTREAM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = match sqlx::PgConnection::connect(&admin).await {
        Ok(c) => c,
        Err(e) if !full && std::env::var("LINNSTREAM_TEST_REQUIRE_SERVICES").is_err() => {
            eprintln!("pool bench skipped: PostgreSQL unreachable ({e})");
            return;
        }
        Err(e) => panic!("the pool bench needs PostgreSQL: {e}"),
    };
    let db = format!("linnstream_bench_pool_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {db}"))
        .execute(&mut conn)
        .await
        .expect("create database");
    let url = with_database(&admin, &db);
    let store = Store::connect(&url).await.expect("store");

    // The simulators: N Linnworks accounts, one Stream account with a per-minute limit on
    // order creation as strict as Linnworks' strictest, scaled.
    let world = World::start().await.expect("simulators");
    let stream_per_minute = 150 * scale;
    let limit = reqwest::Client::new()
        .put(format!("{}/_sim/rate-limits", world.stream_server.url()))
        .json(&json!({"rules": [{"path": "/api/orders/orders", "perMinute": stream_per_minute}]}))
        .send()
        .await
        .expect("limits");
    assert!(limit.status().is_success());
    let mut accounts = Vec::with_capacity(n);
    for _ in 0..n {
        accounts.push(
            linnworks_account(std::net::Ipv4Addr::LOCALHOST.into())
                .await
                .expect("a Linnworks account"),
        );
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    write_config(&world, &accounts, tmp.path());
    let conf = tmp.path().join("conf").display().to_string();

    let started = Instant::now();
    let mut workers: Vec<Option<Child>> = (0..WORKERS)
        .map(|i| {
            Some(spawn(
                &[
                    "pool-worker".into(),
                    "-f".into(),
                    conf.clone(),
                    "--member-id".into(),
                    format!("bench-pool-{i}"),
                    "--health-listen".into(),
                    "127.0.0.1:0".into(),
                    "--lease-duration".into(),
                    format!("{lease_seconds}s"),
                ],
                &url,
                max_batch,
                &tmp.path().join(format!("worker-{i}.log")),
            ))
        })
        .collect();
    let receiver = spawn(
        &[
            "pool-webhooks".into(),
            "-f".into(),
            conf.clone(),
            "--listen".into(),
            "127.0.0.1:0".into(),
            "--health-listen".into(),
            "127.0.0.1:0".into(),
        ],
        &url,
        max_batch,
        &tmp.path().join("receiver.log"),
    );
    let all_leased = wait_until(
        "every installation leased",
        Duration::from_secs(600),
        || async { store.leases().await.map(|l| l.len()).unwrap_or(0) == n },
    )
    .await;
    println!("pool_installations: {n} installations");
    println!("pool_workers: {WORKERS} processes");
    println!(
        "pool_all_leased_after_start: {:.1} s",
        started.elapsed().max(all_leased).as_secs_f64()
    );

    // Every installation sends at once.
    for (i, (lw, _)) in accounts.iter().enumerate() {
        let orders = (0..per)
            .map(|k| {
                serde_json::from_value(order((i * 100 + k + 1) as i64, NEXT_DAY)).expect("order")
            })
            .collect();
        lw.add_orders(orders).expect("orders");
    }
    let total = (n * per) as u64;
    let sends_started = Instant::now();
    let mut first_done: Option<Instant> = None;
    loop {
        let done = completed_total(&store).await;
        if done > 0 && first_done.is_none() {
            first_done = Some(Instant::now());
        }
        if done >= total {
            break;
        }
        assert!(
            sends_started.elapsed() < Duration::from_secs(3600),
            "every order sent: not within an hour ({done} of {total})"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last = Instant::now();
    // From the first order in Stream to the last: the fetch interval's spread before the
    // first is not sending.
    let sending = last.duration_since(first_done.unwrap_or(sends_started));
    let throughput = total as f64 / sending.as_secs_f64().max(0.001);
    let limit_per_second = f64::from(stream_per_minute as u32) / 60.0;
    println!("pool_orders: {total} orders");
    println!(
        "pool_all_sent_after_added: {:.1} s",
        last.duration_since(sends_started).as_secs_f64()
    );
    println!("pool_send_throughput: {throughput:.1} orders/s");
    println!("pool_stream_rate_limit: {limit_per_second:.1} orders/s");
    println!(
        "pool_send_throughput_of_limit: {:.0} %",
        100.0 * throughput / limit_per_second
    );

    // Memory: every linnstream process, all loops running.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let mut pids: Vec<u32> = workers.iter().flatten().filter_map(|c| c.id()).collect();
    pids.extend(receiver.id());
    let rss: u64 = pids.iter().map(|p| rss_bytes(*p)).sum();
    let mib = rss as f64 / (1024.0 * 1024.0);
    println!("pool_rss_total: {mib:.1} MiB");
    println!("pool_rss_per_installation: {:.3} MiB", mib / n as f64);

    // Takeover: one worker killed without notice.
    let victim = "bench-pool-0";
    let held: Vec<String> = store
        .leases()
        .await
        .expect("leases")
        .into_iter()
        .filter(|l| l.holder == victim)
        .map(|l| l.installation)
        .collect();
    let mut dead = workers[0].take().expect("worker");
    dead.kill().await.expect("kill");
    let takeover = wait_until(
        "the killed worker's installations taken over",
        Duration::from_secs(600),
        || async {
            let now = chrono::Utc::now();
            let leases = store.leases().await.unwrap_or_default();
            held.iter().all(|h| {
                leases
                    .iter()
                    .any(|l| &l.installation == h && l.holder != victim && l.expires_at > now)
            })
        },
    )
    .await;
    println!(
        "pool_taken_over_installations: {} installations",
        held.len()
    );
    println!("pool_takeover_seconds: {:.1} s", takeover.as_secs_f64());
    println!("pool_lease_seconds: {lease_seconds} s");
    println!(
        "pool_takeover_in_lease_periods: {:.2} periods",
        takeover.as_secs_f64() / lease_seconds as f64
    );

    // Orderly stop, then the database goes.
    for mut c in workers.into_iter().flatten().chain([receiver]) {
        if let Some(pid) = c.id() {
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(30), c.wait()).await;
    }
    store.close().await;
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
}

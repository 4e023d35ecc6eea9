//! Webhooks end to end, on this machine, in one run:
//!
//! 1. **Ingest** (`webhook_ingest_*`): the receiver (`webhook_router`, group commit) served
//!    on loopback and driven with unique DELIVERED notifications by 1, 8 and 32 concurrent
//!    connections, on PostgreSQL and SQLite: requests/s and latency p50/p99. Baselines in the
//!    same run with the same connection counts: the database's own single-row
//!    INSERT + commit rate from as many clients (a plain sqlx loop, `db_single_insert_*`),
//!    and a trivial in-process axum handler (`axum_noop_*`); the ratios are printed.
//! 2. **Receipt to applied** (`webhook_receipt_to_applied_*`): with every interval at 10
//!    minutes, notifications posted one a second, below Linnworks' published rate limits
//!    (simulator at the published limits, client pacer likewise), timed from the POST
//!    until the Linnworks simulator shows the note: p50/p99/max on PostgreSQL and SQLite.
//! 3. **Drain** (`webhook_drain_*`): a backlog applied through the simulators, 20 ms
//!    latency on every Linnworks call (see `drain` below).
//!
//!   cargo bench --bench webhooks
//!   LINNSTREAM_BENCH_PARTS=ingest,latency cargo bench --bench webhooks   # skip the drain
//!   LINNSTREAM_BENCH_SECONDS=10 cargo bench --bench webhooks             # per ingest figure
//!   LINNSTREAM_BENCH_BACKENDS=sqlite LINNSTREAM_BENCH_CONNECTIONS=32 cargo bench --bench webhooks
//!
//! PostgreSQL: a fresh database on LINNSTREAM_TEST_POSTGRES_URL (default
//! postgres://postgres@127.0.0.1:5432/postgres), dropped afterwards.
//!
//! Under `cargo test` (no `--bench` argument) every part runs a small smoke round, so the
//! test suite proves the benchmark still works without spending minutes.
//!
//! Prints one `name: value unit` line per figure.

// The drain: webhook processing throughput through the simulators, 20 ms latency on every Linnworks
// call: a backlog of delivery events (notes) drained by the scheduler's webhook cycles.
//
//   cargo bench --bench webhooks                          # 10,000 events
//   LINNSTREAM_BENCH_EVENTS=2000 cargo bench --bench webhooks
//
// Under `cargo test` (no `--bench` argument) it runs a small smoke round (200 events), so
// the test suite proves the benchmark still works without spending minutes.
//
// Linnworks' published per-minute limits are scaled by LINNSTREAM_BENCH_LIMIT_SCALE
// (default 40) in the simulator and in the client's pacer alike, so 10,000 events take
// about two minutes, not hours. Each delivery event reads its order (GetOrdersById,
// 250/min) and adds a note (AddOrdersNote, 150/min): the note call is the binding limit.
// WebhookBatchSize is 50.
//
// Prints `name: value unit` lines, all named `webhook_drain_*` (another part of the
// bench may report ingest figures).

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use futures::StreamExt;
use linnstream::config::Snapshot;
use linnstream::config::load_dir;
use linnstream::domain::InstallationKey;
use linnstream::domain::Job;
use linnstream::domain::webhook::webhook_path;
use linnstream::linnworks::PUBLISHED_RATE_LIMITS;
use linnstream::remote::RemoteOptions;
use linnstream::server::{WebhookAuth, derive_token, webhook_router};
use linnstream::settings::SystemSettings;
use linnstream::sim::kit::{FaultSpec, RateLimitRule, serve_loopback};
use linnstream::sim::world::{NAME, NAMESPACE, NEXT_DAY, World, WorldSettings, order};
use linnstream::store::{Store, StoreOptions};
use linnstream::stream::notification;
use linnstream::sync::Engine;
use linnstream::sync::new_stored_event;
use linnstream::sync::{SchedulerOptions, run_job, run_scheduler};
use serde_json::json;
use sqlx::Connection;
use tokio::sync::watch;

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

const SECRET: &str = "bench-webhook-secret-0123456789abcdef0123";
const CONNECTIONS: [usize; 3] = [1, 8, 32];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let parts =
        std::env::var("LINNSTREAM_BENCH_PARTS").unwrap_or_else(|_| "ingest,latency,drain".into());
    let seconds = std::env::var("LINNSTREAM_BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(if full { 5.0 } else { 0.3 });
    let window = Duration::from_secs_f64(seconds);
    let only = std::env::var("LINNSTREAM_BENCH_BACKENDS").unwrap_or_default();
    let backends: Vec<Backend> = [Backend::Postgres, Backend::Sqlite]
        .into_iter()
        .filter(|b| only.is_empty() || only.contains(b.name()))
        .collect();
    let connections: Vec<usize> = std::env::var("LINNSTREAM_BENCH_CONNECTIONS")
        .ok()
        .map(|v| v.split(',').filter_map(|c| c.trim().parse().ok()).collect())
        .unwrap_or_else(|| CONNECTIONS.to_vec());
    if parts.contains("ingest") {
        let mut noop = Vec::new();
        for &c in &connections {
            let load = axum_noop(c, window).await;
            println!("axum_noop_c{c}_rate: {:.0} requests/s", load.rate());
            noop.push(load.rate());
        }
        for &backend in &backends {
            let db = Db::create(backend).await;
            for (i, &c) in connections.iter().enumerate() {
                let base = single_inserts(&db, c, window).await;
                let name = backend.name();
                println!("db_single_insert_{name}_c{c}_rate: {base:.0} commits/s");
                let load = ingest(&db, c, window).await;
                println!(
                    "webhook_ingest_{name}_c{c}_rate: {:.0} requests/s",
                    load.rate()
                );
                println!(
                    "webhook_ingest_{name}_c{c}_p50: {:.2} ms",
                    load.percentile(50.0)
                );
                println!(
                    "webhook_ingest_{name}_c{c}_p99: {:.2} ms",
                    load.percentile(99.0)
                );
                println!(
                    "webhook_ingest_{name}_c{c}_errors: {} requests",
                    load.errors
                );
                println!(
                    "webhook_ingest_{name}_c{c}_of_db_single_insert: {:.2} x",
                    load.rate() / base
                );
                println!(
                    "webhook_ingest_{name}_c{c}_of_axum_noop: {:.2} x",
                    load.rate() / noop[i]
                );
            }
            db.drop().await;
        }
    }
    if parts.contains("latency") {
        let events = if full { 30 } else { 3 };
        for &backend in &backends {
            let db = Db::create(backend).await;
            receipt_to_applied(&db, events).await;
            db.drop().await;
        }
    }
    if parts.contains("drain") {
        drain(full).await;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "postgres",
            Backend::Sqlite => "sqlite",
        }
    }
}

/// A fresh database: a new PostgreSQL database, or a SQLite file in a temporary folder.
struct Db {
    backend: Backend,
    url: String,
    admin: Option<(sqlx::PgConnection, String)>,
    _dir: tempfile::TempDir,
}

impl Db {
    async fn create(backend: Backend) -> Db {
        let dir = tempfile::tempdir().expect("tempdir");
        match backend {
            Backend::Sqlite => Db {
                backend,
                url: format!("sqlite:{}", dir.path().join("bench.db").display()),
                admin: None,
                _dir: dir,
            },
            Backend::Postgres => {
                let admin = std::env::var("LINNSTREAM_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL is not reachable (LINNSTREAM_TEST_POSTGRES_URL): {e}")
                    });
                let name = format!("linnstream_bench_{}", uuid::Uuid::new_v4().simple());
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("create database");
                let (base, query) = match admin.split_once('?') {
                    Some((b, q)) => (b, format!("?{q}")),
                    None => (admin.as_str(), String::new()),
                };
                let base = base.rsplit_once('/').map_or(base, |(b, _)| b);
                Db {
                    backend,
                    url: format!("{base}/{name}{query}"),
                    admin: Some((conn, name)),
                    _dir: dir,
                }
            }
        }
    }

    async fn store(&self, max_connections: u32) -> Store {
        Store::connect_with(
            &self.url,
            &StoreOptions {
                max_connections,
                ..StoreOptions::default()
            },
        )
        .await
        .expect("store")
    }

    async fn drop(self) {
        if let Some((mut conn, name)) = self.admin {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// What a load run measured.
struct Load {
    ok: usize,
    errors: usize,
    elapsed: Duration,
    /// Milliseconds per successful request, sorted.
    latencies: Vec<f64>,
}

impl Load {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }
}

/// Drives `connections` callers, each on its own keep-alive connection, for `window`:
/// caller `i`'s `n`th request carries `body(i, n)`.
async fn drive(
    url: &str,
    token: Option<&str>,
    connections: usize,
    window: Duration,
    body: impl Fn(usize, usize) -> String + Send + Sync + 'static,
) -> Load {
    let body = Arc::new(body);
    let started = Instant::now();
    let deadline = started + window;
    let mut callers = Vec::new();
    for caller in 0..connections {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let (url, token, body) = (url.to_string(), token.map(str::to_string), body.clone());
        callers.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
            let mut n = 0;
            while Instant::now() < deadline {
                let mut request = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body(caller, n));
                if let Some(t) = &token {
                    request = request.header("authorization", t);
                }
                n += 1;
                let sent = Instant::now();
                match request.send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        ok += 1;
                        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => errors += 1,
                }
            }
            (ok, errors, latencies)
        }));
    }
    let mut load = Load {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for c in callers {
        let (ok, errors, latencies) = c.await.expect("caller");
        load.ok += ok;
        load.errors += errors;
        load.latencies.extend(latencies);
    }
    load.elapsed = started.elapsed();
    load.latencies.sort_by(f64::total_cmp);
    load
}

/// A unique delivery notification (distinct dedup key per caller and request).
fn unique_notification(run: &str, caller: usize, n: usize) -> String {
    json!({"webhook": {
        "event": {
            "event_code": "DELIVERED",
            "event_code_desc": "Delivered",
            "event_date": "2026-06-20",
            "event_time": "12:00:00",
            "event_text": format!("{run} caller {caller} request {n}"),
        },
        "order": {"id": format!("CN{caller:03}{n:07}")},
    }})
    .to_string()
}

async fn axum_noop(connections: usize, window: Duration) -> Load {
    let router = Router::new().route("/noop", post(|_body: Bytes| async { "{}" }));
    let server = serve_loopback(router).await.expect("serve");
    let url = format!("{}/noop", server.url());
    drive(&url, None, connections, window, |c, n| {
        unique_notification("noop", c, n)
    })
    .await
}

/// Runs `clients` tasks, each calling `once` back to back until `deadline`; how many calls.
async fn repeat<F, Fut>(clients: usize, deadline: Instant, once: F) -> usize
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let once = once.clone();
            tokio::spawn(async move {
                let mut n = 0usize;
                while Instant::now() < deadline {
                    once().await;
                    n += 1;
                }
                n
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client");
    }
    total
}

/// The database's own rate: `clients` tasks each inserting one row per transaction (a
/// plain sqlx loop, with a body the size of a notification).
async fn single_inserts(db: &Db, clients: usize, window: Duration) -> f64 {
    let table = format!("bench_single_{clients}");
    let body = Arc::new(unique_notification("single", 0, 0));
    let create = format!("CREATE TABLE {table} (id {{}} PRIMARY KEY, body TEXT NOT NULL)");
    let insert = Arc::new(format!("INSERT INTO {table} (body) VALUES ($1)"));
    let started = Instant::now();
    let deadline = started + window;
    let count = match db.backend {
        Backend::Postgres => {
            let pool = sqlx::postgres::PgPoolOptions::new()
                .max_connections(clients as u32)
                .connect(&db.url)
                .await
                .expect("pool");
            sqlx::query(&create.replace("{}", "BIGSERIAL"))
                .execute(&pool)
                .await
                .expect("table");
            let p = pool.clone();
            let n = repeat(clients, deadline, move || {
                let (pool, sql, body) = (p.clone(), insert.clone(), body.clone());
                async move {
                    sqlx::query(&sql)
                        .bind(body.as_str())
                        .execute(&pool)
                        .await
                        .expect("insert");
                }
            })
            .await;
            pool.close().await;
            n
        }
        Backend::Sqlite => {
            // The store's connection settings (WAL, synchronous NORMAL); the store made the
            // file.
            db.store(1).await.close().await;
            let options: sqlx::sqlite::SqliteConnectOptions = db.url.parse().expect("sqlite url");
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(clients as u32)
                .connect_with(
                    options
                        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                        .busy_timeout(Duration::from_secs(30)),
                )
                .await
                .expect("pool");
            sqlx::query(&create.replace("{}", "INTEGER"))
                .execute(&pool)
                .await
                .expect("table");
            let p = pool.clone();
            let n = repeat(clients, deadline, move || {
                let (pool, sql, body) = (p.clone(), insert.clone(), body.clone());
                async move {
                    sqlx::query(&sql)
                        .bind(body.as_str())
                        .execute(&pool)
                        .await
                        .expect("insert");
                }
            })
            .await;
            pool.close().await;
            n
        }
    };
    count as f64 / started.elapsed().as_secs_f64()
}

/// Settings for one installation pointed at `world`, with webhooks on and every interval
/// at `interval`.
fn world_config(world: &World, dir: &std::path::Path, interval: &str) -> Snapshot {
    world
        .write_resources(
            dir,
            &WorldSettings {
                public_base_url: Some("http://127.0.0.1:9".into()),
                fetch_interval: interval.into(),
                send_interval: interval.into(),
                webhook_interval: interval.into(),
                ..WorldSettings::default()
            },
        )
        .expect("resources");
    load_dir(dir).expect("valid resources")
}

async fn ingest(db: &Db, connections: usize, window: Duration) -> Load {
    let store = db.store(10).await;
    let world = World::start().await.expect("simulators");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_config, receiver) = watch::channel(Arc::new(world_config(
        &world,
        &tmp.path().join("res"),
        "10m",
    )));
    let engine = Engine::new(store.clone(), SystemSettings::default(), receiver);
    let server = serve_loopback(webhook_router(
        engine,
        WebhookAuth::derived(SECRET.as_bytes().to_vec()),
    ))
    .await
    .expect("serve the receiver");
    let key = InstallationKey::new(NAMESPACE, NAME);
    let url = format!("{}{}", server.url(), webhook_path(&key));
    let token = derive_token(SECRET.as_bytes(), &key);
    let run = format!("c{connections}");
    let load = drive(&url, Some(&token), connections, window, move |c, n| {
        unique_notification(&run, c, n)
    })
    .await;
    drop(server);
    store.close().await;
    load
}

/// Posts `events` delivery notifications one at a time, below Linnworks' published rate
/// limits, to a process whose intervals are all 10 minutes, and measures how long each
/// takes to show as a note in the Linnworks simulator.
async fn receipt_to_applied(db: &Db, events: usize) {
    let name = db.backend.name();
    let store = db.store(10).await;
    let world = World::start().await.expect("simulators");
    let tmp = tempfile::tempdir().expect("tempdir");
    let (_config, receiver) = watch::channel(Arc::new(world_config(
        &world,
        &tmp.path().join("res"),
        "10m",
    )));
    let rules = PUBLISHED_RATE_LIMITS
        .iter()
        .map(|(call, limit)| RateLimitRule::new(format!("/api/{call}"), *limit))
        .collect();
    world
        .linnworks
        .kit()
        .rate_limits()
        .set_rules(rules)
        .expect("limits");
    let engine = Engine::new(store.clone(), SystemSettings::default(), receiver);
    let key = InstallationKey::new(NAMESPACE, NAME);
    let permits = linnstream::sync::Permits::local(1);
    run_job(&engine, &key, Job::Identifiers, &permits).await;
    run_job(&engine, &key, Job::PostalServices, &permits).await;
    let ids = world
        .add_orders(
            (0..events)
                .map(|i| order(300_000 + i as i64, NEXT_DAY))
                .collect(),
        )
        .expect("orders");
    let server = serve_loopback(webhook_router(
        engine.clone(),
        WebhookAuth::derived(SECRET.as_bytes().to_vec()),
    ))
    .await
    .expect("serve the receiver");
    let (stop, stopped) = watch::channel(false);
    // The scheduler fetches and sends at start, then waits for wake-ups (or 10 minutes).
    let scheduler = tokio::spawn(run_scheduler(
        engine.clone(),
        SchedulerOptions {
            master_data: false,
            process: "bench",
            ..SchedulerOptions::default()
        },
        stopped,
    ));
    let shipped = Instant::now();
    loop {
        let c = store.queue_counts(&key.id()).await.expect("counts");
        if c.completed >= events as u64 {
            break;
        }
        assert!(
            shipped.elapsed() < Duration::from_secs(600),
            "orders not sent"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut orders = Vec::new();
    for id in &ids {
        let o = store
            .order(&key.id(), &id.to_string())
            .await
            .expect("store")
            .expect("queued");
        orders.push((id.to_string(), o.consignment_no.expect("a consignment")));
    }
    let url = format!("{}{}", server.url(), webhook_path(&key));
    let token = derive_token(SECRET.as_bytes(), &key);
    let http = reqwest::Client::new();
    // One event a second: AddOrdersNote (150/min) and GetOrdersById (250/min) allow more.
    let gap = Duration::from_secs(1);
    let mut watchers = Vec::new();
    for (i, (order_id, consignment)) in orders.iter().enumerate() {
        let body = json!({"webhook": {
            "event": {"event_code": "DELIVERED", "event_code_desc": "Delivered",
                      "event_date": "2026-06-20", "event_time": "12:00:00",
                      "event_text": format!("latency probe {i}")},
            "order": {"id": consignment},
        }})
        .to_string();
        let posted = Instant::now();
        let reply = http
            .post(&url)
            .header("authorization", &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("receiver");
        assert!(reply.status().is_success(), "{}", reply.status());
        let linnworks = world.linnworks.clone();
        let order_id = order_id.clone();
        watchers.push(tokio::spawn(async move {
            loop {
                let noted = linnworks
                    .order(&order_id)
                    .and_then(|o| o["Notes"].as_array().map(|n| !n.is_empty()))
                    .unwrap_or(false);
                if noted {
                    return posted.elapsed();
                }
                if posted.elapsed() > Duration::from_secs(900) {
                    return Duration::MAX;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }));
        tokio::time::sleep(gap.saturating_sub(posted.elapsed())).await;
    }
    let mut took: Vec<f64> = Vec::new();
    for w in watchers {
        took.push(w.await.expect("watcher").as_secs_f64() * 1000.0);
    }
    took.sort_by(f64::total_cmp);
    let load = Load {
        ok: took.len(),
        errors: 0,
        elapsed: Duration::from_secs(1),
        latencies: took,
    };
    println!("webhook_receipt_to_applied_{name}_events: {events} events");
    println!(
        "webhook_receipt_to_applied_{name}_p50: {:.0} ms",
        load.percentile(50.0)
    );
    println!(
        "webhook_receipt_to_applied_{name}_p99: {:.0} ms",
        load.percentile(99.0)
    );
    println!(
        "webhook_receipt_to_applied_{name}_max: {:.0} ms",
        load.latencies.last().copied().unwrap_or(f64::NAN)
    );
    let _ = stop.send(true);
    let _ = scheduler.await;
    drop(server);
    store.close().await;
}

/// The drain: a backlog of events applied through the simulators.
async fn drain(full: bool) {
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
    let permits = linnstream::sync::Permits::local(1);
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
                    let parsed = notification::parse(body.as_bytes()).expect("notification");
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

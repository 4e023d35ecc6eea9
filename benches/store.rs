//! Order transitions per second on each store backend: orders are inserted as fetched
//! (-> Pending), claimed in batches (-> In Progress) and completed (-> Completed) by
//! concurrent workers; three transitions per order.
//!
//! `cargo bench --bench store` measures 5,000 orders per backend; under `cargo test` (no
//! `--bench` argument) it runs a small smoke round. PostgreSQL comes from
//! LINNSTREAM_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres); a
//! fresh database is created and dropped.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use linnstream::store::{FetchedOrder, SendSuccess, Store, StoreOptions};

use linnstream::domain::OrderType;
use serde_json::json;
use sqlx::Connection;

const INST: &str = "bench/acme";
/// The guide's default MaxBatchSizePerInstallation.
const CLAIM_BATCH: u32 = 5;

struct Figures {
    inserts_per_sec: f64,
    claim_complete_per_sec: f64,
    transitions_per_sec: f64,
}

fn order(i: usize) -> FetchedOrder {
    FetchedOrder {
        installation: INST.into(),
        order_id: format!("7c9e6679-7425-40de-944b-{i:012}"),
        num_order_id: Some(100_000 + i as i64),
        reference: Some(format!("WEB-{i}")),
        postal_service_id: Some("3f1c7d4e-0000-4000-8000-000000000001".into()),
        postal_service_name: Some("Stream Next Day".into()),
        order_type: OrderType::Delivery,
        snapshot: Some(json!({
            "NumOrderId": 100_000 + i,
            "CustomerInfo": {"Address": {"FullName": "A Customer", "Address1": "1 High St",
                "Town": "Leeds", "PostCode": "LS1 1AA", "Country": "United Kingdom"}},
            "Items": [{"SKU": "CHAIR-1", "Title": "Oak chair", "Quantity": 2, "Weight": 7.5}]
        })),
    }
}

async fn run(store: &Store, orders: usize, workers: usize) -> Result<Figures, String> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in (w..orders).step_by(workers) {
                store
                    .upsert_fetched(&order(i))
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await.map_err(|e| e.to_string())??;
    }
    let inserted = started.elapsed();

    let claiming = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..workers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let worker = format!("bench-{w}");
            let mut done = 0usize;
            loop {
                let batch = store
                    .claim(INST, CLAIM_BATCH, &worker, Duration::from_secs(300))
                    .await
                    .map_err(|e| e.to_string())?;
                if batch.is_empty() {
                    return Ok::<_, String>(done);
                }
                for o in batch {
                    let claim = o.claim().ok_or("claimed order without claim")?;
                    let result = SendSuccess {
                        http_status: Some(200),
                        consignment_no: Some(format!("CN{}", o.id)),
                        tracking_number: Some(format!("TRK{}", o.id)),
                        ..SendSuccess::default()
                    };
                    store
                        .complete_claim(&claim, &result)
                        .await
                        .map_err(|e| e.to_string())?;
                    done += 1;
                }
            }
        }));
    }
    let mut completed = 0;
    for t in tasks {
        completed += t.await.map_err(|e| e.to_string())??;
    }
    let claimed = claiming.elapsed();
    if completed != orders {
        return Err(format!("completed {completed} of {orders} orders"));
    }
    let counts = store.queue_counts(INST).await.map_err(|e| e.to_string())?;
    if counts.completed != orders as u64 {
        return Err(format!(
            "queue shows {} completed of {orders}",
            counts.completed
        ));
    }
    let n = orders as f64;
    Ok(Figures {
        inserts_per_sec: n / inserted.as_secs_f64(),
        claim_complete_per_sec: 2.0 * n / claimed.as_secs_f64(),
        transitions_per_sec: 3.0 * n / (inserted + claimed).as_secs_f64(),
    })
}

fn report(name: &str, f: &Figures) {
    println!(
        "store_{name}_transitions_per_sec: {:.0} ops/s",
        f.transitions_per_sec
    );
    println!(
        "store_{name}_inserts_per_sec: {:.0} ops/s",
        f.inserts_per_sec
    );
    println!(
        "store_{name}_claim_complete_per_sec: {:.0} ops/s",
        f.claim_complete_per_sec
    );
}

/// `url` with its database name replaced by `name`.
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

async fn postgres(orders: usize) -> Result<Figures, String> {
    let admin = std::env::var("LINNSTREAM_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let mut conn = sqlx::PgConnection::connect(&admin)
        .await
        .map_err(|e| format!("PostgreSQL is not reachable (LINNSTREAM_TEST_POSTGRES_URL): {e}"))?;
    let name = format!("linnstream_bench_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| e.to_string())?;
    let url = with_database(&admin, &name);
    let options = StoreOptions {
        max_connections: 8,
        ..StoreOptions::default()
    };
    let result = match Store::connect_with(&url, &options).await {
        Ok(store) => {
            let figures = run(&store, orders, 8).await;
            store.close().await;
            figures
        }
        Err(e) => Err(e.to_string()),
    };
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut conn)
        .await;
    result
}

async fn sqlite(orders: usize) -> Result<Figures, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let options = StoreOptions {
        max_connections: 4,
        ..StoreOptions::default()
    };
    let store = Store::connect_with(&url, &options)
        .await
        .map_err(|e| e.to_string())?;
    let figures = run(&store, orders, 4).await;
    store.close().await;
    figures
}

fn main() -> ExitCode {
    let full = std::env::args().any(|a| a == "--bench");
    let orders = if full { 5000 } else { 200 };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut ok = true;
    for (name, result) in [
        ("postgres", runtime.block_on(postgres(orders))),
        ("sqlite", runtime.block_on(sqlite(orders))),
    ] {
        match result {
            Ok(figures) => report(name, &figures),
            Err(e) => {
                eprintln!("error: store {name} benchmark: {e}");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

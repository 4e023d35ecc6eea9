//! GenerateLabel latency over HTTP for an order already in Stream: what warehouse staff wait
//! for when they print. The gateway is served on a loopback port over the in-process
//! simulators and a real store (SQLite file and PostgreSQL), and called one label at a time
//! from a keep-alive client, as Linnworks does from one print station.
//!
//! `cargo bench --bench gateway` prints one `name: value unit` line per figure.
//! Target: p99 under 100 ms for one package, one copy. Under `cargo test` (no `--bench`
//! argument) it runs a smoke round of a few calls instead of measuring a debug build.

#[path = "../tests/support/db.rs"]
mod db;
#[path = "../tests/support/sync.rs"]
mod sync;

use std::time::{Duration, Instant};

use linnstream::server::gateway::{gateway_router, service_id};
use linnstream::sim::kit::serve_loopback;
use serde_json::{Value, json};

use db::Backend;
use sync::{Harness, PLAIN_SERVICE};

const TOKEN: &str = "bench-gateway-token";
const WARM_UP: usize = 20;
const CALLS: usize = 500;
const SMOKE_CALLS: usize = 5;

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    let at = rank.clamp(1, sorted.len()) - 1;
    sorted[at].as_secs_f64() * 1000.0
}

fn request(h: &Harness, order: &linnstream::store::Order, packages: usize) -> Value {
    let inst = h.installation();
    let packages: Vec<Value> = (1..=packages)
        .map(|n| json!({"SequenceNumber": n, "PackageWeight": 2500.0, "Items": []}))
        .collect();
    json!({
        "AuthorizationToken": TOKEN,
        "Name": "Jane Doe", "AddressLine1": "1 High Street", "Town": "Leeds",
        "CountryCode": "GB", "Postalcode": "LS6 1AA",
        "OrderId": order.num_order_id, "OrderReference": order.reference,
        "OrderCurrency": "GBP",
        "ServiceId": service_id(&inst, &inst.mappings[0]).to_string(),
        "Packages": packages,
    })
}

/// Latencies of `calls` sequential GenerateLabel calls after a warm-up, sorted.
async fn measure(http: &reqwest::Client, url: &str, body: &Value, calls: usize) -> Vec<Duration> {
    let call = || async {
        let started = Instant::now();
        let reply: Value = http
            .post(url)
            .json(body)
            .send()
            .await
            .expect("gateway reachable")
            .json()
            .await
            .expect("JSON reply");
        assert_eq!(reply["IsError"], json!(false), "{}", reply["ErrorMessage"]);
        started.elapsed()
    };
    for _ in 0..WARM_UP.min(calls) {
        call().await;
    }
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        latencies.push(call().await);
    }
    latencies.sort();
    latencies
}

async fn bench(backend: Backend, name: &str, calls: usize) {
    let h = Harness::start(backend).await;
    h.update_installation(|i| i.credentials.gateway_token = Some(TOKEN.into()));
    let order = h.ship(PLAIN_SERVICE, 1).await.remove(0);
    let server = serve_loopback(gateway_router(h.engine.clone()))
        .await
        .expect("serve the gateway");
    let url = format!("{}/api/Consignment/GenerateLabel", server.url());
    let http = reqwest::Client::new();

    let one = measure(&http, &url, &request(&h, &order, 1), calls).await;
    println!("gateway_label_{name}_p50: {:.1} ms", percentile(&one, 50.0));
    println!("gateway_label_{name}_p99: {:.1} ms", percentile(&one, 99.0));
    println!(
        "gateway_label_{name}_max: {:.1} ms",
        percentile(&one, 100.0)
    );

    h.update_installation(|i| {
        for m in &mut i.mappings {
            m.spec.label_copies = 5;
        }
    });
    let many = measure(&http, &url, &request(&h, &order, 3), calls).await;
    println!(
        "gateway_label_{name}_3_packages_5_copies_p50: {:.1} ms",
        percentile(&many, 50.0)
    );
    println!(
        "gateway_label_{name}_3_packages_5_copies_p99: {:.1} ms",
        percentile(&many, 99.0)
    );
    server.shutdown().await;
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let calls = if std::env::args().any(|a| a == "--bench") {
        CALLS
    } else {
        SMOKE_CALLS
    };
    runtime.block_on(async {
        bench(Backend::Sqlite, "sqlite", calls).await;
        bench(Backend::Postgres, "postgres", calls).await;
    });
}

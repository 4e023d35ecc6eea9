//! The operator at scale: N Installations (500 under `cargo bench`, 5 as a smoke round under
//! `cargo test`) applied at once to the test cluster, with the operator running as a child
//! process (`linnstream operator`, so its memory is its own). Reports the time until every
//! Installation is Ready, the operator's peak resident memory (VmHWM), and the Kubernetes
//! API requests it sent per reconcile (its `linnstream_operator_api_requests_total`, less
//! the leader Lease's renewals, over `linnstream_operator_reconciles_total`; watches count
//! once per (re)connection). Targets: all Ready within 2 minutes, under
//! 64 MiB.
//!
//! Needs the test cluster and PostgreSQL: `scripts/test-cluster.sh start`,
//! `eval "$(scripts/test-cluster.sh env)"`, then `cargo bench --bench operator`.

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::api::Api;
use serde_json::json;

use linnstream::crd::{ConditionStatus, Installation};
use support::operator::{Env, PUBLIC_BASE_URL};

fn installation(env: &Env, name: &str) -> serde_json::Value {
    let mut inst = support::yaml_doc(&support::example("installation.yaml"));
    inst["metadata"]["name"] = json!(name);
    inst["spec"]["stream"]["clientUrl"] = json!(env.stream_url);
    inst["spec"]["webhooks"]["publicBaseUrl"] = json!(PUBLIC_BASE_URL);
    // For comparisons: LINNSTREAM_BENCH_WEBHOOKS=off leaves the receivers and Stream out.
    if std::env::var("LINNSTREAM_BENCH_WEBHOOKS").as_deref() == Ok("off") {
        inst["spec"]["webhooks"]["enabled"] = json!(false);
    }
    inst
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        // Leader election renews its Lease on a timer, not per reconcile.
        .filter(|l| !l.contains("resource=\"leases\""))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

fn vm_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with(field))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let count: usize = if full { 500 } else { 5 };
    let env = Env::new().await;
    env.apply_examples(|inst| {
        // Only the Secrets and mappings are wanted; the example Installation is replaced by
        // the numbered ones below.
        inst["metadata"]["name"] = json!("inst-0");
    })
    .await;
    let names: Vec<String> = (0..count).map(|i| format!("inst-{i}")).collect();
    for name in &names {
        env.seed_healthy(name).await;
    }

    let port = free_port();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_linnstream"))
        .args([
            "operator",
            "--image",
            "linnstream:bench",
            "--database-url",
            &env.db.url,
        ])
        .args([
            "--watch-namespace",
            &env.ns.name,
            "--lease-namespace",
            &env.ns.name,
        ])
        .args(["--metrics-listen", &format!("127.0.0.1:{port}")])
        .env("KUBECONFIG", support::kubeconfig_path())
        .env("LINNSTREAM_LOG", "warn")
        .stdin(Stdio::null())
        .stderr(if std::env::var_os("LINNSTREAM_BENCH_DUMP").is_some() {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .kill_on_drop(true)
        .spawn()
        .expect("start linnstream operator");
    let pid = child.id().expect("pid");
    let http = reqwest::Client::new();
    let metrics_url = format!("http://127.0.0.1:{port}/metrics");
    let scrape = || async { http.get(&metrics_url).send().await.ok()?.text().await.ok() };
    let started_waiting = Instant::now();
    while scrape().await.is_none() {
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "the operator exited at start"
        );
        assert!(
            started_waiting.elapsed() < Duration::from_secs(30),
            "the operator did not serve /metrics within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_before = vm_kib(pid, "VmRSS:").unwrap_or(0);

    // All at once (16 applies in flight), timed from the first.
    let started = Instant::now();
    futures::stream::iter(names.iter().skip(1))
        .for_each_concurrent(16, |name| {
            let obj = installation(&env, name);
            let env = &env;
            async move { env.apply_json(&obj).await }
        })
        .await;
    let applied = started.elapsed();
    let api: Api<Installation> = Api::namespaced(env.client.clone(), &env.ns.name);
    let limit = Duration::from_secs(if full { 600 } else { 120 });
    let ready_after = loop {
        let list = api.list(&Default::default()).await.expect("list");
        let ready = list
            .items
            .iter()
            .filter(|i| {
                i.status.as_ref().is_some_and(|s| {
                    s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
                })
            })
            .count();
        if ready == count {
            break started.elapsed();
        }
        if started.elapsed() > limit {
            panic!("only {ready} of {count} Installations Ready after {limit:?}");
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the operator exited: {status}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let at_ready = scrape().await.expect("metrics");
    // A few resyncs in the steady state, for the cost of a reconcile with nothing to do.
    tokio::time::sleep(Duration::from_secs(if full { 70 } else { 12 })).await;
    let later = scrape().await.expect("metrics");
    let hwm = vm_kib(pid, "VmHWM:").expect("VmHWM of the operator");
    let rss = vm_kib(pid, "VmRSS:").expect("VmRSS of the operator");

    let reconciles = |t: &str| metric(t, "linnstream_operator_reconciles_total");
    let requests = |t: &str| metric(t, "linnstream_operator_api_requests_total");
    let converge_per = requests(&at_ready) / reconciles(&at_ready).max(1.0);
    let steady_reconciles = reconciles(&later) - reconciles(&at_ready);
    let steady_per = (requests(&later) - requests(&at_ready)) / steady_reconciles.max(1.0);
    println!("operator_installations: {count} count");
    println!("operator_apply_all: {:.1} s", applied.as_secs_f64());
    println!(
        "operator_time_to_all_ready: {:.1} s",
        ready_after.as_secs_f64()
    );
    println!("operator_rss_before: {:.1} MiB", rss_before as f64 / 1024.0);
    println!("operator_peak_rss: {:.1} MiB", hwm as f64 / 1024.0);
    println!("operator_rss_at_rest: {:.1} MiB", rss as f64 / 1024.0);
    println!(
        "operator_reconciles_to_ready: {} count",
        reconciles(&at_ready)
    );
    println!(
        "operator_api_requests_to_ready: {} count",
        requests(&at_ready)
    );
    println!("operator_api_requests_per_reconcile_converging: {converge_per:.2} requests");
    println!("operator_api_requests_per_reconcile_steady: {steady_per:.2} requests");
    if full {
        println!(
            "operator_targets: {} (all Ready within 120 s: {}, under 64 MiB: {})",
            if ready_after <= Duration::from_secs(120) && hwm < 64 * 1024 {
                "met"
            } else {
                "missed"
            },
            ready_after <= Duration::from_secs(120),
            hwm < 64 * 1024
        );
    }

    if std::env::var_os("LINNSTREAM_BENCH_DUMP").is_some() {
        eprintln!("--- metrics when all were Ready:\n{at_ready}\n--- and later:\n{later}");
    }
    let _ = child.kill().await;
    // The finalizers need a running operator: clear them so the namespace can go.
    for name in &names {
        let _ = api
            .patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
    }
    env.finish().await;
}

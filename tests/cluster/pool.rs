//! The shared worker pool on the test cluster: the operator (in process) keeps the pool's
//! Deployments; the test plays kubelet, starting `linnstream pool-worker` and
//! `pool-webhooks` with exactly the arguments and environment the Deployments carry (as the
//! pool's ServiceAccount, reading the operator's config Secret), and a dedicated worker
//! the same way when an Installation switches to Dedicated.
//!
//! 50 Installations, each with a Linnworks account of its own, share one Stream account
//! (each with its own order number prefix). Three pool workers serve them; one is killed
//! and the others take its installations over; one installation goes Dedicated and back
//! with orders in its queue. Every order reaches Stream exactly once.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::process::Child;

use linnstream::crd::Installation;
use linnstream::crd::installation::WorkerMode;
use linnstream::domain::{OrderStatus, WebhookStatus};
use linnstream::operator::ConfigSecret;
use linnstream::operator::build::PoolSettings;
use linnstream::sim::kit::RunningServer;
use linnstream::sim::linnworks::LinnworksSim;
use linnstream::sim::stream::{StreamSim, StreamSimConfig};
use linnstream::sim::world::{NEXT_DAY, World, WorldSettings, linnworks_account, order};
use linnstream::store::Store;

use crate::support::db::create_postgres_database;
use crate::support::operator::{DATABASE_SECRET, RunningOperator, kubectl, operator_config};
use crate::support::pods::{free_port, kubeconfig_as, pod_command, terminate};
use crate::support::{TestNamespace, apply, client, eventually, install_crds, yaml_docs};

const INSTALLATIONS: usize = 50;
const WORKERS: usize = 3;
const LEASE: Duration = Duration::from_secs(6);
const CONFIG_SECRET: &str = "linnstream-config";
/// The installation that switches modes (its own Stream account, to hold its queue).
const SWITCHER: usize = 0;
/// The installation whose webhooks the shared receiver takes.
const HOOKED: usize = 1;

/// Appends to `dir/NAME.log` (stdout and stderr of one process share it).
fn log_file(dir: &std::path::Path, name: &str) -> std::fs::File {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(format!("{name}.log")))
        .expect("log file")
}

fn name(i: usize) -> String {
    format!("shop-{i:02}")
}

fn prefix(i: usize) -> String {
    format!("S{i:02}-")
}

struct Account {
    linnworks: LinnworksSim,
    _server: RunningServer,
}

/// Creates per order number: the order create calls Stream answered, by orderNo.
fn creates(sim: &StreamSim) -> BTreeMap<String, Vec<u16>> {
    let mut out: BTreeMap<String, Vec<u16>> = BTreeMap::new();
    for r in sim.kit().recorder().requests() {
        if r.method == "POST"
            && r.path.ends_with("/orders/orders")
            && let (Some(status), Some(no)) = (
                r.status,
                r.json
                    .as_ref()
                    .and_then(|j| j["header"]["orderNo"].as_str().map(str::to_string)),
            )
        {
            out.entry(no).or_default().push(status);
        }
    }
    out
}

/// Each order number created exactly once (one 2xx, no 409 "already exists").
fn assert_each_sent_once(sim: &StreamSim, expected: usize, what: &str) {
    let creates = creates(sim);
    let accepted: Vec<&String> = creates
        .iter()
        .filter(|(_, s)| s.iter().any(|s| (200..300).contains(s)))
        .map(|(n, _)| n)
        .collect();
    for (no, statuses) in &creates {
        let ok = statuses.iter().filter(|s| (200..300).contains(*s)).count();
        assert!(
            ok <= 1 && !statuses.contains(&409),
            "{what}: order {no} was sent more than once: {statuses:?}"
        );
    }
    assert_eq!(accepted.len(), expected, "{what}: orders in Stream");
}

/// Stream refuses the switcher's orders (503) until [`release`], and orders `numbers` arrive
/// in its Linnworks account: they wait in its queue. Returns the fault.
async fn hold_queue(
    http: &reqwest::Client,
    stream: &str,
    linnworks: &LinnworksSim,
    store: &Store,
    id: &str,
    numbers: std::ops::RangeInclusive<i64>,
) -> Value {
    let fault: Value = http
        .post(format!("{stream}/_sim/faults"))
        .json(&json!({"path": "/api/orders/*", "method": "POST", "kind": "status", "status": 503}))
        .send()
        .await
        .expect("fault")
        .json()
        .await
        .expect("json");
    let waiting = numbers.clone().count() as u64;
    linnworks
        .add_orders(
            numbers
                .map(|n| serde_json::from_value(order(n, NEXT_DAY)).expect("order"))
                .collect(),
        )
        .expect("orders");
    eventually(60, "the switcher's new orders queued", || async {
        let c = store.queue_counts(id).await.expect("counts");
        c.total() - c.get(OrderStatus::Completed) >= waiting
    })
    .await;
    fault
}

/// Stream takes the switcher's orders again.
async fn release(http: &reqwest::Client, stream: &str, fault: &Value) {
    http.delete(format!(
        "{stream}/_sim/faults/{}",
        fault["id"].as_u64().expect("fault id")
    ))
    .send()
    .await
    .expect("remove fault");
}

async fn completed(store: &Store, id: &str) -> u64 {
    store
        .queue_counts(id)
        .await
        .expect("counts")
        .get(OrderStatus::Completed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_pool_of_three_serves_fifty_installations_through_a_kill_and_a_mode_switch() {
    let _cluster = crate::cluster_alone().await;
    let admin = client().await;
    install_crds(&admin).await;
    let ns = TestNamespace::new(&admin).await;
    let db = create_postgres_database().await;
    let store = Store::connect(&db.url).await.expect("store");
    let world = World::start().await.expect("simulators");
    // The switcher's own Stream account: faults there hold its queue without touching
    // the others.
    let solo_stream = StreamSim::new(StreamSimConfig::default()).expect("stream sim");
    let solo_server = solo_stream.serve_loopback().await.expect("serve");
    let receiver_port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(&resources, &WorldSettings::default())
        .expect("resources");
    let doc = |file: &str| yaml_docs(&resources.join(file));

    apply(
        &admin,
        &ns.name,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": DATABASE_SECRET},
                "stringData": {"url": db.url}}),
        false,
    )
    .await
    .expect("database Secret");
    for secret in doc("secrets.yaml") {
        apply(&admin, &ns.name, &secret, false)
            .await
            .expect("Secret");
    }
    let mut accounts = Vec::new();
    for i in 0..INSTALLATIONS {
        let (linnworks, server) = linnworks_account(std::net::Ipv4Addr::LOCALHOST.into())
            .await
            .expect("a Linnworks account");
        let mut inst = doc("installation.yaml").remove(0);
        inst["metadata"]["name"] = json!(name(i));
        inst["spec"]["linnworks"]["apiBaseUrl"] = json!(server.url());
        inst["spec"]["sync"]["orderNumPrefix"] = json!(prefix(i));
        if i == SWITCHER {
            inst["spec"]["stream"]["clientUrl"] = json!(format!("{}/api", solo_server.url()));
        }
        if i == HOOKED {
            inst["spec"]["webhooks"]["enabled"] = json!(true);
            inst["spec"]["webhooks"]["publicBaseUrl"] =
                json!(format!("http://127.0.0.1:{receiver_port}"));
        }
        // No mode: the operator's default (Pool) applies.
        apply(&admin, &ns.name, &inst, false)
            .await
            .expect("Installation");
        for file in ["mapping-delivery.yaml", "mapping-collection.yaml"] {
            let mut m = doc(file).remove(0);
            let base = m["metadata"]["name"].as_str().expect("name").to_string();
            m["metadata"]["name"] = json!(format!("{}-{base}", name(i)));
            m["spec"]["installationRef"]["name"] = json!(name(i));
            apply(&admin, &ns.name, &m, false).await.expect("mapping");
        }
        accounts.push(Account {
            linnworks,
            _server: server,
        });
    }

    let mut config = operator_config(&ns.name, &db.url, "pool");
    config.config_secret = Some(ConfigSecret {
        namespace: ns.name.clone(),
        name: CONFIG_SECRET.into(),
    });
    config.pool = Some(PoolSettings {
        replicas: Some(WORKERS as i32),
        ..PoolSettings::default()
    });
    config.children.default_worker_mode = WorkerMode::Pool;
    config.children.lease_duration = LEASE;
    config.children.system.max_installations_per_batch = 8;
    config.children.system.shutdown_grace_seconds = 5;
    let operator = RunningOperator::start(admin.clone(), config).await;

    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &ns.name);
    let pool = PoolSettings::default();
    eventually(60, "the pool's Deployments", || async {
        deployments
            .get_opt(&pool.worker_name())
            .await
            .expect("get")
            .is_some()
            && deployments
                .get_opt(&pool.webhooks_name())
                .await
                .expect("get")
                .is_some()
    })
    .await;
    let pod_of =
        |d: Deployment| serde_json::to_value(d).expect("json")["spec"]["template"]["spec"].clone();
    let worker_deployment = deployments.get(&pool.worker_name()).await.expect("get");
    assert_eq!(
        worker_deployment.spec.as_ref().and_then(|s| s.replicas),
        Some(WORKERS as i32)
    );
    let worker_pod = pod_of(worker_deployment);
    let pool_kubeconfig = kubeconfig_as(
        dir.path(),
        &format!("system:serviceaccount:{}:{}", ns.name, pool.name),
    );
    // Logs go to files: a pool worker of 17 installations writes more than a pipe holds.
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let start_worker = |i: usize| {
        let (admin, ns, pod, kubeconfig, logs) = (
            admin.clone(),
            ns.name.clone(),
            worker_pod.clone(),
            pool_kubeconfig.clone(),
            logs.clone(),
        );
        async move {
            pod_command(
                &admin,
                &ns,
                &pod,
                &format!("linnstream-pool-worker-{i}"),
                &kubeconfig,
                None,
            )
            .await
            .stdout(log_file(&logs, &format!("worker-{i}")))
            .stderr(log_file(&logs, &format!("worker-{i}")))
            .spawn()
            .expect("linnstream pool-worker")
        }
    };
    let mut workers: Vec<Option<Child>> = Vec::new();
    for i in 0..WORKERS {
        workers.push(Some(start_worker(i).await));
    }
    let receiver_pod = pod_of(deployments.get(&pool.webhooks_name()).await.expect("get"));
    let receiver = pod_command(
        &admin,
        &ns.name,
        &receiver_pod,
        "linnstream-pool-webhooks-0",
        &pool_kubeconfig,
        Some(receiver_port),
    )
    .await
    .stdout(log_file(&logs, "receiver"))
    .stderr(log_file(&logs, "receiver"))
    .spawn()
    .expect("linnstream pool-webhooks");

    // Two orders in every account; every installation sends its own, once.
    for (i, a) in accounts.iter().enumerate() {
        let n = 1000 * i as i64;
        a.linnworks
            .add_orders(
                vec![order(n + 1, NEXT_DAY), order(n + 2, NEXT_DAY)]
                    .into_iter()
                    .map(|o| serde_json::from_value(o).expect("order"))
                    .collect(),
            )
            .expect("orders");
    }
    let ids: Vec<String> = (0..INSTALLATIONS)
        .map(|i| format!("{}/{}", ns.name, name(i)))
        .collect();
    eventually(
        240,
        "two orders Completed in every installation",
        || async {
            for id in &ids {
                if completed(&store, id).await < 2 {
                    return false;
                }
            }
            true
        },
    )
    .await;
    // The leases are spread evenly over the three.
    eventually(60, "the leases spread over three workers", || async {
        let leases = store.leases().await.expect("leases");
        let mut by: BTreeMap<String, usize> = BTreeMap::new();
        for l in &leases {
            *by.entry(l.holder.clone()).or_default() += 1;
        }
        leases.len() == INSTALLATIONS
            && by.len() == WORKERS
            && by.values().all(|n| (16..=17).contains(n))
    })
    .await;

    // Status: mode and holder per Installation, in `kubectl get`.
    let inst_api: Api<Installation> = Api::namespaced(admin.clone(), &ns.name);
    let shown = |i: &Installation| {
        i.status
            .as_ref()
            .and_then(|s| s.workers.as_ref())
            .is_some_and(|w| {
                w.mode.as_deref() == Some("Pool")
                    && w.holder
                        .as_deref()
                        .is_some_and(|h| h.starts_with("linnstream-pool-worker-"))
                    && w.live_heartbeats >= 1
            })
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let list = inst_api.list(&Default::default()).await.expect("list");
        let wrong: Vec<String> = list
            .items
            .iter()
            .filter(|i| !shown(i))
            .map(|i| {
                format!(
                    "{}: {:?}",
                    i.metadata.name.as_deref().unwrap_or_default(),
                    i.status.as_ref().map(|s| (&s.workers, &s.conditions))
                )
            })
            .collect();
        if list.items.len() == INSTALLATIONS && wrong.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "every Installation showing Pool and its worker: {wrong:#?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let table = kubectl(&ns.name, &["get", "installations"]);
    let header = table.lines().next().expect("header");
    assert!(
        header.contains("MODE") && header.contains("WORKER"),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with("shop-07")
            && l.contains("Pool")
            && l.contains("linnstream-pool-worker-")),
        "{table}"
    );

    // The shared receiver takes the hooked installation's webhook with its own token.
    let hooked = &ids[HOOKED];
    let http = reqwest::Client::new();
    let sent: Value = http
        .get(format!("{}/_sim/orders", world.stream_server.url()))
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let hooked_order = sent["orders"]
        .as_array()
        .expect("orders")
        .iter()
        .filter_map(|o| o["orderNo"].as_str())
        .find(|n| n.starts_with(&prefix(HOOKED)))
        .expect("an order of the hooked installation")
        .to_string();
    eventually(60, "the hooked installation subscribed", || async {
        inst_api
            .get(&name(HOOKED))
            .await
            .expect("get")
            .status
            .and_then(|s| s.webhook_subscriptions)
            .is_some_and(|w| !w.subscriptions.is_empty())
    })
    .await;
    let answer = http
        .post(format!("{}/_sim/events", world.stream_server.url()))
        .json(&json!({"action": "deliver", "orderNo": hooked_order}))
        .send()
        .await
        .expect("event");
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
    eventually(60, "the DELIVERED event received and processed", || async {
        store
            .webhook_counts(hooked)
            .await
            .expect("counts")
            .get(WebhookStatus::Processed)
            >= 1
    })
    .await;

    // One worker dies (SIGKILL: no orderly hand-over). Its installations are taken over
    // once its leases expire, and keep syncing.
    let victim = "linnstream-pool-worker-0";
    let victims: Vec<String> = store
        .leases()
        .await
        .expect("leases")
        .into_iter()
        .filter(|l| l.holder == victim)
        .map(|l| l.installation)
        .collect();
    assert!(!victims.is_empty());
    let mut dead = workers[0].take().expect("worker 0");
    dead.kill().await.expect("kill");
    let killed = Instant::now();
    eventually(60, "the dead worker's installations taken over", || async {
        let leases = store.leases().await.expect("leases");
        let now = chrono::Utc::now();
        victims.iter().all(|v| {
            leases
                .iter()
                .any(|l| &l.installation == v && l.holder != victim && l.expires_at > now)
        })
    })
    .await;
    let takeover = killed.elapsed();
    eprintln!("takeover after {takeover:?} (lease {LEASE:?})");
    for (i, a) in accounts.iter().enumerate() {
        let n = 1000 * i as i64;
        a.linnworks
            .add_orders(
                vec![order(n + 3, NEXT_DAY), order(n + 4, NEXT_DAY)]
                    .into_iter()
                    .map(|o| serde_json::from_value(o).expect("order"))
                    .collect(),
            )
            .expect("orders");
    }
    eventually(
        240,
        "four orders Completed in every installation",
        || async {
            for id in &ids {
                if completed(&store, id).await < 4 {
                    return false;
                }
            }
            true
        },
    )
    .await;
    let leases = store.leases().await.expect("leases");
    assert!(
        leases.iter().all(|l| l.holder != victim),
        "the dead worker holds nothing"
    );

    // The switcher goes Dedicated with orders in its queue: Stream refuses its orders for
    // now, so they wait.
    let switcher = &ids[SWITCHER];
    let fault = hold_queue(
        &http,
        &solo_server.url(),
        &accounts[SWITCHER].linnworks,
        &store,
        switcher,
        5..=7,
    )
    .await;
    inst_api
        .patch(
            &name(SWITCHER),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"workers": {"mode": "Dedicated"}}})),
        )
        .await
        .expect("patch");
    let dedicated_name = format!("{}-worker", name(SWITCHER));
    eventually(60, "the switcher's own worker Deployment", || async {
        deployments
            .get_opt(&dedicated_name)
            .await
            .expect("get")
            .is_some()
    })
    .await;
    let dedicated_pod = pod_of(deployments.get(&dedicated_name).await.expect("get"));
    let dedicated_kubeconfig_dir = tempfile::tempdir().expect("tempdir");
    let dedicated_kubeconfig = kubeconfig_as(
        dedicated_kubeconfig_dir.path(),
        &format!(
            "system:serviceaccount:{}:{}-config-reader",
            ns.name,
            name(SWITCHER)
        ),
    );
    let dedicated = pod_command(
        &admin,
        &ns.name,
        &dedicated_pod,
        &format!("{dedicated_name}-abc12"),
        &dedicated_kubeconfig,
        None,
    )
    .await
    .stdout(log_file(&logs, "dedicated"))
    .stderr(log_file(&logs, "dedicated"))
    .spawn()
    .expect("linnstream worker");
    eventually(60, "the dedicated worker holding the switcher", || async {
        store
            .lease(switcher)
            .await
            .expect("lease")
            .is_some_and(|l| !l.holder.starts_with("linnstream-pool-worker-"))
    })
    .await;
    eventually(60, "the switcher's status saying Dedicated", || async {
        inst_api
            .get(&name(SWITCHER))
            .await
            .expect("get")
            .status
            .and_then(|s| s.workers)
            .is_some_and(|w| w.mode.as_deref() == Some("Dedicated"))
    })
    .await;
    // Stream takes orders again: the dedicated worker sends the queue, once.
    release(&http, &solo_server.url(), &fault).await;
    eventually(
        120,
        "the switcher's queue sent by its own worker",
        || async { completed(&store, switcher).await == 7 },
    )
    .await;

    // And back to the pool, with orders queued again.
    let fault = hold_queue(
        &http,
        &solo_server.url(),
        &accounts[SWITCHER].linnworks,
        &store,
        switcher,
        8..=9,
    )
    .await;
    inst_api
        .patch(
            &name(SWITCHER),
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"workers": {"mode": "Pool"}}})),
        )
        .await
        .expect("patch");
    eventually(60, "the switcher's worker Deployment deleted", || async {
        deployments
            .get_opt(&dedicated_name)
            .await
            .expect("get")
            .is_none()
    })
    .await;
    // The kubelet stops the deleted Deployment's pod.
    terminate(dedicated, "dedicated worker").await;
    let dedicated_log = std::fs::read_to_string(logs.join("dedicated.log")).expect("log");
    assert!(dedicated_log.contains("lease taken"), "{dedicated_log}");
    eventually(60, "the pool holding the switcher again", || async {
        store
            .lease(switcher)
            .await
            .expect("lease")
            .is_some_and(|l| l.holder.starts_with("linnstream-pool-worker-"))
    })
    .await;
    release(&http, &solo_server.url(), &fault).await;
    eventually(120, "the switcher's queue sent by the pool", || async {
        completed(&store, switcher).await == 9
    })
    .await;

    // No order lost, none sent twice.
    assert_each_sent_once(&solo_stream, 9, "the switcher");
    assert_each_sent_once(
        &world.stream,
        4 * (INSTALLATIONS - 1),
        "the pooled installations",
    );
    for id in &ids {
        let c = store.queue_counts(id).await.expect("counts");
        assert_eq!(
            c.total(),
            c.get(OrderStatus::Completed),
            "{id}: every order Completed"
        );
    }

    for w in workers.into_iter().flatten() {
        terminate(w, "pool worker").await;
    }
    terminate(receiver, "pool receiver").await;
    let mut all_logs = String::new();
    for entry in std::fs::read_dir(&logs).expect("logs") {
        all_logs.push_str(&std::fs::read_to_string(entry.expect("entry").path()).expect("log"));
    }
    assert!(all_logs.contains("pool worker stopped; leases given back"));
    for secret in [
        linnstream::sim::stream::DEMO_CLIENT_SECRET,
        linnstream::sim::linnworks::DEMO_APPLICATION_SECRET,
    ] {
        assert!(!all_logs.contains(secret), "a secret in a pool log");
    }
    assert!(
        store.leases().await.expect("leases").is_empty(),
        "the stopped workers gave their leases back"
    );

    operator.stop().await.expect("clean stop");
    let list = inst_api.list(&Default::default()).await.expect("list");
    for inst in list.items {
        let _ = inst_api
            .patch(
                &inst.metadata.name.unwrap_or_default(),
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
            )
            .await;
    }
    solo_server.shutdown().await;
    store.close().await;
    ns.delete().await;
}

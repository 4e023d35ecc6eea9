//! The operator's children as a platform team scrapes them: the worker and the webhook
//! receiver run with exactly the arguments and environment of their Deployments (as in
//! tests/cluster/end_to_end.rs), against the simulators, and their `/metrics` (read with
//! a Prometheus parser) move as the sync does: orders fetched, one failing validation, a
//! 429 from Stream retried, a webhook received by one process and applied by the other.
//! Both answer `/healthz` and `/readyz` on the port their probes use.

use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::{Value, json};

use linnstream::sim::world::{NEXT_DAY, World, WorldSettings, order};

use crate::support;
use crate::support::db::create_postgres_database;
use crate::support::operator::{DATABASE_SECRET, RunningOperator, operator_config};
use crate::support::pods::{free_port, kubeconfig_as, output, pod_command, terminate};
use crate::support::{TestNamespace, apply, client, eventually, install_crds, yaml_docs};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The `--health-listen` address a pod command was given.
fn health_url(command: &tokio::process::Command) -> String {
    let args: Vec<String> = command
        .as_std()
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let at = args
        .iter()
        .position(|a| a == "--health-listen")
        .expect("--health-listen");
    format!("http://{}", args[at + 1])
}

async fn scrape(base: &str) -> Option<prometheus_parse::Scrape> {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    Some(prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).expect("parses"))
}

fn value(s: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    s.samples
        .iter()
        .filter(|x| x.metric == metric && labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            _ => 0.0,
        })
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_workers_and_receivers_metrics_follow_the_sync() {
    let _cluster = crate::shared_cluster().await;
    let admin = client().await;
    install_crds(&admin).await;
    let ns = TestNamespace::new(&admin).await;
    let db = create_postgres_database().await;
    let world = World::start().await.expect("simulators");
    let receiver_port = free_port();
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = WorldSettings {
        public_base_url: Some(format!("http://127.0.0.1:{receiver_port}")),
        ..WorldSettings::default()
    };
    world
        .write_resources(&dir.path().join("resources"), &settings)
        .expect("resources");
    apply(
        &admin,
        &ns.name,
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": DATABASE_SECRET},
                "data": {"url": b64(&db.url)}}),
        false,
    )
    .await
    .expect("database Secret");
    for file in [
        "secrets.yaml",
        "installation.yaml",
        "mapping-delivery.yaml",
        "mapping-collection.yaml",
    ] {
        for doc in yaml_docs(&dir.path().join("resources").join(file)) {
            apply(&admin, &ns.name, &doc, false)
                .await
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    let _operator =
        RunningOperator::start(admin.clone(), operator_config(&ns.name, &db.url, "obs")).await;
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &ns.name);
    eventually(60, "the worker and receiver Deployments", || async {
        deployments
            .get_opt("acme-worker")
            .await
            .expect("get")
            .is_some()
            && deployments
                .get_opt("acme-webhooks")
                .await
                .expect("get")
                .is_some()
    })
    .await;
    let pod_of = |d: Deployment| serde_json::to_value(d).expect("json")["spec"]["template"].clone();
    let kubeconfig = kubeconfig_as(
        dir.path(),
        &format!("system:serviceaccount:{}:acme-config-reader", ns.name),
    );

    // The depots the worker validates against: the postal-services CronJob, run once.
    let cron = support::api_for(
        &admin,
        &json!({"apiVersion": "batch/v1beta1", "kind": "CronJob"}),
        &ns.name,
    )
    .await;
    // The CronJobs are applied after the Deployments: wait for them too.
    for name in ["acme-postal-services", "acme-identifiers"] {
        eventually(60, name, || async {
            cron.get_opt(name).await.expect("get").is_some()
        })
        .await;
    }
    for name in ["acme-postal-services", "acme-identifiers"] {
        let job = serde_json::to_value(cron.get(name).await.expect("CronJob")).expect("json");
        let pod = &job["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let mut command = pod_command(
            &admin,
            &ns.name,
            pod,
            &format!("{name}-1"),
            &kubeconfig,
            None,
        )
        .await;
        output(command.spawn().expect("master-data"), name).await;
    }

    let receiver_template = pod_of(deployments.get("acme-webhooks").await.expect("receiver"));
    let worker_template = pod_of(deployments.get("acme-worker").await.expect("worker"));
    for template in [&receiver_template, &worker_template] {
        let labels = &template["metadata"]["labels"];
        assert_eq!(labels[linnstream::operator::build::SCRAPE_LABEL], "true");
        let c = &template["spec"]["containers"][0];
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
        assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    }
    let mut receiver_cmd = pod_command(
        &admin,
        &ns.name,
        &receiver_template["spec"],
        "acme-webhooks-abc12",
        &kubeconfig,
        Some(receiver_port),
    )
    .await;
    let receiver_health = health_url(&receiver_cmd);
    let receiver = receiver_cmd.spawn().expect("linnstream webhooks");
    let mut worker_cmd = pod_command(
        &admin,
        &ns.name,
        &worker_template["spec"],
        "acme-worker-xyz89",
        &kubeconfig,
        None,
    )
    .await;
    let worker_health = health_url(&worker_cmd);
    let worker = worker_cmd.spawn().expect("linnstream worker");

    // Stream answers the first create with a 429; one order lacks its address.
    let fault = reqwest::Client::new()
        .post(format!("{}/_sim/faults", world.stream_server.url()))
        .json(
            &json!({"path": "/api/orders/orders", "method": "POST", "kind": "rateLimited",
                      "retryAfterSeconds": 1, "times": 1}),
        )
        .send()
        .await
        .expect("sim");
    assert!(fault.status().is_success());
    let mut bad = order(8003, NEXT_DAY);
    bad["customer"]["postCode"] = json!("");
    bad["customer"]["town"] = json!("");
    world
        .add_orders(vec![order(8001, NEXT_DAY), order(8002, NEXT_DAY), bad])
        .expect("orders");

    let ns_name = ns.name.clone();
    let inst = |extra: &[(&'static str, &'static str)]| {
        let mut l: Vec<(&str, &str)> =
            vec![("namespace", ns_name.as_str()), ("installation", "acme")];
        l.extend_from_slice(extra);
        l
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    let worker_metrics = loop {
        if let Some(s) = scrape(&worker_health).await
            && value(
                &s,
                "linnstream_order_transitions_total",
                &inst(&[("status", "Completed")]),
            ) >= 2.0
            && value(
                &s,
                "linnstream_queue_orders",
                &inst(&[("status", "Completed")]),
            ) >= 2.0
        {
            break s;
        }
        if Instant::now() > deadline {
            let text = match reqwest::get(format!("{worker_health}/metrics")).await {
                Ok(r) => r.text().await.unwrap_or_default(),
                Err(e) => format!("no answer: {e}"),
            };
            let log = terminate(worker, "worker").await;
            panic!("the worker's metrics never showed two orders Completed:\n{text}\nlog:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let m = &worker_metrics;
    assert_eq!(
        value(m, "linnstream_build_info", &[("process", "worker")]),
        1.0
    );
    assert_eq!(
        value(
            m,
            "linnstream_order_transitions_total",
            &inst(&[("status", "ValidationFailed")])
        ),
        1.0
    );
    assert_eq!(
        value(
            m,
            "linnstream_sends_total",
            &inst(&[("outcome", "completed")])
        ),
        2.0
    );
    assert_eq!(
        value(
            m,
            "linnstream_remote_rate_limited_total",
            &inst(&[("service", "stream")])
        ),
        1.0
    );
    assert!(
        value(
            m,
            "linnstream_remote_retries_total",
            &inst(&[("service", "stream")])
        ) >= 1.0
    );
    assert_eq!(
        value(
            m,
            "linnstream_remote_requests_total",
            &inst(&[
                ("service", "stream"),
                ("endpoint", "orders/create"),
                ("status_class", "4xx")
            ])
        ),
        1.0
    );
    assert!(
        value(
            m,
            "linnstream_job_runs_total",
            &inst(&[("job", "send-orders"), ("outcome", "succeeded")])
        ) >= 1.0
    );
    assert!(
        value(
            m,
            "linnstream_worker_last_heartbeat_timestamp_seconds",
            &inst(&[])
        ) > 0.0
    );
    assert!(
        value(
            m,
            "linnstream_master_data_last_sync_timestamp_seconds",
            &inst(&[("kind", "Depots")])
        ) > 0.0
    );

    // A delivery: the receiver stores it, the worker applies it.
    let stream_orders: Value = reqwest::get(format!("{}/_sim/orders", world.stream_server.url()))
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let order_no = stream_orders["orders"][0]["orderNo"]
        .as_str()
        .expect("orderNo")
        .to_string();
    let answer = reqwest::Client::new()
        .post(format!("{}/_sim/events", world.stream_server.url()))
        .json(&json!({"action": "deliver", "orderNo": order_no}))
        .send()
        .await
        .expect("event");
    assert!(answer.status().is_success());
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let r = scrape(&receiver_health).await;
        let w = scrape(&worker_health).await;
        if let (Some(r), Some(w)) = (r, w)
            && value(&r, "linnstream_webhook_events_received_total", &inst(&[])) >= 1.0
            && value(&w, "linnstream_webhook_events_processed_total", &inst(&[])) >= 1.0
        {
            assert_eq!(
                value(&r, "linnstream_build_info", &[("process", "webhooks")]),
                1.0
            );
            // The receiver stores; it never sends or applies.
            assert_eq!(value(&r, "linnstream_sends_total", &[]), 0.0);
            assert_eq!(
                value(&w, "linnstream_webhook_events_received_total", &[]),
                0.0
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the webhook never showed in both processes' metrics"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for base in [&receiver_health, &worker_health] {
        for path in ["/healthz", "/readyz"] {
            let r = reqwest::get(format!("{base}{path}")).await.expect(path);
            assert_eq!(r.status().as_u16(), 200, "{base}{path}");
        }
    }
    let log = terminate(worker, "worker").await;
    assert!(!log.contains('\u{1b}'), "escape codes in the worker's log");
    terminate(receiver, "receiver").await;
}

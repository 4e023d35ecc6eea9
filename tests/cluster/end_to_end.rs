//! YAML -> operator -> worker -> Stream, end to end: the world's resources (pointed at the
//! Linnworks and Stream simulators) are applied to the test cluster; the operator (in
//! process) makes the children; the test then plays kubelet: it starts `linnstream` with
//! exactly the arguments and environment of the master-data CronJobs, the webhook receiver
//! and the worker Deployment (Secrets resolved from the API, the settings read as the
//! Installation's ServiceAccount). Orders flow from Linnworks to Stream, a Stream webhook
//! flows back, and the Installation becomes Ready from the real processes' work.

use std::time::{Duration, Instant};

use base64::Engine as _;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::{Value, json};

use linnstream::crd::{ConditionStatus, PostalServiceMapping};
use linnstream::domain::{OrderStatus, WebhookStatus};
use linnstream::sim::world::{NEXT_DAY, World, WorldSettings, order};
use linnstream::store::Store;

use crate::support;
use crate::support::db::create_postgres_database;
use crate::support::operator::{DATABASE_SECRET, RunningOperator, kubectl, operator_config};
use crate::support::pods::{free_port, kubeconfig_as, output, pod_command, terminate};
use crate::support::{TestNamespace, apply, client, eventually, install_crds, yaml_docs};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_flow_from_yaml_through_the_operators_children_to_stream_and_back() {
    let _cluster = crate::shared_cluster().await;
    let admin = client().await;
    install_crds(&admin).await;
    let ns = TestNamespace::new(&admin).await;
    let db = create_postgres_database().await;
    let store = Store::connect(&db.url).await.expect("store");
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

    // The platform team's YAML.
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
    let operator =
        RunningOperator::start(admin.clone(), operator_config(&ns.name, &db.url, "e2e")).await;
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
    let pod_of =
        |d: Deployment| serde_json::to_value(d).expect("json")["spec"]["template"]["spec"].clone();
    let kubeconfig = kubeconfig_as(
        dir.path(),
        &format!("system:serviceaccount:{}:acme-config-reader", ns.name),
    );

    // The master-data CronJobs, run once as their Jobs would.
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
        let log = output(command.spawn().expect("master-data"), name).await;
        assert!(
            !log.contains(linnstream::sim::stream::DEMO_CLIENT_SECRET),
            "a secret in the log"
        );
    }

    // The receiver and the worker, as their Deployments say.
    let receiver_pod = pod_of(deployments.get("acme-webhooks").await.expect("receiver"));
    let receiver = pod_command(
        &admin,
        &ns.name,
        &receiver_pod,
        "acme-webhooks-abc12",
        &kubeconfig,
        Some(receiver_port),
    )
    .await
    .spawn()
    .expect("linnstream webhooks");
    let worker_pod = pod_of(deployments.get("acme-worker").await.expect("worker"));
    let mut worker = pod_command(
        &admin,
        &ns.name,
        &worker_pod,
        "acme-worker-xyz89",
        &kubeconfig,
        None,
    )
    .await
    .spawn()
    .expect("linnstream worker");

    // Orders arrive in Linnworks; the worker sends them to Stream.
    world
        .add_orders(vec![order(7001, NEXT_DAY), order(7002, NEXT_DAY)])
        .expect("orders");
    let id = format!("{}/acme", ns.name);
    let started = Instant::now();
    eventually(90, "both orders Completed in the queue", || async {
        store
            .queue_counts(&id)
            .await
            .expect("counts")
            .get(OrderStatus::Completed)
            == 2
    })
    .await;
    let sent_after = started.elapsed();
    let http = reqwest::Client::new();
    let stream_orders: Value = http
        .get(format!("{}/_sim/orders", world.stream_server.url()))
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let orders = stream_orders["orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 2, "{stream_orders}");

    // Stream tells of a delivery: the receiver stores it, the worker applies it.
    let order_no = orders[0]["orderNo"].as_str().expect("orderNo").to_string();
    let answer = http
        .post(format!("{}/_sim/events", world.stream_server.url()))
        .json(&json!({"action": "deliver", "orderNo": order_no}))
        .send()
        .await
        .expect("event");
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
    eventually(60, "the DELIVERED event stored and processed", || async {
        store
            .webhook_counts(&id)
            .await
            .expect("counts")
            .get(WebhookStatus::Processed)
            >= 1
    })
    .await;

    // The Installation is Ready from the real processes' work: the worker's heartbeats, the
    // master data the CronJob command stored, the subscriptions the receiver answered.
    let inst_api: Api<linnstream::crd::Installation> = Api::namespaced(admin.clone(), &ns.name);
    eventually(
        30,
        "the Installation Ready with two completed orders",
        || async {
            let inst = inst_api.get("acme").await.expect("get");
            inst.status.is_some_and(|s| {
                s.queue.as_ref().is_some_and(|q| q.completed == 2)
                    && s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
            })
        },
    )
    .await;
    let mappings: Api<PostalServiceMapping> = Api::namespaced(admin.clone(), &ns.name);
    let next_day = mappings.get("acme-next-day").await.expect("mapping");
    let ready = next_day.status.expect("status").conditions;
    assert!(
        ready
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True),
        "{ready:?}"
    );
    let table = kubectl(&ns.name, &["get", "installations"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("acme") && l.contains("True")),
        "{table}"
    );

    // A settings change reaches the running worker without a restart: the next order goes
    // out with the new order number prefix.
    inst_api
        .patch(
            "acme",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"spec": {"sync": {"orderNumPrefix": "LIVE-"}}})),
        )
        .await
        .expect("patch");
    tokio::time::sleep(Duration::from_secs(2)).await;
    world
        .add_orders(vec![order(7003, NEXT_DAY)])
        .expect("order");
    eventually(
        60,
        "the third order in Stream with the new prefix",
        || async {
            let all: Value = http
                .get(format!("{}/_sim/orders", world.stream_server.url()))
                .send()
                .await
                .expect("sim")
                .json()
                .await
                .expect("json");
            all["orders"].as_array().is_some_and(|o| {
                o.iter().any(|o| {
                    o["orderNo"]
                        .as_str()
                        .is_some_and(|n| n.starts_with("LIVE-"))
                })
            })
        },
    )
    .await;
    assert!(
        worker.try_wait().expect("wait").is_none(),
        "the worker still runs: no restart"
    );

    let log = terminate(worker, "worker").await;
    assert!(log.contains("worker started"), "{log}");
    let receiver_log = terminate(receiver, "receiver").await;
    for secret in [
        linnstream::sim::stream::DEMO_CLIENT_SECRET,
        linnstream::sim::linnworks::DEMO_APPLICATION_SECRET,
    ] {
        assert!(
            !log.contains(secret) && !receiver_log.contains(secret),
            "a secret in a log"
        );
    }
    eprintln!("orders reached Stream {sent_after:?} after they were added");

    operator.stop().await.expect("clean stop");
    // Finalizers need the operator: clear them so the namespace can go.
    let _ = inst_api
        .patch(
            "acme",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await;
    store.close().await;
    ns.delete().await;
}

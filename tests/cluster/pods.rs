//! The image and the chart on real pods: `scripts/image.sh`'s image agrees with the
//! Dockerfile, and on the test cluster's node (kubelet, containerd, runc, kube-proxy) a
//! `helm install` of the chart with that image runs the operator, which elects itself leader
//! and makes an Installation's worker, webhook receiver and master-data CronJobs; all of them
//! run as pods with the chart's restricted security context (uid 65532, read-only root
//! filesystem, no capabilities), pass their probes, and do their work against the Linnworks
//! and Stream simulators on the host: orders reach Stream, a Stream webhook reaches the
//! receiver through its Service, the gateway answers GenerateLabel through its Service, and
//! the Installation becomes Ready. Fails, never skips, without the node or the image.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret, Service};
use kube::Client;
use kube::api::{Api, ListParams, Patch, PatchParams};
use serde_json::{Value, json};

use linnstream::config::load_dir;
use linnstream::crd::{ConditionStatus, Installation};
use linnstream::domain::{OrderStatus, WebhookStatus};
use linnstream::server::gateway::service_id;
use linnstream::sim::world::{NEXT_DAY, World, WorldSettings, order};
use linnstream::store::Store;

use crate::support;
use crate::support::db::create_postgres_database;
use crate::support::node::{
    Node, archive_file, archive_manifest, describe, image_tar, ready_pod, relay, restarts,
    succeeded_pod,
};
use crate::support::operator::DATABASE_SECRET;
use crate::support::{apply, client, eventually, root, yaml_docs};

// ---------------------------------------------------------------------------------------
// The image

/// The final stage of the Dockerfile: its `USER`, `ENTRYPOINT`, `CMD` and where it copies
/// the binary.
struct DockerfileImage {
    user: String,
    entrypoint: Value,
    cmd: Value,
    binary: String,
    base: String,
}

fn dockerfile_image() -> DockerfileImage {
    let text = std::fs::read_to_string(root().join("Dockerfile")).expect("Dockerfile");
    let all: Vec<&str> = text.lines().collect();
    let last_from = all
        .iter()
        .rposition(|l| l.starts_with("FROM "))
        .expect("a FROM");
    let lines = &all[last_from..];
    let arg = |word: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(word).map(str::trim))
            .unwrap_or_else(|| panic!("no {word}in the Dockerfile's last stage"))
            .to_string()
    };
    let copy = arg("COPY ");
    DockerfileImage {
        user: arg("USER "),
        entrypoint: serde_json::from_str(&arg("ENTRYPOINT ")).expect("ENTRYPOINT as JSON"),
        cmd: serde_json::from_str(&arg("CMD ")).expect("CMD as JSON"),
        binary: copy.split_whitespace().last().expect("COPY dest").into(),
        base: arg("FROM "),
    }
}

/// `tar -tv` of the image's one layer: path -> (mode string, owner).
fn layer_files(tar: &Path) -> BTreeMap<String, (String, String)> {
    let manifest = archive_manifest(tar);
    let layers = manifest["Layers"].as_array().expect("Layers");
    assert_eq!(layers.len(), 1, "one layer: {manifest}");
    let dir = tempfile::tempdir().expect("tempdir");
    let layer = dir.path().join("layer.tar");
    std::fs::write(
        &layer,
        archive_file(tar, layers[0].as_str().expect("layer")),
    )
    .expect("write");
    let out = Command::new("tar")
        .args(["--numeric-owner", "-tvf"])
        .arg(&layer)
        .output()
        .expect("tar");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let path = match cols[5] {
                "./" | "." => "/",
                p => p.trim_start_matches("./").trim_end_matches('/'),
            };
            (path.to_string(), (cols[0].to_string(), cols[1].to_string()))
        })
        .collect()
}

#[test]
fn the_built_image_agrees_with_the_dockerfile() {
    let tar = image_tar();
    let docker = dockerfile_image();
    assert!(
        docker.base.ends_with(":nonroot"),
        "the Dockerfile runs on distroless nonroot: {}",
        docker.base
    );
    let manifest = archive_manifest(&tar);
    let config: Value = serde_json::from_slice(&archive_file(
        &tar,
        manifest["Config"].as_str().expect("Config"),
    ))
    .expect("config");
    let c = &config["config"];
    assert_eq!(c["User"], docker.user);
    assert_eq!(c["Entrypoint"], docker.entrypoint);
    assert_eq!(c["Cmd"], docker.cmd);
    // distroless nonroot's working directory, the user's home.
    assert_eq!(c["WorkingDir"], "/home/nonroot");
    assert_eq!(config["os"], "linux");
    assert_eq!(config["architecture"], "amd64");
    assert_eq!(docker.entrypoint[0].as_str(), Some(docker.binary.as_str()));

    let files = layer_files(&tar);
    let binary = docker.binary.trim_start_matches('/');
    let (mode, owner) = files
        .get(binary)
        .unwrap_or_else(|| panic!("no {binary} in the image: {files:?}"));
    assert!(
        mode.starts_with("-rwxr-xr-x"),
        "{binary} executable by all: {mode}"
    );
    assert_eq!(
        owner, "0/0",
        "{binary} owned by root, not writable by the user"
    );
    // The user the Dockerfile names exists (as in distroless), with its home, and /tmp is sticky.
    let passwd = String::from_utf8(archive_layer_file(&tar, "etc/passwd")).expect("utf-8");
    let uid = docker.user.split(':').next().expect("uid");
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with(&format!("nonroot:x:{uid}:{uid}:"))),
        "{passwd}"
    );
    assert_eq!(files["home/nonroot"].1, format!("{uid}/{uid}"));
    assert!(
        files["tmp"].0.starts_with("drwxrwxrwt"),
        "{:?}",
        files["tmp"]
    );
    // Every non-root user can reach its files.
    assert!(files["/"].0.starts_with("drwxr-xr-x"), "{:?}", files["/"]);
    // The loader and what the binary links, nothing else: no shell, no package manager.
    for needed in [
        "lib64/ld-linux-x86-64.so.2",
        "lib/x86_64-linux-gnu/libc.so.6",
        "lib/x86_64-linux-gnu/libgcc_s.so.1",
    ] {
        assert!(files.contains_key(needed), "{needed} missing: {files:?}");
    }
    let regular: Vec<&String> = files
        .iter()
        .filter(|(_, (mode, _))| mode.starts_with('-'))
        .map(|(p, _)| p)
        .collect();
    for path in &regular {
        assert!(
            path.as_str() == binary
                || path.starts_with("etc/")
                || path.starts_with("lib/")
                || path.starts_with("lib64/"),
            "unexpected file {path} in the image"
        );
    }
    assert!(!files.contains_key("bin/sh"), "no shell");
}

fn archive_layer_file(tar: &Path, name: &str) -> Vec<u8> {
    let manifest = archive_manifest(tar);
    let dir = tempfile::tempdir().expect("tempdir");
    let layer = dir.path().join("layer.tar");
    std::fs::write(
        &layer,
        archive_file(tar, manifest["Layers"][0].as_str().expect("layer")),
    )
    .expect("write");
    archive_file(&layer, name)
}

// ---------------------------------------------------------------------------------------
// The chart on the node

fn helm(args: &[&str]) -> String {
    let bin = std::env::var("LINNSTREAM_TEST_HELM").unwrap_or_else(|_| {
        panic!("LINNSTREAM_TEST_HELM is not set: run scripts/test.sh or `eval \"$(scripts/test-cluster.sh env)\"`")
    });
    let home = std::env::temp_dir().join("linnstream-helm-tests");
    let out = Command::new(bin)
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("KUBECONFIG", support::kubeconfig_path())
        .output()
        .expect("helm");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "helm {args:?}: {text}");
    text
}

/// `http://CLUSTER-IP:PORT` of a Service: reached from the host through kube-proxy's rules.
async fn service_url(client: &Client, ns: &str, name: &str) -> String {
    let svc = Api::<Service>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("Service {name}: {e}"));
    let spec = svc.spec.expect("spec");
    let ip = spec.cluster_ip.expect("clusterIP");
    let port = spec.ports.expect("ports")[0].port;
    format!("http://{ip}:{port}")
}

/// Sends a request to a Service, again while the connection is refused: a pod is Ready a
/// moment before its Service's endpoints reach kube-proxy's rules. Any answer is returned.
async fn through_service(
    what: &str,
    request: impl Fn() -> reqwest::RequestBuilder,
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match request().send().await {
            Ok(response) => return response,
            Err(e) if e.is_connect() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// The pod's first container runs with the chart's restricted security context.
fn assert_restricted(pod: &Pod) {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref().expect("spec");
    let c = &spec.containers[0];
    let sc = c.security_context.as_ref().expect("securityContext");
    assert_eq!(sc.read_only_root_filesystem, Some(true), "{name}");
    assert_eq!(sc.run_as_non_root, Some(true), "{name}");
    assert_eq!(sc.allow_privilege_escalation, Some(false), "{name}");
    assert_eq!(
        sc.capabilities.as_ref().and_then(|c| c.drop.clone()),
        Some(vec!["ALL".to_string()]),
        "{name}"
    );
    let user = sc
        .run_as_user
        .or(spec.security_context.as_ref().and_then(|s| s.run_as_user));
    assert_eq!(user, Some(65532), "{name}");
}

/// The manual run of a CronJob, as `kubectl create job --from=cronjob/NAME` makes it (that
/// kubectl only reads `batch/v1` CronJobs, which a 1.20 API server does not serve).
async fn run_cronjob(client: &Client, ns: &str, name: &str) -> String {
    let api = support::api_for(
        client,
        &json!({"apiVersion": "batch/v1beta1", "kind": "CronJob"}),
        ns,
    )
    .await;
    let cron = serde_json::to_value(api.get(name).await.expect("CronJob")).expect("json");
    let job_name = format!("{name}-manual");
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {
            "name": job_name,
            "labels": cron["spec"]["jobTemplate"]["metadata"]["labels"],
            "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
            "ownerReferences": [{"apiVersion": "batch/v1beta1", "kind": "CronJob", "name": name,
                                 "uid": cron["metadata"]["uid"], "controller": true}],
        },
        "spec": cron["spec"]["jobTemplate"]["spec"],
    });
    apply(client, ns, &job, false)
        .await
        .unwrap_or_else(|e| panic!("create Job {job_name}: {e}"));
    job_name
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_chart_runs_an_installation_on_real_pods() {
    let _cluster = crate::shared_cluster().await;
    let started = Instant::now();
    let node = Node::from_env();
    let admin = client().await;
    support::install_crds(&admin).await;
    let release_ns = node.namespace(&admin).await;
    let ns = node.namespace(&admin).await;
    let release = format!("ls{}", &release_ns.name[7..]);

    // The host's services, where pods reach them: both simulators on the bridge address,
    // PostgreSQL (on loopback) through a relay there.
    let world = World::start_on(node.host_ip).await.expect("simulators");
    let db = create_postgres_database().await;
    let store = Store::connect(&db.url).await.expect("store");
    let (pg, _relay) = relay(node.host_ip, "127.0.0.1:5432".parse().expect("addr")).await;
    let mut pod_db = reqwest::Url::parse(&db.url).expect("database URL");
    pod_db.set_host(Some(&pg.ip().to_string())).expect("host");
    pod_db.set_port(Some(pg.port())).expect("port");
    let pod_db = pod_db.to_string();

    // The platform team's resources. The receiver's public URL is set once its Service has
    // an address; until then Stream's deliveries go nowhere (the discard port on loopback).
    let dir = tempfile::tempdir().expect("tempdir");
    let resources = dir.path().join("resources");
    world
        .write_resources(
            &resources,
            &WorldSettings {
                public_base_url: Some("http://127.0.0.1:9".into()),
                ..WorldSettings::default()
            },
        )
        .expect("resources");
    let secret = |name: &str, data: BTreeMap<String, String>| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name}, "stringData": data});
    apply(
        &admin,
        &ns.name,
        &secret(
            DATABASE_SECRET,
            BTreeMap::from([("url".to_string(), pod_db.clone())]),
        ),
        false,
    )
    .await
    .expect("database Secret");
    // The gateway learns the Installation from the config Secret the operator pod writes in
    // the release namespace (nothing exported by hand).

    // helm install, with the image scripts/image.sh built (imported, never pulled). Values in
    // a file: the database URL stays off the command line.
    let (repository, tag) = node.image.rsplit_once(':').expect("image tag");
    let values = dir.path().join("values.yaml");
    std::fs::write(
        &values,
        serde_saphyr::to_string(&json!({
            "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
            "database": {"url": pod_db},
            "operator": {"watchNamespace": ns.name, "resyncInterval": "5s"},
        }))
        .expect("yaml"),
    )
    .expect("values");
    let chart = root().join("charts/linnstream");
    let out = helm(&[
        "install",
        &release,
        chart.to_str().expect("path"),
        "--namespace",
        &release_ns.name,
        "--take-ownership",
        "-f",
        values.to_str().expect("path"),
    ]);
    assert!(out.contains("STATUS: deployed"), "{out}");

    // The operator pod: up, probed, leader.
    let operator_pod = ready_pod(
        &admin,
        &release_ns.name,
        "app.kubernetes.io/component=operator",
        180,
    )
    .await;
    assert_restricted(&operator_pod);
    let operator_name = operator_pod.metadata.name.clone().expect("name");
    let lease = support::operator::kubectl(
        &release_ns.name,
        &[
            "get",
            "lease",
            "linnstream-operator",
            "-o",
            "jsonpath={.spec.holderIdentity}",
        ],
    );
    assert_eq!(lease, operator_name, "the operator pod holds the Lease");
    let metrics_url = service_url(
        &admin,
        &release_ns.name,
        &format!("{release}-linnstream-operator-metrics"),
    )
    .await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http");
    let metrics = through_service("the operator's metrics", || {
        http.get(format!("{metrics_url}/metrics"))
    })
    .await
    .text()
    .await
    .expect("body");
    assert!(
        metrics.contains("linnstream_operator_leader 1"),
        "{metrics}"
    );

    // The Installation: the operator makes its children, which run as pods.
    for file in [
        "secrets.yaml",
        "installation.yaml",
        "mapping-delivery.yaml",
        "mapping-collection.yaml",
    ] {
        for doc in yaml_docs(&resources.join(file)) {
            apply(&admin, &ns.name, &doc, false)
                .await
                .unwrap_or_else(|e| panic!("{file}: {e}"));
        }
    }
    let worker = ready_pod(&admin, &ns.name, "app.kubernetes.io/component=worker", 180).await;
    let receiver = ready_pod(
        &admin,
        &ns.name,
        "app.kubernetes.io/component=webhooks",
        180,
    )
    .await;
    assert_restricted(&worker);
    assert_restricted(&receiver);

    // The master-data CronJobs, triggered by hand: a Job, and a pod that completes.
    for cron in ["acme-identifiers", "acme-postal-services"] {
        let job = run_cronjob(&admin, &ns.name, cron).await;
        let pod = succeeded_pod(&admin, &ns.name, &format!("job-name={job}"), 180).await;
        assert_restricted(&pod);
        let jobs: Api<Job> = Api::namespaced(admin.clone(), &ns.name);
        eventually(60, &format!("Job {job} complete"), || async {
            jobs.get(&job)
                .await
                .ok()
                .and_then(|j| j.status)
                .and_then(|s| s.succeeded)
                == Some(1)
        })
        .await;
    }

    // Stream delivers to the receiver through its Service.
    let receiver_url = service_url(&admin, &ns.name, "acme-webhooks").await;
    let installations: Api<Installation> = Api::namespaced(admin.clone(), &ns.name);
    installations
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"webhooks": {"publicBaseUrl": receiver_url}}})),
        )
        .await
        .expect("patch");

    // Ready from the pods' own work: the worker's heartbeats, the Jobs' master data, the
    // subscriptions to the receiver's Service.
    eventually(120, "the Installation Ready", || async {
        installations
            .get("acme")
            .await
            .ok()
            .and_then(|i| i.status)
            .is_some_and(|s| {
                s.webhook_url
                    .as_deref()
                    .is_some_and(|u| u.starts_with(&receiver_url))
                    && s.conditions
                        .iter()
                        .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True)
            })
    })
    .await;

    // Orders flow: Linnworks -> worker pod -> Stream.
    world
        .add_orders(vec![order(9001, NEXT_DAY)])
        .expect("orders");
    let id = format!("{}/acme", ns.name);
    eventually(120, "the order Completed by the worker pod", || async {
        store
            .queue_counts(&id)
            .await
            .is_ok_and(|c| c.get(OrderStatus::Completed) == 1)
    })
    .await;
    let stream: Value = http
        .get(format!("{}/_sim/orders", world.stream_server.url()))
        .send()
        .await
        .expect("sim")
        .json()
        .await
        .expect("json");
    let order_no = stream["orders"][0]["orderNo"]
        .as_str()
        .expect("the order in Stream")
        .to_string();

    // A Stream delivery event: the simulator posts it to the receiver's Service, the
    // receiver pod stores it, the worker pod processes it.
    let answer = http
        .post(format!("{}/_sim/events", world.stream_server.url()))
        .json(&json!({"action": "deliver", "orderNo": order_no}))
        .send()
        .await
        .expect("event");
    assert!(answer.status().is_success(), "{:?}", answer.text().await);
    eventually(90, "the webhook received and processed", || async {
        store
            .webhook_counts(&id)
            .await
            .is_ok_and(|c| c.get(WebhookStatus::Processed) >= 1)
    })
    .await;

    // The gateway pod answers Linnworks' GenerateLabel through its Service: an order not
    // yet synced is sent to Stream, then labelled.
    let gateway = ready_pod(
        &admin,
        &release_ns.name,
        "app.kubernetes.io/component=gateway",
        120,
    )
    .await;
    assert_restricted(&gateway);
    world
        .add_orders(vec![order(9002, NEXT_DAY)])
        .expect("orders");
    let snapshot = load_dir(&resources).expect("resources");
    let inst = snapshot
        .installations
        .values()
        .next()
        .expect("installation");
    let token = inst
        .credentials
        .gateway_token
        .clone()
        .expect("the gateway token");
    let mapping = inst.mapping_for(None, Some(NEXT_DAY)).expect("mapping");
    let gateway_url = service_url(
        &admin,
        &release_ns.name,
        &format!("{release}-linnstream-gateway"),
    )
    .await;
    let request = json!({
        "AuthorizationToken": token,
        "Name": "Customer 9002", "AddressLine1": "9002 High Street",
        "Town": "Leeds", "CountryCode": "GB", "Postalcode": "LS6 1AA",
        "OrderId": 9002, "OrderReference": "WEB-9002", "OrderCurrency": "GBP",
        "ServiceId": service_id(inst, mapping).to_string(),
        "Packages": [{"SequenceNumber": 1, "PackageWeight": 13000}],
    });
    let reply: Value = through_service("GenerateLabel through the gateway", || {
        http.post(format!("{gateway_url}/api/Consignment/GenerateLabel"))
            .json(&request)
            .timeout(Duration::from_secs(30))
    })
    .await
    .json()
    .await
    .expect("json");
    assert_eq!(reply["IsError"], json!(false), "{}", reply["ErrorMessage"]);
    assert!(
        reply["LeadTrackingNumber"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{reply}"
    );

    // Nothing restarted: no container crashed or failed a liveness probe on the way.
    let pods: Api<Pod> = Api::namespaced(admin.clone(), &ns.name);
    let release_pods: Api<Pod> = Api::namespaced(admin.clone(), &release_ns.name);
    for (namespace, list) in [
        (
            &ns.name,
            pods.list(&ListParams::default()).await.expect("pods"),
        ),
        (
            &release_ns.name,
            release_pods
                .list(&ListParams::default())
                .await
                .expect("pods"),
        ),
    ] {
        for pod in &list.items {
            assert_eq!(
                restarts(pod),
                0,
                "{}",
                describe(&admin, namespace, pod).await
            );
        }
    }
    // No credential in the pods' logs.
    for pod in [&worker, &receiver] {
        let name = pod.metadata.name.clone().expect("name");
        let log = support::node::pod_log(&admin, &ns.name, &name).await;
        for secret in [
            linnstream::sim::stream::DEMO_CLIENT_SECRET,
            linnstream::sim::linnworks::DEMO_APPLICATION_SECRET,
        ] {
            assert!(!log.contains(secret), "a secret in {name}'s log");
        }
    }
    // The webhook token the receiver checks exists only in its Secret.
    let auth = Api::<Secret>::namespaced(admin.clone(), &ns.name)
        .get("acme-webhook-auth")
        .await
        .expect("the receiver's auth Secret");
    assert!(auth.data.is_some_and(|d| d.contains_key("token")));

    helm(&["uninstall", &release, "--namespace", &release_ns.name]);
    let _ = installations
        .patch(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await;
    store.close().await;
    ns.delete().await;
    release_ns.delete().await;
    eprintln!("the chart ran on real pods in {:?}", started.elapsed());
}

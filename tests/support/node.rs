//! The test cluster's node (`LINNSTREAM_K8S_WITH_NODE=1 scripts/test-cluster.sh start`):
//! real pods of the image `scripts/image.sh` builds. The node is tainted so that only pods
//! of namespaces made here (annotated with a default toleration) run on it; pods reach the
//! host, and so the simulators and PostgreSQL the test serves, at the bridge address.
//! Tests using it FAIL when the node or the image is missing.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::Client;
use kube::api::{Api, ListParams, PostParams};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use super::TestNamespace;

fn required(var: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| {
        panic!(
            "{var} is not set: these tests need the test cluster's node and the image. Run \
             scripts/test.sh, or `scripts/test-cluster.sh install-node`, \
             `LINNSTREAM_K8S_WITH_NODE=1 scripts/test-cluster.sh start`, `scripts/image.sh`, \
             `scripts/test-cluster.sh load IMAGE.tar`, `eval \"$(scripts/test-cluster.sh env)\"` \
             and LINNSTREAM_TEST_IMAGE_TAR=IMAGE.tar"
        )
    })
}

/// The image `scripts/image.sh` built (a docker-archive), as `LINNSTREAM_TEST_IMAGE_TAR`.
pub fn image_tar() -> PathBuf {
    let path = PathBuf::from(required("LINNSTREAM_TEST_IMAGE_TAR"));
    assert!(path.is_file(), "no image archive at {}", path.display());
    path
}

/// A file of the image archive.
pub fn archive_file(tar: &std::path::Path, name: &str) -> Vec<u8> {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(tar)
        .arg(name)
        .output()
        .expect("tar");
    assert!(
        out.status.success(),
        "{name} in {}: {}",
        tar.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The archive's `manifest.json` entry: `Config`, `RepoTags`, `Layers`.
pub fn archive_manifest(tar: &std::path::Path) -> Value {
    let manifest: Value =
        serde_json::from_slice(&archive_file(tar, "manifest.json")).expect("manifest.json");
    manifest[0].clone()
}

pub struct Node {
    pub name: String,
    /// The host as pods see it (the bridge's address).
    pub host_ip: IpAddr,
    pub taint: String,
    /// The image's reference, as imported into the node's containerd.
    pub image: String,
}

impl Node {
    pub fn from_env() -> Node {
        let name = required("LINNSTREAM_TEST_NODE");
        let host_ip = required("LINNSTREAM_TEST_NODE_HOST_IP")
            .parse()
            .expect("LINNSTREAM_TEST_NODE_HOST_IP");
        let taint = required("LINNSTREAM_TEST_NODE_TAINT");
        let tar = image_tar();
        let image = archive_manifest(&tar)["RepoTags"][0]
            .as_str()
            .expect("the archive's tag")
            .to_string();
        Node {
            name,
            host_ip,
            taint,
            image,
        }
    }

    /// A namespace whose pods tolerate the node's taint (PodTolerationRestriction adds it).
    pub async fn namespace(&self, client: &Client) -> TestNamespace {
        let name = format!(
            "lspods-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let toleration = json!([{"key": self.taint, "operator": "Exists", "effect": "NoSchedule"}]);
        let ns: Namespace = serde_json::from_value(json!({"metadata": {
            "name": name,
            "annotations": {"scheduler.alpha.kubernetes.io/defaultTolerations": toleration.to_string()},
        }}))
        .expect("namespace");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
        TestNamespace::existing(client, &name)
    }
}

/// Forwards TCP connections from a free port of `ip` to `target`, for as long as the handle
/// lives: pods reach a service of the host that listens on loopback only (PostgreSQL).
pub async fn relay(ip: IpAddr, target: SocketAddr) -> (SocketAddr, Relay) {
    let listener = TcpListener::bind((ip, 0)).await.expect("bind the relay");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(mut outbound) = TcpStream::connect(target).await {
                    let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                }
            });
        }
    });
    (addr, Relay(task))
}

pub struct Relay(JoinHandle<()>);

impl Drop for Relay {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn condition(pod: &Pod, type_: &str) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|c| c.iter().any(|c| c.type_ == type_ && c.status == "True"))
}

pub fn phase(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|s| s.phase.clone())
        .unwrap_or_default()
}

pub fn restarts(pod: &Pod) -> i32 {
    pod.status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c.iter().map(|c| c.restart_count).sum())
        .unwrap_or(0)
}

/// What a user would look at when a pod is not up: its phase, conditions, container states
/// and the end of its log.
pub async fn describe(client: &Client, ns: &str, pod: &Pod) -> String {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let status = serde_json::to_string_pretty(&pod.status).unwrap_or_default();
    let log = pod_log(client, ns, &name).await;
    format!("pod {name}: {status}\nlog:\n{log}")
}

pub async fn pod_log(client: &Client, ns: &str, name: &str) -> String {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let params = kube::api::LogParams {
        tail_lines: Some(40),
        ..Default::default()
    };
    match pods.logs(name, &params).await {
        Ok(log) => log,
        Err(e) => format!("(no log: {e})"),
    }
}

/// Waits until a pod matching `selector` in `ns` is Ready (its readiness probe passes),
/// failing with the pod's state and log after `secs` seconds.
pub async fn ready_pod(client: &Client, ns: &str, selector: &str, secs: u64) -> Pod {
    wait_pod(client, ns, selector, secs, "Ready", |p| {
        condition(p, "Ready")
    })
    .await
}

/// Waits until a pod matching `selector` has completed successfully.
pub async fn succeeded_pod(client: &Client, ns: &str, selector: &str, secs: u64) -> Pod {
    wait_pod(client, ns, selector, secs, "Succeeded", |p| {
        phase(p) == "Succeeded"
    })
    .await
}

async fn wait_pod(
    client: &Client,
    ns: &str,
    selector: &str,
    secs: u64,
    what: &str,
    done: impl Fn(&Pod) -> bool,
) -> Pod {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let list = pods
            .list(&ListParams::default().labels(selector))
            .await
            .expect("list pods");
        if let Some(pod) = list.items.iter().find(|p| done(p)) {
            return pod.clone();
        }
        if Instant::now() > deadline {
            let mut text = String::new();
            for pod in &list.items {
                text.push_str(&describe(client, ns, pod).await);
                text.push('\n');
            }
            panic!("no pod {selector} in {ns} {what} within {secs} s; pods:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

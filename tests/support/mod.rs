//! A client for the real kube-apiserver that `scripts/test.sh` starts
//! (`scripts/test-cluster.sh`), and helpers to apply YAML to it. Tests using it FAIL when
//! `LINNSTREAM_TEST_KUBECONFIG` is unset or the server does not answer.
#![allow(dead_code)]

pub mod db;
pub mod linnworks;
pub mod node;
pub mod operator;
pub mod pods;
pub mod sync;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{
    Api, DeleteParams, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::{Scope, pinned_kind};
use kube::{Client, Config};
use serde_json::{Value, json};

pub const MANAGER: &str = "linnstream-tests";

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn kubeconfig_path() -> String {
    std::env::var("LINNSTREAM_TEST_KUBECONFIG").unwrap_or_else(|_| {
        panic!(
            "LINNSTREAM_TEST_KUBECONFIG is not set: these tests need a real kube-apiserver. \
             Run scripts/test.sh, or `scripts/test-cluster.sh install && scripts/test-cluster.sh start` \
             and `eval \"$(scripts/test-cluster.sh env)\"`"
        )
    })
}

/// The test cluster's client configuration (the cluster admin).
pub async fn config() -> Config {
    let path = kubeconfig_path();
    let kubeconfig = Kubeconfig::read_from(&path)
        .unwrap_or_else(|e| panic!("reading LINNSTREAM_TEST_KUBECONFIG {path}: {e}"));
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("kubeconfig {path}: {e}"))
}

/// A client acting as `user` (impersonated by the admin), to test what RBAC lets it do,
/// e.g. `system:serviceaccount:NS:NAME`.
pub async fn client_as(user: &str) -> Client {
    let mut config = config().await;
    config.auth_info.impersonate = Some(user.to_string());
    Client::try_from(config).expect("kube client")
}

/// A client for the test cluster; panics (fails the test) when it is not reachable.
pub async fn client() -> Client {
    let path = kubeconfig_path();
    let client = Client::try_from(config().await).expect("kube client");
    match tokio::time::timeout(Duration::from_secs(10), client.apiserver_version()).await {
        Ok(Ok(_)) => client,
        Ok(Err(e)) => panic!("the test kube-apiserver ({path}) does not answer: {e}"),
        Err(_) => panic!("the test kube-apiserver ({path}) did not answer within 10 s"),
    }
}

/// Every YAML document of a file, as JSON.
pub fn yaml_docs(path: &Path) -> Vec<Value> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    serde_saphyr::from_str_multiple::<Value, Vec<_>>(&text)
        .expect("YAML")
        .into_iter()
        .filter(|v| !v.is_null())
        .collect()
}

pub fn yaml_doc(path: &Path) -> Value {
    let mut docs = yaml_docs(path);
    assert_eq!(docs.len(), 1, "{} should hold one document", path.display());
    docs.remove(0)
}

/// Applies the committed CRDs (server-side, as `kubectl apply --server-side` does) and
/// waits until both are Established and served.
pub async fn install_crds(client: &Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let docs = yaml_docs(&root().join("crds/linnstream.yaml"));
    assert_eq!(docs.len(), 2);
    for doc in &docs {
        let name = doc["metadata"]["name"].as_str().expect("CRD name");
        crds.patch(
            name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(doc),
        )
        .await
        .unwrap_or_else(|e| panic!("the API server refused CRD {name}: {e}"));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for doc in &docs {
        let name = doc["metadata"]["name"].as_str().expect("CRD name");
        loop {
            let crd = crds.get(name).await.expect("get CRD");
            let established = crd
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .into_iter()
                .flatten()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "CRD {name} not Established in 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    loop {
        let served = client
            .list_api_group_resources("linnstream.io/v1alpha1")
            .await
            .map(|l| l.resources.len())
            .unwrap_or(0);
        if served >= 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "linnstream.io/v1alpha1 not served in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A namespace of its own for one test, so tests run in parallel.
pub struct TestNamespace {
    pub name: String,
    client: Client,
}

impl TestNamespace {
    pub async fn new(client: &Client) -> Self {
        let name = format!(
            "lstest-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..10]
        );
        let api: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace =
            serde_json::from_value(json!({"metadata": {"name": name}})).expect("namespace");
        api.create(&PostParams::default(), &ns)
            .await
            .expect("create namespace");
        Self {
            name,
            client: client.clone(),
        }
    }

    /// A namespace created elsewhere, deleted by [`TestNamespace::delete`].
    pub fn existing(client: &Client, name: &str) -> Self {
        Self {
            name: name.to_string(),
            client: client.clone(),
        }
    }

    /// Deletes the namespace (its contents go with it). Not in `Drop`: that cannot await.
    pub async fn delete(self) {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let _ = api.delete(&self.name, &DeleteParams::background()).await;
    }
}

/// The API for an object's `apiVersion` and `kind`, in `ns` when namespaced.
pub async fn api_for(client: &Client, obj: &Value, ns: &str) -> Api<DynamicObject> {
    let api_version = obj["apiVersion"].as_str().expect("apiVersion");
    let kind = obj["kind"].as_str().expect("kind");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let (resource, caps) = pinned_kind(client, &gvk)
        .await
        .unwrap_or_else(|e| panic!("{api_version} {kind} is not served: {e}"));
    if caps.scope == Scope::Namespaced {
        Api::namespaced_with(client.clone(), ns, &resource)
    } else {
        Api::all_with(client.clone(), &resource)
    }
}

/// Server-side apply of `obj` into `ns` (optionally a dry run), returning the server's
/// answer: the stored object or the refusal.
pub async fn apply(
    client: &Client,
    ns: &str,
    obj: &Value,
    dry_run: bool,
) -> Result<DynamicObject, kube::Error> {
    let api = api_for(client, obj, ns).await;
    let name = obj["metadata"]["name"].as_str().expect("metadata.name");
    let mut params = PatchParams::apply(MANAGER).force();
    if dry_run {
        params = params.dry_run();
    }
    api.patch(name, &params, &Patch::Apply(obj)).await
}

/// Reads an object back as plain JSON (no client-side defaults).
pub async fn get_json(client: &Client, ns: &str, obj: &Value) -> Value {
    let api = api_for(client, obj, ns).await;
    let name = obj["metadata"]["name"].as_str().expect("metadata.name");
    let got = api
        .get(name)
        .await
        .unwrap_or_else(|e| panic!("get {name}: {e}"));
    serde_json::to_value(got).expect("json")
}

/// The refusal's message, or a panic naming the object if the server accepted it.
pub fn refusal(result: Result<DynamicObject, kube::Error>, what: &str) -> String {
    match result {
        Ok(_) => panic!("the API server accepted {what}"),
        Err(kube::Error::Api(status)) => status.message.clone(),
        Err(e) => panic!("{what}: unexpected error {e}"),
    }
}

pub fn example(name: &str) -> PathBuf {
    root().join("examples").join(name)
}

/// Installs the CRDs and applies the examples (Secrets, the Installation `acme`, both
/// mappings) into a new namespace, which it returns.
pub async fn apply_examples(client: &Client) -> TestNamespace {
    install_crds(client).await;
    let ns = TestNamespace::new(client).await;
    for file in [
        "secrets.yaml",
        "installation.yaml",
        "mapping-delivery.yaml",
        "mapping-collection.yaml",
    ] {
        for doc in yaml_docs(&example(file)) {
            apply(client, &ns.name, &doc, false)
                .await
                .unwrap_or_else(|e| panic!("the API server refused {file}: {e}"));
        }
    }
    ns
}

/// Polls `check` every 200 ms until it holds, failing the test after `secs` seconds.
pub async fn eventually<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(
            Instant::now() < deadline,
            "{what} did not happen within {secs} s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

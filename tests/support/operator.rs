//! An operator run in-process against the test cluster, with everything it needs: a
//! namespace of its own (the operator watches only it), a fresh PostgreSQL database, and
//! the Stream simulator as the Stream it subscribes to.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use linnstream::crd::{ConditionStatus, Installation, SecretKeyRef};
use linnstream::operator::LeaseConfig;
use linnstream::operator::Metrics;
use linnstream::operator::OperatorConfig;
use linnstream::operator::build::{OperatorSettings, WORKER_PROCESS};
use linnstream::operator::{self, RunError};
use linnstream::sim::kit::RunningServer;
use linnstream::sim::stream::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, StreamSim, StreamSimConfig};
use linnstream::store::{DeliveryMethod, Depot, Identifier, Store};
use linnstream::stream::{StreamClient, StreamCredentials, WebhookSubscriptionInfo};

use super::db::{PgDb, create_postgres_database};
use super::{TestNamespace, apply, client, example, install_crds, yaml_docs};

pub const DATABASE_SECRET: &str = "linnstream-database";
pub const PUBLIC_BASE_URL: &str = "https://hooks.example.test";

pub struct Env {
    pub client: Client,
    pub ns: TestNamespace,
    pub store: Store,
    pub sim: StreamSim,
    /// `None` once stopped (to simulate Stream being unreachable).
    pub sim_server: Option<RunningServer>,
    /// The simulator's API base, as `spec.stream.clientUrl`.
    pub stream_url: String,
    pub db: PgDb,
}

impl Env {
    pub async fn new() -> Env {
        let client = client().await;
        install_crds(&client).await;
        let ns = TestNamespace::new(&client).await;
        let db = create_postgres_database().await;
        let store = Store::connect(&db.url).await.expect("connect the store");
        let sim = StreamSim::new(StreamSimConfig::default()).expect("simulator");
        let server = sim.serve_loopback().await.expect("serve the simulator");
        let stream_url = format!("{}/api", server.url());
        let env = Env {
            client,
            ns,
            store,
            sim,
            sim_server: Some(server),
            stream_url,
            db,
        };
        env.apply_json(&json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": DATABASE_SECRET},
            "stringData": {"url": env.db.url},
        }))
        .await;
        env
    }

    pub fn id(&self, name: &str) -> String {
        format!("{}/{}", self.ns.name, name)
    }

    pub async fn apply_json(&self, obj: &Value) {
        apply(&self.client, &self.ns.name, obj, false)
            .await
            .unwrap_or_else(|e| panic!("apply {}: {e}", obj["metadata"]["name"]));
    }

    /// The example Secrets (with the simulator's credentials), the Installation `acme`
    /// (pointed at the simulator, after `edit`) and both mappings.
    pub async fn apply_examples(&self, edit: impl Fn(&mut Value)) {
        for mut secret in yaml_docs(&example("secrets.yaml")) {
            if secret["metadata"]["name"] == "acme-stream" {
                secret["stringData"]["client-id"] = json!(DEMO_CLIENT_ID);
                secret["stringData"]["client-secret"] = json!(DEMO_CLIENT_SECRET);
            }
            self.apply_json(&secret).await;
        }
        let mut inst = super::yaml_doc(&example("installation.yaml"));
        inst["spec"]["stream"]["clientUrl"] = json!(self.stream_url);
        inst["spec"]["webhooks"]["publicBaseUrl"] = json!(PUBLIC_BASE_URL);
        edit(&mut inst);
        self.apply_json(&inst).await;
        for file in ["mapping-delivery.yaml", "mapping-collection.yaml"] {
            self.apply_json(&super::yaml_doc(&example(file))).await;
        }
    }

    /// What a healthy installation has in the store: fresh master data (depot LEEDS with
    /// the examples' methods, identifiers) and a live worker.
    pub async fn seed_healthy(&self, name: &str) {
        let id = self.id(name);
        let now = chrono::Utc::now();
        self.store
            .replace_depots(
                &id,
                &[Depot {
                    id: "LEEDS".into(),
                    name: "Leeds".into(),
                    delivery_methods: vec![
                        DeliveryMethod {
                            id: "HOME-2MAN".into(),
                            name: "Two-man home delivery".into(),
                            method_type: "Delivery".into(),
                        },
                        DeliveryMethod {
                            id: "COLLECT".into(),
                            name: "Collection".into(),
                            method_type: "Collection".into(),
                        },
                    ],
                }],
                now,
            )
            .await
            .expect("depots");
        self.store
            .replace_identifiers(
                &id,
                &[Identifier {
                    tag: "RUN01".into(),
                    name: "RUN 01".into(),
                    identifier_id: Some(1),
                }],
                now,
            )
            .await
            .expect("identifiers");
        self.store
            .heartbeat(&format!("worker-{name}"), WORKER_PROCESS, Some(&id))
            .await
            .expect("heartbeat");
    }

    pub fn config(&self, identity: &str) -> OperatorConfig {
        operator_config(&self.ns.name, &self.db.url, identity)
    }

    pub async fn start_operator(&self, config: OperatorConfig) -> RunningOperator {
        RunningOperator::start(self.client.clone(), config).await
    }

    pub async fn installation(&self, name: &str) -> Installation {
        Api::<Installation>::namespaced(self.client.clone(), &self.ns.name)
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("get Installation {name}: {e}"))
    }

    pub async fn patch_installation(&self, name: &str, patch: Value) {
        Api::<Installation>::namespaced(self.client.clone(), &self.ns.name)
            .patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .unwrap_or_else(|e| panic!("patch Installation {name}: {e}"));
    }

    /// The `type` condition of Installation `name`: (status, reason, message).
    pub async fn condition(
        &self,
        name: &str,
        type_: &str,
    ) -> Option<(ConditionStatus, String, String)> {
        let inst = Api::<Installation>::namespaced(self.client.clone(), &self.ns.name)
            .get_opt(name)
            .await
            .expect("get")?;
        inst.status?
            .conditions
            .into_iter()
            .find(|c| c.type_ == type_)
            .map(|c| (c.status, c.reason, c.message))
    }

    /// Waits until condition `type_` of `name` has `status` and `reason`.
    pub async fn wait_condition(
        &self,
        name: &str,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
    ) {
        let mut last = None;
        // Generous: on a loaded 2-core machine a fresh pod can take over a minute to write its first status.
        let deadline = std::time::Instant::now() + Duration::from_secs(180);
        loop {
            let now = self.condition(name, type_).await;
            if let Some((s, r, _)) = &now
                && *s == status
                && r == reason
            {
                return;
            }
            if std::time::Instant::now() > deadline {
                panic!(
                    "{name}: {type_} did not become {status}/{reason} within 180 s; last: {last:?}"
                );
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// The Stream subscriptions of the simulator's demo account.
    pub async fn stream_subscriptions(&self) -> Vec<WebhookSubscriptionInfo> {
        let client = StreamClient::new(
            StreamCredentials {
                base_url: self.stream_url.clone(),
                client_id: DEMO_CLIENT_ID.into(),
                client_secret: DEMO_CLIENT_SECRET.into(),
                partner_account_id: None,
            },
            &Default::default(),
        )
        .expect("stream client");
        client.subscriptions().await.expect("list subscriptions")
    }

    /// Reasons of the events about `name` in the namespace.
    pub async fn event_reasons(&self, name: &str) -> Vec<(String, String)> {
        let events: Api<k8s_openapi::api::events::v1::Event> =
            Api::namespaced(self.client.clone(), &self.ns.name);
        events
            .list(&Default::default())
            .await
            .expect("events")
            .items
            .into_iter()
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .map(|e| (e.reason.unwrap_or_default(), e.note.unwrap_or_default()))
            .collect()
    }

    pub async fn delete_secret(&self, name: &str) {
        Api::<Secret>::namespaced(self.client.clone(), &self.ns.name)
            .delete(name, &Default::default())
            .await
            .unwrap_or_else(|e| panic!("delete Secret {name}: {e}"));
    }

    /// Stops the simulator and deletes the namespace. Finalizers left on Installations
    /// (their operator is gone) are cleared first, or the namespace would never go.
    pub async fn finish(mut self) {
        if let Some(server) = self.sim_server.take() {
            server.shutdown().await;
        }
        let api: Api<Installation> = Api::namespaced(self.client.clone(), &self.ns.name);
        if let Ok(list) = api.list(&Default::default()).await {
            for inst in list.items {
                if let Some(name) = inst.metadata.name {
                    let _ = api
                        .patch(
                            &name,
                            &PatchParams::default(),
                            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                        )
                        .await;
                }
            }
        }
        self.store.close().await;
        self.ns.delete().await;
    }
}

/// An operator watching only namespace `ns` (its Lease there too), on the store at
/// `database_url`, quick to resync.
pub fn operator_config(ns: &str, database_url: &str, identity: &str) -> OperatorConfig {
    OperatorConfig {
        children: OperatorSettings::new(
            "linnstream:test",
            SecretKeyRef {
                name: DATABASE_SECRET.into(),
                key: "url".into(),
            },
        ),
        database_url: database_url.to_string(),
        metrics_listen: "127.0.0.1:0".parse().expect("addr"),
        watch_namespace: Some(ns.to_string()),
        lease: LeaseConfig {
            name: "linnstream-operator".into(),
            namespace: ns.to_string(),
            identity: identity.into(),
            // The production defaults: tests run in parallel on a busy machine, and a
            // takeover after an orderly stop is immediate anyway (the Lease is released).
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(1),
        },
        resync_interval: Duration::from_secs(5),
        concurrency: 4,
        finalizer_timeout: Duration::from_secs(30),
        config_secret: None,
        pool: None,
    }
}

pub struct RunningOperator {
    pub metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    pub task: JoinHandle<Result<(), RunError>>,
}

impl RunningOperator {
    pub async fn start(client: Client, config: OperatorConfig) -> RunningOperator {
        let metrics = Arc::new(Metrics::new());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(operator::run(client, config, metrics.clone(), async move {
            let _ = stopped.await;
        }));
        RunningOperator {
            metrics,
            stop: Some(stop),
            task,
        }
    }

    pub fn reconciles(&self) -> u64 {
        self.metrics
            .reconciles_of(operator::INSTALLATION_CONTROLLER)
            + self.metrics.reconciles_of(operator::MAPPING_CONTROLLER)
    }

    pub fn is_leader(&self) -> bool {
        self.metrics.leader.get() == 1
    }

    /// Orderly shutdown: reconciles finish, the Lease is released.
    pub async fn stop(mut self) -> Result<(), RunError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .expect("the operator stops within 30 s")
            .expect("the operator task")
    }
}

/// `kubectl -n NS ARGS...` on the test cluster; its standard output.
pub fn kubectl(namespace: &str, args: &[&str]) -> String {
    let bin = std::env::var("LINNSTREAM_TEST_KUBECTL").unwrap_or_else(|_| {
        panic!(
            "LINNSTREAM_TEST_KUBECTL is not set: run scripts/test.sh, or \
             `scripts/test-cluster.sh tools` and `eval \"$(scripts/test-cluster.sh env)\"`"
        )
    });
    let out = Command::new(&bin)
        .arg("--kubeconfig")
        .arg(super::kubeconfig_path())
        .args(["--namespace", namespace])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("running {bin}: {e}"));
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

//! An operator context on the mocked API server and a fresh SQLite store, and readers of
//! what the reconcile asked of the server.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::Method;
use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DynamicObject, ObjectMeta};
use kube::core::{PartialObjectMeta, PartialObjectMetaExt};
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{self, Lookup};
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::server::{Call, Cluster, DATABASE_SECRET, NS, SECRETS, mock_client};
use crate::crd::{Installation, SecretKeyRef};
use crate::domain::OrderType;
use crate::operator::build::{CronJobApi, OperatorSettings, env};
use crate::operator::caches::Caches;
use crate::operator::context::{Context, Wiring};
use crate::operator::controllers::REPORTER;
use crate::operator::error::Error;
use crate::operator::installation::reconcile;
use crate::operator::leader::LeaseConfig;
use crate::operator::metrics::Metrics;
use crate::operator::settings::OperatorConfig;
use crate::store::{DeliveryMethod, Depot, FetchedOrder, Identifier, Store};

pub const UID: &str = "6a1f0d2e-1111-4222-8333-944455556666";
pub const GENERATION: i64 = 3;
pub const RESYNC: Duration = Duration::from_secs(300);

/// A cache as a watch leaves it once listed: holding `objects`, and ready.
pub fn listed<K>(mut writer: Writer<K>, objects: Vec<K>) -> reflector::Store<K>
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    writer.apply_watcher_event(&watcher::Event::Init);
    for obj in objects {
        writer.apply_watcher_event(&watcher::Event::InitApply(obj));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
    writer.as_reader()
}

pub fn empty<K>() -> reflector::Store<K>
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    listed(Writer::default(), Vec::new())
}

/// The caches with the Installation and every example Secret (even those the API server
/// no longer has: a watch can lag behind a deletion), and no children yet.
pub fn caches(inst: &Installation) -> Caches {
    let secrets = SECRETS
        .iter()
        .map(|(name, _)| {
            ObjectMeta {
                name: Some(name.to_string()),
                namespace: Some(NS.into()),
                resource_version: Some("7".into()),
                ..ObjectMeta::default()
            }
            .into_response_partial::<Secret>()
        })
        .collect();
    Caches {
        installations: listed(Writer::default(), vec![inst.clone()]),
        mappings: empty(),
        secrets: listed(Writer::default(), secrets),
        service_accounts: empty(),
        roles: empty(),
        role_bindings: empty(),
        services: empty(),
        deployments: empty(),
        cron_jobs: listed(
            Writer::<PartialObjectMeta<DynamicObject>>::new(CronJobApi::BatchV1.api_resource()),
            Vec::new(),
        ),
    }
}

pub fn config() -> OperatorConfig {
    OperatorConfig {
        children: OperatorSettings::new(
            "registry.example/linnstream:1.2.3",
            SecretKeyRef {
                name: DATABASE_SECRET.into(),
                key: "url".into(),
            },
        ),
        database_url: String::new(),
        metrics_listen: "127.0.0.1:0".parse().expect("addr"),
        watch_namespace: Some(NS.into()),
        lease: LeaseConfig {
            name: "linnstream-operator".into(),
            namespace: NS.into(),
            identity: "operator-0".into(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        },
        resync_interval: RESYNC,
        concurrency: 1,
        finalizer_timeout: Duration::from_secs(30),
        config_secret: None,
        pool: None,
    }
}

/// The example Installation `shop/acme` as the API server serves it, after `edit`.
pub fn installation(edit: impl FnOnce(&mut Value)) -> Installation {
    let mut inst: Value =
        serde_saphyr::from_str(include_str!("../../../examples/installation.yaml"))
            .expect("example");
    inst["metadata"]["namespace"] = json!(NS);
    inst["metadata"]["uid"] = json!(UID);
    inst["metadata"]["generation"] = json!(GENERATION);
    inst["metadata"]["resourceVersion"] = json!("42");
    edit(&mut inst);
    serde_json::from_value(inst).expect("installation")
}

pub fn webhooks_off(inst: &mut Value) {
    inst["spec"]["webhooks"]["enabled"] = json!(false);
}

/// What a healthy installation has in the store: fresh master data, a live worker, and
/// one pending order.
pub async fn seed_healthy(store: &Store) {
    let id = format!("{NS}/acme");
    let now = Utc::now();
    let depot = Depot {
        id: "LEEDS".into(),
        name: "Leeds".into(),
        delivery_methods: vec![DeliveryMethod {
            id: "HOME-2MAN".into(),
            name: "Two-man home delivery".into(),
            method_type: "Delivery".into(),
        }],
    };
    store
        .replace_depots(&id, &[depot], now)
        .await
        .expect("depots");
    let identifier = Identifier {
        tag: "RUN01".into(),
        name: "RUN 01".into(),
        identifier_id: Some(1),
    };
    store
        .replace_identifiers(&id, &[identifier], now)
        .await
        .expect("identifiers");
    store
        .heartbeat("worker-acme", env::WORKER_PROCESS, Some(&id))
        .await
        .expect("heartbeat");
    store
        .upsert_fetched(&FetchedOrder {
            installation: id,
            order_id: "order-1".into(),
            num_order_id: Some(1001),
            reference: Some("REF-1".into()),
            postal_service_id: None,
            postal_service_name: Some("Stream Next Day".into()),
            order_type: OrderType::Delivery,
            snapshot: None,
        })
        .await
        .expect("order");
}

/// An operator context on the mocked API server and a fresh SQLite store.
pub struct Harness {
    pub ctx: Arc<Context>,
    pub cluster: Arc<Cluster>,
    pub calls: Arc<Mutex<Vec<Call>>>,
    pub inst: Arc<Installation>,
    pub _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn new(inst: Installation, missing_secrets: Vec<&'static str>) -> Harness {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("store.db").display());
        let store = Store::connect(&url).await.expect("store");
        seed_healthy(&store).await;
        let cluster = Arc::new(Cluster {
            installation: inst.clone(),
            missing_secrets,
            failing_apply: Mutex::new(None),
        });
        let (client, calls) = mock_client(cluster.clone());
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: REPORTER.into(),
                instance: Some("operator-0".into()),
            },
        );
        let (triggers, _) = tokio::sync::mpsc::unbounded_channel();
        let wiring = Wiring {
            client,
            metrics: Arc::new(Metrics::new()),
            store,
            config: config(),
            cron_job_api: CronJobApi::BatchV1,
        };
        let ctx = Context::new(wiring, recorder, caches(&inst), triggers);
        Harness {
            ctx: Arc::new(ctx),
            cluster,
            calls,
            inst: Arc::new(inst),
            _dir: dir,
        }
    }

    pub async fn reconcile(&self) -> Result<Action, Error> {
        tokio::time::timeout(
            Duration::from_secs(30),
            reconcile(self.inst.clone(), self.ctx.clone()),
        )
        .await
        .expect("the reconcile finishes within 30 s")
    }

    /// The calls made so far, and forgets them.
    pub fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("log"))
    }
}

/// Paths of the applies, in order.
pub fn applied(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .filter(|c| c.is_apply())
        .map(|c| c.path.as_str())
        .collect()
}

/// The one status write (server-side apply by the operator's field manager); its status.
pub fn written_status(calls: &[Call]) -> &Value {
    let writes: Vec<&Call> = calls.iter().filter(|c| c.is_status_write()).collect();
    assert_eq!(writes.len(), 1, "one status write: {calls:#?}");
    let write = writes[0];
    assert_eq!(
        write.path,
        format!("/apis/linnstream.io/v1alpha1/namespaces/{NS}/installations/acme/status")
    );
    assert_eq!(write.content_type, "application/apply-patch+yaml");
    assert_eq!(write.param("fieldManager"), Some("linnstream-operator"));
    assert_eq!(write.param("force"), Some("true"));
    &write.body["status"]
}

/// The condition `type_` in `status`: (status, reason, message).
pub fn condition<'a>(status: &'a Value, type_: &str) -> (&'a str, &'a str, &'a str) {
    let c = status["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .find(|c| c["type"] == type_)
        .unwrap_or_else(|| panic!("no {type_} condition in {status:#}"));
    let text = |field: &str| c[field].as_str().unwrap_or_default();
    (text("status"), text("reason"), text("message"))
}

/// The events published, as (type, reason, note); each about `shop/acme`.
pub fn events(calls: &[Call]) -> Vec<(String, String, String)> {
    calls
        .iter()
        .filter(|c| c.is_event())
        .map(|c| {
            let regarding = &c.body["regarding"];
            assert_eq!(
                (
                    &regarding["kind"],
                    &regarding["namespace"],
                    &regarding["name"]
                ),
                (&json!("Installation"), &json!(NS), &json!("acme"))
            );
            assert_eq!(c.body["reportingController"], REPORTER);
            let text = |field: &str| c.body[field].as_str().unwrap_or_default().to_string();
            (text("type"), text("reason"), text("note"))
        })
        .collect()
}

/// Every call is one the table answers: nothing was asked that the test did not expect.
pub fn only_known_calls(calls: &[Call]) {
    let secrets = format!("/api/v1/namespaces/{NS}/secrets/");
    for c in calls {
        let known = (c.method == Method::GET && c.path.starts_with(&secrets))
            || c.is_apply()
            || c.is_status_write()
            || c.is_event();
        assert!(known, "unexpected call {} {}: {c:#?}", c.method, c.path);
    }
}

pub fn secret_reads(calls: &[Call]) -> BTreeSet<&str> {
    calls
        .iter()
        .filter(|c| c.method == Method::GET)
        .map(|c| c.path.as_str())
        .collect()
}

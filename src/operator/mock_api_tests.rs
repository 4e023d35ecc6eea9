//! The Installation reconcile against a mocked API server (the `tower-test` pattern of
//! kube-rs `controller-rs`), beside the real-server tests in tests/cluster_operator.rs:
//! every request the reconcile makes is recorded and answered from a table, so what it
//! asks of Kubernetes (which objects, applied how, which status and events) is checked in
//! milliseconds, with no cluster. Watches, garbage collection and Stream are left to the
//! real-server tests: the caches are filled by hand, and webhooks are off wherever a
//! reconcile would call Stream.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{Method, Request, Response, StatusCode};
use chrono::Utc;
use k8s_openapi::api::core::v1::Secret;
use kube::Client;
use kube::api::{DynamicObject, ObjectMeta};
use kube::client::Body;
use kube::core::{PartialObjectMeta, PartialObjectMetaExt};
use kube::runtime::controller::Action;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{self, Lookup};
use kube::runtime::watcher;
use serde_json::{Value, json};

use super::build::{CronJobApi, OperatorSettings, env};
use super::caches::Caches;
use super::context::Context;
use super::controllers::REPORTER;
use super::error::Error;
use super::installation::{error_policy, reconcile};
use super::leader::LeaseConfig;
use super::metrics::Metrics;
use super::settings::OperatorConfig;
use crate::crd::{Installation, SecretKeyRef};
use crate::store::{DeliveryMethod, Depot, FetchedOrder, Identifier, OrderType, Store};

const NS: &str = "shop";
const UID: &str = "6a1f0d2e-1111-4222-8333-944455556666";
const GENERATION: i64 = 3;
const RESYNC: Duration = Duration::from_secs(300);
const DATABASE_SECRET: &str = "linnstream-database";
/// The key names of the example Secrets (examples/secrets.yaml) and the database Secret.
const SECRETS: [(&str, &[&str]); 3] = [
    ("acme-stream", &["client-id", "client-secret"]),
    (
        "acme-linnworks",
        &[
            "application-id",
            "application-secret",
            "installation-token",
            "authorization-token",
        ],
    ),
    (DATABASE_SECRET, &["url"]),
];

/// One request the reconcile made.
#[derive(Clone, Debug)]
struct Call {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    content_type: String,
    body: Value,
}

impl Call {
    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn is_status_write(&self) -> bool {
        self.method == Method::PATCH && self.path.ends_with("/status")
    }

    fn is_apply(&self) -> bool {
        self.method == Method::PATCH
            && !self.is_status_write()
            && self.content_type == "application/apply-patch+yaml"
    }

    fn is_event(&self) -> bool {
        self.method == Method::POST
            && self.path == format!("/apis/events.k8s.io/v1/namespaces/{NS}/events")
    }
}

/// What the mocked API server holds: the Secrets that exist, and the path of an object
/// whose apply fails (500) while set.
struct Cluster {
    installation: Installation,
    missing_secrets: Vec<&'static str>,
    failing_apply: Mutex<Option<String>>,
}

fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "reason": reason, "message": message, "code": code,
    })
}

impl Cluster {
    fn answer(&self, call: &Call) -> (StatusCode, Value) {
        let secrets = format!("/api/v1/namespaces/{NS}/secrets/");
        if call.method == Method::GET
            && let Some(name) = call.path.strip_prefix(&secrets)
        {
            let Some((_, keys)) = SECRETS
                .iter()
                .find(|(n, _)| *n == name && !self.missing_secrets.contains(n))
            else {
                let message = format!("secrets {name:?} not found");
                return (
                    StatusCode::NOT_FOUND,
                    status_body(404, "NotFound", &message),
                );
            };
            // Values are never read by the checks; any base64 will do.
            let data: serde_json::Map<String, Value> = keys
                .iter()
                .map(|k| (k.to_string(), json!("dmFsdWU=")))
                .collect();
            let secret = json!({
                "apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": name, "namespace": NS, "resourceVersion": "7"},
                "data": data,
            });
            return (StatusCode::OK, secret);
        }
        if call.is_status_write() {
            let mut inst = serde_json::to_value(&self.installation).expect("installation json");
            inst["status"] = call.body["status"].clone();
            return (StatusCode::OK, inst);
        }
        if call.is_apply() {
            if self.failing_apply.lock().expect("lock").as_deref() == Some(call.path.as_str()) {
                let message = "etcdserver: request timed out";
                return (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    status_body(500, "InternalError", message),
                );
            }
            let mut obj = call.body.clone();
            obj["metadata"]["resourceVersion"] = json!("11");
            obj["metadata"]["generation"] = json!(1);
            return (StatusCode::OK, obj);
        }
        if call.is_event() {
            return (StatusCode::CREATED, call.body.clone());
        }
        let message = format!("no answer for {} {}", call.method, call.path);
        (
            StatusCode::NOT_FOUND,
            status_body(404, "NotFound", &message),
        )
    }
}

/// A client whose requests `cluster` answers, and the log of those requests. The answering
/// task ends when the last clone of the client is dropped.
fn mock_client(cluster: Arc<Cluster>) -> (Client, Arc<Mutex<Vec<Call>>>) {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let log = calls.clone();
    tokio::spawn(async move {
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.expect("request body");
            let call = Call {
                method: parts.method.clone(),
                path: parts.uri.path().to_string(),
                query: serde_urlencoded::from_str(parts.uri.query().unwrap_or_default())
                    .expect("query"),
                content_type: parts
                    .headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string(),
                body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            };
            let (status, answer) = cluster.answer(&call);
            log.lock().expect("log").push(call);
            let response = Response::builder()
                .status(status)
                .header("content-type", "application/json")
                .body(Body::from(serde_json::to_vec(&answer).expect("json")))
                .expect("response");
            respond.send_response(response);
        }
    });
    (Client::new(service, NS), calls)
}

/// A cache as a watch leaves it once listed: holding `objects`, and ready.
fn listed<K>(mut writer: Writer<K>, objects: Vec<K>) -> reflector::Store<K>
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

fn empty<K>() -> reflector::Store<K>
where
    K: Lookup + Clone + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone,
{
    listed(Writer::default(), Vec::new())
}

/// The caches with the Installation and every example Secret (even those the API server
/// no longer has: a watch can lag behind a deletion), and no children yet.
fn caches(inst: &Installation) -> Caches {
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

fn config() -> OperatorConfig {
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
fn installation(edit: impl FnOnce(&mut Value)) -> Installation {
    let mut inst: Value =
        serde_yaml::from_str(include_str!("../../examples/installation.yaml")).expect("example");
    inst["metadata"]["namespace"] = json!(NS);
    inst["metadata"]["uid"] = json!(UID);
    inst["metadata"]["generation"] = json!(GENERATION);
    inst["metadata"]["resourceVersion"] = json!("42");
    edit(&mut inst);
    serde_json::from_value(inst).expect("installation")
}

fn webhooks_off(inst: &mut Value) {
    inst["spec"]["webhooks"]["enabled"] = json!(false);
}

/// What a healthy installation has in the store: fresh master data, a live worker, and
/// one pending order.
async fn seed_healthy(store: &Store) {
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
struct Harness {
    ctx: Arc<Context>,
    cluster: Arc<Cluster>,
    calls: Arc<Mutex<Vec<Call>>>,
    inst: Arc<Installation>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new(inst: Installation, missing_secrets: Vec<&'static str>) -> Harness {
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
        let ctx = Context::new(
            client,
            recorder,
            Arc::new(Metrics::new()),
            store,
            config(),
            CronJobApi::BatchV1,
            caches(&inst),
            triggers,
        );
        Harness {
            ctx: Arc::new(ctx),
            cluster,
            calls,
            inst: Arc::new(inst),
            _dir: dir,
        }
    }

    async fn reconcile(&self) -> Result<Action, Error> {
        tokio::time::timeout(
            Duration::from_secs(30),
            reconcile(self.inst.clone(), self.ctx.clone()),
        )
        .await
        .expect("the reconcile finishes within 30 s")
    }

    /// The calls made so far, and forgets them.
    fn take_calls(&self) -> Vec<Call> {
        std::mem::take(&mut *self.calls.lock().expect("log"))
    }
}

/// Paths of the applies, in order.
fn applied(calls: &[Call]) -> Vec<&str> {
    calls
        .iter()
        .filter(|c| c.is_apply())
        .map(|c| c.path.as_str())
        .collect()
}

/// The one status write (server-side apply by the operator's field manager); its status.
fn written_status(calls: &[Call]) -> &Value {
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
fn condition<'a>(status: &'a Value, type_: &str) -> (&'a str, &'a str, &'a str) {
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
fn events(calls: &[Call]) -> Vec<(String, String, String)> {
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
fn only_known_calls(calls: &[Call]) {
    let secrets = format!("/api/v1/namespaces/{NS}/secrets/");
    for c in calls {
        let known = (c.method == Method::GET && c.path.starts_with(&secrets))
            || c.is_apply()
            || c.is_status_write()
            || c.is_event();
        assert!(known, "unexpected call {} {}: {c:#?}", c.method, c.path);
    }
}

fn secret_reads(calls: &[Call]) -> BTreeSet<&str> {
    calls
        .iter()
        .filter(|c| c.method == Method::GET)
        .map(|c| c.path.as_str())
        .collect()
}

const SA: &str = "/api/v1/namespaces/shop/serviceaccounts/acme-config-reader";
const ROLE: &str = "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles/acme-config-reader";
const BINDING: &str =
    "/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings/acme-config-reader";
const WORKER: &str = "/apis/apps/v1/namespaces/shop/deployments/acme-worker";
const IDENTIFIERS: &str = "/apis/batch/v1/namespaces/shop/cronjobs/acme-identifiers";
const POSTAL_SERVICES: &str = "/apis/batch/v1/namespaces/shop/cronjobs/acme-postal-services";

#[tokio::test]
async fn a_valid_installation_gets_its_children_applied_and_a_ready_status() {
    let h = Harness::new(installation(webhooks_off), Vec::new()).await;
    let action = h.reconcile().await.expect("reconciled");
    assert_eq!(
        action,
        Action::requeue(RESYNC),
        "checked again every resync"
    );
    let calls = h.take_calls();
    only_known_calls(&calls);

    // Every referenced Secret was looked at (their keys checked).
    assert_eq!(
        secret_reads(&calls),
        BTreeSet::from([
            "/api/v1/namespaces/shop/secrets/acme-linnworks",
            "/api/v1/namespaces/shop/secrets/acme-stream",
            "/api/v1/namespaces/shop/secrets/linnstream-database",
        ])
    );

    // The children, API access before the workloads using it; forced server-side applies
    // by the operator's field manager, each owned by the Installation.
    assert_eq!(
        applied(&calls),
        [SA, ROLE, BINDING, WORKER, IDENTIFIERS, POSTAL_SERVICES]
    );
    for c in calls.iter().filter(|c| c.is_apply()) {
        assert_eq!(
            c.param("fieldManager"),
            Some("linnstream-operator"),
            "{c:?}"
        );
        assert_eq!(c.param("force"), Some("true"), "{c:?}");
        let meta = &c.body["metadata"];
        assert_eq!(
            Some(meta["name"].as_str().expect("name")),
            c.path.rsplit('/').next(),
            "the name applied is the one in the path"
        );
        assert_eq!(meta["namespace"], NS);
        assert_eq!(
            meta["labels"]["app.kubernetes.io/managed-by"],
            "linnstream-operator"
        );
        let owner = &meta["ownerReferences"][0];
        assert_eq!(
            (
                &owner["kind"],
                &owner["name"],
                &owner["uid"],
                &owner["controller"]
            ),
            (
                &json!("Installation"),
                &json!("acme"),
                &json!(UID),
                &json!(true)
            ),
            "{c:?}"
        );
    }
    let worker = calls.iter().find(|c| c.path == WORKER).expect("worker");
    assert_eq!(worker.body["spec"]["replicas"], 1);
    assert_eq!(
        worker.body["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example/linnstream:1.2.3"
    );

    // The status: this generation, Ready with every problem condition False, the store's
    // counts.
    let status = written_status(&calls);
    assert_eq!(status["observedGeneration"], GENERATION);
    assert_eq!(condition(status, "Ready").0, "True");
    assert_eq!(condition(status, "Ready").1, "Running");
    for c in status["conditions"].as_array().expect("conditions") {
        if c["type"] != "Ready" {
            assert_eq!(c["status"], "False", "{c}");
        }
        assert!(
            c["lastTransitionTime"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
    }
    assert_eq!(
        condition(status, "WebhookNotSubscribed").1,
        "WebhooksDisabled"
    );
    assert_eq!(status["queue"]["pending"], 1);
    assert_eq!(status["workers"]["liveHeartbeats"], 1);
    assert!(status.get("webhookUrl").is_none_or(Value::is_null));
    let text = h.ctx.metrics.encode();
    assert!(
        text.contains(
            "linnstream_operator_queue_orders{installation=\"shop/acme\",status=\"Pending\"} 1"
        ),
        "{text}"
    );

    // One event, listing what was created.
    let events = events(&calls);
    assert_eq!(events.len(), 1, "{events:?}");
    let (type_, reason, note) = &events[0];
    assert_eq!(
        (type_.as_str(), reason.as_str()),
        ("Normal", "ChildrenApplied")
    );
    for child in [
        "ServiceAccount/acme-config-reader",
        "Deployment/acme-worker",
        "CronJob/acme-postal-services",
    ] {
        assert!(note.contains(child), "{note}");
    }
}

#[tokio::test]
async fn a_secret_the_api_server_no_longer_has_is_reported_missing() {
    // The watch still lists acme-linnworks; the API server answers 404: deleted since.
    let h = Harness::new(installation(|_| {}), vec!["acme-linnworks"]).await;
    let action = h.reconcile().await.expect("reconciled");
    assert_eq!(action, Action::requeue(RESYNC));
    let calls = h.take_calls();
    only_known_calls(&calls);
    assert!(
        secret_reads(&calls).contains("/api/v1/namespaces/shop/secrets/acme-linnworks"),
        "the API server was asked"
    );

    let status = written_status(&calls);
    assert_eq!(status["observedGeneration"], GENERATION);
    let (state, reason, message) = condition(status, "CredentialsMissing");
    assert_eq!((state, reason), ("True", "SecretNotFound"));
    assert!(
        message.contains("Secret \"acme-linnworks\" (spec.linnworks.applicationId) does not exist"),
        "{message}"
    );
    let (ready, why, _) = condition(status, "Ready");
    assert_eq!((ready, why), ("False", "CredentialsMissing"));
    // No Stream subscription is attempted without credentials (not even the finalizer that
    // would precede one).
    let (state, reason, message) = condition(status, "WebhookNotSubscribed");
    assert_eq!((state, reason), ("True", "NotSubscribed"));
    assert!(message.contains("credentials are missing"), "{message}");
    assert!(
        status
            .get("webhookSubscriptions")
            .is_none_or(Value::is_null)
    );

    let events = events(&calls);
    let warning = events
        .iter()
        .find(|(_, reason, _)| reason == "CredentialsMissing")
        .unwrap_or_else(|| panic!("no CredentialsMissing event in {events:?}"));
    assert_eq!(warning.0, "Warning");
    assert!(warning.2.contains("acme-linnworks"), "{}", warning.2);
}

#[tokio::test]
async fn a_spec_only_the_rules_refuse_is_reported_and_applies_nothing() {
    // Valid for the schema; refused by the rules: the send offset is not shorter than the
    // send interval.
    let h = Harness::new(
        installation(|inst| {
            webhooks_off(inst);
            inst["spec"]["schedule"]["sendOffset"] = json!("10m");
        }),
        Vec::new(),
    )
    .await;
    assert_eq!(
        h.reconcile().await.expect("reconciled"),
        Action::requeue(RESYNC)
    );
    let calls = h.take_calls();
    only_known_calls(&calls);
    assert_eq!(applied(&calls), Vec::<&str>::new(), "nothing applied");

    let status = written_status(&calls);
    let (state, reason, message) = condition(status, "InvalidSpec");
    assert_eq!((state, reason), ("True", "ValidationFailed"));
    assert!(
        message
            .contains("spec.schedule.sendOffset: \"10m\" must be shorter than sendInterval \"5m\""),
        "{message}"
    );
    assert_eq!(condition(status, "Ready").1, "InvalidSpec");
    let events = events(&calls);
    assert!(
        events.iter().any(|(t, r, note)| t == "Warning"
            && r == "InvalidSpec"
            && note.contains("sendOffset")),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_failed_apply_fails_the_reconcile_and_backs_off_until_it_succeeds() {
    let h = Harness::new(installation(webhooks_off), Vec::new()).await;
    *h.cluster.failing_apply.lock().expect("lock") = Some(WORKER.to_string());

    let error = h
        .reconcile()
        .await
        .expect_err("the 500 fails the reconcile");
    assert!(
        matches!(&error, Error::Kube(kube::Error::Api(s)) if s.code == 500),
        "{error:?}"
    );
    let calls = h.take_calls();
    only_known_calls(&calls);
    // Stopped at the failure: no later child, no status written from a half-done pass.
    assert_eq!(applied(&calls), [SA, ROLE, BINDING, WORKER]);
    assert!(!calls.iter().any(Call::is_status_write), "{calls:#?}");
    assert!(events(&calls).is_empty());

    // 1 s, then twice as long while it keeps failing.
    assert_eq!(
        error_policy(h.inst.clone(), &error, h.ctx.clone()),
        Action::requeue(Duration::from_secs(1))
    );
    let again = h.reconcile().await.expect_err("still failing");
    assert_eq!(
        error_policy(h.inst.clone(), &again, h.ctx.clone()),
        Action::requeue(Duration::from_secs(2))
    );
    let text = h.ctx.metrics.encode();
    assert!(
        text.contains(
            "linnstream_operator_reconcile_failures_total{controller=\"installation\",error=\"kube\"} 2"
        ),
        "{text}"
    );

    // Fixed: the pass completes, and the next failure starts the backoff over.
    *h.cluster.failing_apply.lock().expect("lock") = None;
    assert_eq!(
        h.reconcile().await.expect("reconciled"),
        Action::requeue(RESYNC)
    );
    assert_eq!(
        condition(written_status(&h.take_calls()), "Ready").1,
        "Running"
    );
    assert_eq!(
        error_policy(h.inst.clone(), &again, h.ctx.clone()),
        Action::requeue(Duration::from_secs(1))
    );
}

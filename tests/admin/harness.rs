//! A whole admin surface for tests: a fresh store (PostgreSQL or SQLite), the Linnworks
//! and Stream simulators, settings files pointing an installation at them, the engine, and
//! the admin router served on a free loopback port.
#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use linnstream::config::{Snapshot, load_dir};

use linnstream::domain::InstallationKey;
use linnstream::remote::{RemoteOptions, RetryPolicy};
use linnstream::server::admin::{AdminAuth, admin_router};
use linnstream::settings::SystemSettings;
use linnstream::sim::kit::RunningServer;
use linnstream::sim::linnworks::{LinnworksSim, LinnworksSimConfig};
use linnstream::sim::stream::{StreamSim, StreamSimConfig};
use linnstream::sync::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::watch;

pub use crate::support::db::{Backend, TestDb};

pub const TOKEN: &str = "test-admin-token-0123456789";
pub const NAMESPACE: &str = "shop";
pub const NAME: &str = "acme";
pub const SERVICE: &str = "Stream Next Day";

/// The settings files of one installation using the simulators: Installation, a delivery
/// mapping for "Stream Next Day" (Stream depot NORTH, method NTH-2MAN) and the Secrets
/// with the simulators' demo credentials.
pub fn write_settings(dir: &Path, linnworks_url: &str, stream_url: &str, order_sync: bool) {
    let installation = format!(
        r#"apiVersion: linnstream.io/v1alpha1
kind: Installation
metadata:
  name: {NAME}
  namespace: {NAMESPACE}
spec:
  stream:
    clientUrl: {stream_url}/api
    clientId: {{secretKeyRef: {{name: acme-stream, key: client-id}}}}
    clientSecret: {{secretKeyRef: {{name: acme-stream, key: client-secret}}}}
  linnworks:
    apiBaseUrl: {linnworks_url}
    applicationId: {{secretKeyRef: {{name: acme-linnworks, key: application-id}}}}
    applicationSecret: {{secretKeyRef: {{name: acme-linnworks, key: application-secret}}}}
    installationToken: {{secretKeyRef: {{name: acme-linnworks, key: installation-token}}}}
  sender:
    contactName: Dispatch Desk
    companyName: Acme Homewares Ltd
    addressLine1: Unit 4, Riverside Park
    city: Leeds
    countryCode: GB
    postCode: LS10 1AB
    contactPhoneNo: "+44 113 496 0000"
  labels:
    reference: ACME-WH1
  sync:
    orderSyncEnabled: {order_sync}
    orderLookbackDays: 7
    orderNumPrefix: ACME-
  webhooks:
    enabled: false
  schedule:
    timeZone: UTC
"#
    );
    let mapping = format!(
        r#"apiVersion: linnstream.io/v1alpha1
kind: PostalServiceMapping
metadata:
  name: acme-next-day
  namespace: {NAMESPACE}
spec:
  installationRef: {{name: {NAME}}}
  postalService:
    name: {SERVICE}
  depot: NORTH
  deliveryMethod: NTH-2MAN
  orderType: Delivery
  service: NEXTDAY
  serviceLevel: STANDARD
  stockLocation: LDS
  labelType: Default
  labelCopies: 1
"#
    );
    let secrets = format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: acme-stream
  namespace: {NAMESPACE}
stringData:
  client-id: DEMO000000000001
  client-secret: demo-secret-not-for-production
---
apiVersion: v1
kind: Secret
metadata:
  name: acme-linnworks
  namespace: {NAMESPACE}
stringData:
  application-id: {}
  application-secret: {}
  installation-token: {}
"#,
        linnstream::sim::linnworks::DEMO_APPLICATION_ID,
        linnstream::sim::linnworks::DEMO_APPLICATION_SECRET,
        linnstream::sim::linnworks::DEMO_INSTALLATION_TOKEN,
    );
    std::fs::write(dir.join("installation.yaml"), installation).expect("write installation");
    std::fs::write(dir.join("mapping.yaml"), mapping).expect("write mapping");
    std::fs::write(dir.join("secrets.yaml"), secrets).expect("write secrets");
}

/// The simulators, with the Stream postal service known to Linnworks.
pub struct Sims {
    pub linnworks: RunningServer,
    pub stream: RunningServer,
    pub http: reqwest::Client,
}

impl Sims {
    pub async fn start() -> Sims {
        let linnworks = LinnworksSim::new(LinnworksSimConfig::default())
            .start_loopback()
            .await
            .expect("start the Linnworks simulator");
        let stream = StreamSim::new(StreamSimConfig::default())
            .expect("Stream simulator config")
            .serve_loopback()
            .await
            .expect("start the Stream simulator");
        let sims = Sims {
            linnworks,
            stream,
            http: reqwest::Client::new(),
        };
        let (status, body) = sims
            .post(
                &format!("{}/_sim/postal-services", sims.linnworks.url()),
                &json!({"name": SERVICE, "vendor": "STREAM TECH"}),
            )
            .await;
        assert!(status.is_success(), "add postal service: {status} {body}");
        sims
    }

    async fn post(&self, url: &str, body: &Value) -> (StatusCode, Value) {
        let r = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .expect("simulator answers");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Adds an open Linnworks order (compact simulator shape) shipping with the Stream
    /// service unless `order` says otherwise; returns its id and number.
    pub async fn add_order(&self, order: Value) -> (String, i64) {
        let mut order = order;
        if order.get("postalServiceName").is_none() {
            order["postalServiceName"] = json!(SERVICE);
        }
        let (status, body) = self
            .post(&format!("{}/_sim/orders", self.linnworks.url()), &order)
            .await;
        assert_eq!(status, StatusCode::CREATED, "add order: {body}");
        let created = body
            .as_array()
            .and_then(|a| a.first())
            .cloned()
            .unwrap_or(body);
        (
            created["OrderId"].as_str().expect("OrderId").to_string(),
            created["NumOrderId"].as_i64().expect("NumOrderId"),
        )
    }

    /// Makes Stream refuse the next `times` order creations with `status`.
    pub async fn refuse_stream_orders(&self, status: u16, times: u32) {
        let (s, body) = self
            .post(
                &format!("{}/_sim/faults", self.stream.url()),
                &json!({"path": "/api/orders/orders", "method": "POST", "kind": "status",
                        "status": status, "times": times}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "add fault: {body}");
    }

    /// Every order Stream holds, deleted ones included.
    pub async fn stream_orders(&self) -> Vec<Value> {
        let r: Value = self
            .http
            .get(format!("{}/_sim/orders", self.stream.url()))
            .send()
            .await
            .expect("Stream simulator answers")
            .json()
            .await
            .expect("JSON");
        r.as_array()
            .cloned()
            .or_else(|| r["orders"].as_array().cloned())
            .unwrap_or_default()
    }
}

/// Settings for tests: remote retries in milliseconds, not seconds.
pub fn remote_options() -> RemoteOptions {
    RemoteOptions {
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_retries: 1,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(1),
            jitter: false,
        },
        linnworks_pace_scale: 1.0,
    }
}

/// The admin API of a running server, called with the admin token.
pub struct AdminApi {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub http: reqwest::Client,
}

impl AdminApi {
    pub fn new(base: String) -> Self {
        Self {
            base,
            http: reqwest::Client::new(),
        }
    }

    /// `/api/admin/installations/shop/acme/<suffix>`
    pub fn inst(&self, suffix: &str) -> String {
        format!("/api/admin/installations/{NAMESPACE}/{NAME}/{suffix}")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("admin API answers");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.post_as(path, body, None).await
    }

    pub async fn post_as(
        &self,
        path: &str,
        body: Value,
        user: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body);
        if let Some(user) = user {
            request = request.header("X-Linnstream-User", user);
        }
        let r = request.send().await.expect("admin API answers");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Runs the fetch job through the API; returns its reply.
    pub async fn refetch(&self) -> Value {
        let (status, body) = self.post(&self.inst("refetch"), json!({})).await;
        assert_eq!(status, StatusCode::OK, "refetch: {body}");
        body
    }

    pub async fn order(&self, order_id: &str) -> Value {
        let (status, body) = self.get(&self.inst(&format!("orders/{order_id}"))).await;
        assert_eq!(status, StatusCode::OK, "order {order_id}: {body}");
        body
    }

    pub async fn status_of(&self, order_id: &str) -> String {
        self.order(order_id).await["order"]["status"]
            .as_str()
            .expect("status")
            .to_string()
    }
}

/// A store, the simulators, an engine over them and the admin router on a loopback port;
/// dereferences to the [`AdminApi`] of that server.
pub struct Harness {
    pub sims: Sims,
    pub engine: Engine,
    pub admin: RunningServer,
    pub api: AdminApi,
    pub key: InstallationKey,
    pub db: TestDb,
    _config: watch::Sender<Arc<Snapshot>>,
    _dir: tempfile::TempDir,
}

impl std::ops::Deref for Harness {
    type Target = AdminApi;

    fn deref(&self) -> &AdminApi {
        &self.api
    }
}

impl Harness {
    pub async fn start(backend: Backend) -> Harness {
        Self::start_with(backend, true).await
    }

    pub async fn start_with(backend: Backend, order_sync: bool) -> Harness {
        let db = TestDb::new(backend).await;
        let sims = Sims::start().await;
        let dir = tempfile::tempdir().expect("temp dir");
        write_settings(
            dir.path(),
            &sims.linnworks.url(),
            &sims.stream.url(),
            order_sync,
        );
        let snapshot = load_dir(dir.path()).expect("the test settings load");
        let (tx, rx) = watch::channel(Arc::new(snapshot));
        let engine = Engine::with_remote_options(
            db.store.clone(),
            SystemSettings::default(),
            rx,
            remote_options(),
        );
        let auth = AdminAuth::single(TOKEN).expect("token");
        let admin = linnstream::sim::kit::serve_loopback(admin_router(engine.clone(), auth))
            .await
            .expect("serve the admin API");
        Harness {
            api: AdminApi::new(admin.url()),
            sims,
            engine,
            admin,
            key: InstallationKey::new(NAMESPACE, NAME),
            db,
            _config: tx,
            _dir: dir,
        }
    }
}

/// Stores a Stream notification for `installation` concerning consignment `consignment`
/// and fails it for good (as the processor would after its retries), with `error` as the
/// last error; returns the event id.
pub async fn seed_failed_webhook(
    store: &linnstream::store::Store,
    installation: &str,
    code: &str,
    consignment: &str,
    error: &str,
) -> i64 {
    use linnstream::store::NewWebhookEvent;
    let inserted = store
        .insert_webhook_event(&NewWebhookEvent {
            installation: installation.to_string(),
            dedup_key: format!("{code}-{consignment}"),
            received_at: chrono::Utc::now(),
            body: json!({"event_code": code, "consignment_no": consignment}).to_string(),
            event_code: code.to_string(),
            consignment_no: Some(consignment.to_string()),
            order_no: None,
            order_refs: vec![consignment.to_string()],
            run: None,
            group: None,
        })
        .await
        .expect("store a webhook event");
    let claimed = store
        .claim_webhook_events(
            installation,
            100,
            "seeding-test",
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("claim webhook events");
    let event = claimed
        .into_iter()
        .find(|e| e.id == inserted.id)
        .expect("the seeded event is claimable");
    let failed = store
        .mark_webhook_failed(&event.claim().expect("claimed"), error, 0)
        .await
        .expect("fail the event");
    assert_eq!(failed.status.as_str(), "Failed");
    inserted.id
}

/// Width and height of a PNG from its IHDR chunk, or None when it is not a PNG.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let signature = b"\x89PNG\r\n\x1a\n";
    if bytes.len() < 24 || &bytes[..8] != signature || &bytes[12..16] != b"IHDR" {
        return None;
    }
    let be = |s: &[u8]| u32::from_be_bytes([s[0], s[1], s[2], s[3]]);
    Some((be(&bytes[16..20]), be(&bytes[20..24])))
}

//! A whole engine in one test: both simulators served on loopback ports, a real store
//! (PostgreSQL or SQLite, see `db`), one installation pointed at the simulators, an
//! `Engine` over them, and the webhook receiver served on a loopback port. Two
//! installations to start from: a test one subscribed in the Stream simulator, so Stream's
//! own notifications reach the receiver ([`Harness::start`]), and the example one of
//! `linnstream simulate`, webhooks off ([`Harness::example`]).
#![allow(dead_code)]

use linnstream::sync::RunContext;
use std::sync::Arc;
use std::time::{Duration, Instant};

use linnstream::config::load_dir;
use linnstream::config::{Credentials, InstallationConfig, MappingConfig, Snapshot};
use linnstream::domain::InstallationKey;
use linnstream::domain::OrderStatus;
use linnstream::domain::webhook::webhook_path;
use linnstream::remote::{RemoteOptions, RetryPolicy};
use linnstream::server::{WebhookAuth, webhook_router};
use linnstream::settings::SystemSettings;
use linnstream::sim::kit::{RunningServer, serve_loopback};
use linnstream::sim::linnworks::{
    DEMO_APPLICATION_ID, DEMO_APPLICATION_SECRET, DEMO_INSTALLATION_TOKEN, LinnworksSim, NewOrder,
    NewPostalService,
};
use linnstream::sim::stream::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, StreamSim, StreamSimConfig};
use linnstream::sim::world::{NAME, NAMESPACE, World, WorldSettings};
use linnstream::store::{Order, OrderQuery, WebhookEvent};
use linnstream::stream::WebhookSubscription;
use linnstream::sync::Engine;
use linnstream::sync::{WebhookSummary, process_webhooks};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::db::{Backend, TestDb};

/// A mapped service whose orders stay open on delivery.
pub const PLAIN_SERVICE: &str = "Stream Standard";
/// A mapped service with `processedOnDelivered`.
pub const PROCESSING_SERVICE: &str = "Stream Signed";
pub const WEBHOOK_SECRET: &[u8] = b"test-webhook-secret-at-least-32-bytes";
pub const ACTOR: &str = "test";

#[derive(Clone, Debug)]
pub struct Options {
    /// `spec.webhooks.groupSequenceIdentifiers`.
    pub sequences: bool,
    /// Run both master-data syncs at start (identifiers must exist before orders can be
    /// tagged; depots validate mappings).
    pub master_data: bool,
    /// The engine's system settings.
    pub settings: SystemSettings,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            sequences: false,
            master_data: true,
            settings: SystemSettings::default(),
        }
    }
}

pub struct Harness {
    pub db: TestDb,
    pub linnworks: LinnworksSim,
    pub stream: StreamSim,
    pub linnworks_url: String,
    pub stream_url: String,
    pub receiver_url: String,
    pub key: InstallationKey,
    pub auth: WebhookAuth,
    pub engine: Engine,
    pub http: reqwest::Client,
    /// The published settings, as a config watcher would publish them.
    pub config: watch::Sender<Arc<Snapshot>>,
    // Kept for their lifetime: dropping one stops it.
    _servers: Vec<RunningServer>,
    // The example installation's resource files.
    _dir: Option<tempfile::TempDir>,
}

pub fn installation_config(
    key: &InstallationKey,
    linnworks_url: &str,
    stream_url: &str,
    options: Options,
) -> InstallationConfig {
    let secret = |key: &str| json!({"secretKeyRef": {"name": "acme-secrets", "key": key}});
    let spec = serde_json::from_value(json!({
        "stream": {
            "clientUrl": format!("{stream_url}/api"),
            "clientId": secret("stream-client-id"),
            "clientSecret": secret("stream-client-secret"),
        },
        "linnworks": {
            "apiBaseUrl": linnworks_url,
            "applicationId": secret("application-id"),
            "applicationSecret": secret("application-secret"),
            "installationToken": secret("installation-token"),
        },
        "sender": {
            "contactName": "Dispatch Desk", "companyName": "Acme Homewares Ltd",
            "addressLine1": "Unit 4, Riverside Park", "city": "Leeds", "countryCode": "GB",
            "postCode": "LS10 1AB", "contactPhoneNo": "+44 113 496 0000",
        },
        "sync": {"orderSyncEnabled": true, "orderLookbackDays": 7, "orderNumPrefix": "T-"},
        "webhooks": {
            "enabled": true,
            "groupSequenceIdentifiers": options.sequences,
            "publicBaseUrl": "http://127.0.0.1",
        },
    }))
    .expect("installation spec");
    let mapping = |name: &str, service: &str, processed: bool| MappingConfig {
        name: name.into(),
        spec: serde_json::from_value(json!({
            "installationRef": {"name": key.name},
            "postalService": {"name": service},
            "depot": "NORTH",
            "deliveryMethod": "NTH-2MAN",
            "processedOnDelivered": processed,
        }))
        .expect("mapping spec"),
    };
    let credentials = Credentials {
        stream_client_id: DEMO_CLIENT_ID.into(),
        stream_client_secret: DEMO_CLIENT_SECRET.into(),
        linnworks_application_id: DEMO_APPLICATION_ID.into(),
        linnworks_application_secret: DEMO_APPLICATION_SECRET.into(),
        linnworks_installation_token: DEMO_INSTALLATION_TOKEN.into(),
        gateway_token: None,
    };
    let mappings = vec![
        mapping("standard", PLAIN_SERVICE, false),
        mapping("signed", PROCESSING_SERVICE, true),
    ];
    InstallationConfig::new(key.clone(), spec, credentials, mappings)
        .expect("the test installation is valid")
}

/// No HTTP-level retries and short delays, so injected faults reach the job at once.
pub fn test_remote_options() -> RemoteOptions {
    RemoteOptions {
        timeout: Duration::from_secs(10),
        retry: RetryPolicy {
            max_retries: 0,
            base_delay: Duration::from_millis(5),
            max_delay: Duration::from_millis(20),
            max_retry_after: Duration::from_secs(1),
            jitter: false,
        },
        linnworks_pace_scale: 1.0,
    }
}

/// The example installation's system settings: batches of 50 and one HTTP attempt per send,
/// so an injected failure fails the send.
pub fn example_settings() -> SystemSettings {
    SystemSettings {
        max_batch_size_per_installation: 50,
        stream_api_max_retry_attempts: 0,
        ..SystemSettings::default()
    }
}

/// What both kinds of harness are made of before the engine is built.
struct Parts {
    db: TestDb,
    linnworks: LinnworksSim,
    stream: StreamSim,
    linnworks_server: RunningServer,
    stream_server: RunningServer,
    key: InstallationKey,
    snapshot: Snapshot,
    settings: SystemSettings,
    remote: RemoteOptions,
    dir: Option<tempfile::TempDir>,
}

impl Harness {
    /// The engine over `parts`, with the webhook receiver served beside it.
    async fn assemble(parts: Parts) -> Harness {
        let (config, receiver) = watch::channel(Arc::new(parts.snapshot));
        let engine = Engine::with_remote_options(
            parts.db.store.clone(),
            parts.settings,
            receiver,
            parts.remote,
        );
        let auth = WebhookAuth::derived(WEBHOOK_SECRET.to_vec());
        let receiver_server = serve_loopback(webhook_router(engine.clone(), auth.clone()))
            .await
            .expect("serve the receiver");
        Harness {
            linnworks_url: parts.linnworks_server.url(),
            stream_url: parts.stream_server.url(),
            receiver_url: receiver_server.url(),
            db: parts.db,
            linnworks: parts.linnworks,
            stream: parts.stream,
            key: parts.key,
            auth,
            engine,
            http: reqwest::Client::new(),
            config,
            _servers: vec![parts.linnworks_server, parts.stream_server, receiver_server],
            _dir: parts.dir,
        }
    }

    /// The example installation of `linnstream simulate` (`sim::world`: its Linnworks
    /// account, depot NORTH, a delivery and a collection mapping) on `backend`, with
    /// [`example_settings`]; webhooks off, master data synced.
    pub async fn example(backend: Backend) -> Harness {
        Self::example_with(backend, example_settings()).await
    }

    pub async fn example_with(backend: Backend, settings: SystemSettings) -> Harness {
        let db = TestDb::new(backend).await;
        let world = World::start().await.expect("simulators start");
        let dir = tempfile::tempdir().expect("temp dir");
        world
            .write_resources(dir.path(), &WorldSettings::default())
            .expect("resources written");
        let snapshot = load_dir(dir.path()).expect("generated resources are valid");
        let remote = RemoteOptions {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::from_settings(&settings).with_base_delay(Duration::from_millis(10)),
            linnworks_pace_scale: 1.0,
        };
        let World {
            linnworks,
            linnworks_server,
            stream,
            stream_server,
        } = world;
        let harness = Self::assemble(Parts {
            db,
            linnworks,
            stream,
            linnworks_server,
            stream_server,
            key: InstallationKey::new(NAMESPACE, NAME),
            snapshot,
            settings,
            remote,
            dir: Some(dir),
        })
        .await;
        // Identifiers and postal services exist in Linnworks before orders are tagged.
        harness.master_data().await;
        harness
    }

    pub async fn start(backend: Backend) -> Harness {
        Self::start_with(backend, Options::default()).await
    }

    pub async fn start_with(backend: Backend, options: Options) -> Harness {
        let db = TestDb::new(backend).await;
        let linnworks = LinnworksSim::default();
        let lw_server = linnworks.start_loopback().await.expect("serve Linnworks");
        let service = |name: &str| NewPostalService {
            id: None,
            name: name.into(),
            vendor: Some("STREAM TECH".into()),
            tag: None,
            code: None,
            country: Some("GB".into()),
        };
        linnworks
            .add_postal_services(vec![service(PLAIN_SERVICE), service(PROCESSING_SERVICE)])
            .expect("postal services");
        let stream = StreamSim::new(StreamSimConfig {
            webhook_retry_delay: Duration::from_millis(50),
            ..StreamSimConfig::default()
        })
        .expect("Stream simulator");
        let stream_server = stream.serve_loopback().await.expect("serve Stream");
        let key = InstallationKey::new("shop", "acme");
        let (settings, master_data) = (options.settings.clone(), options.master_data);
        let inst = installation_config(&key, &lw_server.url(), &stream_server.url(), options);
        let mut snapshot = Snapshot::default();
        snapshot.installations.insert(key.clone(), inst);
        let harness = Self::assemble(Parts {
            db,
            linnworks,
            stream,
            linnworks_server: lw_server,
            stream_server,
            key,
            snapshot,
            settings,
            remote: test_remote_options(),
            dir: None,
        })
        .await;
        harness.subscribe("*").await;
        if master_data {
            harness.master_data().await;
        }
        harness
    }

    pub fn installation(&self) -> InstallationConfig {
        self.engine
            .installation(&self.key)
            .expect("the installation is configured")
    }

    /// Publishes changed settings, as a config watcher would.
    pub fn update_installation(&self, change: impl FnOnce(&mut InstallationConfig)) {
        let mut inst = self.installation();
        change(&mut inst);
        self.publish(inst);
    }

    /// Adds (or replaces) an installation in the published settings, keeping the others.
    fn publish(&self, inst: InstallationConfig) {
        // A changed schedule is parsed again, as a changed resource would be.
        let inst = InstallationConfig::new(inst.key, inst.spec, inst.credentials, inst.mappings)
            .expect("the changed installation is valid");
        let mut snapshot = Snapshot::clone(&self.config.borrow());
        snapshot.installations.insert(inst.key.clone(), inst);
        self.config.send_replace(Arc::new(snapshot));
    }

    /// A second installation on the same Linnworks and Stream accounts (a copy of the
    /// first under another name, then `change`d), served by the same engine.
    pub fn add_installation(
        &self,
        name: &str,
        change: impl FnOnce(&mut InstallationConfig),
    ) -> InstallationKey {
        let key = InstallationKey::new(&self.key.namespace, name);
        let mut inst = self.installation();
        inst.key = key.clone();
        for m in &mut inst.mappings {
            m.spec.installation_ref.name = name.to_string();
        }
        change(&mut inst);
        self.publish(inst);
        key
    }

    /// Another engine over the same store and installations, with its own settings and
    /// client options (e.g. Linnworks pacing scaled like the simulator's limits).
    pub fn engine_with(&self, settings: SystemSettings, remote: RemoteOptions) -> Engine {
        Engine::with_remote_options(
            self.db.store.clone(),
            settings,
            self.config.subscribe(),
            remote,
        )
    }

    /// The receiver's URL for this installation.
    pub fn webhook_url(&self) -> String {
        format!("{}{}", self.receiver_url, webhook_path(&self.key))
    }

    pub fn token(&self) -> String {
        self.auth.token_for(&self.key).expect("a token")
    }

    /// Subscribes the receiver in the Stream simulator, with the installation's token.
    pub async fn subscribe(&self, event: &str) {
        let clients = self.engine.clients(&self.installation()).expect("clients");
        clients
            .stream
            .subscribe(&WebhookSubscription::post_json(
                event,
                &self.webhook_url(),
                Some(self.token()),
            ))
            .await
            .expect("subscribe");
    }

    pub async fn master_data(&self) {
        self.master_data_of(&self.key).await;
    }

    pub async fn master_data_of(&self, key: &InstallationKey) {
        linnstream::sync::sync_identifiers(&RunContext::new(&self.engine, key, "setup", ACTOR))
            .await
            .expect("identifiers");
        linnstream::sync::sync_postal_services(&RunContext::new(&self.engine, key, "setup", ACTOR))
            .await
            .expect("postal services");
    }

    /// Puts `n` open orders on `service` into Linnworks, then fetches and sends them:
    /// they come back Completed, with Stream order and consignment numbers.
    pub async fn ship(&self, service: &str, n: usize) -> Vec<Order> {
        self.ship_as(&self.key, service, n).await
    }

    /// As `ship`, for installation `key`.
    pub async fn ship_as(&self, key: &InstallationKey, service: &str, n: usize) -> Vec<Order> {
        let ids = self
            .linnworks
            .add_orders(
                (0..n)
                    .map(|_| NewOrder {
                        postal_service_name: Some(service.into()),
                        ..NewOrder::default()
                    })
                    .collect(),
            )
            .expect("add orders");
        linnstream::sync::fetch(&RunContext::new(&self.engine, key, "setup", ACTOR))
            .await
            .expect("fetch");
        let summary =
            linnstream::sync::send_cycle(&RunContext::new(&self.engine, key, "setup", ACTOR))
                .await
                .expect("send");
        assert!(summary.completed >= n, "send: {summary:?}");
        let mut orders = Vec::new();
        for id in ids {
            let order = self
                .db
                .store
                .order(&key.id(), &id.to_string())
                .await
                .expect("store")
                .expect("queued");
            assert_eq!(order.status, OrderStatus::Completed, "{order:?}");
            assert!(order.consignment_no.is_some(), "{order:?}");
            orders.push(order);
        }
        orders
    }

    /// `POST /_sim/events` on the Stream simulator.
    pub async fn sim_event(&self, body: Value) -> Value {
        let reply = self
            .http
            .post(format!("{}/_sim/events", self.stream_url))
            .json(&body)
            .send()
            .await
            .expect("sim events");
        let status = reply.status();
        let value: Value = reply.json().await.expect("sim reply");
        assert!(status.is_success(), "{status}: {value}");
        value
    }

    /// Plans `consignments` (in sequence order) into `run` for `date`, with the given
    /// planning events (the simulator's three by default).
    pub async fn plan(&self, orders: &[&Order], run: u32, date: &str, events: Option<&[&str]>) {
        let list: Vec<Value> = orders
            .iter()
            .map(|o| json!({"orderNo": o.stream_order_id}))
            .collect();
        let mut body =
            json!({"action": "plan", "orders": list, "runNumber": run, "deliveryDate": date});
        if let Some(events) = events {
            body["events"] = json!(events);
        }
        self.sim_event(body).await;
    }

    /// Waits until the store holds `n` events of the installation (Stream delivers in the
    /// background) and every delivery the simulator made was acknowledged.
    pub async fn wait_for_events(&self, n: usize) -> Vec<WebhookEvent> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let events = self.events().await;
            let deliveries: Value = self
                .http
                .get(format!("{}/_sim/webhooks", self.stream_url))
                .send()
                .await
                .expect("sim webhooks")
                .json()
                .await
                .expect("json");
            let settled = deliveries["deliveries"]
                .as_array()
                .is_some_and(|d| d.iter().all(|d| d["state"] != "pending"));
            if events.len() >= n && settled {
                assert_eq!(events.len(), n, "more events than expected: {events:?}");
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} events arrived; deliveries: {deliveries}",
                events.len()
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// The installation's stored events, oldest first.
    pub async fn events(&self) -> Vec<WebhookEvent> {
        let mut events = self
            .db
            .store
            .list_webhook_events(&self.key.id(), None, 1000)
            .await
            .expect("events");
        events.reverse();
        events
    }

    pub async fn process(&self) -> WebhookSummary {
        process_webhooks(&RunContext::new(&self.engine, &self.key, "test-run", ACTOR))
            .await
            .expect("process webhooks")
    }

    /// Runs the processing job until it claims nothing (at most 20 times).
    pub async fn process_all(&self) -> WebhookSummary {
        let mut total = WebhookSummary::default();
        for _ in 0..20 {
            let s = self.process().await;
            if s.claimed == 0 {
                return total;
            }
            total.claimed += s.claimed;
            total.applied += s.applied;
            total.skipped += s.skipped;
            total.retrying += s.retrying;
            total.failed += s.failed;
        }
        panic!("the webhook job still claims events after 20 runs: {total:?}");
    }

    /// POSTs a body straight to the receiver, with `token` in the Authorization header.
    pub async fn post_webhook(
        &self,
        path: &str,
        body: Vec<u8>,
        token: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}{path}", self.receiver_url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.header("authorization", token);
        }
        let reply = request.send().await.expect("receiver");
        let status = reply.status().as_u16();
        let text = reply.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, value)
    }

    /// The Linnworks order as the simulator holds it.
    pub fn lw_order(&self, order: &Order) -> Value {
        self.linnworks
            .order(&order.order_id)
            .expect("order in Linnworks")
    }

    /// The identifier tags on the Linnworks order, sorted.
    pub fn tags(&self, order: &Order) -> Vec<String> {
        let mut tags: Vec<String> = self.lw_order(order)["GeneralInfo"]["Identifiers"]
            .as_array()
            .expect("identifiers")
            .iter()
            .filter_map(|i| i["Tag"].as_str().map(str::to_string))
            .collect();
        tags.sort();
        tags
    }

    /// The tags the webhook job manages (RUN, SEQ, day), sorted.
    pub fn planning_tags(&self, order: &Order) -> Vec<String> {
        self.tags(order)
            .into_iter()
            .filter(|t| {
                linnstream::domain::identifiers::is_run_tag(t)
                    || linnstream::domain::identifiers::is_seq_tag(t)
                    || linnstream::domain::identifiers::is_day_tag(t)
            })
            .collect()
    }

    pub fn notes(&self, order: &Order) -> Vec<String> {
        self.lw_order(order)["Notes"]
            .as_array()
            .expect("notes")
            .iter()
            .filter_map(|n| n["Note"].as_str().map(str::to_string))
            .collect()
    }

    pub fn processed(&self, order: &Order) -> bool {
        self.lw_order(order)["Processed"] == json!(true)
    }

    /// Linnworks calls made to `path` so far.
    pub fn linnworks_calls(&self, path: &str) -> usize {
        self.linnworks
            .kit()
            .recorder()
            .requests()
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// Adds orders described compactly (see `POST /_sim/orders` in docs/simulators.md).
    pub fn add_orders(&self, orders: Vec<Value>) -> Result<Vec<uuid::Uuid>, String> {
        let orders: Vec<NewOrder> = orders
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("not an order: {e}"))?;
        self.linnworks
            .add_orders(orders)
            .map_err(|e| format!("adding orders: {e:?}"))
    }

    pub async fn fetch(&self) -> linnstream::sync::FetchSummary {
        linnstream::sync::fetch(&RunContext::new(
            &self.engine,
            &self.key,
            "test-fetch",
            ACTOR,
        ))
        .await
        .expect("fetch runs")
    }

    pub async fn send(&self) -> linnstream::sync::SendSummary {
        linnstream::sync::send_cycle(&RunContext::new(
            &self.engine,
            &self.key,
            "test-send",
            ACTOR,
        ))
        .await
        .expect("send runs")
    }

    /// The stored order with Linnworks number `num`.
    pub async fn queued(&self, num: i64) -> Order {
        let page = self
            .engine
            .store()
            .list_orders(&OrderQuery {
                installation: self.key.id(),
                search: Some(num.to_string()),
                limit: 10,
                ..Default::default()
            })
            .await
            .expect("list orders");
        page.orders
            .into_iter()
            .find(|o| o.num_order_id == Some(num))
            .unwrap_or_else(|| panic!("order {num} is not queued"))
    }

    pub async fn status(&self, num: i64) -> OrderStatus {
        self.queued(num).await.status
    }

    /// The Linnworks order with number `num` as the simulator now has it.
    pub fn linnworks_order(&self, num: i64) -> Value {
        self.linnworks
            .order(&num.to_string())
            .unwrap_or_else(|| panic!("Linnworks has no order {num}"))
    }

    /// The identifier tags on Linnworks order `num`, in the order Linnworks lists them.
    pub fn identifiers(&self, num: i64) -> Vec<String> {
        self.linnworks_order(num)["GeneralInfo"]["Identifiers"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|i| i["Tag"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The values of the `name` extended properties of Linnworks order `num`.
    pub fn extended_property(&self, num: i64, name: &str) -> Vec<String> {
        self.linnworks_order(num)["ExtendedProperties"]
            .as_array()
            .map(|props| {
                props
                    .iter()
                    .filter(|p| p["Name"] == name)
                    .filter_map(|p| p["Value"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn tracking_number(&self, num: i64) -> String {
        self.linnworks_order(num)["ShippingInfo"]["TrackingNumber"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Every order the Stream simulator has received (deleted ones included).
    pub async fn stream_orders(&self) -> Vec<Value> {
        let body: Value = self
            .http
            .get(format!("{}/_sim/orders", self.stream_url))
            .send()
            .await
            .expect("sim reachable")
            .json()
            .await
            .expect("json");
        body["orders"].as_array().cloned().unwrap_or_default()
    }

    /// Adds a simulator fault (`POST /_sim/faults`) to Stream, or else to Linnworks.
    pub async fn fault(&self, stream: bool, fault: Value) {
        let url = if stream {
            &self.stream_url
        } else {
            &self.linnworks_url
        };
        let response = self
            .http
            .post(format!("{url}/_sim/faults"))
            .json(&fault)
            .send()
            .await
            .expect("sim reachable");
        assert!(
            response.status().is_success(),
            "fault refused: {}",
            response.text().await.unwrap_or_default()
        );
    }

    pub async fn clear_faults(&self) {
        for url in [&self.stream_url, &self.linnworks_url] {
            self.http
                .delete(format!("{url}/_sim/faults"))
                .send()
                .await
                .expect("sim reachable");
        }
    }
}

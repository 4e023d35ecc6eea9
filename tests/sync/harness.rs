//! One installation wired to both simulators and a fresh queue database.

use std::sync::Arc;
use std::time::Duration;

use linnstream::config::files::load_dir;
use linnstream::config::{InstallationKey, Snapshot};
use linnstream::remote::{RemoteOptions, RetryPolicy};
use linnstream::settings::SystemSettings;
use linnstream::sim::world::{NAME, NAMESPACE, World, WorldSettings};
use linnstream::store::{Order, OrderStatus};
use linnstream::sync::Engine;
use serde_json::Value;

use crate::db::TestDb;

pub struct Harness {
    pub world: World,
    pub engine: Engine,
    pub key: InstallationKey,
    pub _db: TestDb,
    pub config: tokio::sync::watch::Sender<Arc<Snapshot>>,
    pub _dir: tempfile::TempDir,
}

pub fn settings() -> SystemSettings {
    SystemSettings {
        max_batch_size_per_installation: 50,
        // One HTTP attempt per send, so an injected failure fails the send.
        stream_api_max_retry_attempts: 0,
        ..SystemSettings::default()
    }
}

impl Harness {
    pub async fn new(db: TestDb) -> Harness {
        Harness::with_settings(db, settings()).await
    }

    pub async fn with_settings(db: TestDb, settings: SystemSettings) -> Harness {
        let world = World::start().await.expect("simulators start");
        let dir = tempfile::tempdir().expect("temp dir");
        world
            .write_resources(dir.path(), &WorldSettings::default())
            .expect("resources written");
        let snapshot = load_dir(dir.path()).expect("generated resources are valid");
        let (config, rx) = tokio::sync::watch::channel(Arc::new(snapshot));
        let remote = RemoteOptions {
            timeout: Duration::from_secs(5),
            retry: RetryPolicy::from_settings(&settings).with_base_delay(Duration::from_millis(10)),
            linnworks_pace_scale: 1.0,
        };
        let engine = Engine::with_remote_options(db.store.clone(), settings, rx, remote);
        let key = InstallationKey::new(NAMESPACE, NAME);
        // Identifiers and postal services exist in Linnworks before orders are tagged.
        linnstream::sync::master_data::sync_identifiers(&engine, &key, "test-setup", "test")
            .await
            .expect("identifiers registered");
        linnstream::sync::master_data::sync_postal_services(&engine, &key, "test-setup", "test")
            .await
            .expect("postal services synced");
        Harness {
            world,
            engine,
            key,
            _db: db,
            config,
            _dir: dir,
        }
    }

    /// Publishes changed settings for the installation, as a config watcher would.
    pub fn update_installation(
        &self,
        change: impl FnOnce(&mut linnstream::config::InstallationConfig),
    ) {
        let mut snapshot = Snapshot::clone(&self.config.borrow());
        let inst = snapshot
            .installations
            .get_mut(&self.key)
            .expect("the installation is configured");
        change(inst);
        self.config.send_replace(Arc::new(snapshot));
    }

    pub async fn fetch(&self) -> linnstream::sync::fetch::FetchSummary {
        linnstream::sync::fetch::fetch(&self.engine, &self.key, "test-fetch", "test")
            .await
            .expect("fetch runs")
    }

    pub async fn send(&self) -> linnstream::sync::send::SendSummary {
        linnstream::sync::send::send_cycle(&self.engine, &self.key, "test-send", "test")
            .await
            .expect("send runs")
    }

    pub async fn queued(&self, num: i64) -> Order {
        let page = self
            .engine
            .store()
            .list_orders(&linnstream::store::OrderQuery {
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

    /// The Linnworks order as the simulator now has it.
    pub fn linnworks_order(&self, num: i64) -> Value {
        self.world
            .linnworks
            .order(&num.to_string())
            .unwrap_or_else(|| panic!("Linnworks has no order {num}"))
    }

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

    /// The values of the order's `name` extended properties in Linnworks.
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

    /// Linnworks calls the simulator has received on `path`.
    pub async fn linnworks_calls(&self, path: &str) -> usize {
        let body = sim_json(format!(
            "{}/_sim/requests",
            self.world.linnworks_server.url()
        ))
        .await;
        body.as_array()
            .map(|r| r.iter().filter(|r| r["path"] == path).count())
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
        let body = sim_json(format!("{}/_sim/orders", self.world.stream_server.url())).await;
        body["orders"].as_array().cloned().unwrap_or_default()
    }

    pub async fn fault(&self, stream: bool, fault: Value) {
        let server = if stream {
            &self.world.stream_server
        } else {
            &self.world.linnworks_server
        };
        let response = reqwest::Client::new()
            .post(format!("{}/_sim/faults", server.url()))
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
        for server in [&self.world.stream_server, &self.world.linnworks_server] {
            reqwest::Client::new()
                .delete(format!("{}/_sim/faults", server.url()))
                .send()
                .await
                .expect("sim reachable");
        }
    }
}

/// A simulator admin endpoint's JSON.
async fn sim_json(url: String) -> Value {
    reqwest::get(url)
        .await
        .expect("sim reachable")
        .json()
        .await
        .expect("json")
}

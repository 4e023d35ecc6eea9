//! A complete simulated world for the demo, the end-to-end tests and the benchmarks: both
//! simulators on loopback ports, and the example resources rewritten to point at them.

use std::path::Path;

use serde_json::{Value, json};

use super::kit::RunningServer;
use super::linnworks::{
    DEMO_APPLICATION_ID, DEMO_APPLICATION_SECRET, DEMO_INSTALLATION_TOKEN, LinnworksSim,
    LinnworksSimConfig, NewOrder, NewPostalService,
};
use super::stream::{DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, StreamSim, StreamSimConfig};

const EXAMPLE_INSTALLATION: &str = include_str!("../../examples/installation.yaml");
const EXAMPLE_SECRETS: &str = include_str!("../../examples/secrets.yaml");
const EXAMPLE_DELIVERY: &str = include_str!("../../examples/mapping-delivery.yaml");
const EXAMPLE_COLLECTION: &str = include_str!("../../examples/mapping-collection.yaml");

/// Postal services of the simulated Linnworks account.
pub const NEXT_DAY: &str = "Stream Next Day";
pub const RETURNS: &str = "Stream Returns Collection";
/// A Stream service nobody mapped: its orders fail validation.
pub const SAME_DAY_UNMAPPED: &str = "Stream Same Day";
pub const ROYAL_MAIL: &str = "Royal Mail 2nd Class";

/// The example installation's name and namespace.
pub const NAMESPACE: &str = "default";
pub const NAME: &str = "acme";

pub struct World {
    pub linnworks: LinnworksSim,
    pub linnworks_server: RunningServer,
    pub stream: StreamSim,
    pub stream_server: RunningServer,
}

/// How to shape the generated Installation.
#[derive(Clone, Debug)]
pub struct WorldSettings {
    /// Where Stream sends webhooks (the receiver's base URL); `None`: webhooks off.
    pub public_base_url: Option<String>,
    pub group_sequence_identifiers: bool,
    pub fetch_interval: String,
    pub send_interval: String,
    pub send_offset: String,
    pub webhook_interval: String,
    pub order_sync_enabled: bool,
}

impl Default for WorldSettings {
    fn default() -> Self {
        Self {
            public_base_url: None,
            group_sequence_identifiers: true,
            fetch_interval: "10s".into(),
            send_interval: "10s".into(),
            send_offset: "2s".into(),
            webhook_interval: "10s".into(),
            order_sync_enabled: true,
        }
    }
}

impl World {
    /// Starts both simulators with their demo accounts and Linnworks' postal services.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(std::net::Ipv4Addr::LOCALHOST.into()).await
    }

    /// As [`World::start`], on free ports of `ip`: an address other than loopback lets
    /// processes in other network namespaces (pods) reach the simulators.
    pub async fn start_on(ip: std::net::IpAddr) -> anyhow::Result<Self> {
        let (linnworks, linnworks_server) = linnworks_account(ip).await?;
        let stream = StreamSim::new(StreamSimConfig::default()).map_err(anyhow::Error::msg)?;
        let stream_server = stream.serve((ip, 0).into()).await?;
        Ok(Self {
            linnworks,
            linnworks_server,
            stream,
            stream_server,
        })
    }

    pub fn linnworks_url(&self) -> String {
        self.linnworks_server.url()
    }

    /// The Stream API base (the API lives under `/api`, as on the real service).
    pub fn stream_url(&self) -> String {
        format!("{}/api", self.stream_server.url())
    }

    /// Writes the example Installation, its Secrets and both mappings into `dir`, pointed
    /// at the simulators (depot NORTH; methods NTH-2MAN and NTH-COLL).
    pub fn write_resources(&self, dir: &Path, settings: &WorldSettings) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut inst: Value = serde_saphyr::from_str(EXAMPLE_INSTALLATION)?;
        set(
            &mut inst,
            &["spec", "stream", "clientUrl"],
            self.stream_url().into(),
        );
        set(
            &mut inst,
            &["spec", "linnworks", "apiBaseUrl"],
            self.linnworks_url().into(),
        );
        set(
            &mut inst,
            &["spec", "sync", "orderSyncEnabled"],
            settings.order_sync_enabled.into(),
        );
        match &settings.public_base_url {
            Some(url) => {
                set(&mut inst, &["spec", "webhooks", "enabled"], true.into());
                set(
                    &mut inst,
                    &["spec", "webhooks", "publicBaseUrl"],
                    url.clone().into(),
                );
            }
            None => {
                set(&mut inst, &["spec", "webhooks", "enabled"], false.into());
            }
        }
        set(
            &mut inst,
            &["spec", "webhooks", "groupSequenceIdentifiers"],
            settings.group_sequence_identifiers.into(),
        );
        for (field, value) in [
            ("fetchInterval", &settings.fetch_interval),
            ("sendInterval", &settings.send_interval),
            ("sendOffset", &settings.send_offset),
            ("webhookInterval", &settings.webhook_interval),
        ] {
            set(
                &mut inst,
                &["spec", "schedule", field],
                value.clone().into(),
            );
        }
        let secrets = EXAMPLE_SECRETS
            .replace("acme-stream-client", DEMO_CLIENT_ID)
            .replace("change-me-stream-secret", DEMO_CLIENT_SECRET)
            .replace("6f1c2a8e-3b4d-4e5f-8a9b-0c1d2e3f4a5b", DEMO_APPLICATION_ID)
            .replace(
                "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
                DEMO_APPLICATION_SECRET,
            )
            .replace(
                "1e2d3c4b-5a69-4788-9a0b-c1d2e3f4a5b6",
                DEMO_INSTALLATION_TOKEN,
            );
        let mut delivery: Value = serde_saphyr::from_str(EXAMPLE_DELIVERY)?;
        set(
            &mut delivery,
            &["spec", "postalService"],
            json!({"name": NEXT_DAY}),
        );
        set(&mut delivery, &["spec", "depot"], "NORTH".into());
        set(
            &mut delivery,
            &["spec", "deliveryMethod"],
            "NTH-2MAN".into(),
        );
        set(&mut delivery, &["spec", "stockLocation"], "LDS".into());
        let mut collection: Value = serde_saphyr::from_str(EXAMPLE_COLLECTION)?;
        set(&mut collection, &["spec", "depot"], "NORTH".into());
        set(
            &mut collection,
            &["spec", "deliveryMethod"],
            "NTH-COLL".into(),
        );
        std::fs::write(
            dir.join("installation.yaml"),
            serde_saphyr::to_string(&inst)?,
        )?;
        std::fs::write(dir.join("secrets.yaml"), secrets)?;
        std::fs::write(
            dir.join("mapping-delivery.yaml"),
            serde_saphyr::to_string(&delivery)?,
        )?;
        std::fs::write(
            dir.join("mapping-collection.yaml"),
            serde_saphyr::to_string(&collection)?,
        )?;
        Ok(())
    }

    /// Adds orders described compactly (see `POST /_sim/orders` in docs/simulators.md).
    pub fn add_orders(&self, orders: Vec<Value>) -> anyhow::Result<Vec<uuid::Uuid>> {
        let orders: Vec<NewOrder> = orders
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<_, _>>()?;
        self.linnworks
            .add_orders(orders)
            .map_err(|e| anyhow::anyhow!("adding orders: {e:?}"))
    }
}

/// Another simulated Linnworks account (the demo credentials, the world's postal
/// services) on a free port of `ip`: installations with accounts of their own, for tests
/// and benchmarks of many installations.
pub async fn linnworks_account(
    ip: std::net::IpAddr,
) -> anyhow::Result<(LinnworksSim, RunningServer)> {
    let linnworks = LinnworksSim::new(LinnworksSimConfig::default());
    let server = linnworks.start((ip, 0).into()).await?;
    let service = |name: &str, vendor: &str| NewPostalService {
        id: None,
        name: name.into(),
        vendor: Some(vendor.into()),
        tag: None,
        code: None,
        country: Some("GB".into()),
    };
    linnworks
        .add_postal_services(vec![
            service(NEXT_DAY, "STREAM TECH"),
            service(RETURNS, "STREAM TECH"),
            service(SAME_DAY_UNMAPPED, "STREAM TECH"),
            service(ROYAL_MAIL, "Royal Mail"),
        ])
        .map_err(|e| anyhow::anyhow!("seeding postal services: {e:?}"))?;
    Ok((linnworks, server))
}

/// A realistic delivery order for `service`, numbered `n`.
pub fn order(n: i64, service: &str) -> Value {
    json!({
        "numOrderId": n,
        "reference": format!("WEB-{n}"),
        "postalServiceName": service,
        "customer": {
            "fullName": format!("Customer {n}"),
            "address1": format!("{n} High Street"),
            "town": "Leeds",
            "postCode": "LS6 1AA",
            "country": "United Kingdom",
            "email": format!("customer{n}@example.com"),
            "phone": "0113 496 0000"
        },
        "items": [{"sku": format!("SKU-{n}"), "title": "Oak dining chair", "quantity": 2, "weight": 6.5, "price": 89.0}]
    })
}

/// The demo's mix: valid deliveries, a bad address, an unmapped Stream service, a composite
/// item, a collection, and an order for another carrier (ignored).
pub fn demo_orders(first: i64) -> Vec<Value> {
    let mut orders = vec![
        order(first, NEXT_DAY),
        order(first + 1, NEXT_DAY),
        order(first + 2, NEXT_DAY),
    ];
    let mut bad_address = order(first + 3, NEXT_DAY);
    bad_address["customer"]["postCode"] = json!("");
    bad_address["customer"]["town"] = json!("");
    orders.push(bad_address);
    orders.push(order(first + 4, SAME_DAY_UNMAPPED));
    let mut composite = order(first + 5, NEXT_DAY);
    composite["items"] = json!([{
        "sku": "DINING-SET", "title": "Dining set: table and four chairs", "quantity": 1, "weight": 0.0,
        "compositeSubItems": [
            {"sku": "TABLE-OAK", "title": "Oak table", "quantity": 1, "weight": 38.0},
            {"sku": "CHAIR-OAK", "title": "Oak dining chair", "quantity": 4, "weight": 6.5}
        ]
    }]);
    orders.push(composite);
    orders.push(order(first + 6, RETURNS));
    orders.push(order(first + 7, ROYAL_MAIL));
    orders
}

fn set(doc: &mut Value, path: &[&str], value: Value) {
    let mut node = doc;
    for (i, key) in path.iter().enumerate() {
        let Some(map) = node.as_object_mut() else {
            return;
        };
        if i == path.len() - 1 {
            map.insert((*key).to_string(), value);
            return;
        }
        node = map
            .entry((*key).to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
}

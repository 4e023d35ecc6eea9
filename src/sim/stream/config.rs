//! What the Stream simulator is seeded with: API clients, depots with their delivery methods,
//! token lifetime and webhook delivery settings. These are the simulator's own types, written
//! from the reference independently of the client's (a client bug must not be mirrored here).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Demo credentials printed by `linnstream simulate` and used in docs/simulators.md.
pub const DEMO_CLIENT_ID: &str = "DEMO000000000001";
pub const DEMO_CLIENT_SECRET: &str = "demo-secret-not-for-production";
/// A partner account the demo client may act for (`Stream-Party`).
pub const DEMO_PARTNER_ID: &str = "PARTNER000000001";

/// One API client (an OAuth client-credentials pair) and the parties it may act as.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimClient {
    pub client_id: String,
    pub client_secret: String,
    /// Partner account ids this client may send as `Stream-Party` besides its own id
    /// (*inferred*: the reference only says the partner account id may be used).
    #[serde(default)]
    pub partner_ids: Vec<String>,
}

/// A depot in Stream's own wire shape (`GET /depots/depots`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SimDepot {
    pub id: String,
    pub address: SimDepotAddress,
    pub contact: SimDepotContact,
    pub stock_location: SimStockLocation,
    pub delivery_methods: Vec<SimDeliveryMethod>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimDepotAddress {
    pub name: String,
    pub country: String,
    pub postcode: String,
    pub lat: f64,
    pub long: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimDepotContact {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimStockLocation {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimDeliveryMethod {
    pub id: String,
    pub name: String,
    /// Delivery, Courier, Collection or Trunk [GO2S-KB].
    #[serde(rename = "type")]
    pub kind: String,
}

impl SimDeliveryMethod {
    /// Whether an order of this type may use the method: collections need a Collection
    /// method, deliveries any other (*inferred* from the method types' names).
    pub fn suits(&self, order_type: &str) -> bool {
        let collection = self.kind.eq_ignore_ascii_case("collection");
        if order_type == "COLLECTION" {
            collection
        } else {
            !collection
        }
    }
}

#[derive(Clone, Debug)]
pub struct StreamSimConfig {
    pub clients: Vec<SimClient>,
    pub depots: Vec<SimDepot>,
    /// Life of an access token (`expires_in`).
    pub token_ttl: Duration,
    /// Header that carries a subscription's `auth_header` on callbacks. `Authorization` by
    /// default (*inferred*: the reference only says Stream echoes the value).
    pub webhook_auth_header_name: String,
    /// Attempts per notification, first one included.
    pub webhook_max_attempts: u32,
    /// Wait before the first retry; doubled for each later one.
    pub webhook_retry_delay: Duration,
    /// Timeout of one notification attempt.
    pub webhook_timeout: Duration,
    /// Replayed-nonce memory per client: the oldest nonces are forgotten past this many.
    pub nonce_memory: usize,
}

impl Default for StreamSimConfig {
    fn default() -> Self {
        Self {
            clients: vec![SimClient {
                client_id: DEMO_CLIENT_ID.to_string(),
                client_secret: DEMO_CLIENT_SECRET.to_string(),
                partner_ids: vec![DEMO_PARTNER_ID.to_string()],
            }],
            depots: default_depots(),
            token_ttl: Duration::from_secs(3600),
            webhook_auth_header_name: "Authorization".to_string(),
            webhook_max_attempts: 4,
            webhook_retry_delay: Duration::from_millis(500),
            webhook_timeout: Duration::from_secs(10),
            nonce_memory: 100_000,
        }
    }
}

impl StreamSimConfig {
    /// Checks the seed data: ids present and unique, method types known, one client at least.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.clients.is_empty() {
            problems.push("no API client configured".to_string());
        }
        let mut ids = std::collections::HashSet::new();
        for (i, c) in self.clients.iter().enumerate() {
            if c.client_id.trim().is_empty() || c.client_secret.is_empty() {
                problems.push(format!("clients[{i}] needs a clientId and a clientSecret"));
            }
            if !ids.insert(c.client_id.as_str()) {
                problems.push(format!("clients[{i}].clientId {} is repeated", c.client_id));
            }
        }
        let mut depot_ids = std::collections::HashSet::new();
        let mut method_ids = std::collections::HashSet::new();
        for (i, d) in self.depots.iter().enumerate() {
            if d.id.trim().is_empty() || !depot_ids.insert(d.id.as_str()) {
                problems.push(format!("depots[{i}].id is empty or repeated"));
            }
            for (j, m) in d.delivery_methods.iter().enumerate() {
                if m.id.trim().is_empty() || !method_ids.insert(m.id.as_str()) {
                    problems.push(format!(
                        "depots[{i}].deliveryMethods[{j}].id is empty or repeated (ids are unique across depots)"
                    ));
                }
                if !["delivery", "courier", "collection", "trunk"]
                    .contains(&m.kind.to_ascii_lowercase().as_str())
                {
                    problems.push(format!(
                        "depots[{i}].deliveryMethods[{j}].type `{}` is not Delivery, Courier, Collection or Trunk",
                        m.kind
                    ));
                }
            }
        }
        if self.webhook_max_attempts == 0 {
            problems.push("webhook_max_attempts must be at least 1".to_string());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    /// Reads depots from JSON in Stream's own shape: either a bare array or the
    /// `{"response": {"depots": [...]}}` reply of a real `GET /depots/depots`.
    pub fn depots_from_json(text: &str) -> Result<Vec<SimDepot>, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("depots file is not JSON: {e}"))?;
        let list = value.pointer("/response/depots").cloned().unwrap_or(value);
        serde_json::from_value(list).map_err(|e| format!("depots file: {e}"))
    }
}

fn method(id: &str, name: &str, kind: &str) -> SimDeliveryMethod {
    SimDeliveryMethod {
        id: id.to_string(),
        name: name.to_string(),
        kind: kind.to_string(),
    }
}

#[allow(clippy::too_many_arguments)]
fn depot(
    id: &str,
    name: &str,
    postcode: &str,
    lat: f64,
    long: f64,
    contact: &str,
    stock: (&str, &str),
    methods: Vec<SimDeliveryMethod>,
) -> SimDepot {
    SimDepot {
        id: id.to_string(),
        address: SimDepotAddress {
            name: name.to_string(),
            country: "GB".to_string(),
            postcode: postcode.to_string(),
            lat,
            long,
        },
        contact: SimDepotContact {
            name: contact.to_string(),
            email: format!("{}@depots.example.com", id.to_ascii_lowercase()),
        },
        stock_location: SimStockLocation {
            id: stock.0.to_string(),
            name: stock.1.to_string(),
        },
        delivery_methods: methods,
    }
}

/// A realistic UK network: three depots, each with two-man delivery, courier, collection
/// and trunking methods.
pub fn default_depots() -> Vec<SimDepot> {
    vec![
        depot(
            "NORTH",
            "Leeds Depot",
            "LS11 5RT",
            53.7767,
            -1.5566,
            "Leeds Transport Office",
            ("LDS", "Leeds Warehouse"),
            vec![
                method("NTH-2MAN", "North Two-Man Delivery", "Delivery"),
                method("NTH-1MAN", "North One-Man Delivery", "Delivery"),
                method("NTH-COUR", "North Courier", "Courier"),
                method("NTH-COLL", "North Collection", "Collection"),
                method("NTH-TRUNK", "North Trunk to Midlands", "Trunk"),
            ],
        ),
        depot(
            "MIDLANDS",
            "Coventry Depot",
            "CV6 4QA",
            52.4388,
            -1.4917,
            "Coventry Transport Office",
            ("COV", "Coventry Warehouse"),
            vec![
                method("MID-2MAN", "Midlands Two-Man Delivery", "Delivery"),
                method("MID-COUR", "Midlands Courier", "Courier"),
                method("MID-COLL", "Midlands Collection", "Collection"),
            ],
        ),
        depot(
            "SOUTH",
            "Thurrock Depot",
            "RM20 3LP",
            51.4800,
            0.2860,
            "Thurrock Transport Office",
            ("THU", "Thurrock Warehouse"),
            vec![
                method("STH-2MAN", "South Two-Man Delivery", "Delivery"),
                method("STH-COUR", "South Courier", "Courier"),
                method("STH-COLL", "South Collection", "Collection"),
                method("STH-TRUNK", "South Trunk to Midlands", "Trunk"),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_seed_is_valid() {
        assert_eq!(StreamSimConfig::default().validate(), Ok(()));
    }

    #[test]
    fn bad_seed_is_refused_with_reasons() {
        let mut c = StreamSimConfig::default();
        c.depots[1].delivery_methods[0].id = "NTH-2MAN".into();
        c.depots[0].delivery_methods[0].kind = "Teleport".into();
        let err = c.validate().expect_err("bad");
        assert!(err.contains("depots[1].deliveryMethods[0].id"), "{err}");
        assert!(err.contains("Teleport"), "{err}");
    }

    #[test]
    fn depots_read_from_a_real_reply_or_a_bare_list() {
        let list = serde_json::to_string(&default_depots()).expect("json");
        assert_eq!(
            StreamSimConfig::depots_from_json(&list).map(|d| d.len()),
            Ok(3)
        );
        let reply = format!(r#"{{"response": {{"valid": true, "depots": {list}}}}}"#);
        assert_eq!(
            StreamSimConfig::depots_from_json(&reply).map(|d| d.len()),
            Ok(3)
        );
        assert!(StreamSimConfig::depots_from_json("[{\"id\": 1}]").is_err());
    }
}

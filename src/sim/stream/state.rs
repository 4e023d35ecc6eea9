//! The Stream simulator's memory: tokens, nonces, orders with their runs, webhook
//! subscriptions and notification deliveries. One lock guards it all; no handler holds it
//! across an await.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use serde_json::{Value, json};

use super::validate::{NewItem, NewOrder, format_stream_datetime};

pub struct TokenRecord {
    pub client_id: String,
    pub expires_at: Instant,
}

/// Nonces seen per client, oldest forgotten past a bound.
#[derive(Default)]
pub struct NonceLog {
    seen: HashSet<String>,
    order: VecDeque<String>,
}

impl NonceLog {
    /// Records a nonce; false when it was already seen.
    pub fn record(&mut self, nonce: &str, memory: usize) -> bool {
        if !self.seen.insert(nonce.to_string()) {
            return false;
        }
        self.order.push_back(nonce.to_string());
        while self.order.len() > memory {
            if let Some(old) = self.order.pop_front() {
                self.seen.remove(&old);
            }
        }
        true
    }
}

#[derive(Clone, Debug)]
pub struct ItemState {
    pub item: NewItem,
    pub delivered_at: Option<DateTime<Utc>>,
    pub collected_at: Option<DateTime<Utc>>,
}

/// Where an order sits in a planned run.
#[derive(Clone, Debug)]
pub struct Planning {
    pub load_id: String,
    pub run_number: u32,
    pub description: String,
    pub sequence: u32,
    pub delivery_date: NaiveDate,
    /// Last planning stage reached: OPENPLANNING, LOCKPLANNING, CLOSEPLANNING, PLANNEDGROUP.
    pub stage: String,
    pub estimated_arrival: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug)]
pub struct OrderRecord {
    pub client_id: String,
    pub party: String,
    pub order: NewOrder,
    pub consignment_no: String,
    pub tracking_id: String,
    pub tracking_url: String,
    pub group_id: u64,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// The body exactly as received, for `GET /_sim/orders`.
    pub request_body: Value,
    /// The warnings the create's reply carried (`CODE: description`), for `GET /_sim/orders`.
    pub warnings: Vec<String>,
    /// Header fields changed by PATCH, merged over the created ones.
    pub header_changes: serde_json::Map<String, Value>,
    pub items: Vec<ItemState>,
    pub planning: Option<Planning>,
    pub deleted_at: Option<DateTime<Utc>>,
    /// Event codes applied through the admin API, in order.
    pub history: Vec<String>,
}

impl OrderRecord {
    pub fn is_live(&self) -> bool {
        self.deleted_at.is_none()
    }

    fn header_text(&self, key: &str, created: Option<&str>) -> Value {
        match self.header_changes.get(key) {
            Some(v) => v.clone(),
            None => created.map_or(Value::Null, |s| Value::String(s.to_string())),
        }
    }

    /// The order as `GET /orders/orders/{orderNo}` returns it ([RV2] StreamGetOrderResponse).
    pub fn to_stream_json(&self, depot_postcode: &str) -> Value {
        let o = &self.order;
        let mut customer = o.customer.clone();
        if let Some(Value::Object(changes)) = self.header_changes.get("customer")
            && let Some(obj) = customer.as_object_mut()
        {
            for (k, v) in changes {
                match (obj.get_mut(k), v) {
                    (Some(Value::Object(into)), Value::Object(from)) => {
                        for (k2, v2) in from {
                            into.insert(k2.clone(), v2.clone());
                        }
                    }
                    _ => {
                        obj.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        let notes: Vec<Value> = match self.header_changes.get("orderNotes") {
            Some(Value::String(s)) => vec![json!({"code": "", "desc": s})],
            Some(Value::Array(list)) => list.clone(),
            _ => o
                .order_notes
                .iter()
                .map(|(code, desc)| json!({"code": code, "desc": desc}))
                .collect(),
        };
        let delivery_date = self
            .planning
            .as_ref()
            .and_then(|p| p.delivery_date.and_hms_opt(0, 1, 0))
            .map(|d| d.and_utc());
        let planned = self.planning.as_ref().map(|p| {
            json!({
                "fromDateTime": format_stream_datetime(p.delivery_date.and_hms_opt(0, 1, 0).map(|d| d.and_utc())),
                "toDateTime": format_stream_datetime(p.delivery_date.and_hms_opt(23, 59, 0).map(|d| d.and_utc())),
            })
        });
        let run_details = self.planning.as_ref().map(|p| {
            let dispatched = matches!(self.status.as_str(), "RELEASED" | "DELIVERED" | "PARTDELVRD" | "COLLECTED" | "PARTCOLLECTED" | "COMPLETED");
            let done = matches!(self.status.as_str(), "DELIVERED" | "PARTDELVRD" | "COLLECTED" | "PARTCOLLECTED" | "COMPLETED");
            json!({
                "id": p.load_id,
                "description": p.description,
                "groupSequence": p.sequence,
                "vehicle": format!("VAN{:02}", p.run_number),
                "vehicleName": format!("Van {:02}", p.run_number),
                "vehicleType": "LUTON",
                "driver": format!("DRV{:02}", p.run_number),
                "driverName": format!("Driver {:02}", p.run_number),
                "dispatched": dispatched,
                "departed": dispatched,
                "completed": done,
                "start": {
                    "actualDateTime": "0",
                    "plannedDateTime": format_stream_datetime(p.delivery_date.and_hms_opt(6, 30, 0).map(|d| d.and_utc())),
                    "postcode": depot_postcode,
                },
                "end": {
                    "actualDateTime": "0",
                    "plannedDateTime": format_stream_datetime(p.delivery_date.and_hms_opt(18, 0, 0).map(|d| d.and_utc())),
                    "postcode": depot_postcode,
                },
            })
        });
        let items: Vec<Value> = self
            .items
            .iter()
            .map(|s| {
                let i = &s.item;
                json!({
                    "sequence": i.sequence,
                    "parentSequence": i.parent_sequence.unwrap_or(0),
                    "code": i.code,
                    "description": i.description,
                    "quantity": i.quantity,
                    "weight": i.weight,
                    "cube": i.cube,
                    "stockLocation": i.stock_location,
                    "onHandDate": i.on_hand_date.map(|d| d.format("%Y-%m-%d").to_string()),
                    "packageId": i.package_id,
                    "packageType": i.package_type,
                    "delivered": s.delivered_at.is_some(),
                    "deliveredDateTime": format_stream_datetime(s.delivered_at),
                    "collected": s.collected_at.is_some(),
                    "collectedDateTime": format_stream_datetime(s.collected_at),
                })
            })
            .collect();
        let quantity: u64 = o.items.iter().map(|i| i.quantity).sum();
        let weight: f64 = o.items.iter().map(|i| i.weight * i.quantity as f64).sum();
        let cube: f64 = o.items.iter().map(|i| i.cube * i.quantity as f64).sum();
        json!({
            "header": {
                "consignmentNo": self.consignment_no,
                "orderDate": self.header_text("orderDate", Some(&o.order_date.format("%Y-%m-%d").to_string())),
                "deliveryDate": format_stream_datetime(delivery_date),
                "partner": o.partner,
                "orderNo": o.order_no,
                "customerOrderNo": self.header_text("customerOrderNo", o.customer_order_no.as_deref()),
                "orderWeight": weight,
                "orderStatus": self.status,
                "orderType": o.order_type,
                "serviceLevel": self.header_text("serviceLevel", o.service_level.as_deref()),
                "orderNotes": notes,
                "routeInfo": self.header_text("routeInfo", None),
                "customer": customer,
            },
            "groups": [{
                "id": self.group_id,
                "type": o.order_type,
                "status": self.status,
                "deliveryMethod": o.method_id,
                "driverNotes": self.header_text("driverNotes", o.driver_notes.as_deref()),
                "required": {
                    "fromDateTime": format_stream_datetime(o.required_from),
                    "toDateTime": format_stream_datetime(o.required_to),
                },
                "planned": planned.unwrap_or_else(|| json!({"fromDateTime": "0", "toDateTime": "0"})),
                "confirmedPlanning": self.planning.as_ref().is_some_and(|p| p.stage != "OPENPLANNING"),
                "quantity": quantity,
                "weight": weight,
                "cube": cube,
                "estimateArrivalDateTime": format_stream_datetime(self.planning.as_ref().and_then(|p| p.estimated_arrival)),
                "address": o.address,
                "contact": o.contact,
                "runDetails": run_details,
                "items": items,
            }],
            "trackingURL": self.tracking_url,
            "trackingId": self.tracking_id,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Subscription {
    pub id: u64,
    pub client_id: String,
    pub event: String,
    pub event_type: String,
    pub url: String,
    pub http_method: String,
    pub content_type: String,
    pub auth_header: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Subscription {
    pub fn matches(&self, code: &str) -> bool {
        self.event == "*"
            || self.event.eq_ignore_ascii_case("ALL")
            || self.event.eq_ignore_ascii_case(code)
    }

    /// As listed to its owner: never the `auth_header` secret.
    pub fn to_public_json(&self) -> Value {
        json!({
            "id": self.id,
            "event": self.event,
            "event_type": self.event_type,
            "url_path": self.url,
            "http_method": self.http_method,
            "content_type": self.content_type,
        })
    }
}

#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attempt {
    pub attempt: u32,
    pub at: DateTime<Utc>,
    /// HTTP status of the receiver's answer, when it answered.
    pub status: Option<u16>,
    pub error: Option<String>,
    pub ok: bool,
}

/// One notification and every attempt to deliver it.
#[derive(Clone, Debug, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Delivery {
    pub id: u64,
    pub subscription_id: u64,
    pub party_id: String,
    pub event_code: String,
    pub url: String,
    /// pending, delivered or failed (every attempt used).
    pub state: String,
    /// Whether an auth header value was sent (the value itself is not shown).
    pub auth_header_sent: bool,
    pub body: Value,
    pub attempts: Vec<Attempt>,
}

#[derive(Default)]
pub struct Inner {
    pub tokens: HashMap<String, TokenRecord>,
    pub nonces: HashMap<String, NonceLog>,
    pub orders: Vec<OrderRecord>,
    pub subscriptions: Vec<Subscription>,
    pub deliveries: Vec<Delivery>,
    pub next_consignment: u64,
    pub next_group: u64,
    pub next_load: u64,
    pub next_subscription: u64,
    pub next_delivery: u64,
    /// What the built-in receiver `/_sim/inbox` was sent.
    pub inbox: Vec<Value>,
}

impl Inner {
    /// The live order of a client, by order number or consignment number.
    pub fn find_live(&self, client_id: &str, reference: &str) -> Option<usize> {
        self.orders.iter().position(|o| {
            o.is_live()
                && o.client_id == client_id
                && (o.order.order_no == reference || o.consignment_no == reference)
        })
    }

    /// A live order of any client, for the admin API; None when absent or ambiguous.
    pub fn find_any_live(&self, reference: &str, client: Option<&str>) -> Result<usize, String> {
        let hits: Vec<usize> = self
            .orders
            .iter()
            .enumerate()
            .filter(|(_, o)| {
                o.is_live()
                    && client.is_none_or(|c| o.client_id == c)
                    && (o.order.order_no == reference || o.consignment_no == reference)
            })
            .map(|(i, _)| i)
            .collect();
        match hits.as_slice() {
            [one] => Ok(*one),
            [] => Err(format!("no live order `{reference}`")),
            _ => Err(format!(
                "order `{reference}` exists for several clients: give clientId"
            )),
        }
    }

    pub fn new_consignment(&mut self) -> String {
        self.next_consignment += 1;
        format!("SC{:08}", 10_000_000 + self.next_consignment)
    }

    pub fn new_group_id(&mut self) -> u64 {
        self.next_group += 1;
        700_000 + self.next_group
    }

    pub fn new_load_id(&mut self) -> String {
        self.next_load += 1;
        format!("LD{:06}", self.next_load)
    }
}

/// A random token of 40 hex characters (the shape [RV2] shows).
pub fn new_token() -> String {
    let mut rng = rand::rng();
    (0..40)
        .map(|_| char::from_digit(rng.random_range(0..16), 16).unwrap_or('0'))
        .collect()
}

/// A tracking id: ten upper-case letters and digits.
pub fn new_tracking_id() -> String {
    const CHARS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| char::from(CHARS[rng.random_range(0..CHARS.len())]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_repeat_is_detected_and_memory_is_bounded() {
        let mut log = NonceLog::default();
        assert!(log.record("a", 2));
        assert!(!log.record("a", 2));
        assert!(log.record("b", 2));
        assert!(log.record("c", 2));
        // "a" was forgotten once the memory of two was exceeded.
        assert!(log.record("a", 2));
    }

    #[test]
    fn generated_ids_have_their_shapes() {
        let t = new_token();
        assert_eq!(t.len(), 40);
        assert!(t.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(new_tracking_id().len(), 10);
        let mut inner = Inner::default();
        assert_eq!(inner.new_consignment(), "SC10000001");
        assert_eq!(inner.new_load_id(), "LD000001");
    }
}

//! Typed requests and replies of the Stream API (reference section 3). Field names are
//! Stream's (camelCase on the wire). Replies are read tolerantly: every field has a default
//! and unknown fields are ignored, because most reply shapes are only *inferred* from the two
//! public clients.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::datetime;
use super::envelope::ApiMessage;

/// Longest item description Stream takes (reference; the guide truncates to it).
pub const MAX_ITEM_DESCRIPTION_CHARS: usize = 140;

// ---------------------------------------------------------------------------------------------
// Token

/// `POST /oauth` reply.
#[derive(Clone, Deserialize)]
pub struct TokenReply {
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    /// Seconds; a missing or zero value is treated by the caller as a short life.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub expires_in: u64,
    #[serde(default)]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenReply")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

// ---------------------------------------------------------------------------------------------
// Depots

/// Delivery method types [GO2S-KB]: Delivery, Courier, Collection, Trunk.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum DeliveryMethodType {
    Delivery,
    Courier,
    Collection,
    Trunk,
    /// A type this client does not know yet, kept verbatim.
    #[serde(untagged)]
    Other(String),
}

impl<'de> Deserialize<'de> for DeliveryMethodType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.to_ascii_lowercase().as_str() {
            "delivery" => Self::Delivery,
            "courier" => Self::Courier,
            "collection" => Self::Collection,
            "trunk" => Self::Trunk,
            _ => Self::Other(s),
        })
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMethod {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(rename = "type")]
    pub method_type: DeliveryMethodType,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DepotAddress {
    pub name: String,
    pub country: String,
    pub postcode: String,
    pub lat: Option<f64>,
    pub long: Option<f64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DepotContact {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StockLocation {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Depot {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(default)]
    pub address: DepotAddress,
    #[serde(default)]
    pub contact: DepotContact,
    #[serde(default)]
    pub stock_location: Option<StockLocation>,
    #[serde(default)]
    pub delivery_methods: Vec<DeliveryMethod>,
}

// ---------------------------------------------------------------------------------------------
// Create order

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderType {
    Delivery,
    Collection,
}

impl From<crate::domain::OrderType> for OrderType {
    fn from(kind: crate::domain::OrderType) -> Self {
        match kind {
            crate::domain::OrderType::Delivery => OrderType::Delivery,
            crate::domain::OrderType::Collection => OrderType::Collection,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Partner {
    pub id: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceCode {
    pub code: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Address {
    pub name: String,
    pub address1: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address3: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address4: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address5: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    pub country: String,
    pub postcode: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tel1: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mobile: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    pub name: String,
    pub address: Address,
    pub contact: Contact,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderHeader {
    /// The integration's order number; Stream refuses a second order with the same one.
    pub order_no: String,
    #[serde(with = "datetime::date")]
    pub order_date: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner: Option<Partner>,
    pub order_type: OrderType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_level: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceCode>,
    pub customer: Customer,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_order_no: Option<String>,
    /// Sent as plain text. The reply shows `orderNotes` as `[{code, desc}]`; whether the
    /// create call also takes text is *inferred* from the reference's field list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_notes: Option<String>,
}

/// The window in which the delivery or collection is required. Unset ends are sent as `"0"`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Required {
    #[serde(with = "datetime::optional")]
    pub from_date_time: Option<DateTime<Utc>>,
    #[serde(with = "datetime::optional")]
    pub to_date_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderItem {
    pub sequence: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_sequence: Option<u32>,
    pub code: String,
    /// At most 140 characters: checked by `CreateOrderRequest::check`.
    pub description: String,
    pub quantity: u32,
    /// Kilograms.
    pub weight: f64,
    /// Cubic metres.
    pub cube: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stock_location: Option<String>,
    /// The day the goods are ready at the depot (the hands-on date), as `yyyy-MM-dd`: an
    /// item-level field in both public clients ([RV2] `onHandDate`, [ODOO] the same).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "datetime::optional_date::serialize"
    )]
    pub on_hand_date: Option<NaiveDate>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_type: Option<String>,
}

/// The delivery (or collection) part of a create body.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderGroup {
    pub address: Address,
    pub contact: Contact,
    pub required: Option<Required>,
    /// A delivery method id from `GET /depots/depots`.
    pub method: String,
    pub items: Vec<OrderItem>,
}

/// `POST /orders/orders` body. Build it with [`CreateOrderRequest::new`], which puts the group
/// under `delivery` or `collection` to match the order type.
#[derive(Clone, Debug, PartialEq)]
pub struct CreateOrderRequest {
    pub header: OrderHeader,
    pub group: OrderGroup,
}

impl CreateOrderRequest {
    pub fn new(header: OrderHeader, group: OrderGroup) -> Self {
        Self { header, group }
    }

    pub fn order_type(&self) -> OrderType {
        self.header.order_type
    }

    /// Checks what Stream is known to refuse, so a bad request fails here with a clear
    /// message instead of a round trip: empty identifiers, descriptions over 140 characters,
    /// non-positive quantities, negative weights or cubes, duplicate item sequences.
    pub fn check(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        if self.header.order_no.trim().is_empty() {
            problems.push("header.orderNo is empty".to_string());
        }
        if self.group.method.trim().is_empty() {
            problems.push(format!("{}.deliveryMethod is empty", self.group_key()));
        }
        if self.group.items.is_empty() {
            problems.push(format!("{}.items is empty", self.group_key()));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, item) in self.group.items.iter().enumerate() {
            let at = format!("{}.items[{i}]", self.group_key());
            let chars = item.description.chars().count();
            if chars > MAX_ITEM_DESCRIPTION_CHARS {
                problems.push(format!(
                    "{at}.description is {chars} characters; Stream takes at most {MAX_ITEM_DESCRIPTION_CHARS}"
                ));
            }
            if item.quantity == 0 {
                problems.push(format!("{at}.quantity is 0"));
            }
            if !(item.weight.is_finite() && item.weight >= 0.0) {
                problems.push(format!("{at}.weight must be a non-negative number of kg"));
            }
            if !(item.cube.is_finite() && item.cube >= 0.0) {
                problems.push(format!("{at}.cube must be a non-negative number of m3"));
            }
            if !seen.insert(item.sequence) {
                problems.push(format!("{at}.sequence {} is repeated", item.sequence));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    fn group_key(&self) -> &'static str {
        match self.header.order_type {
            OrderType::Delivery => "delivery",
            OrderType::Collection => "collection",
        }
    }
}

/// Wire form of a group. Collections carry their method as `collectionMethod`: both public
/// clients ([RV2], [ODOO]) send that name for collections and `deliveryMethod` for
/// deliveries; the reference lists only `deliveryMethod` (*inferred*; the simulator accepts
/// either).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireGroup<'a> {
    address: &'a Address,
    contact: &'a Contact,
    #[serde(skip_serializing_if = "Option::is_none")]
    required: Option<&'a Required>,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery_method: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collection_method: Option<&'a str>,
    items: &'a [OrderItem],
}

impl Serialize for CreateOrderRequest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let is_collection = self.header.order_type == OrderType::Collection;
        let group = WireGroup {
            address: &self.group.address,
            contact: &self.group.contact,
            required: self.group.required.as_ref(),
            delivery_method: (!is_collection).then_some(self.group.method.as_str()),
            collection_method: is_collection.then_some(self.group.method.as_str()),
            items: &self.group.items,
        };
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("header", &self.header)?;
        map.serialize_entry(self.group_key(), &group)?;
        map.end()
    }
}

/// What a successful create (or a recovered one) gives back.
#[derive(Clone, Debug, PartialEq)]
pub struct CreatedOrder {
    pub order_no: String,
    pub consignment_no: String,
    pub customer_order_no: Option<String>,
    pub tracking_id: String,
    pub tracking_url: String,
    /// Non-blocking messages Stream attached to the reply.
    pub warnings: Vec<ApiMessage>,
    /// True when the create's reply was lost and the order was found by looking it up.
    pub recovered: bool,
}

/// Payload fields of the create (and patch) reply, beside `valid` and `errors`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CreateReplyBody {
    #[serde(deserialize_with = "lenient_string")]
    pub consignment_no: String,
    #[serde(deserialize_with = "lenient_string")]
    pub order_no: String,
    pub customer_order_no: Option<String>,
    #[serde(rename = "trackingURL", alias = "trackingUrl")]
    pub tracking_url: String,
    #[serde(deserialize_with = "lenient_string")]
    pub tracking_id: String,
}

// ---------------------------------------------------------------------------------------------
// Get order ([RV2] StreamGetOrderResponse; [ODOO] reads groups[].runDetails)

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderNote {
    #[serde(deserialize_with = "lenient_string")]
    pub code: String,
    pub desc: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderHeaderInfo {
    #[serde(deserialize_with = "lenient_string")]
    pub consignment_no: String,
    #[serde(deserialize_with = "lenient_string")]
    pub order_no: String,
    pub customer_order_no: Option<String>,
    pub order_date: Option<String>,
    #[serde(with = "datetime::optional")]
    pub delivery_date: Option<DateTime<Utc>>,
    pub order_status: String,
    pub order_type: String,
    pub service_level: Option<String>,
    pub partner: Option<Partner>,
    pub customer: Option<CustomerInfo>,
    #[serde(deserialize_with = "notes_list")]
    pub order_notes: Vec<OrderNote>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CustomerInfo {
    pub name: Option<String>,
    pub address: Option<AddressInfo>,
    pub contact: Option<ContactInfo>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AddressInfo {
    pub name: Option<String>,
    pub address1: Option<String>,
    pub address2: Option<String>,
    pub address3: Option<String>,
    pub address4: Option<String>,
    pub address5: Option<String>,
    pub country: Option<String>,
    pub postcode: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContactInfo {
    pub name: Option<String>,
    pub tel1: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DateWindow {
    #[serde(with = "datetime::optional")]
    pub from_date_time: Option<DateTime<Utc>>,
    #[serde(with = "datetime::optional")]
    pub to_date_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunPoint {
    #[serde(with = "datetime::optional")]
    pub actual_date_time: Option<DateTime<Utc>>,
    #[serde(with = "datetime::optional")]
    pub planned_date_time: Option<DateTime<Utc>>,
    pub postcode: Option<String>,
}

/// The run a group is planned on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RunDetails {
    /// The run's load id.
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub description: String,
    /// Position of this group (stop) within the run.
    #[serde(deserialize_with = "lenient_u64")]
    pub group_sequence: u64,
    pub vehicle: Option<String>,
    pub vehicle_name: Option<String>,
    pub vehicle_type: Option<String>,
    pub driver: Option<String>,
    pub driver_name: Option<String>,
    pub dispatched: bool,
    pub departed: bool,
    pub completed: bool,
    pub start: Option<RunPoint>,
    pub end: Option<RunPoint>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupItem {
    #[serde(deserialize_with = "lenient_u64")]
    pub sequence: u64,
    pub parent_sequence: Option<u64>,
    pub code: String,
    pub description: String,
    pub quantity: f64,
    pub weight: f64,
    pub cube: f64,
    pub stock_location: Option<String>,
    pub package_id: Option<String>,
    pub package_type: Option<String>,
    pub delivered: bool,
    #[serde(with = "datetime::optional")]
    pub delivered_date_time: Option<DateTime<Utc>>,
    pub collected: bool,
    #[serde(with = "datetime::optional")]
    pub collected_date_time: Option<DateTime<Utc>>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct OrderGroupInfo {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    #[serde(rename = "type")]
    pub group_type: String,
    pub status: String,
    pub delivery_method: Option<String>,
    pub driver_notes: Option<String>,
    pub required: Option<DateWindow>,
    pub planned: Option<DateWindow>,
    #[serde(with = "datetime::optional")]
    pub estimate_arrival_date_time: Option<DateTime<Utc>>,
    pub address: Option<AddressInfo>,
    pub contact: Option<ContactInfo>,
    pub run_details: Option<RunDetails>,
    pub items: Vec<GroupItem>,
}

/// `GET /orders/orders/{orderNo}` reply's `response.order`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StreamOrder {
    pub header: OrderHeaderInfo,
    pub groups: Vec<OrderGroupInfo>,
    #[serde(rename = "trackingURL", alias = "trackingUrl")]
    pub tracking_url: String,
    #[serde(deserialize_with = "lenient_string")]
    pub tracking_id: String,
}

/// Order statuses [ODOO]. Unknown ones are kept verbatim.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OrderStatus {
    Unconfirmed,
    Confirmed,
    Planned,
    Released,
    Held,
    Collected,
    PartCollected,
    Delivered,
    /// Stream's spelling: `PARTDELVRD`.
    #[serde(rename = "PARTDELVRD")]
    PartDelivered,
    Completed,
    Cancelled,
    #[serde(untagged)]
    Other(String),
}

impl OrderStatus {
    pub fn parse(text: &str) -> Self {
        match text.trim().to_ascii_uppercase().as_str() {
            "UNCONFIRMED" => Self::Unconfirmed,
            "CONFIRMED" => Self::Confirmed,
            "PLANNED" => Self::Planned,
            "RELEASED" => Self::Released,
            "HELD" => Self::Held,
            "COLLECTED" => Self::Collected,
            "PARTCOLLECTED" => Self::PartCollected,
            "DELIVERED" => Self::Delivered,
            "PARTDELVRD" | "PARTDELIVERED" => Self::PartDelivered,
            "COMPLETED" => Self::Completed,
            "CANCELLED" | "CANCELED" => Self::Cancelled,
            _ => Self::Other(text.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for OrderStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self::parse(&String::deserialize(d)?))
    }
}

// ---------------------------------------------------------------------------------------------
// Patch

/// `PATCH /orders/orders/{orderNo}`: a partial header update; `None` fields are left as they
/// are (they are not sent).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderHeaderPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_order_no: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub driver_notes: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer: Option<Customer>,
}

impl OrderHeaderPatch {
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Webhooks

/// `POST /webhooks/webhooks` body [GO2S-KB].
#[derive(Clone, PartialEq, Serialize)]
pub struct WebhookSubscription {
    /// The event code to receive, e.g. `DELIVERED` or `LOCKPLANNING`.
    pub event: String,
    /// Event family as Stream names it (*inferred*: passed through verbatim).
    pub event_type: String,
    /// The absolute URL Stream calls.
    pub url_path: String,
    pub http_method: String,
    pub content_type: String,
    /// A secret Stream sends back on every callback (*inferred*: as the `Authorization`
    /// header), for the receiver to verify. Never logged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_header: Option<String>,
}

impl std::fmt::Debug for WebhookSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSubscription")
            .field("event", &self.event)
            .field("event_type", &self.event_type)
            .field("url_path", &self.url_path)
            .field("http_method", &self.http_method)
            .field("content_type", &self.content_type)
            .field(
                "auth_header",
                &self.auth_header.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl WebhookSubscription {
    /// A JSON POST subscription for one event code.
    pub fn post_json(event: &str, url: &str, auth_header: Option<String>) -> Self {
        Self {
            event: event.to_string(),
            event_type: event_type_of(event).to_string(),
            url_path: url.to_string(),
            http_method: "POST".to_string(),
            content_type: "application/json".to_string(),
            auth_header,
        }
    }
}

/// The family an event code belongs to: `RUN` or `ORDER` (*inferred* names).
pub fn event_type_of(event: &str) -> &'static str {
    crate::domain::event::family_of(event).as_str()
}

/// One subscription as listed by `GET /webhooks/webhooks` (*inferred* path and shape).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WebhookSubscriptionInfo {
    #[serde(deserialize_with = "lenient_string")]
    pub id: String,
    pub event: String,
    pub event_type: String,
    pub url_path: String,
    pub http_method: String,
    pub content_type: String,
}

// ---------------------------------------------------------------------------------------------
// Lenient readers: ids and counters arrive as numbers or strings depending on the source.

fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::String(s)) => s,
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    })
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
            .unwrap_or(0),
        Some(serde_json::Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    })
}

/// `orderNotes` is a list of `{code, desc}` in replies; a plain string is read as one note.
fn notes_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OrderNote>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Array(items)) => items
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect(),
        Some(serde_json::Value::String(s)) if !s.is_empty() => vec![OrderNote {
            code: String::new(),
            desc: s,
        }],
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn request(order_type: OrderType) -> CreateOrderRequest {
        let address = Address {
            name: "Ann Smith".into(),
            address1: "1 High St".into(),
            country: "GB".into(),
            postcode: "LS1 1AA".into(),
            ..Address::default()
        };
        CreateOrderRequest::new(
            OrderHeader {
                order_no: "LS-1001".into(),
                order_date: NaiveDate::from_ymd_opt(2026, 6, 18).expect("date"),
                partner: None,
                order_type,
                service_level: None,
                services: vec![],
                customer: Customer {
                    name: "Ann Smith".into(),
                    address: address.clone(),
                    contact: Contact::default(),
                },
                customer_order_no: Some("1001".into()),
                order_notes: None,
                driver_notes: None,
            },
            OrderGroup {
                address,
                contact: Contact::default(),
                required: Some(Required {
                    from_date_time: Some(
                        NaiveDate::from_ymd_opt(2026, 6, 20)
                            .and_then(|d| d.and_hms_opt(7, 0, 0))
                            .expect("time")
                            .and_utc(),
                    ),
                    to_date_time: None,
                }),
                method: "NTH-2MAN".into(),
                items: vec![OrderItem {
                    sequence: 1,
                    parent_sequence: None,
                    code: "SOFA".into(),
                    description: "Sofa".into(),
                    quantity: 1,
                    weight: 40.5,
                    cube: 1.2,
                    stock_location: None,
                    on_hand_date: None,
                    package_id: None,
                    package_type: None,
                }],
            },
        )
    }

    #[test]
    fn delivery_body_has_streams_shape() {
        let body = serde_json::to_value(request(OrderType::Delivery)).expect("json");
        assert_eq!(body["header"]["orderType"], "DELIVERY");
        assert_eq!(body["header"]["orderDate"], "2026-06-18");
        assert_eq!(body["delivery"]["deliveryMethod"], "NTH-2MAN");
        assert_eq!(
            body["delivery"]["required"]["fromDateTime"],
            "2026-06-20T07-00Z"
        );
        assert_eq!(body["delivery"]["required"]["toDateTime"], "0");
        assert_eq!(body["delivery"]["items"][0]["weight"], 40.5);
        assert!(body.get("collection").is_none());
    }

    #[test]
    fn collection_body_uses_collection_method() {
        let body = serde_json::to_value(request(OrderType::Collection)).expect("json");
        assert_eq!(body["header"]["orderType"], "COLLECTION");
        assert_eq!(body["collection"]["collectionMethod"], "NTH-2MAN");
        assert!(body["collection"].get("deliveryMethod").is_none());
        assert!(body.get("delivery").is_none());
    }

    #[test]
    fn check_names_each_problem() {
        let mut r = request(OrderType::Delivery);
        r.group.items[0].description = "x".repeat(141);
        r.group.items[0].quantity = 0;
        let err = r.check().expect_err("bad");
        assert!(
            err.contains("delivery.items[0].description is 141 characters"),
            "{err}"
        );
        assert!(err.contains("delivery.items[0].quantity is 0"), "{err}");
        r.group.items[0].description = "é".repeat(140);
        r.group.items[0].quantity = 1;
        assert!(r.check().is_ok());
    }

    #[test]
    fn reads_an_order_tolerantly() {
        let order: StreamOrder = serde_json::from_value(json!({
            "header": {"consignmentNo": 5001, "orderNo": "LS-1", "orderStatus": "PLANNED",
                        "deliveryDate": "2026-06-20T00-01Z", "orderNotes": "call first"},
            "groups": [{"id": 1, "type": "DELIVERY", "status": "PLANNED",
                        "estimateArrivalDateTime": "0",
                        "runDetails": {"id": "L7", "description": "RUN 03", "groupSequence": "4",
                                       "start": {"plannedDateTime": "2026-06-20T07-00Z"}},
                        "items": [{"sequence": 1, "code": "SOFA", "quantity": 1}]}],
            "trackingURL": "https://t/x", "trackingId": "TRK1", "extra": true
        }))
        .expect("order");
        assert_eq!(order.header.consignment_no, "5001");
        assert_eq!(
            OrderStatus::parse(&order.header.order_status),
            OrderStatus::Planned
        );
        assert_eq!(order.header.order_notes[0].desc, "call first");
        let run = order.groups[0].run_details.as_ref().expect("run");
        assert_eq!(run.group_sequence, 4);
        assert!(order.groups[0].estimate_arrival_date_time.is_none());
        assert!(
            run.start
                .as_ref()
                .and_then(|s| s.planned_date_time)
                .is_some()
        );
    }

    #[test]
    fn statuses_keep_streams_spelling() {
        assert_eq!(OrderStatus::parse("PARTDELVRD"), OrderStatus::PartDelivered);
        assert_eq!(
            serde_json::to_value(OrderStatus::PartDelivered).expect("json"),
            "PARTDELVRD"
        );
        assert_eq!(
            OrderStatus::parse("WEIRD"),
            OrderStatus::Other("WEIRD".into())
        );
    }
}

//! The simulator's own reading of the create-order body (reference section 3, [RV2], [ODOO]),
//! written against raw JSON so that it shares nothing with the client's structs. It is strict
//! where the reference is definite (required header fields, order type, 140-character
//! descriptions, `yyyy-MM-dd` order dates, Stream date-times, known delivery methods and
//! stock locations) and tolerant where it is not (extra fields, nulls for optional fields).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::{Map, Value};

use super::config::SimDepot;

pub const MAX_DESCRIPTION_CHARS: usize = 140;

/// A problem found in a request, with Stream's envelope fields.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    pub code: &'static str,
    pub description: String,
}

/// Collects problems (errors) and warnings while walking a body.
#[derive(Default, Debug)]
pub struct Findings {
    pub errors: Vec<Problem>,
    pub warnings: Vec<Problem>,
}

impl Findings {
    fn error(&mut self, code: &'static str, description: impl Into<String>) {
        self.errors.push(Problem {
            code,
            description: description.into(),
        });
    }
    fn warn(&mut self, code: &'static str, description: impl Into<String>) {
        self.warnings.push(Problem {
            code,
            description: description.into(),
        });
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewItem {
    pub sequence: u64,
    pub parent_sequence: Option<u64>,
    pub code: String,
    pub description: String,
    pub quantity: u64,
    pub weight: f64,
    pub cube: f64,
    pub stock_location: Option<String>,
    /// The hands-on date (`onHandDate`, `yyyy-MM-dd`).
    pub on_hand_date: Option<NaiveDate>,
    pub package_id: Option<String>,
    pub package_type: Option<String>,
}

/// A create body that passed validation.
#[derive(Clone, Debug)]
pub struct NewOrder {
    pub order_no: String,
    pub order_date: NaiveDate,
    /// DELIVERY or COLLECTION.
    pub order_type: String,
    pub customer_order_no: Option<String>,
    pub service_level: Option<String>,
    pub partner: Option<Value>,
    pub customer: Value,
    pub order_notes: Vec<(String, String)>,
    pub driver_notes: Option<String>,
    pub address: Value,
    pub contact: Value,
    pub required_from: Option<DateTime<Utc>>,
    pub required_to: Option<DateTime<Utc>>,
    pub method_id: String,
    pub depot_id: String,
    pub items: Vec<NewItem>,
}

/// Parses a Stream date-time as the service is taken to accept it: its own hyphenated form
/// (`2026-06-20T07-00Z`), or the colon forms [ODOO] sends (`2026-06-20T07:00:00Z`), both in
/// UTC; `"0"` means unset. Anything else is refused.
pub fn parse_stream_datetime(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let refused = || format!("`{text}` must be a date-time like 2026-06-20T07-00Z, or \"0\"");
    if text == "0" {
        return Ok(None);
    }
    let body = text.strip_suffix('Z').ok_or_else(refused)?;
    for format in ["%Y-%m-%dT%H-%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(at) = NaiveDateTime::parse_from_str(body, format) {
            return Ok(Some(at.and_utc()));
        }
    }
    Err(refused())
}

/// Formats a date-time as Stream writes it.
pub fn format_stream_datetime(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "0".to_string(),
        |t| t.format("%Y-%m-%dT%H-%MZ").to_string(),
    )
}

fn text<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    obj.get(key).and_then(Value::as_str)
}

/// An optional string field: absent or null is fine, a non-string is an error.
fn optional_text(
    f: &mut Findings,
    obj: &Map<String, Value>,
    key: &str,
    at: &str,
) -> Option<String> {
    match obj.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            f.error("FIELD_TYPE", format!("{at}.{key} must be a string"));
            None
        }
    }
}

fn required_text(f: &mut Findings, obj: &Map<String, Value>, key: &str, at: &str) -> String {
    match obj.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        Some(Value::String(_)) => {
            f.error("FIELD_REQUIRED", format!("{at}.{key} is empty"));
            String::new()
        }
        None | Some(Value::Null) => {
            f.error("FIELD_REQUIRED", format!("{at}.{key} is required"));
            String::new()
        }
        Some(_) => {
            f.error("FIELD_TYPE", format!("{at}.{key} must be a string"));
            String::new()
        }
    }
}

fn object<'a>(
    f: &mut Findings,
    obj: &'a Map<String, Value>,
    key: &str,
    at: &str,
    required: bool,
) -> Option<&'a Map<String, Value>> {
    match obj.get(key) {
        Some(Value::Object(o)) => Some(o),
        None | Some(Value::Null) => {
            if required {
                f.error("FIELD_REQUIRED", format!("{at}.{key} is required"));
            }
            None
        }
        Some(_) => {
            f.error("FIELD_TYPE", format!("{at}.{key} must be an object"));
            None
        }
    }
}

fn check_address(f: &mut Findings, addr: &Map<String, Value>, at: &str) {
    required_text(f, addr, "address1", at);
    required_text(f, addr, "postcode", at);
    let country = required_text(f, addr, "country", at);
    let iso_alpha2 = country.len() == 2 && country.chars().all(|c| c.is_ascii_uppercase());
    if !country.is_empty() && !iso_alpha2 {
        f.error(
            "FIELD_FORMAT",
            format!("{at}.country `{country}` must be an ISO 3166-1 alpha-2 code such as GB"),
        );
    }
    for key in ["name", "address2", "address3", "address4", "address5"] {
        optional_text(f, addr, key, at);
    }
}

fn check_contact(f: &mut Findings, contact: &Map<String, Value>, at: &str) {
    for key in ["name", "tel1", "tel2", "mobile", "email"] {
        optional_text(f, contact, key, at);
    }
    let has = |k: &str| text(contact, k).is_some_and(|s| !s.trim().is_empty());
    if !(has("tel1") || has("mobile") || has("email")) {
        f.warn(
            "CONTACT_MISSING",
            format!("{at} has no telephone, mobile or email: the customer will not be notified"),
        );
    }
    if let Some(email) = text(contact, "email").filter(|e| !e.is_empty())
        && !email.contains('@')
    {
        f.warn(
            "EMAIL_INVALID",
            format!("{at}.email `{email}` is not an email address"),
        );
    }
}

fn number(
    f: &mut Findings,
    item: &Map<String, Value>,
    key: &str,
    at: &str,
    required: bool,
) -> Option<f64> {
    match item.get(key) {
        Some(Value::Number(n)) => n.as_f64(),
        None | Some(Value::Null) => {
            if required {
                f.error("FIELD_REQUIRED", format!("{at}.{key} is required"));
            }
            None
        }
        Some(_) => {
            f.error("FIELD_TYPE", format!("{at}.{key} must be a number"));
            None
        }
    }
}

fn check_items(f: &mut Findings, group: &Map<String, Value>, at: &str) -> Vec<NewItem> {
    let list = match group.get("items") {
        Some(Value::Array(list)) if !list.is_empty() => list,
        Some(Value::Array(_)) => {
            f.error("ITEMS_REQUIRED", format!("{at}.items is empty"));
            return Vec::new();
        }
        None | Some(Value::Null) => {
            f.error("ITEMS_REQUIRED", format!("{at}.items is required"));
            return Vec::new();
        }
        Some(_) => {
            f.error("FIELD_TYPE", format!("{at}.items must be an array"));
            return Vec::new();
        }
    };
    let mut items = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let at = format!("{at}.items[{i}]");
        let Some(item) = raw.as_object() else {
            f.error("FIELD_TYPE", format!("{at} must be an object"));
            continue;
        };
        let sequence = match item.get("sequence").and_then(Value::as_u64) {
            Some(s) if s > 0 => s,
            _ => {
                f.error(
                    "FIELD_REQUIRED",
                    format!("{at}.sequence must be a positive integer"),
                );
                0
            }
        };
        let parent_sequence = match item.get("parentSequence") {
            None | Some(Value::Null) => None,
            // 0 is how a C# client writes "no parent" ([RV2] declares it as int).
            Some(v) if v.as_u64() == Some(0) => None,
            Some(v) => match v.as_u64() {
                Some(p) => Some(p),
                None => {
                    f.error(
                        "FIELD_TYPE",
                        format!("{at}.parentSequence must be an integer"),
                    );
                    None
                }
            },
        };
        let code = required_text(f, item, "code", &at);
        let description = match item.get("description") {
            Some(Value::String(s)) => s.clone(),
            None | Some(Value::Null) => {
                f.error("FIELD_REQUIRED", format!("{at}.description is required"));
                String::new()
            }
            Some(_) => {
                f.error("FIELD_TYPE", format!("{at}.description must be a string"));
                String::new()
            }
        };
        let chars = description.chars().count();
        if chars > MAX_DESCRIPTION_CHARS {
            f.error(
                "DESCRIPTION_TOO_LONG",
                format!("{at}.description is {chars} characters; at most {MAX_DESCRIPTION_CHARS} are allowed"),
            );
        }
        let quantity = match item.get("quantity").and_then(Value::as_u64) {
            Some(q) if q > 0 => q,
            _ => {
                f.error(
                    "FIELD_FORMAT",
                    format!("{at}.quantity must be a positive integer"),
                );
                0
            }
        };
        let weight = number(f, item, "weight", &at, false).unwrap_or(0.0);
        if weight < 0.0 {
            f.error("FIELD_FORMAT", format!("{at}.weight must not be negative"));
        } else if weight > 500.0 {
            f.warn(
                "WEIGHT_UNUSUAL",
                format!("{at}.weight is {weight} kg: weights are in kilograms, not grams"),
            );
        }
        let cube = number(f, item, "cube", &at, false).unwrap_or(0.0);
        if cube < 0.0 {
            f.error("FIELD_FORMAT", format!("{at}.cube must not be negative"));
        } else if cube > 50.0 {
            f.warn(
                "CUBE_UNUSUAL",
                format!("{at}.cube is {cube} m3: volumes are in cubic metres"),
            );
        }
        // The hands-on date is a day, as both public clients send it; a date-time or
        // another format is refused (*inferred*: Stream's format for dates).
        let on_hand_date = match optional_text(f, item, "onHandDate", &at) {
            None => None,
            Some(text) if text.is_empty() => None,
            Some(text) => {
                let day = (text.len() == 10)
                    .then(|| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok())
                    .flatten();
                if day.is_none() {
                    f.error(
                        "FIELD_FORMAT",
                        format!("{at}.onHandDate `{text}` must be a date as yyyy-MM-dd"),
                    );
                }
                day
            }
        };
        items.push(NewItem {
            on_hand_date,
            sequence,
            parent_sequence,
            code,
            description,
            quantity,
            weight,
            cube,
            stock_location: optional_text(f, item, "stockLocation", &at).filter(|s| !s.is_empty()),
            package_id: optional_text(f, item, "packageId", &at),
            package_type: optional_text(f, item, "packageType", &at),
        });
    }
    let mut seen = std::collections::HashSet::new();
    for item in &items {
        if item.sequence > 0 && !seen.insert(item.sequence) {
            f.error(
                "SEQUENCE_REPEATED",
                format!("{at}.items sequence {} is repeated", item.sequence),
            );
        }
    }
    for item in &items {
        if let Some(parent) = item.parent_sequence
            && !seen.contains(&parent)
        {
            f.error(
                "PARENT_UNKNOWN",
                format!(
                    "{at}.items sequence {} has parentSequence {parent}, which is not an item",
                    item.sequence
                ),
            );
        }
    }
    items
}

/// Validates a create body against the depots. `Ok` carries the order and any warnings;
/// `Err` carries every error found (and the warnings, for completeness).
pub fn check_create(
    body: &Value,
    depots: &[SimDepot],
) -> Result<(NewOrder, Vec<Problem>), Findings> {
    let mut f = Findings::default();
    let Some(root) = body.as_object() else {
        f.error("BODY_INVALID", "the body must be a JSON object");
        return Err(f);
    };
    let empty = Map::new();
    let header = object(&mut f, root, "header", "body", true).unwrap_or(&empty);
    let order_no = required_text(&mut f, header, "orderNo", "header");
    let order_date_text = required_text(&mut f, header, "orderDate", "header");
    let order_date = if order_date_text.is_empty() {
        None
    } else {
        let parsed = (order_date_text.len() == 10)
            .then(|| NaiveDate::parse_from_str(&order_date_text, "%Y-%m-%d").ok())
            .flatten();
        if parsed.is_none() {
            f.error(
                "FIELD_FORMAT",
                format!("header.orderDate `{order_date_text}` must be a date as yyyy-MM-dd"),
            );
        }
        parsed
    };
    let order_type = required_text(&mut f, header, "orderType", "header");
    let group_key = match order_type.as_str() {
        "DELIVERY" => Some("delivery"),
        "COLLECTION" => Some("collection"),
        "MULTI" => {
            f.error(
                "ORDER_TYPE_UNSUPPORTED",
                "header.orderType MULTI is not simulated",
            );
            None
        }
        "" => None,
        other => {
            f.error(
                "FIELD_FORMAT",
                format!("header.orderType `{other}` must be DELIVERY, COLLECTION or MULTI"),
            );
            None
        }
    };
    if let Some(partner) = object(&mut f, header, "partner", "header", false) {
        required_text(&mut f, partner, "id", "header.partner");
        optional_text(&mut f, partner, "name", "header.partner");
    }
    let service_level =
        optional_text(&mut f, header, "serviceLevel", "header").filter(|s| !s.is_empty());
    match header.get("services") {
        None | Some(Value::Null) => {}
        Some(Value::Array(list)) => {
            for (i, s) in list.iter().enumerate() {
                match s.as_object() {
                    Some(o) => {
                        required_text(&mut f, o, "code", &format!("header.services[{i}]"));
                    }
                    None => f.error(
                        "FIELD_TYPE",
                        format!("header.services[{i}] must be an object {{code}}"),
                    ),
                }
            }
        }
        Some(_) => f.error("FIELD_TYPE", "header.services must be an array of {code}"),
    }
    let customer = object(&mut f, header, "customer", "header", true);
    if let Some(customer) = customer {
        required_text(&mut f, customer, "name", "header.customer");
        if let Some(addr) = object(&mut f, customer, "address", "header.customer", true) {
            check_address(&mut f, addr, "header.customer.address");
        }
        if let Some(contact) = object(&mut f, customer, "contact", "header.customer", false) {
            for key in ["name", "tel1", "tel2", "mobile", "email"] {
                optional_text(&mut f, contact, key, "header.customer.contact");
            }
        }
    }
    let customer_order_no = optional_text(&mut f, header, "customerOrderNo", "header");
    // orderNotes: the reply shows [{code, desc}]; plain text is also taken (*inferred*).
    let order_notes = match header.get("orderNotes") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::String(s)) => vec![(String::new(), s.clone())],
        Some(Value::Array(list)) => list
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match n.as_object() {
                Some(o) => Some((
                    text(o, "code").unwrap_or_default().to_string(),
                    text(o, "desc").unwrap_or_default().to_string(),
                )),
                None => {
                    f.error(
                        "FIELD_TYPE",
                        format!("header.orderNotes[{i}] must be {{code, desc}}"),
                    );
                    None
                }
            })
            .collect(),
        Some(_) => {
            f.error(
                "FIELD_TYPE",
                "header.orderNotes must be text or a list of {code, desc}",
            );
            Vec::new()
        }
    };
    let driver_notes =
        optional_text(&mut f, header, "driverNotes", "header").filter(|s| !s.is_empty());

    for other in ["delivery", "collection"] {
        if Some(other) != group_key && root.get(other).is_some_and(|v| !v.is_null()) {
            f.error(
                "GROUP_MISMATCH",
                format!("body.{other} does not fit header.orderType `{order_type}`"),
            );
        }
    }
    let mut address = Value::Null;
    let mut contact = Value::Null;
    let mut required_from = None;
    let mut required_to = None;
    let mut method_id = String::new();
    let mut depot_id = String::new();
    let mut items = Vec::new();
    if let Some(key) = group_key
        && let Some(group) = object(&mut f, root, key, "body", true)
    {
        if let Some(addr) = object(&mut f, group, "address", key, true) {
            check_address(&mut f, addr, &format!("{key}.address"));
            address = Value::Object(addr.clone());
        }
        match object(&mut f, group, "contact", key, false) {
            Some(c) => {
                check_contact(&mut f, c, &format!("{key}.contact"));
                contact = Value::Object(c.clone());
            }
            None => f.warn(
                "CONTACT_MISSING",
                format!("{key}.contact is missing: the customer will not be notified"),
            ),
        }
        match object(&mut f, group, "required", key, false) {
            Some(req) => {
                for (field, slot) in [
                    ("fromDateTime", &mut required_from),
                    ("toDateTime", &mut required_to),
                ] {
                    match req.get(field) {
                        None | Some(Value::Null) => {}
                        Some(Value::String(s)) => match parse_stream_datetime(s) {
                            Ok(at) => *slot = at,
                            Err(_) => f.error(
                                "FIELD_FORMAT",
                                format!(
                                    "{key}.required.{field} `{s}` must be a date-time like 2026-06-20T07-00Z, or \"0\""
                                ),
                            ),
                        },
                        Some(_) => f.error("FIELD_TYPE", format!("{key}.required.{field} must be a string")),
                    }
                }
                if let (Some(from), Some(to)) = (required_from, required_to)
                    && from > to
                {
                    f.error(
                        "REQUIRED_WINDOW",
                        format!("{key}.required.fromDateTime is after toDateTime"),
                    );
                }
            }
            None => f.warn(
                "REQUIRED_MISSING",
                format!("{key}.required is missing: Stream plans from the next available date"),
            ),
        }
        // Collections name their method `collectionMethod` in both public clients; the
        // reference says `deliveryMethod`. Either is taken for a collection (*inferred*).
        let method_keys: &[&str] = if key == "collection" {
            &["collectionMethod", "deliveryMethod"]
        } else {
            &["deliveryMethod"]
        };
        let method_key = method_keys
            .iter()
            .copied()
            .find(|k| group.get(*k).is_some_and(|v| !v.is_null()))
            .unwrap_or(method_keys[0]);
        method_id = required_text(&mut f, group, method_key, key);
        items = check_items(&mut f, group, key);
        if !method_id.is_empty() {
            let found = depots.iter().find_map(|d| {
                d.delivery_methods
                    .iter()
                    .find(|m| m.id == method_id)
                    .map(|m| (d, m))
            });
            match found {
                None => f.error(
                    "UNKNOWN_DELIVERY_METHOD",
                    format!(
                        "{key}.{method_key} `{method_id}` is not a delivery method of any depot"
                    ),
                ),
                Some((depot, method)) => {
                    depot_id = depot.id.clone();
                    if !method.suits(&order_type) {
                        f.error(
                            "METHOD_TYPE_MISMATCH",
                            format!(
                                "{key}.{method_key} `{method_id}` is a {} method and cannot serve a {order_type} order",
                                method.kind
                            ),
                        );
                    }
                    for (i, item) in items.iter().enumerate() {
                        let Some(location) = &item.stock_location else {
                            continue;
                        };
                        match depots.iter().find(|d| &d.stock_location.id == location) {
                            None => f.error(
                                "UNKNOWN_DEPOT",
                                format!("{key}.items[{i}].stockLocation `{location}` is not a depot's stock location"),
                            ),
                            Some(d) if d.id != depot.id => f.error(
                                "DEPOT_MISMATCH",
                                format!(
                                    "{key}.items[{i}].stockLocation `{location}` belongs to depot {}, but `{method_id}` is a method of depot {}",
                                    d.id, depot.id
                                ),
                            ),
                            Some(_) => {}
                        }
                    }
                }
            }
        }
    }
    if !f.errors.is_empty() {
        return Err(f);
    }
    let (Some(order_date), Some(customer)) = (order_date, customer) else {
        return Err(f);
    };
    Ok((
        NewOrder {
            order_no,
            order_date,
            order_type,
            customer_order_no,
            service_level,
            partner: header.get("partner").filter(|v| !v.is_null()).cloned(),
            customer: Value::Object(customer.clone()),
            order_notes,
            driver_notes,
            address,
            contact,
            required_from,
            required_to,
            method_id,
            depot_id,
            items,
        },
        f.warnings,
    ))
}

/// Validates a `PATCH` body: `{"header": {...}}` with only updatable header fields.
/// Returns the header object to merge.
pub fn check_patch(body: &Value) -> Result<Map<String, Value>, Findings> {
    let mut f = Findings::default();
    let Some(header) = body.get("header").and_then(Value::as_object) else {
        f.error(
            "BODY_INVALID",
            "the body must be {\"header\": {...}} with the fields to change",
        );
        return Err(f);
    };
    const IMMUTABLE: [&str; 3] = ["orderNo", "orderType", "consignmentNo"];
    for key in IMMUTABLE {
        if header.contains_key(key) {
            f.error("FIELD_READ_ONLY", format!("header.{key} cannot be changed"));
        }
    }
    for key in [
        "customerOrderNo",
        "serviceLevel",
        "driverNotes",
        "routeInfo",
    ] {
        optional_text(&mut f, header, key, "header");
    }
    if let Some(date) = header.get("orderDate").filter(|v| !v.is_null()) {
        let ok = date
            .as_str()
            .is_some_and(|s| s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok());
        if !ok {
            f.error(
                "FIELD_FORMAT",
                "header.orderDate must be a date as yyyy-MM-dd",
            );
        }
    }
    if let Some(customer) = object(&mut f, header, "customer", "header", false)
        && let Some(addr) = customer.get("address").and_then(Value::as_object)
    {
        for key in [
            "name", "address1", "address2", "address3", "address4", "address5", "postcode",
            "country",
        ] {
            optional_text(&mut f, addr, key, "header.customer.address");
        }
    }
    if header.is_empty() {
        f.error("BODY_INVALID", "header has no fields to change");
    }
    if f.errors.is_empty() {
        Ok(header.clone())
    } else {
        Err(f)
    }
}

#[cfg(test)]
mod tests {
    use super::super::config::default_depots;
    use super::*;
    use serde_json::json;

    pub(crate) fn valid_body() -> Value {
        json!({
            "header": {
                "orderNo": "LS-1", "orderDate": "2026-06-18", "orderType": "DELIVERY",
                "customer": {"name": "Ann", "address": {"name": "Ann", "address1": "1 High St",
                             "country": "GB", "postcode": "LS1 1AA"}},
                "customerOrderNo": "1001"
            },
            "delivery": {
                "address": {"name": "Ann", "address1": "1 High St", "country": "GB", "postcode": "LS1 1AA"},
                "contact": {"name": "Ann", "tel1": "0113 000000"},
                "required": {"fromDateTime": "2026-06-20T07-00Z", "toDateTime": "2026-06-20T18:00:00Z"},
                "deliveryMethod": "NTH-2MAN",
                "items": [{"sequence": 1, "code": "SOFA", "description": "Sofa", "quantity": 1,
                           "weight": 40.0, "cube": 1.2, "stockLocation": "LDS",
                           "onHandDate": "2026-06-19"}]
            }
        })
    }

    fn errors(body: &Value) -> Vec<String> {
        match check_create(body, &default_depots()) {
            Ok(_) => Vec::new(),
            Err(f) => f
                .errors
                .into_iter()
                .map(|p| format!("{} {}", p.code, p.description))
                .collect(),
        }
    }

    #[test]
    fn a_complete_body_passes_without_warnings() {
        let (order, warnings) = check_create(&valid_body(), &default_depots()).expect("valid");
        assert_eq!(order.depot_id, "NORTH");
        assert!(order.required_from.is_some() && order.required_to.is_some());
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn each_rule_is_enforced_with_a_path() {
        let cases: Vec<(&str, Value, &str)> = vec![
            ("/header/orderNo", Value::Null, "header.orderNo is required"),
            (
                "/header/orderDate",
                json!("18/06/2026"),
                "header.orderDate `18/06/2026`",
            ),
            (
                "/header/orderType",
                json!("PARCEL"),
                "header.orderType `PARCEL`",
            ),
            (
                "/header/customer",
                Value::Null,
                "header.customer is required",
            ),
            (
                "/delivery/deliveryMethod",
                json!("NOPE"),
                "UNKNOWN_DELIVERY_METHOD",
            ),
            (
                "/delivery/deliveryMethod",
                json!("NTH-COLL"),
                "METHOD_TYPE_MISMATCH",
            ),
            (
                "/delivery/items/0/description",
                json!("x".repeat(141)),
                "141 characters",
            ),
            (
                "/delivery/items/0/quantity",
                json!(0),
                "quantity must be a positive integer",
            ),
            (
                "/delivery/items/0/stockLocation",
                json!("ZZZ"),
                "UNKNOWN_DEPOT",
            ),
            (
                "/delivery/items/0/stockLocation",
                json!("COV"),
                "DEPOT_MISMATCH",
            ),
            (
                "/delivery/required/fromDateTime",
                json!("tomorrow"),
                "`tomorrow` must be a date-time",
            ),
            (
                "/delivery/address/country",
                json!("United Kingdom"),
                "ISO 3166-1",
            ),
            (
                "/delivery/items/0/onHandDate",
                json!("2026-06-20T00-00Z"),
                "onHandDate `2026-06-20T00-00Z` must be a date as yyyy-MM-dd",
            ),
        ];
        for (pointer, value, want) in cases {
            let mut body = valid_body();
            *body.pointer_mut(pointer).expect(pointer) = value;
            let got = errors(&body);
            assert!(got.iter().any(|e| e.contains(want)), "{pointer}: {got:?}");
        }
    }

    #[test]
    fn a_missing_required_window_is_warned_and_an_unset_one_is_not() {
        let mut body = valid_body();
        body["delivery"]["required"] = json!({"fromDateTime": "0", "toDateTime": "0"});
        body["delivery"]["items"][0]["onHandDate"] = json!("2026-06-18");
        let (order, warnings) = check_create(&body, &default_depots()).expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            order.items[0].on_hand_date,
            NaiveDate::from_ymd_opt(2026, 6, 18)
        );
        body["delivery"]
            .as_object_mut()
            .expect("obj")
            .remove("required");
        let (_, warnings) = check_create(&body, &default_depots()).expect("valid");
        assert!(
            warnings
                .iter()
                .any(|w| w.code == "REQUIRED_MISSING"
                    && w.description.contains("required is missing")),
            "{warnings:?}"
        );
    }

    #[test]
    fn exactly_140_characters_is_fine_and_warnings_do_not_block() {
        let mut body = valid_body();
        body["delivery"]["items"][0]["description"] = json!("é".repeat(140));
        body["delivery"]
            .as_object_mut()
            .expect("obj")
            .remove("contact");
        let (_, warnings) = check_create(&body, &default_depots()).expect("valid");
        assert!(
            warnings.iter().any(|w| w.code == "CONTACT_MISSING"),
            "{warnings:?}"
        );
    }

    #[test]
    fn collections_take_collection_method() {
        let mut body = valid_body();
        body["header"]["orderType"] = json!("COLLECTION");
        let mut group = body["delivery"].take();
        body.as_object_mut().expect("obj").remove("delivery");
        group.as_object_mut().expect("obj").remove("deliveryMethod");
        group["collectionMethod"] = json!("NTH-COLL");
        body["collection"] = group;
        assert!(errors(&body).is_empty(), "{:?}", errors(&body));
        body["collection"]["collectionMethod"] = json!("NTH-2MAN");
        assert!(
            errors(&body)
                .iter()
                .any(|e| e.contains("METHOD_TYPE_MISMATCH"))
        );
    }

    #[test]
    fn dates_accept_streams_and_colon_forms_only() {
        assert!(parse_stream_datetime("2026-06-20T07-00Z").is_ok());
        assert!(parse_stream_datetime("2026-06-20T07:00:00Z").is_ok());
        assert_eq!(parse_stream_datetime("0"), Ok(None));
        assert!(parse_stream_datetime("2026-06-20").is_err());
        assert!(parse_stream_datetime("2026-06-20T07-00").is_err());
    }

    #[test]
    fn patch_refuses_read_only_and_empty() {
        assert!(check_patch(&json!({"header": {"orderNo": "X"}})).is_err());
        assert!(check_patch(&json!({"header": {}})).is_err());
        assert!(check_patch(&json!({"driverNotes": "x"})).is_err());
        assert!(check_patch(&json!({"header": {"driverNotes": "Side door"}})).is_ok());
    }
}

//! Stream webhook notifications, parsed. The two public clients disagree on the envelope
//! (*inferred*): one wraps everything in `{"webhook": {...}}`, the other sends the same
//! members at the top level; key spellings vary between snake_case and camelCase. Both are
//! accepted. Run numbers, sequences and delivery dates are read from every place the
//! references show them; what cannot be found is left empty rather than guessed.

use chrono::NaiveDate;
use serde_json::{Map, Value};

use crate::domain::{EventCode, EventEffect};

/// Largest body the receiver accepts; real notifications are a few kilobytes.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderRef {
    /// Stream order number or consignment number, as sent.
    pub reference: String,
    /// Position within the run, when the event carries one.
    pub sequence: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEvent {
    /// Upper-case event code, e.g. `DELIVERED`, `LOCKPLANNING`.
    pub code: String,
    pub description: Option<String>,
    pub text: Option<String>,
    /// `party_id`: the Stream client id of the tenant.
    pub party_id: Option<String>,
    pub subscription_id: Option<String>,
    /// Date and time of the event as Stream sent them.
    pub event_date: Option<String>,
    pub event_time: Option<String>,
    pub load_id: Option<String>,
    /// Delivery run number (1-20 map to RUN 01-RUN 20).
    pub run_number: Option<u32>,
    pub delivery_date: Option<NaiveDate>,
    pub orders: Vec<OrderRef>,
    /// Stable identity of this notification, for deduplication of re-deliveries.
    pub dedupe_key: String,
}

impl WebhookEvent {
    /// The code, when it is one the integration knows.
    pub fn event_code(&self) -> Option<EventCode> {
        EventCode::parse(&self.code)
    }

    /// What the event does to the orders it names (nothing for an unknown code).
    pub fn effect(&self) -> EventEffect {
        self.event_code()
            .map_or(EventEffect::None, EventCode::effect)
    }

    pub fn is_dispatch(&self) -> bool {
        self.effect() == EventEffect::Dispatch
    }

    pub fn is_planning(&self) -> bool {
        self.effect() == EventEffect::Planning
    }

    pub fn is_delivery(&self) -> bool {
        self.effect() == EventEffect::Delivery
    }

    /// DELIVERED and COLLECTED complete an order (mark processed when the mapping says so).
    pub fn completes_order(&self) -> bool {
        self.event_code().is_some_and(EventCode::completes_order)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body is not a JSON object")]
    NotObject,
    #[error("{0} is missing")]
    Missing(&'static str),
    #[error("{field} is invalid: {reason}")]
    Invalid { field: &'static str, reason: String },
}

/// Looks a member up under any of the spellings given.
fn member<'a>(obj: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| obj.get(*n))
        .filter(|v| !v.is_null())
}

fn text(obj: &Map<String, Value>, names: &[&str]) -> Option<String> {
    match member(obj, names)? {
        Value::String(s) if !s.trim().is_empty() && s != "0" => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(value: &Value) -> Option<u32> {
    match value {
        Value::Number(n) => n.as_u64().and_then(|v| u32::try_from(v).ok()),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `RUN 03`, `Run 3`, `R3`, `3`: the run number in a description or id.
fn run_number_in(text: &str) -> Option<u32> {
    let upper = text.to_ascii_uppercase();
    let digits_after = |idx: usize| -> Option<u32> {
        let rest = upper[idx..].trim_start_matches([' ', '-', '_', '#']);
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok()
    };
    if let Some(i) = upper.find("RUN") {
        return digits_after(i + 3);
    }
    upper.trim().parse().ok()
}

/// Stream dates come as `2026-06-20`, `2026-06-20T07-00Z` (hyphens in the time),
/// `20/06/2026`, or `"0"` when unset.
pub fn parse_stream_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if t.is_empty() || t == "0" {
        return None;
    }
    let date_part = t.get(..10).unwrap_or(t);
    NaiveDate::parse_from_str(date_part, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date_part, "%d/%m/%Y"))
        .ok()
}

pub fn parse(body: &[u8]) -> Result<WebhookEvent, ParseError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    let outer = value.as_object().ok_or(ParseError::NotObject)?;
    let root = match member(outer, &["webhook", "Webhook"]) {
        Some(Value::Object(inner)) => inner,
        Some(_) => {
            return Err(ParseError::Invalid {
                field: "webhook",
                reason: "must be an object".into(),
            });
        }
        None => outer,
    };
    let empty = Map::new();
    let obj = |names: &[&str]| -> &Map<String, Value> {
        member(root, names)
            .and_then(Value::as_object)
            .unwrap_or(&empty)
    };
    let event = obj(&["event", "Event"]);
    let subscription = obj(&["subscription", "Subscription"]);
    let run = obj(&["run", "Run"]);
    let group = obj(&["group", "Group"]);

    let code = text(event, &["event_code", "eventCode", "code"])
        .or_else(|| text(root, &["event_code", "eventCode"]))
        .ok_or(ParseError::Missing("webhook.event.event_code"))?
        .to_ascii_uppercase();
    if !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || code.len() > 40 {
        return Err(ParseError::Invalid {
            field: "webhook.event.event_code",
            reason: format!("{code:?} is not an event code"),
        });
    }

    let mut orders = Vec::new();
    if let Some(list) = member(root, &["orders", "Orders"]) {
        let list = list.as_array().ok_or(ParseError::Invalid {
            field: "webhook.orders",
            reason: "must be a list".into(),
        })?;
        for (i, item) in list.iter().enumerate() {
            let reference = match item {
                Value::Object(o) => {
                    text(o, &["order", "orderNo", "order_no", "consignmentNo", "id"])
                }
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                _ => None,
            }
            .ok_or(ParseError::Invalid {
                field: "webhook.orders",
                reason: format!("entry {i} names no order"),
            })?;
            let sequence = item
                .as_object()
                .and_then(|o| member(o, &["sequence", "seq", "int_seq"]))
                .and_then(number);
            orders.push(OrderRef {
                reference,
                sequence,
            });
        }
    }
    if let Some(order) = member(root, &["order", "Order"]) {
        let reference = match order {
            Value::Object(o) => text(o, &["id", "orderNo", "order_no", "consignmentNo"]),
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        };
        if let Some(reference) = reference
            && !orders.iter().any(|o| o.reference == reference)
        {
            let sequence = member(group, &["int_seq", "intSeq", "sequence"]).and_then(number);
            orders.push(OrderRef {
                reference,
                sequence,
            });
        }
    }
    if orders.is_empty() {
        return Err(ParseError::Missing("webhook.order.id or webhook.orders"));
    }

    let load_id = text(run, &["loadId", "load_id"]).or_else(|| text(group, &["loadId", "load_id"]));
    let run_number = member(run, &["runNo", "run_no", "number", "runNumber"])
        .and_then(number)
        .or_else(|| text(run, &["description", "name"]).and_then(|d| run_number_in(&d)))
        .or_else(|| load_id.as_deref().and_then(run_number_in));
    let event_date = text(event, &["event_date", "eventDate", "date"]);
    let delivery_date = text(
        run,
        &["deliveryDate", "delivery_date", "date", "plannedDate"],
    )
    .and_then(|d| parse_stream_date(&d))
    .or_else(|| event_date.as_deref().and_then(parse_stream_date));

    let party_id = text(subscription, &["party_id", "partyId"])
        .or_else(|| text(root, &["party_id", "partyId"]));
    let subscription_id = text(subscription, &["id"]);
    let event_time = text(event, &["event_time", "eventTime", "time"]);
    let dedupe_key = {
        let mut refs: Vec<String> = orders
            .iter()
            .map(|o| {
                format!(
                    "{}#{}",
                    o.reference,
                    o.sequence.map(|s| s.to_string()).unwrap_or_default()
                )
            })
            .collect();
        refs.sort();
        format!(
            "{code}|{}|{}|{}|{}|{}",
            event_date.as_deref().unwrap_or_default(),
            event_time.as_deref().unwrap_or_default(),
            load_id.as_deref().unwrap_or_default(),
            run_number.map(|n| n.to_string()).unwrap_or_default(),
            refs.join(",")
        )
    };
    Ok(WebhookEvent {
        code,
        description: text(
            event,
            &[
                "event_code_desc",
                "eventCodeDesc",
                "event_desc",
                "eventDesc",
            ],
        ),
        text: text(event, &["event_text", "eventText"]),
        party_id,
        subscription_id,
        event_date,
        event_time,
        load_id,
        run_number,
        delivery_date,
        orders,
        dedupe_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(v: serde_json::Value) -> Result<WebhookEvent, ParseError> {
        parse(v.to_string().as_bytes())
    }

    #[test]
    fn wrapped_delivery_event() {
        let e = parse_json(json!({"webhook": {
            "subscription": {"party_id": "acme", "id": "sub-1", "event": "ORDER", "event_type": "DELIVERED"},
            "event": {"event_code": "DELIVERED", "event_code_desc": "Delivered", "event_date": "2026-06-20", "event_time": "14:05", "event_text": "Left with neighbour"},
            "order": {"id": "ACME-1001"}
        }}))
        .expect("parse");
        assert_eq!(e.code, "DELIVERED");
        assert!(e.is_delivery() && e.completes_order() && !e.is_planning());
        assert_eq!(e.party_id.as_deref(), Some("acme"));
        assert_eq!(e.text.as_deref(), Some("Left with neighbour"));
        assert_eq!(
            e.orders,
            [OrderRef {
                reference: "ACME-1001".into(),
                sequence: None
            }]
        );
    }

    #[test]
    fn flat_planning_event_with_camel_case_and_quirky_dates() {
        let e = parse_json(json!({
            "subscription": {"partyId": "acme"},
            "event": {"eventCode": "lockplanning", "eventDate": "2026-06-20T07-00Z"},
            "run": {"loadId": "L-77", "status": "LOCKED", "description": "RUN 03"},
            "orders": [{"sequence": 2, "order": "ACME-1"}, {"sequence": "1", "order": "ACME-2"}]
        }))
        .expect("parse");
        assert_eq!(e.code, "LOCKPLANNING");
        assert!(e.is_planning());
        assert_eq!(e.run_number, Some(3));
        assert_eq!(e.delivery_date, NaiveDate::from_ymd_opt(2026, 6, 20));
        assert_eq!(
            e.delivery_date.map(crate::domain::identifiers::day_tag),
            Some("SATURDAY")
        );
        assert_eq!(
            e.orders[1],
            OrderRef {
                reference: "ACME-2".into(),
                sequence: Some(1)
            }
        );
    }

    #[test]
    fn the_same_notification_has_the_same_key_and_another_event_does_not() {
        let body = json!({"webhook": {"event": {"event_code": "DELIVERED", "event_date": "2026-06-20", "event_time": "10:00"}, "order": {"id": "A"}}});
        let a = parse_json(body.clone()).expect("a");
        let b = parse_json(body).expect("b");
        assert_eq!(a.dedupe_key, b.dedupe_key);
        let c = parse_json(json!({"webhook": {"event": {"event_code": "COLLECTED", "event_date": "2026-06-20", "event_time": "10:00"}, "order": {"id": "A"}}})).expect("c");
        assert_ne!(a.dedupe_key, c.dedupe_key);
    }

    #[test]
    fn malformed_bodies_are_rejected_with_a_reason() {
        assert!(matches!(parse(b"not json"), Err(ParseError::NotJson(_))));
        assert_eq!(parse(b"[1]"), Err(ParseError::NotObject));
        assert_eq!(
            parse_json(json!({"webhook": {"order": {"id": "A"}}})),
            Err(ParseError::Missing("webhook.event.event_code"))
        );
        assert_eq!(
            parse_json(json!({"webhook": {"event": {"event_code": "DELIVERED"}}})),
            Err(ParseError::Missing("webhook.order.id or webhook.orders"))
        );
        assert!(matches!(
            parse_json(json!({"event": {"event_code": "DROP TABLE"}, "order": {"id": "A"}})),
            Err(ParseError::Invalid {
                field: "webhook.event.event_code",
                ..
            })
        ));
        assert!(matches!(
            parse_json(json!({"event": {"event_code": "X"}, "orders": "A"})),
            Err(ParseError::Invalid {
                field: "webhook.orders",
                ..
            })
        ));
    }

    #[test]
    fn run_numbers_and_dates_in_their_many_spellings() {
        assert_eq!(run_number_in("RUN 07"), Some(7));
        assert_eq!(run_number_in("Run-12"), Some(12));
        assert_eq!(run_number_in("5"), Some(5));
        assert_eq!(run_number_in("Morning"), None);
        assert_eq!(parse_stream_date("0"), None);
        assert_eq!(
            parse_stream_date("20/06/2026"),
            NaiveDate::from_ymd_opt(2026, 6, 20)
        );
        assert_eq!(
            parse_stream_date("2026-06-21T07-00Z").map(crate::domain::identifiers::day_tag),
            Some("SUNDAY")
        );
    }
}

//! The simulator's admin API under `/_sim/`: inspect orders and webhook deliveries, expire
//! tokens, and move orders through Stream's life (planning, delivery, collection), which
//! sends the matching webhooks.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, TimeDelta, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::domain::EventCode;

use super::Shared;
use super::notify::{Notice, dispatch};
use super::reply::admin_error;
use super::state::{OrderRecord, Planning};

fn order_view(shared: &Shared, o: &OrderRecord) -> Value {
    json!({
        "clientId": o.client_id,
        "party": o.party,
        "orderNo": o.order.order_no,
        "consignmentNo": o.consignment_no,
        "trackingId": o.tracking_id,
        "trackingUrl": o.tracking_url,
        "status": o.status,
        "createdAt": o.created_at,
        "deleted": o.deleted_at.is_some(),
        "history": o.history,
        "request": o.request_body,
        "warnings": o.warnings,
        "order": o.to_stream_json(&shared.depot_postcode(&o.order.depot_id)),
    })
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ClientFilter {
    client_id: Option<String>,
}

/// `GET /_sim/orders`: every order ever created (deleted ones too), with the body received.
pub async fn list_orders(
    State(shared): State<Arc<Shared>>,
    Query(f): Query<ClientFilter>,
) -> Response {
    let inner = shared.lock();
    let orders: Vec<Value> = inner
        .orders
        .iter()
        .filter(|o| f.client_id.as_ref().is_none_or(|c| &o.client_id == c))
        .map(|o| order_view(&shared, o))
        .collect();
    Json(json!({ "orders": orders })).into_response()
}

/// `GET /_sim/orders/{orderNo}` (or consignment number): the live order, else the most
/// recent deleted one.
pub async fn get_order(
    State(shared): State<Arc<Shared>>,
    Path(reference): Path<String>,
    Query(f): Query<ClientFilter>,
) -> Response {
    let inner = shared.lock();
    let matches = |o: &&OrderRecord| {
        (o.order.order_no == reference || o.consignment_no == reference)
            && f.client_id.as_ref().is_none_or(|c| &o.client_id == c)
    };
    let found = inner
        .orders
        .iter()
        .filter(matches)
        .find(|o| o.is_live())
        .or_else(|| inner.orders.iter().rev().find(matches));
    match found {
        Some(o) => Json(order_view(&shared, o)).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("no order `{reference}`")),
    }
}

/// `GET /_sim/webhooks`: subscriptions (without their secrets) and every delivery with its
/// attempts.
pub async fn webhooks(State(shared): State<Arc<Shared>>) -> Response {
    let inner = shared.lock();
    let subscriptions: Vec<Value> = inner
        .subscriptions
        .iter()
        .map(|s| {
            let mut v = s.to_public_json();
            v["clientId"] = json!(s.client_id);
            v["hasAuthHeader"] = json!(s.auth_header.is_some());
            v["createdAt"] = json!(s.created_at);
            v
        })
        .collect();
    Json(json!({"subscriptions": subscriptions, "deliveries": inner.deliveries})).into_response()
}

/// `POST /_sim/tokens/expire`: every token (or one client's, with `{"clientId": ...}`)
/// expires now, so the next API call gets 401.
pub async fn expire_tokens(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let filter: ClientFilter = if body.iter().all(u8::is_ascii_whitespace) {
        ClientFilter::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(f) => f,
            Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("body: {e}")),
        }
    };
    let mut inner = shared.lock();
    let now = Instant::now();
    let mut expired = 0;
    for t in inner.tokens.values_mut() {
        if filter.client_id.as_ref().is_none_or(|c| &t.client_id == c) && t.expires_at > now {
            t.expires_at = now;
            expired += 1;
        }
    }
    Json(json!({ "expired": expired })).into_response()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanOrder {
    order_no: String,
    sequence: Option<u32>,
}

/// `POST /_sim/events` body.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventRequest {
    /// plan, unplan, dispatch, deliver, part-deliver, collect, part-collect.
    action: String,
    client_id: Option<String>,
    /// For unplan and deliver/collect actions: the order number or consignment number.
    order_no: Option<String>,
    /// For plan: the orders of the run, in sequence order unless sequences are given.
    orders: Option<Vec<PlanOrder>>,
    run_number: Option<u32>,
    /// yyyy-MM-dd.
    delivery_date: Option<String>,
    load_id: Option<String>,
    description: Option<String>,
    /// For plan: planning codes to send, default OPENPLANNING, LOCKPLANNING, CLOSEPLANNING.
    events: Option<Vec<String>>,
    /// For part-deliver and part-collect: item sequences done (default: all but the last).
    items: Option<Vec<u64>>,
    /// Free text for the event (`event_text`).
    text: Option<String>,
}

/// The planning codes a plan action may send, in their order.
const PLANNING: [&str; 4] = [
    EventCode::OpenPlanning.as_str(),
    EventCode::LockPlanning.as_str(),
    EventCode::ClosePlanning.as_str(),
    EventCode::PlannedGroup.as_str(),
];

fn event_json(
    code: &str,
    desc: &str,
    event_desc: String,
    date: NaiveDate,
    text: &str,
    link: &str,
) -> Value {
    json!({
        "event_code": code,
        "event_code_desc": desc,
        "event_desc": event_desc,
        "event_date": date.format("%Y-%m-%d").to_string(),
        "event_time": Utc::now().format("%H:%M:%S").to_string(),
        "event_text": text,
        "event_link": link,
    })
}

/// Stream's `event_code_desc` for a code.
fn code_desc(code: &str) -> &'static str {
    EventCode::parse(code).map_or("Event", |c| c.facts().description)
}

/// `POST /_sim/events`.
pub async fn post_event(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let request: EventRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("body: {e}")),
    };
    let result = match request.action.as_str() {
        "plan" => plan(&shared, &request),
        "dispatch" => dispatch_run(&shared, &request),
        "unplan" => unplan(&shared, &request),
        "deliver" | "part-deliver" | "collect" | "part-collect" => complete(&shared, &request),
        other => Err((
            StatusCode::BAD_REQUEST,
            format!(
                "action `{other}` must be plan, unplan, dispatch, deliver, part-deliver, collect or part-collect"
            ),
        )),
    };
    match result {
        Ok(v) => Json(v).into_response(),
        Err((status, message)) => admin_error(status, message),
    }
}

type EventResult = Result<Value, (StatusCode, String)>;

fn bad(message: impl Into<String>) -> (StatusCode, String) {
    (StatusCode::BAD_REQUEST, message.into())
}

fn final_status(status: &str) -> bool {
    matches!(
        status,
        "DELIVERED" | "COLLECTED" | "COMPLETED" | "CANCELLED"
    )
}

fn plan(shared: &Arc<Shared>, r: &EventRequest) -> EventResult {
    let list = r
        .orders
        .as_ref()
        .filter(|l| !l.is_empty())
        .ok_or_else(|| bad("plan needs orders: [{orderNo, sequence?}]"))?;
    let run_number = r
        .run_number
        .filter(|n| (1..=999).contains(n))
        .ok_or_else(|| bad("plan needs runNumber from 1 to 999"))?;
    let date_text = r
        .delivery_date
        .as_deref()
        .ok_or_else(|| bad("plan needs deliveryDate (yyyy-MM-dd)"))?;
    let delivery_date = NaiveDate::parse_from_str(date_text, "%Y-%m-%d")
        .map_err(|_| bad(format!("deliveryDate `{date_text}` must be yyyy-MM-dd")))?;
    let codes: Vec<String> = match &r.events {
        Some(list) if !list.is_empty() => list.iter().map(|c| c.to_ascii_uppercase()).collect(),
        Some(_) => return Err(bad("events is empty")),
        None => PLANNING[..3].iter().map(|c| c.to_string()).collect(),
    };
    if let Some(c) = codes.iter().find(|c| !PLANNING.contains(&c.as_str())) {
        return Err(bad(format!(
            "event `{c}` is not one of {}",
            PLANNING.join(", ")
        )));
    }
    let mut inner = shared.lock();
    let mut picked = Vec::new();
    let mut sequences = HashSet::new();
    for (i, p) in list.iter().enumerate() {
        let index = inner
            .find_any_live(&p.order_no, r.client_id.as_deref())
            .map_err(|e| (StatusCode::NOT_FOUND, e))?;
        let sequence = p.sequence.unwrap_or(i as u32 + 1);
        if sequence == 0 || !sequences.insert(sequence) {
            return Err(bad(format!("sequence {sequence} is zero or repeated")));
        }
        let o = &inner.orders[index];
        if final_status(&o.status) {
            return Err((
                StatusCode::CONFLICT,
                format!(
                    "order `{}` is {} and cannot be planned",
                    p.order_no, o.status
                ),
            ));
        }
        picked.push((index, sequence));
    }
    let client_id = inner.orders[picked[0].0].client_id.clone();
    if picked
        .iter()
        .any(|(i, _)| inner.orders[*i].client_id != client_id)
    {
        return Err(bad("a run holds orders of one client only"));
    }
    let load_id = match &r.load_id {
        Some(l) if !l.trim().is_empty() => l.trim().to_string(),
        _ => inner.new_load_id(),
    };
    let description = r
        .description
        .clone()
        .unwrap_or_else(|| format!("RUN {run_number:02}"));
    let mut refs = Vec::new();
    for code in &codes {
        for (index, sequence) in &picked {
            let o = &mut inner.orders[*index];
            let confirmed = code != "OPENPLANNING";
            o.status = "PLANNED".into();
            o.history.push(code.clone());
            o.planning = Some(Planning {
                load_id: load_id.clone(),
                run_number,
                description: description.clone(),
                sequence: *sequence,
                delivery_date,
                stage: code.clone(),
                // Arrival estimates exist once planning is locked: 07:00 plus 20 minutes a stop.
                estimated_arrival: confirmed
                    .then(|| delivery_date.and_hms_opt(7, 0, 0))
                    .flatten()
                    .map(|t| t.and_utc() + TimeDelta::minutes(20 * i64::from(sequence - 1))),
            });
        }
    }
    for (index, sequence) in &picked {
        refs.push((*sequence, inner.orders[*index].consignment_no.clone()));
    }
    drop(inner);
    refs.sort();
    let orders_json: Vec<Value> = refs
        .iter()
        .map(|(s, c)| json!({"sequence": s, "order": c}))
        .collect();
    let text = r.text.clone().unwrap_or_default();
    let mut queued = 0;
    for code in &codes {
        let run = json!({"loadId": load_id, "status": code, "description": description});
        // Planning events carry the run's delivery date as their event date (*inferred*: the
        // reference shows no other place for it in the notification).
        let event = event_json(
            code,
            code_desc(code),
            format!("{description} {}", code_desc(code).to_lowercase()),
            delivery_date,
            &text,
            "",
        );
        if code == "PLANNEDGROUP" {
            for (sequence, consignment) in &refs {
                let mut members = serde_json::Map::new();
                members.insert("run".into(), run.clone());
                members.insert(
                    "group".into(),
                    json!({"int_seq": sequence, "loadId": load_id}),
                );
                members.insert(
                    "orders".into(),
                    json!([{"sequence": sequence, "order": consignment}]),
                );
                queued += dispatch(
                    shared,
                    &client_id,
                    &Notice {
                        code: code.clone(),
                        event: event.clone(),
                        members,
                    },
                );
            }
        } else {
            let mut members = serde_json::Map::new();
            members.insert("run".into(), run);
            members.insert("orders".into(), Value::Array(orders_json.clone()));
            queued += dispatch(
                shared,
                &client_id,
                &Notice {
                    code: code.clone(),
                    event,
                    members,
                },
            );
        }
    }
    Ok(
        json!({"loadId": load_id, "runNumber": run_number, "description": description,
              "events": codes, "orders": orders_json, "notificationsQueued": queued}),
    )
}

fn dispatch_run(shared: &Arc<Shared>, r: &EventRequest) -> EventResult {
    let load_id = r
        .load_id
        .as_deref()
        .ok_or_else(|| bad("dispatch needs loadId"))?;
    let mut inner = shared.lock();
    let mut refs = Vec::new();
    let mut client = None;
    let mut run = None;
    for o in inner.orders.iter_mut().filter(|o| o.is_live()) {
        let Some(p) = o.planning.as_ref().filter(|p| p.load_id == load_id) else {
            continue;
        };
        refs.push((p.sequence, o.consignment_no.clone()));
        run = Some((p.description.clone(), p.delivery_date));
        client = Some(o.client_id.clone());
        if o.status == "PLANNED" {
            o.status = "RELEASED".into();
        }
        o.history.push("DISPATCHED".into());
    }
    drop(inner);
    let (Some(client_id), Some((description, date))) = (client, run) else {
        return Err((
            StatusCode::NOT_FOUND,
            format!("no run with loadId `{load_id}`"),
        ));
    };
    refs.sort();
    let orders: Vec<Value> = refs
        .iter()
        .map(|(s, c)| json!({"sequence": s, "order": c}))
        .collect();
    let mut members = serde_json::Map::new();
    members.insert(
        "run".into(),
        json!({"loadId": load_id, "status": "DISPATCHED", "description": description}),
    );
    members.insert("orders".into(), Value::Array(orders.clone()));
    let event = event_json(
        "DISPATCHED",
        "Dispatched",
        format!("{description} dispatched"),
        date,
        r.text.as_deref().unwrap_or_default(),
        "",
    );
    let queued = dispatch(
        shared,
        &client_id,
        &Notice {
            code: "DISPATCHED".into(),
            event,
            members,
        },
    );
    Ok(json!({"loadId": load_id, "orders": orders, "notificationsQueued": queued}))
}

/// Takes a planned order out of its run before dispatch (a planner moving it in Stream's
/// console): CONFIRMED again, without a run, and deletable. Stream sends no notification
/// for it (*inferred*: no public client handles one), so Linnworks keeps the identifiers
/// of the old plan until a new plan or a delete replaces them.
fn unplan(shared: &Arc<Shared>, r: &EventRequest) -> EventResult {
    let reference = r
        .order_no
        .as_deref()
        .ok_or_else(|| bad("unplan needs orderNo"))?;
    let mut inner = shared.lock();
    let index = inner
        .find_any_live(reference, r.client_id.as_deref())
        .map_err(|e| (StatusCode::NOT_FOUND, e))?;
    let o = &mut inner.orders[index];
    if o.status != "PLANNED" {
        return Err((
            StatusCode::CONFLICT,
            format!(
                "order `{reference}` is {}: only a PLANNED order can be taken out of its run",
                o.status
            ),
        ));
    }
    o.status = "CONFIRMED".into();
    o.planning = None;
    o.history.push("UNPLANNED".into());
    Ok(json!({"orderNo": o.order.order_no, "status": o.status}))
}

fn complete(shared: &Arc<Shared>, r: &EventRequest) -> EventResult {
    let reference = r
        .order_no
        .as_deref()
        .ok_or_else(|| bad(format!("{} needs orderNo", r.action)))?;
    let (code, wants_type, partial) = match r.action.as_str() {
        "deliver" => ("DELIVERED", "DELIVERY", false),
        "part-deliver" => ("PARTDELVRD", "DELIVERY", true),
        "collect" => ("COLLECTED", "COLLECTION", false),
        _ => ("PARTCOLLECTED", "COLLECTION", true),
    };
    let mut inner = shared.lock();
    let index = inner
        .find_any_live(reference, r.client_id.as_deref())
        .map_err(|e| (StatusCode::NOT_FOUND, e))?;
    let o = &mut inner.orders[index];
    if o.order.order_type != wants_type {
        return Err((
            StatusCode::CONFLICT,
            format!(
                "order `{reference}` is a {} order: it cannot be {}",
                o.order.order_type,
                code_desc(code).to_lowercase()
            ),
        ));
    }
    if final_status(&o.status) {
        return Err((
            StatusCode::CONFLICT,
            format!("order `{reference}` is already {}", o.status),
        ));
    }
    let now = Utc::now();
    let sequences: Vec<u64> = o.items.iter().map(|i| i.item.sequence).collect();
    let done: HashSet<u64> = if partial {
        match &r.items {
            Some(list) => {
                if let Some(s) = list.iter().find(|s| !sequences.contains(s)) {
                    return Err(bad(format!(
                        "item sequence {s} is not on order `{reference}`"
                    )));
                }
                if list.len() >= sequences.len() {
                    return Err(bad(format!(
                        "a partial {} must leave an item out; use the full action",
                        code_desc(code).to_lowercase()
                    )));
                }
                list.iter().copied().collect()
            }
            None => sequences
                .iter()
                .take(sequences.len().saturating_sub(1))
                .copied()
                .collect(),
        }
    } else {
        sequences.iter().copied().collect()
    };
    for item in &mut o.items {
        if done.contains(&item.item.sequence) {
            if wants_type == "DELIVERY" {
                item.delivered_at.get_or_insert(now);
            } else {
                item.collected_at.get_or_insert(now);
            }
        }
    }
    o.status = code.into();
    o.history.push(code.into());
    let client_id = o.client_id.clone();
    let consignment = o.consignment_no.clone();
    let default_text = if partial {
        "Part of the consignment was left; the rest is to follow"
    } else {
        "Consignment complete"
    };
    let event = event_json(
        code,
        code_desc(code),
        format!(
            "Consignment {consignment} {}",
            code_desc(code).to_lowercase()
        ),
        now.date_naive(),
        r.text.as_deref().unwrap_or(default_text),
        &o.tracking_url,
    );
    drop(inner);
    let mut members = serde_json::Map::new();
    members.insert("order".into(), json!({"id": consignment}));
    let queued = dispatch(
        shared,
        &client_id,
        &Notice {
            code: code.into(),
            event,
            members,
        },
    );
    let mut done: Vec<u64> = done.into_iter().collect();
    done.sort_unstable();
    Ok(
        json!({"orderNo": reference, "consignmentNo": consignment, "status": code,
              "items": done, "notificationsQueued": queued}),
    )
}

/// `POST /_sim/inbox`: a webhook receiver built into the simulator, for demos without one of
/// your own: subscribe with `url_path` pointing here and read what arrived with
/// `GET /_sim/inbox`. Header values are kept, except that secret-named ones are masked.
pub async fn inbox_receive(
    State(shared): State<Arc<Shared>>,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let mut kept = serde_json::Map::new();
    for (name, value) in &headers {
        let text = if crate::sim::kit::is_secret_name(name.as_str()) {
            // Show that the secret arrived without showing it.
            format!("{} (masked)", crate::sim::kit::MASK)
        } else {
            String::from_utf8_lossy(value.as_bytes()).into_owned()
        };
        kept.insert(name.as_str().to_string(), Value::String(text));
    }
    let json: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let mut inner = shared.lock();
    inner
        .inbox
        .push(json!({"at": Utc::now(), "headers": kept, "body": json}));
    let excess = inner.inbox.len().saturating_sub(1000);
    inner.inbox.drain(..excess);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /_sim/inbox`: what `POST /_sim/inbox` received, oldest first.
pub async fn inbox_list(State(shared): State<Arc<Shared>>) -> Response {
    Json(json!({ "received": shared.lock().inbox })).into_response()
}

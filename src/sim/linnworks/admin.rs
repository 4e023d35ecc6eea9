//! The simulator's own admin API under `/_sim/` (the kit adds requests, faults and rate
//! limits): seed orders and postal services, look at orders, expire sessions.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{LinnworksSim, NewOrder, NewPostalService};
use crate::sim::kit::admin_error;

pub fn routes() -> Router<LinnworksSim> {
    Router::new()
        .route("/_sim/orders", get(list_orders).post(add_orders))
        .route("/_sim/orders/{id}", get(get_order).patch(edit_order))
        .route("/_sim/sessions/expire", post(expire_sessions))
        .route("/_sim/postal-services", post(add_postal_services))
}

/// A list, `{"<key>": [...]}`, or one object.
fn one_or_many<T: DeserializeOwned>(body: &[u8], key: &str) -> Result<Vec<T>, String> {
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let list = match value {
        Value::Array(items) => items,
        Value::Object(mut map) if map.len() == 1 && map.contains_key(key) => {
            match map.remove(key) {
                Some(Value::Array(items)) => items,
                _ => return Err(format!("{key} must be an array")),
            }
        }
        other @ Value::Object(_) => vec![other],
        _ => return Err("expected an object or an array".into()),
    };
    list.into_iter()
        .enumerate()
        .map(|(i, v)| serde_json::from_value(v).map_err(|e| format!("{key}[{i}]: {e}")))
        .collect()
}

async fn add_orders(State(sim): State<LinnworksSim>, body: Bytes) -> Response {
    // An unpaired surrogate escape (`"\ud800"`) is kept, to be served back as Linnworks would.
    let body = match std::str::from_utf8(&body) {
        Ok(text) => crate::remote::text::mark_lone_surrogates(text)
            .into_owned()
            .into_bytes(),
        Err(_) => body.to_vec(),
    };
    let posted: Vec<Value> = match one_or_many(&body, "orders") {
        Ok(o) => o,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
    };
    // Either shape per order: the compact one, or OrderDetails as Linnworks' API returns
    // it (a captured order replayed).
    let orders: Result<Vec<NewOrder>, String> = {
        let store = sim.store();
        let known_service = |id: uuid::Uuid| store.postal_service(id).is_some();
        let known_tag = |tag: &str| store.identifier_by_tag(tag).is_some();
        posted
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                if super::replay::is_order_details(&v) {
                    super::replay::from_order_details(&v, &known_service, &known_tag)
                        .map_err(|e| format!("orders[{i}] (OrderDetails): {e}"))
                } else {
                    serde_json::from_value(v).map_err(|e| format!("orders[{i}]: {e}"))
                }
            })
            .collect()
    };
    let orders = match orders {
        Ok(o) => o,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
    };
    match sim.add_orders(orders) {
        Ok(ids) => {
            let orders: Vec<Value> = ids
                .iter()
                .filter_map(|id| sim.order(&id.to_string()))
                .collect();
            (StatusCode::CREATED, Json(orders)).into_response()
        }
        Err(e) => admin_error(StatusCode::BAD_REQUEST, e.message),
    }
}

async fn list_orders(State(sim): State<LinnworksSim>) -> Json<Vec<Value>> {
    let store = sim.store();
    Json(
        store
            .orders
            .values()
            .map(|o| o.details_json(&store.identifiers))
            .collect(),
    )
}

async fn get_order(State(sim): State<LinnworksSim>, Path(id): Path<String>) -> Response {
    match sim.order(&id) {
        Some(order) => Json(order).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("no order {id}")),
    }
}

/// `PATCH /_sim/orders/{id}`: what a user corrects in Linnworks: `customer` (any address
/// fields, merged) and `postalServiceName` (which also sets the service id and vendor).
async fn edit_order(
    State(sim): State<LinnworksSim>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let patch: Value = match serde_json::from_slice(&body) {
        Ok(Value::Object(map)) => Value::Object(map),
        Ok(_) => return admin_error(StatusCode::BAD_REQUEST, "expected a JSON object"),
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("invalid JSON: {e}")),
    };
    if let Some(unknown) = patch.as_object().and_then(|m| {
        m.keys()
            .find(|k| !["customer", "postalServiceName"].contains(&k.as_str()))
    }) {
        return admin_error(
            StatusCode::BAD_REQUEST,
            format!("{unknown}: not editable; use customer or postalServiceName"),
        );
    }
    {
        let mut store = sim.store();
        let service = match patch.get("postalServiceName") {
            Some(Value::String(name)) => {
                match store.postal_services.iter().find(|s| &s.name == name) {
                    Some(s) => Some((s.id, s.name.clone(), s.vendor.clone())),
                    None => {
                        return admin_error(
                            StatusCode::BAD_REQUEST,
                            format!("postalServiceName: no postal service {name:?}"),
                        );
                    }
                }
            }
            Some(_) => {
                return admin_error(
                    StatusCode::BAD_REQUEST,
                    "postalServiceName: must be a string",
                );
            }
            None => None,
        };
        let key = match store.find_order(&id) {
            Some(order) => order.order_id,
            None => return admin_error(StatusCode::NOT_FOUND, format!("no order {id}")),
        };
        let Some(order) = store.orders.get_mut(&key) else {
            return admin_error(StatusCode::NOT_FOUND, format!("no order {id}"));
        };
        if let Some(customer) = patch.get("customer") {
            let mut merged = serde_json::to_value(&order.address).unwrap_or(Value::Null);
            match (merged.as_object_mut(), customer.as_object()) {
                (Some(target), Some(fields)) => {
                    for (k, v) in fields {
                        target.insert(k.clone(), v.clone());
                    }
                }
                _ => return admin_error(StatusCode::BAD_REQUEST, "customer: must be an object"),
            }
            match serde_json::from_value(merged) {
                Ok(address) => order.address = address,
                Err(e) => return admin_error(StatusCode::BAD_REQUEST, format!("customer: {e}")),
            }
        }
        if let Some((service_id, name, vendor)) = service {
            order.postal_service_id = Some(service_id);
            order.postal_service_name = name;
            order.vendor = vendor;
        }
    }
    match sim.order(&id) {
        Some(order) => Json(order).into_response(),
        None => admin_error(StatusCode::NOT_FOUND, format!("no order {id}")),
    }
}

async fn expire_sessions(State(sim): State<LinnworksSim>) -> Json<Value> {
    Json(json!({ "expired": sim.expire_sessions() }))
}

async fn add_postal_services(State(sim): State<LinnworksSim>, body: Bytes) -> Response {
    let services: Vec<NewPostalService> = match one_or_many(&body, "postalServices") {
        Ok(s) => s,
        Err(e) => return admin_error(StatusCode::BAD_REQUEST, e),
    };
    match sim.add_postal_services(services) {
        Ok(ids) => {
            let store = sim.store();
            let created: Vec<Value> = ids
                .iter()
                .filter_map(|id| store.postal_service(*id))
                .map(super::model::postal_service_json)
                .collect();
            (StatusCode::CREATED, Json(created)).into_response()
        }
        Err(e) => admin_error(StatusCode::BAD_REQUEST, e.message),
    }
}

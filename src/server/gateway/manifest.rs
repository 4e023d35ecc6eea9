//! CreateManifest records the consignments of the listed orders under a new reference;
//! PrintManifest prints them as a PDF (see [`crate::labels::manifest`]).

use std::collections::HashSet;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use uuid::Uuid;

use crate::config::InstallationConfig;
use crate::domain::OrderStatus;
use crate::labels::manifest::{Manifest, ManifestEntry, render_manifest_pdf};
use crate::store::{ManifestConsignment, Order, StoredManifest};

use super::contract::{
    CreateManifestRequest, CreateManifestResponse, PrintManifestRequest, PrintManifestResponse,
};
use super::state::{Gateway, Prefer, find_order, store_error};

pub async fn create_manifest(
    State(gw): State<Gateway>,
    body: Bytes,
) -> Json<CreateManifestResponse> {
    let (request, inst) = match gw.authorise::<CreateManifestRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(CreateManifestResponse::error(e)),
    };
    match create(&gw, &inst, &request).await {
        Ok(manifest) => {
            tracing::info!(
                installation = %inst.key,
                reference = %manifest.reference,
                consignments = manifest.entries.len(),
                "manifest created"
            );
            Json(CreateManifestResponse {
                manifest_reference: manifest.reference,
                ..CreateManifestResponse::default()
            })
        }
        Err(message) => Json(CreateManifestResponse::error(message)),
    }
}

/// Every listed order must be one this integration sent to Stream (Completed, with a
/// consignment), or nothing is recorded.
async fn create(
    gw: &Gateway,
    inst: &InstallationConfig,
    request: &CreateManifestRequest,
) -> Result<StoredManifest, String> {
    let mut orders: Vec<Order> = Vec::new();
    let mut seen = HashSet::new();
    // Repeats are dropped before any lookup: a request naming one order thousands of times
    // costs one lookup, not thousands.
    for (i, name) in request.distinct_order_ids() {
        let order = find_order(gw, inst, name, Prefer::Number)
            .await
            .map_err(|e| store_error(&e))?
            .ok_or_else(|| {
                format!("OrderId[{i}] {name:?} is not an order this integration sent to Stream")
            })?;
        if order.status != OrderStatus::Completed {
            return Err(format!(
                "OrderId[{i}] {name:?} is {}: only orders sent to Stream (Completed) can be \
                 manifested",
                order.status
            ));
        }
        if order
            .consignment_no
            .as_deref()
            .is_none_or(|c| c.trim().is_empty())
        {
            return Err(format!(
                "OrderId[{i}] {name:?} has no Stream consignment number"
            ));
        }
        if seen.insert(order.id) {
            orders.push(order);
        }
    }
    let postcodes = postcodes(gw, inst, &orders).await;
    let consignments: Vec<ManifestConsignment> = orders
        .iter()
        .zip(postcodes)
        .map(|(o, postcode)| ManifestConsignment {
            order_id: o.order_id.clone(),
            num_order_id: o.num_order_id,
            order_reference: o
                .reference
                .clone()
                .filter(|r| !r.trim().is_empty())
                .or_else(|| o.num_order_id.map(|n| n.to_string()))
                .unwrap_or_else(|| o.order_id.clone()),
            consignment_no: o.consignment_no.clone().unwrap_or_default(),
            tracking_number: o.tracking_number.clone().unwrap_or_default(),
            postcode,
            service: o.postal_service_name.clone().unwrap_or_default(),
        })
        .collect();
    gw.engine
        .store()
        .create_manifest(&inst.key.id(), &consignments)
        .await
        .map_err(|e| store_error(&e))
}

/// Each order's delivery postcode: from the order as fetched, else read from Linnworks in one
/// call. A manifest without a postcode still lists the consignment, so a failure here is
/// logged, not answered.
async fn postcodes(gw: &Gateway, inst: &InstallationConfig, orders: &[Order]) -> Vec<String> {
    let mut codes: Vec<String> = orders
        .iter()
        .map(|o| {
            o.snapshot
                .as_ref()
                .and_then(|s| s["CustomerInfo"]["Address"]["PostCode"].as_str())
                .unwrap_or_default()
                .trim()
                .to_string()
        })
        .collect();
    let missing: Vec<Uuid> = orders
        .iter()
        .zip(&codes)
        .filter(|(_, c)| c.is_empty())
        .filter_map(|(o, _)| Uuid::parse_str(&o.order_id).ok())
        .collect();
    if missing.is_empty() {
        return codes;
    }
    let details = match gw.engine.clients(inst) {
        Ok(clients) => clients.linnworks.get_orders_by_id(&missing).await,
        Err(e) => Err(e),
    };
    match details {
        Ok(details) => {
            for detail in details {
                let id = detail.order_id.to_string();
                if let Some(i) = orders.iter().position(|o| o.order_id == id) {
                    codes[i] = detail
                        .customer_info
                        .address
                        .post_code
                        .clone()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                }
            }
        }
        Err(e) => {
            tracing::warn!(installation = %inst.key, "manifest postcodes not read from Linnworks: {e}")
        }
    }
    codes
}

pub async fn print_manifest(State(gw): State<Gateway>, body: Bytes) -> Json<PrintManifestResponse> {
    let (request, inst) = match gw.authorise::<PrintManifestRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(PrintManifestResponse::error(e)),
    };
    let reference = request.manifest_reference.trim().to_string();
    let stored = match gw.engine.store().manifest(&inst.key.id(), &reference).await {
        Ok(Some(m)) => m,
        Ok(None) => {
            return Json(PrintManifestResponse::error(format!(
                "ManifestReference {reference:?} is not a manifest of this account"
            )));
        }
        Err(e) => {
            return Json(PrintManifestResponse::error(store_error(&e)));
        }
    };
    let manifest = Manifest {
        reference: stored.reference.clone(),
        shipper: inst.spec.sender.company_name.clone(),
        created: stored.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        entries: stored
            .entries
            .iter()
            .map(|c| ManifestEntry {
                order_reference: c.order_reference.clone(),
                tracking_number: c.tracking_number.clone(),
                consignment_number: c.consignment_no.clone(),
                recipient_postcode: c.postcode.clone(),
                service: c.service.clone(),
            })
            .collect(),
    };
    let pdf = tokio::task::spawn_blocking(move || render_manifest_pdf(&manifest)).await;
    match pdf {
        Ok(Ok(pdf)) => Json(PrintManifestResponse {
            pdf_base64: BASE64.encode(pdf),
            ..PrintManifestResponse::default()
        }),
        Ok(Err(e)) => Json(PrintManifestResponse::error(format!(
            "the manifest could not be drawn: {e}"
        ))),
        Err(e) => Json(PrintManifestResponse::error(format!(
            "manifest rendering stopped: {e}"
        ))),
    }
}

//! GenerateLabel: the call warehouse staff wait on when they print.
//!
//! The guide's "Label Generation": find the order in the queue; when it is Completed, render
//! at once; when it is not synced yet, fetch it from Linnworks and send it to Stream first
//! (whatever Order Sync Enabled says); when another worker is sending it, wait (polling every
//! [`POLL_EVERY`], at most [`WAIT_AT_MOST`]); when the sync fails, answer the reason. One
//! label per requested package, with the mapping's label type and copies.

use std::time::{Duration, Instant};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use uuid::Uuid;

use crate::config::{InstallationConfig, MappingConfig};
use crate::labels::{LabelAddress, LabelInput, render_label};
use crate::linnworks::{
    FieldCode, FieldsFilter, GetOpenOrdersRequest, TextFieldFilter, TextFilterType,
    UpdateOrderShippingInfoRequest,
};
use crate::store::{AuditAction, AuditOutcome, Order, OrderStatus};
use crate::sync::RunContext;
use crate::sync::manual::send_selected;
use crate::sync::write_back::write_back;

use super::contract::{GenerateLabelRequest, GenerateLabelResponse, LabelPackage};
use super::services::{label_type_name, mapping_by_service_id, service_name};
use super::state::{ACTOR, Gateway, job_error, store_error};

/// How often an order another worker is sending is looked at again (the guide: every 3 s).
pub const POLL_EVERY: Duration = Duration::from_secs(3);
/// How long a label call waits for another worker's send (the guide: about 6 s).
pub const WAIT_AT_MOST: Duration = Duration::from_secs(6);

/// Why no label was made: the reply's `ErrorMessage`, and the order if it was identified.
struct Refusal {
    message: String,
    order_id: Option<String>,
}

impl Refusal {
    fn new(message: impl Into<String>, order: Option<&Order>) -> Self {
        Self {
            message: message.into(),
            order_id: order.map(|o| o.order_id.clone()),
        }
    }
}

/// What happened on the way to a Completed order, for the audit message.
#[derive(Default)]
struct Path {
    synced: bool,
    waited: Duration,
}

pub async fn generate_label(State(gw): State<Gateway>, body: Bytes) -> Json<GenerateLabelResponse> {
    let started = Instant::now();
    let (request, inst) = match gw.authorise::<GenerateLabelRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(GenerateLabelResponse::error(e)),
    };
    let run = RunContext::start(&gw.engine, &inst.key, ACTOR);
    let (reply, outcome, message, order_id) = match label(&gw, &inst, &request, &run).await {
        Ok((reply, order, message)) => (reply, AuditOutcome::Success, message, Some(order)),
        Err(refusal) => (
            GenerateLabelResponse::error(refusal.message.clone()),
            AuditOutcome::Failure,
            refusal.message,
            refusal.order_id,
        ),
    };
    let order_ref = order_id.unwrap_or_else(|| format!("#{}", request.order_id));
    run.audit(
        AuditAction::Label,
        Some(&order_ref),
        outcome,
        message,
        started,
    )
    .await;
    Json(reply)
}

fn describe(request: &GenerateLabelRequest) -> String {
    format!("order {} ({})", request.order_id, request.order_reference)
}

/// The label reply, the order's id and the audit message; or why not.
async fn label(
    gw: &Gateway,
    inst: &InstallationConfig,
    request: &GenerateLabelRequest,
    run: &RunContext,
) -> Result<(GenerateLabelResponse, String, String), Refusal> {
    // A suspended installation sends nothing, and a label may need a send first: refused
    // before the order is looked at, as Linnworks' UserConfig already shows it inactive.
    if let Err(e) = gw.engine.active_installation(&inst.key) {
        return Err(Refusal::new(e.to_string(), None));
    }
    let (order, path) = completed_order(gw, inst, request, run).await?;
    let mapping = order_mapping(inst, &order, request)?;
    let tracking = order
        .tracking_number
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            Refusal::new(
                format!(
                    "Stream returned no tracking number for {}; resend it or check it in Stream",
                    describe(request)
                ),
                Some(&order),
            )
        })?;
    if order
        .consignment_no
        .as_deref()
        .is_none_or(|c| c.trim().is_empty())
    {
        return Err(Refusal::new(
            format!(
                "Stream returned no consignment number for {}; resend it or check it in Stream",
                describe(request)
            ),
            Some(&order),
        ));
    }
    let inputs = label_inputs(inst, mapping, &order, request, &tracking);
    let copies = mapping.spec.label_copies;
    let label_type = mapping.spec.label_type;
    let packages = tokio::task::spawn_blocking(move || {
        let started = std::time::Instant::now();
        let rendered = inputs
            .iter()
            .map(|(sequence, input)| {
                render_label(input).map(|label| {
                    LabelPackage::from_rendered(*sequence, &input.tracking_number, &label)
                })
            })
            .collect::<Result<Vec<_>, _>>();
        crate::observe::metrics::label_rendered(&format!("{label_type:?}"), started.elapsed());
        rendered
    })
    .await
    .map_err(|e| Refusal::new(format!("label rendering stopped: {e}"), Some(&order)))?
    .map_err(|e| {
        Refusal::new(
            format!("The label for {} cannot be drawn: {e}", describe(request)),
            Some(&order),
        )
    })?;
    if !path.synced {
        // The send wrote the tracking details moments ago; otherwise make sure Linnworks has
        // them, off the path warehouse staff wait on. A pending write-back its sender has
        // given up on (older than a claim lease) is done in full here, as a send cycle would;
        // a fresh one is left to its sender, and only the tracking number is checked.
        let gw = gw.clone();
        let inst = inst.clone();
        let run = run.clone();
        let lease = crate::store::chrono_duration(gw.engine.lease());
        let abandoned =
            order.write_back_pending() && order.updated_at < crate::store::now() - lease;
        let order = order.clone();
        let tracking = tracking.clone();
        tokio::spawn(async move {
            if abandoned {
                write_back(&run, &inst, vec![order]).await;
            } else {
                ensure_tracking_written(&gw, &inst, &order.order_id, &tracking).await;
            }
        });
    }
    let mut message = format!(
        "label for {}: {} package(s), {}, {} cop{} each, tracking {tracking}",
        describe(request),
        packages.len(),
        label_type_name(label_type),
        copies,
        if copies == 1 { "y" } else { "ies" },
    );
    if path.synced {
        message.push_str("; sent to Stream first");
    }
    if !path.waited.is_zero() {
        message.push_str(&format!(
            "; waited {} s for another worker's send",
            path.waited.as_secs()
        ));
    }
    let reply = GenerateLabelResponse {
        lead_tracking_number: tracking,
        // Stream does not quote a price to the integration.
        cost: 0.0,
        currency: request.order_currency.trim().to_string(),
        package: packages,
        ..GenerateLabelResponse::default()
    };
    Ok((reply, order.order_id, message))
}

/// The queued order Linnworks means: by its number, else by its reference (when that order
/// has no other number).
async fn find_queued(
    gw: &Gateway,
    inst: &InstallationConfig,
    request: &GenerateLabelRequest,
) -> Result<Option<Order>, Refusal> {
    let store = gw.engine.store();
    let installation = inst.key.id();
    let stored = |e: crate::store::StoreError| Refusal::new(store_error(&e), None);
    if let Some(order) = store
        .order_by_num_order_id(&installation, request.order_id)
        .await
        .map_err(stored)?
    {
        return Ok(Some(order));
    }
    let by_reference = store
        .order_by_reference(&installation, request.order_reference.trim())
        .await
        .map_err(stored)?;
    Ok(by_reference.filter(|o| o.num_order_id.is_none_or(|n| n == request.order_id)))
}

/// The order once it is Completed, syncing it or waiting for another worker as needed.
async fn completed_order(
    gw: &Gateway,
    inst: &InstallationConfig,
    request: &GenerateLabelRequest,
    run: &RunContext,
) -> Result<(Order, Path), Refusal> {
    let store = gw.engine.store();
    let installation = inst.key.id();
    let mut path = Path::default();
    let mut watched_other = false;
    let mut released = false;
    let mut order = find_queued(gw, inst, request).await?;
    loop {
        let status = order.as_ref().map(|o| o.status);
        match (status, order) {
            (Some(OrderStatus::Completed), Some(o)) => return Ok((o, path)),
            (Some(OrderStatus::Deleted), o) => {
                return Err(Refusal::new(
                    format!(
                        "{} was deleted from Stream, so it has no label; it cannot be sent again",
                        describe(request)
                    ),
                    o.as_ref(),
                ));
            }
            (Some(OrderStatus::InProgress), Some(o)) if !lease_lapsed(&o) => {
                if path.waited + POLL_EVERY > WAIT_AT_MOST {
                    return Err(Refusal::new(
                        format!(
                            "{} is still being sent to Stream by another worker after {} s; \
                             print the label again in a moment",
                            describe(request),
                            path.waited.as_secs()
                        ),
                        Some(&o),
                    ));
                }
                tokio::time::sleep(POLL_EVERY).await;
                path.waited += POLL_EVERY;
                watched_other = true;
                order = store
                    .order(&installation, &o.order_id)
                    .await
                    .map_err(|e| Refusal::new(store_error(&e), Some(&o)))?;
            }
            (Some(OrderStatus::InProgress), Some(o)) if !released => {
                // The worker holding it stopped (crashed or hung past its lease): return
                // the order to the queue, then send it here.
                store
                    .release_expired()
                    .await
                    .map_err(|e| Refusal::new(store_error(&e), Some(&o)))?;
                released = true;
                order = store
                    .order(&installation, &o.order_id)
                    .await
                    .map_err(|e| Refusal::new(store_error(&e), Some(&o)))?;
            }
            (Some(OrderStatus::Failed | OrderStatus::ValidationFailed), Some(o))
                if path.synced || watched_other =>
            {
                return Err(sync_failed(request, &o, o.last_error.as_deref()));
            }
            // Stream could not be reached: the order is back in the queue with the reason.
            (Some(OrderStatus::Pending | OrderStatus::ReadyForRetry), Some(o))
                if path.synced && o.last_error.is_some() =>
            {
                return Err(sync_failed(request, &o, o.last_error.as_deref()));
            }
            (_, o) if path.synced => {
                let status = o.as_ref().map_or("not queued", |o| o.status.label());
                return Err(Refusal::new(
                    format!(
                        "{} was not sent to Stream (it is {status}), so no label was made",
                        describe(request)
                    ),
                    o.as_ref(),
                ));
            }
            (_, o) => {
                let order_id = match &o {
                    Some(o) => o.order_id.clone(),
                    None => find_in_linnworks(gw, inst, request).await?.to_string(),
                };
                let outcomes = send_selected(run, std::slice::from_ref(&order_id))
                    .await
                    .map_err(|e| {
                        Refusal::new(
                            format!(
                                "{} could not be sent to Stream, so no label was made: {}",
                                describe(request),
                                job_error(&e)
                            ),
                            o.as_ref(),
                        )
                    })?;
                path.synced = true;
                order = store
                    .order(&installation, &order_id)
                    .await
                    .map_err(|e| Refusal::new(store_error(&e), o.as_ref()))?;
                if let Some(current) = &order
                    && matches!(
                        current.status,
                        OrderStatus::Failed | OrderStatus::ValidationFailed
                    )
                {
                    let reason = outcomes
                        .iter()
                        .find(|x| x.order_id == order_id)
                        .map(|x| x.message.as_str())
                        .or(current.last_error.as_deref());
                    return Err(sync_failed(request, current, reason));
                }
            }
        }
    }
}

fn sync_failed(request: &GenerateLabelRequest, order: &Order, reason: Option<&str>) -> Refusal {
    Refusal::new(
        format!(
            "{} could not be sent to Stream, so no label was made: {}",
            describe(request),
            reason.unwrap_or("no reason was recorded")
        ),
        Some(order),
    )
}

/// An In Progress order whose claim lapsed is free to be sent again (the claim returns it).
fn lease_lapsed(order: &Order) -> bool {
    order
        .lease_expires_at
        .is_some_and(|at| at < chrono::Utc::now())
}

/// The Linnworks id of the open order Linnworks asks about, by number, else by reference.
async fn find_in_linnworks(
    gw: &Gateway,
    inst: &InstallationConfig,
    request: &GenerateLabelRequest,
) -> Result<Uuid, Refusal> {
    let clients = gw
        .engine
        .clients(inst)
        .map_err(|e| Refusal::new(format!("Linnworks is not reachable: {e}"), None))?;
    let reference = request.order_reference.trim();
    let searches = [
        (FieldCode::GeneralInfoOrderId, request.order_id.to_string()),
        (FieldCode::GeneralInfoReferenceNumber, reference.to_string()),
    ];
    for (field_code, text) in searches {
        if text.is_empty() {
            continue;
        }
        let page = clients
            .linnworks
            .get_open_orders(&GetOpenOrdersRequest {
                entries_per_page: 10,
                page_number: 1,
                filters: Some(FieldsFilter {
                    text_fields: vec![TextFieldFilter {
                        filter_type: TextFilterType::Equal,
                        text,
                        field_code,
                    }],
                    ..FieldsFilter::default()
                }),
                sorting: Vec::new(),
                fulfilment_center: None,
                additional_filter: None,
            })
            .await
            .map_err(|e| {
                Refusal::new(
                    format!(
                        "{} is not synced yet and could not be read from Linnworks: {e}",
                        describe(request)
                    ),
                    None,
                )
            })?;
        // The filter is a hint: match exactly here, as servers differ in how they compare.
        let found = page.data.iter().find(|o| {
            o.num_order_id == request.order_id
                || (field_code == FieldCode::GeneralInfoReferenceNumber
                    && o.general_info.reference_num.as_deref().map(str::trim) == Some(reference))
        });
        if let Some(order) = found {
            return Ok(order.order_id);
        }
    }
    Err(Refusal::new(
        format!(
            "{} is not an open order in Linnworks, so it cannot be sent to Stream",
            describe(request)
        ),
        None,
    ))
}

/// The order's PostalServiceMapping; if the order's service is no longer mapped, the one
/// Linnworks names by `ServiceId`.
fn order_mapping<'a>(
    inst: &'a InstallationConfig,
    order: &Order,
    request: &GenerateLabelRequest,
) -> Result<&'a MappingConfig, Refusal> {
    inst.mapping_for(
        order.postal_service_id.as_deref(),
        order.postal_service_name.as_deref(),
    )
    .or_else(|| mapping_by_service_id(inst, request.service_id))
    .ok_or_else(|| {
        Refusal::new(
            format!(
                "No PostalServiceMapping of installation {} covers the service of {} ({}); \
                 ask your platform team to map it",
                inst.key,
                describe(request),
                order.postal_service_name.as_deref().unwrap_or("no service")
            ),
            Some(order),
        )
    })
}

/// One label input per requested package, with the request's sequence number. Packages are
/// numbered "n of m" in sequence-number order; the reply keeps the request's order.
fn label_inputs(
    inst: &InstallationConfig,
    mapping: &MappingConfig,
    order: &Order,
    request: &GenerateLabelRequest,
    tracking: &str,
) -> Vec<(i64, LabelInput)> {
    let sender = &inst.spec.sender;
    let sender = LabelAddress {
        name: sender.contact_name.clone(),
        company: sender.company_name.clone(),
        address_lines: [
            Some(&sender.address_line1),
            sender.address_line2.as_ref(),
            sender.address_line3.as_ref(),
        ]
        .into_iter()
        .flatten()
        .filter(|l| !l.trim().is_empty())
        .cloned()
        .collect(),
        town: sender.city.clone(),
        region: sender.county.clone().unwrap_or_default(),
        postcode: sender.post_code.clone(),
        country_code: sender.country_code.clone(),
        phone: sender.contact_phone_no.clone(),
    };
    let recipient = LabelAddress {
        name: request.name.clone(),
        company: request.company_name.clone(),
        address_lines: request.address_lines(),
        town: request.town.clone(),
        region: request.region.clone(),
        postcode: request.postalcode.clone(),
        country_code: request.country_code.trim().to_ascii_uppercase(),
        phone: request.phone.clone(),
    };
    let mut sequence: Vec<i64> = request.packages.iter().map(|p| p.sequence_number).collect();
    sequence.sort_unstable();
    let count = u32::try_from(request.packages.len()).unwrap_or(u32::MAX);
    let order_reference = if request.order_reference.trim().is_empty() {
        request.order_id.to_string()
    } else {
        request.order_reference.trim().to_string()
    };
    let s = &mapping.spec;
    request
        .packages
        .iter()
        .map(|package| {
            let number = sequence
                .iter()
                .position(|&n| n == package.sequence_number)
                .map_or(1, |i| i + 1);
            let input = LabelInput {
                label_type: s.label_type,
                copies: u32::from(s.label_copies),
                sender: sender.clone(),
                recipient: recipient.clone(),
                order_reference: order_reference.clone(),
                label_reference: label_reference(
                    inst.spec.labels.reference.as_deref(),
                    request,
                    order,
                ),
                service_name: order
                    .postal_service_name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| service_name(mapping)),
                service_code: s
                    .service
                    .clone()
                    .unwrap_or_else(|| s.delivery_method.clone()),
                package_number: u32::try_from(number).unwrap_or(u32::MAX),
                package_count: count,
                consignment_number: order.consignment_no.clone().unwrap_or_default(),
                tracking_number: tracking.to_string(),
                tracking_url: order.tracking_url.clone().unwrap_or_default(),
                weight_kg: (package.package_weight > 0.0).then(|| package.package_weight / 1000.0),
            };
            (package.sequence_number, input)
        })
        .collect()
}

/// The first package's label the gateway would print for a Completed `order`, drawn from
/// the order as last fetched from Linnworks (recipient, reference, weight as one package)
/// and its Stream consignment: what the support console previews. The reason when it
/// cannot be drawn (not sent yet, no mapping, no fetched address).
pub fn preview_png(inst: &InstallationConfig, order: &Order) -> Result<Vec<u8>, String> {
    if order.status != OrderStatus::Completed {
        return Err(format!(
            "order {} is {}; only Completed orders have a label",
            order.order_id,
            order.status.label()
        ));
    }
    let tracking = order
        .tracking_number
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| format!("order {} has no tracking number", order.order_id))?;
    let snapshot = order
        .snapshot
        .clone()
        .ok_or_else(|| format!("order {} was never fetched from Linnworks", order.order_id))?;
    let details: crate::linnworks::OrderDetails =
        serde_json::from_value(snapshot).map_err(|e| {
            format!(
                "order {} as last fetched cannot be read: {e}",
                order.order_id
            )
        })?;
    let address = &details.customer_info.address;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let request = GenerateLabelRequest {
        name: text(&address.full_name),
        company_name: text(&address.company),
        address_line1: text(&address.address1),
        address_line2: text(&address.address2),
        address_line3: text(&address.address3),
        town: text(&address.town),
        region: text(&address.region),
        country_code: address
            .country
            .as_deref()
            .and_then(crate::sync::transform::country_code)
            .unwrap_or_default()
            .to_string(),
        postalcode: text(&address.post_code),
        phone: text(&address.phone_number),
        order_id: order.num_order_id.unwrap_or(details.num_order_id),
        order_reference: order
            .reference
            .clone()
            .or_else(|| details.general_info.reference_num.clone())
            .unwrap_or_default(),
        packages: vec![super::contract::Package {
            sequence_number: 1,
            // Linnworks weighs orders in kilograms; GenerateLabel sends grams.
            package_weight: details.shipping_info.total_weight.max(0.0) * 1000.0,
            ..Default::default()
        }],
        ..GenerateLabelRequest::default()
    };
    let mapping = inst
        .mapping_for(
            order.postal_service_id.as_deref(),
            order.postal_service_name.as_deref(),
        )
        .ok_or_else(|| {
            format!(
                "no PostalServiceMapping of installation {} covers {}",
                inst.key,
                order
                    .postal_service_name
                    .as_deref()
                    .unwrap_or("the order's service")
            )
        })?;
    let (_, input) = label_inputs(inst, mapping, order, &request, &tracking)
        .into_iter()
        .next()
        .ok_or_else(|| "no package to label".to_string())?;
    crate::labels::render_png(&input).map_err(|e| format!("the label cannot be drawn: {e}"))
}

/// The installation's Label Reference as printed. The guide calls it the "field used as the
/// reference printed on generated labels": when it names an order field, that field's value
/// is printed; any other text is printed as it is (*inferred*: the guide lists no fields).
fn label_reference(
    setting: Option<&str>,
    request: &GenerateLabelRequest,
    order: &Order,
) -> Option<String> {
    let setting = setting.map(str::trim).filter(|s| !s.is_empty())?;
    let key: String = setting
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let value = match key.as_str() {
        "orderreference" | "referencenum" | "reference" => request.order_reference.clone(),
        "numorderid" | "orderid" | "ordernumber" => request.order_id.to_string(),
        "consignmentno" | "consignmentnumber" | "consignment" => {
            order.consignment_no.clone().unwrap_or_default()
        }
        "streamorderid" | "streamordernumber" => order.stream_order_id.clone().unwrap_or_default(),
        _ => setting.to_string(),
    };
    Some(value).filter(|v| !v.trim().is_empty())
}

/// Writes the tracking number onto the Linnworks order if it is missing there. Failures are
/// logged: the label is already printed, and the next label call tries again.
async fn ensure_tracking_written(
    gw: &Gateway,
    inst: &InstallationConfig,
    order_id: &str,
    tracking: &str,
) {
    let installation = inst.key.id();
    if gw.tracking_recently_checked(&installation, order_id) {
        return;
    }
    let Ok(uuid) = Uuid::parse_str(order_id) else {
        return;
    };
    let clients = match gw.engine.clients(inst) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(installation = %inst.key, order_id, "tracking number not checked: {e}");
            return;
        }
    };
    let details = match clients.linnworks.get_orders_by_id(&[uuid]).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(installation = %inst.key, order_id, "tracking number not checked: {e}");
            return;
        }
    };
    let Some(detail) = details.into_iter().find(|d| d.order_id == uuid) else {
        return;
    };
    let current = detail
        .shipping_info
        .tracking_number
        .as_deref()
        .unwrap_or("");
    if current.trim().is_empty() {
        let info = UpdateOrderShippingInfoRequest {
            tracking_number: Some(tracking.to_string()),
            ..UpdateOrderShippingInfoRequest::from_current(&detail.shipping_info)
        };
        match clients.linnworks.set_order_shipping_info(uuid, &info).await {
            Ok(_) => {
                tracing::info!(installation = %inst.key, order_id, "tracking number written back to Linnworks")
            }
            Err(e) => {
                tracing::warn!(installation = %inst.key, order_id, "could not write the tracking number: {e}");
                return;
            }
        }
    }
    gw.tracking_checked(&installation, order_id);
}

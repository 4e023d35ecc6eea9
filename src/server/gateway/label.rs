//! GenerateLabel: the call warehouse staff wait on when they print.
//!
//! The guide's "Label Generation": the order is made Completed in Stream first
//! ([`on_demand::ensure_sent`]: sent, or waited for, as needed); when that fails, the reply
//! says why. One label per requested package, with the mapping's label type and copies.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;

use crate::config::{InstallationConfig, MappingConfig};
use crate::domain::{AuditAction, AuditOutcome, OrderStatus};
use crate::labels::{LabelAddress, LabelInput, render_label};
use crate::store::Order;
use crate::sync::RunContext;
use crate::sync::on_demand::{self, Completed, OrderQuery, Unsent, UnsentReason};
use crate::sync::write_back::write_back;

use super::contract::{GenerateLabelRequest, GenerateLabelResponse, LabelPackage};
use super::services::{mapping_by_service_id, service_name};
use super::state::{ACTOR, Gateway, job_error, store_error};

pub use crate::sync::on_demand::{POLL_EVERY, WAIT_AT_MOST};

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

/// Why the order could not be made Completed, as the reply says it.
fn refusal(request: &GenerateLabelRequest, unsent: Unsent) -> Refusal {
    let order = describe(request);
    let not_sent = "could not be sent to Stream, so no label was made";
    let message = match unsent.reason {
        UnsentReason::Deleted => {
            format!("{order} was deleted from Stream, so it has no label; it cannot be sent again")
        }
        UnsentReason::StillSending { waited } => format!(
            "{order} is still being sent to Stream by another worker after {} s; \
             print the label again in a moment",
            waited.as_secs()
        ),
        UnsentReason::Failed { reason } => format!(
            "{order} {not_sent}: {}",
            reason.as_deref().unwrap_or("no reason was recorded")
        ),
        UnsentReason::NotSent { status } => format!(
            "{order} was not sent to Stream (it is {}), so no label was made",
            status.map_or("not queued", OrderStatus::label)
        ),
        UnsentReason::Send(e) => format!("{order} {not_sent}: {}", job_error(&e)),
        UnsentReason::Store(e) => store_error(&e),
        UnsentReason::LinnworksUnreachable(e) => format!("Linnworks is not reachable: {e}"),
        UnsentReason::LinnworksUnreadable(e) => {
            format!("{order} is not synced yet and could not be read from Linnworks: {e}")
        }
        UnsentReason::NotOpen => {
            format!("{order} is not an open order in Linnworks, so it cannot be sent to Stream")
        }
    };
    Refusal {
        message,
        order_id: unsent.order_id,
    }
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
    let query = OrderQuery {
        num_order_id: request.order_id,
        reference: &request.order_reference,
    };
    let Completed {
        order,
        synced,
        waited,
    } = on_demand::ensure_sent(run, inst, query)
        .await
        .map_err(|unsent| refusal(request, unsent))?;
    let mapping = order_mapping(inst, &order, request)?;
    let tracking = stream_tracking(&order, request)?;
    let inputs = label_inputs(inst, mapping, &order, request, &tracking);
    let packages = render_packages(inputs, mapping.spec.label_type, request, &order).await?;
    if !synced {
        confirm_write_back(gw, inst, &order, &tracking, run);
    }
    let mut message = format!(
        "label for {}: {} package(s), {}, tracking {tracking}",
        describe(request),
        packages.len(),
        copies_note(mapping),
    );
    if synced {
        message.push_str("; sent to Stream first");
    }
    if !waited.is_zero() {
        message.push_str(&format!(
            "; waited {} s for another worker's send",
            waited.as_secs()
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

/// The label type and copies, for the audit message.
fn copies_note(mapping: &MappingConfig) -> String {
    let copies = mapping.spec.label_copies;
    format!(
        "{}, {} cop{} each",
        mapping.spec.label_type.name(),
        copies,
        if copies == 1 { "y" } else { "ies" },
    )
}

/// The tracking number Stream gave the order; refused when Stream gave no tracking or no
/// consignment number.
fn stream_tracking(order: &Order, request: &GenerateLabelRequest) -> Result<String, Refusal> {
    let missing = |what: &str| {
        Refusal::new(
            format!(
                "Stream returned no {what} for {}; resend it or check it in Stream",
                describe(request)
            ),
            Some(order),
        )
    };
    let tracking = order
        .tracking_number
        .clone()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| missing("tracking number"))?;
    if order
        .consignment_no
        .as_deref()
        .is_none_or(|c| c.trim().is_empty())
    {
        return Err(missing("consignment number"));
    }
    Ok(tracking)
}

/// Draws the labels off the async threads.
async fn render_packages(
    inputs: Vec<(i64, LabelInput)>,
    label_type: crate::domain::LabelType,
    request: &GenerateLabelRequest,
    order: &Order,
) -> Result<Vec<LabelPackage>, Refusal> {
    tokio::task::spawn_blocking(move || {
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
    .map_err(|e| Refusal::new(format!("label rendering stopped: {e}"), Some(order)))?
    .map_err(|e| {
        Refusal::new(
            format!("The label for {} cannot be drawn: {e}", describe(request)),
            Some(order),
        )
    })
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

/// The send wrote the tracking details moments ago; otherwise makes sure Linnworks has them,
/// off the path warehouse staff wait on. A pending write-back its sender has given up on is
/// done in full here, as a send cycle would; a fresh one is left to its sender, and only the
/// tracking number is checked (not again for a while once Linnworks has it).
fn confirm_write_back(
    gw: &Gateway,
    inst: &InstallationConfig,
    order: &Order,
    tracking: &str,
    run: &RunContext,
) {
    let gw = gw.clone();
    let inst = inst.clone();
    let run = run.clone();
    let abandoned = on_demand::write_back_abandoned(&gw.engine, order);
    let order = order.clone();
    let tracking = tracking.to_string();
    tokio::spawn(async move {
        if abandoned {
            write_back(&run, &inst, vec![order]).await;
            return;
        }
        let installation = inst.key.id();
        if !gw.tracking_recently_checked(&installation, &order.order_id)
            && on_demand::ensure_tracking_written(&gw.engine, &inst, &order.order_id, &tracking)
                .await
        {
            gw.tracking_checked(&installation, &order.order_id);
        }
    });
}

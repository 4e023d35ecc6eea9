//! The fetch job: open Linnworks orders in the lookback window that ship with a Stream
//! service are queued (Pending, or Validation Failed with the reason); orders that were
//! Validation Failed are checked again, so corrections made in Linnworks are picked up.

use std::time::Instant;

use serde::{Deserialize as _, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::config::InstallationConfig;
use crate::domain::{AuditAction, AuditOutcome, OrderType};
use crate::linnworks::{DateFieldFilter, FieldsFilter, OpenOrder};
use crate::remote::text::{clean_json, describe_issues};
use crate::store::{FetchedOrder, Upserted};

use super::engine::{Clients, Engine};
use super::job_error::JobError;
use super::run_context::RunContext;
use super::validation::ValidationError;
use super::validation::validate_order;
use crate::domain::identifiers::ERROR_FROM_STREAM;

/// The vendor name of the postal services the master-data sync creates in Linnworks
/// (production; staging accounts use `STREAMTECH`, see `StreamSettings::vendor_name`).
pub const STREAM_VENDOR: &str = crate::crd::installation::PRODUCTION_VENDOR;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FetchSummary {
    /// Open orders Linnworks returned in the window.
    pub seen: usize,
    /// Orders that ship with a Stream service.
    pub relevant: usize,
    /// New orders queued as Pending.
    pub queued: usize,
    /// New orders that failed validation.
    pub invalid: usize,
    /// Validation Failed orders now valid again (back to Pending).
    pub corrected: usize,
    /// Orders whose data cannot be stored or read as Linnworks sent it (a NUL, an unpaired
    /// surrogate, an over-long field, an unreadable order): queued Validation Failed naming
    /// the field (counted in `invalid` too when new), or left out when they have no order id.
    pub bad_data: usize,
}

impl std::fmt::Display for FetchSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} open orders, {} for Stream: {} queued, {} failed validation, {} corrected",
            self.seen, self.relevant, self.queued, self.invalid, self.corrected
        )?;
        if self.bad_data > 0 {
            write!(
                f,
                "; {} with data that cannot be stored as sent",
                self.bad_data
            )?;
        }
        Ok(())
    }
}

/// Whether an open order is the integration's business: its service is mapped, or it is a
/// Stream (STREAM TECH) service that nobody has mapped yet (queued as Validation Failed so
/// the administrator sees it). Read from the order's JSON, so an order that does not decode
/// is judged alike.
fn is_for_stream(inst: &InstallationConfig, order: &Value) -> bool {
    let shipping = &order["ShippingInfo"];
    let id = shipping["PostalServiceId"].as_str();
    let name = shipping["PostalServiceName"].as_str();
    inst.mapping_for(id, name).is_some()
        || shipping["Vendor"].as_str().is_some_and(|v| {
            v.trim().eq_ignore_ascii_case(STREAM_VENDOR)
                || v.trim()
                    .eq_ignore_ascii_case(crate::crd::installation::STAGING_VENDOR)
        })
}

/// One order of a fetched page, judged on its own.
enum Judged {
    /// Decoded; `bad` names what had to be cleaned before it could be stored.
    Read {
        order: Box<OpenOrder>,
        snapshot: Value,
        bad: Option<String>,
    },
    /// It does not decode, but carries an order id: stored Validation Failed with the reason.
    Unreadable {
        order_id: Uuid,
        snapshot: Value,
        reason: String,
    },
    /// Not even an order id: nothing to store it under.
    Anonymous { reason: String },
}

fn judge(mut raw: Value) -> Judged {
    let issues = clean_json(&mut raw);
    let bad = (!issues.is_empty()).then(|| describe_issues(&issues));
    // Decoded from a borrow: the value is kept as the snapshot.
    match OpenOrder::deserialize(&raw) {
        Ok(order) => Judged::Read {
            order: Box::new(order),
            snapshot: raw,
            bad,
        },
        Err(e) => {
            let reason = format!("Linnworks sent an order that cannot be read: {e}");
            match raw["OrderId"]
                .as_str()
                .and_then(|s| Uuid::parse_str(s).ok())
            {
                Some(order_id) => Judged::Unreadable {
                    order_id,
                    snapshot: raw,
                    reason,
                },
                None => Judged::Anonymous { reason },
            }
        }
    }
}

fn text_field(v: &Value) -> Option<String> {
    v.as_str().map(str::to_string)
}

pub async fn fetch(run: &RunContext) -> Result<FetchSummary, JobError> {
    let started = Instant::now();
    let result = fetch_inner(run).await;
    run.audit_result(AuditAction::Fetch, &result, started).await;
    result
}

async fn fetch_inner(run: &RunContext) -> Result<FetchSummary, JobError> {
    let (engine, key) = (run.engine(), run.key());
    let inst = engine.active_installation(key)?;
    let clients = engine.clients(&inst)?;
    let open = open_orders(engine, &inst, &clients).await?;
    let depots = engine.store().depots(&key.id()).await?.items;
    // Warehouse-mapping entries given by name are matched against Linnworks' locations.
    let known_locations = if super::locations::needs_location_names(&inst) {
        Some(
            clients
                .linnworks
                .get_stock_locations()
                .await
                .map_err(JobError::from_linnworks)?,
        )
    } else {
        None
    };
    let judging = Judging {
        inst: &inst,
        installation: key.id(),
        depots: &depots,
        known_locations: known_locations.as_deref(),
    };
    let mut summary = FetchSummary {
        seen: open.len(),
        ..FetchSummary::default()
    };
    let mut newly_invalid: Vec<Uuid> = Vec::new();
    for raw in open.into_iter().filter(|o| is_for_stream(&inst, o)) {
        summary.relevant += 1;
        // Each order is stored or refused on its own: what one order holds never stops the
        // rest of the page.
        let fetched = match judge(raw) {
            Judged::Anonymous { reason } => {
                summary.bad_data += 1;
                tracing::warn!(installation = %key, "left out an open order: {reason}");
                audit_invalid(run, None, format!("an open order was left out: {reason}")).await;
                continue;
            }
            Judged::Unreadable {
                order_id,
                snapshot,
                reason,
            } => {
                summary.bad_data += 1;
                judging.unreadable(order_id, snapshot, reason)
            }
            Judged::Read {
                order,
                snapshot,
                bad,
            } => {
                if bad.is_some() {
                    summary.bad_data += 1;
                }
                judging.read(&order, snapshot, bad)
            }
        };
        if let Some(invalid) = store_fetched(run, fetched, &mut summary).await? {
            newly_invalid.push(invalid);
        }
    }
    if !newly_invalid.is_empty()
        && let Err(e) = clients
            .linnworks
            .assign_order_identifier(&newly_invalid, ERROR_FROM_STREAM.0)
            .await
    {
        tracing::warn!(installation = %key, "could not tag invalid orders with {}: {e}", ERROR_FROM_STREAM.1);
    }
    Ok(summary)
}

/// The open orders Linnworks has, received within the installation's lookback window.
async fn open_orders(
    engine: &Engine,
    inst: &InstallationConfig,
    clients: &Clients,
) -> Result<Vec<Value>, JobError> {
    let days = i32::try_from(inst.spec.sync.order_lookback_days).unwrap_or(i32::MAX);
    clients
        .linnworks
        .get_all_open_order_values(
            Some(FieldsFilter {
                date_fields: vec![DateFieldFilter::received_in_last_days(days)],
                ..FieldsFilter::default()
            }),
            None,
            engine.settings().order_sync_page_size,
        )
        .await
        .map_err(JobError::from_linnworks)
}

/// One relevant order as the queue stores it, and the verdict of its validation.
struct Fetched {
    row: FetchedOrder,
    verdict: Result<OrderType, ValidationError>,
    linnworks_id: Uuid,
    /// Linnworks already has a tracking number on it.
    shipped: bool,
}

/// What the orders of one fetch are judged against (read once per fetch).
struct Judging<'a> {
    inst: &'a InstallationConfig,
    installation: String,
    depots: &'a [crate::store::Depot],
    known_locations: Option<&'a [crate::linnworks::StockLocation]>,
}

impl Judging<'_> {
    /// An order that does not decode: stored Validation Failed with the reason.
    fn unreadable(&self, order_id: Uuid, snapshot: Value, reason: String) -> Fetched {
        let general = &snapshot["GeneralInfo"];
        let shipping = &snapshot["ShippingInfo"];
        let row = FetchedOrder {
            installation: self.installation.clone(),
            order_id: order_id.to_string(),
            num_order_id: snapshot["NumOrderId"].as_i64(),
            reference: text_field(&general["ReferenceNum"]),
            postal_service_id: text_field(&shipping["PostalServiceId"]),
            postal_service_name: text_field(&shipping["PostalServiceName"]),
            order_type: OrderType::Delivery,
            snapshot: Some(snapshot),
        };
        Fetched {
            row,
            verdict: Err(ValidationError::InvalidOrderData(reason)),
            linnworks_id: order_id,
            shipped: false,
        }
    }

    /// A decoded order, validated (unless its data had to be cleaned: then refused naming
    /// what was wrong).
    fn read(&self, order: &OpenOrder, snapshot: Value, bad: Option<String>) -> Fetched {
        let verdict = match bad {
            Some(bad) => Err(ValidationError::InvalidOrderData(bad)),
            None => validate_order(
                self.inst,
                &order.shipping_info,
                &order.customer_info,
                Some(self.depots),
            )
            .and_then(|m| {
                // The order's warehouse mapping, judged as the send will judge it.
                super::locations::resolve(
                    self.inst,
                    m,
                    super::locations::open_order_location(&order.general_info),
                    self.known_locations,
                    self.depots,
                )
                .map(|_| m.spec.order_type)
            }),
        };
        let row = FetchedOrder {
            installation: self.installation.clone(),
            order_id: order.order_id.to_string(),
            num_order_id: Some(order.num_order_id),
            reference: order.general_info.reference_num.clone(),
            postal_service_id: order
                .shipping_info
                .postal_service_id
                .map(|id| id.to_string()),
            postal_service_name: order.shipping_info.postal_service_name.clone(),
            order_type: verdict.clone().unwrap_or_default(),
            snapshot: Some(snapshot),
        };
        let shipped = order
            .shipping_info
            .tracking_number
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty());
        Fetched {
            row,
            verdict,
            linnworks_id: order.order_id,
            shipped,
        }
    }
}

/// Queues one fetched order, or records its verdict on the queued one, counting it in
/// `summary`. Returns its Linnworks id when it newly failed validation (to be tagged).
async fn store_fetched(
    run: &RunContext,
    fetched: Fetched,
    summary: &mut FetchSummary,
) -> Result<Option<Uuid>, JobError> {
    let store = run.engine().store();
    let installation = &fetched.row.installation;
    let order_id = &fetched.row.order_id;
    if fetched.shipped && store.order(installation, order_id).await?.is_none() {
        // Tracked by someone else before the integration saw it: not ours to send.
        summary.relevant -= 1;
        return Ok(None);
    }
    let (upserted, row) = store.upsert_fetched(&fetched.row).await?;
    tracing::info!(order_id = %order_id, num_order_id = fetched.row.num_order_id, status = %row.status, upserted = ?upserted, "fetch: order seen");
    match (upserted, fetched.verdict) {
        (Upserted::Inserted, Ok(_)) => summary.queued += 1,
        (Upserted::Inserted, Err(e)) => {
            store
                .mark_validation_failed(installation, order_id, &e.to_string())
                .await?;
            audit_invalid(run, Some(order_id), e.to_string()).await;
            summary.invalid += 1;
            return Ok(Some(fetched.linnworks_id));
        }
        (Upserted::ValidationFailed, Ok(_)) => {
            store.mark_revalidated(installation, order_id).await?;
            summary.corrected += 1;
        }
        (Upserted::ValidationFailed, Err(e)) => {
            // Still wrong: keep the newest reason.
            store
                .mark_validation_failed(installation, order_id, &e.to_string())
                .await?;
        }
        (Upserted::Unchanged, _) => {}
    }
    Ok(None)
}

/// An order refused by validation (or left out, without an order id), audited.
async fn audit_invalid(run: &RunContext, order_id: Option<&str>, message: String) {
    run.audit(
        AuditAction::Validate,
        order_id,
        AuditOutcome::Failure,
        message,
        Instant::now(),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ID: &str = "7b0d1f4e-3c2a-4b5e-9f10-000000000001";

    #[test]
    fn each_order_is_judged_on_its_own() {
        let clean = judge(json!({"OrderId": ID, "NumOrderId": 7}));
        assert!(matches!(clean, Judged::Read { bad: None, .. }));

        let poisoned = judge(json!({
            "OrderId": ID,
            "CustomerInfo": {"Address": {"Address1": "1 High\u{0}St"}},
        }));
        let Judged::Read {
            bad: Some(bad),
            snapshot,
            ..
        } = poisoned
        else {
            panic!("a poisoned order still decodes, cleaned")
        };
        assert_eq!(
            bad,
            "CustomerInfo.Address.Address1 contains a NUL character"
        );
        assert_eq!(snapshot["CustomerInfo"]["Address"]["Address1"], "1 HighSt");

        let Judged::Unreadable {
            order_id, reason, ..
        } = judge(json!({"OrderId": ID, "NumOrderId": "seven"}))
        else {
            panic!("an undecodable order with an id is kept")
        };
        assert_eq!(order_id.to_string(), ID);
        assert!(
            reason.starts_with("Linnworks sent an order that cannot be read"),
            "{reason}"
        );

        assert!(matches!(
            judge(json!({"NumOrderId": 7})),
            Judged::Anonymous { .. }
        ));
    }
}

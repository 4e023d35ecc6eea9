//! The fetch job: open Linnworks orders in the lookback window that ship with a Stream
//! service are queued (Pending, or Validation Failed with the reason); orders that were
//! Validation Failed are checked again, so corrections made in Linnworks are picked up.

use std::time::Instant;

use serde::{Deserialize as _, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::config::InstallationConfig;

use crate::domain::InstallationKey;
use crate::domain::{AuditAction, AuditOutcome, OrderType};
use crate::linnworks::{DateFieldFilter, FieldsFilter, OpenOrder};
use crate::remote::text::{clean_json, describe_issues};
use crate::store::{FetchedOrder, Upserted};

use super::engine::{Audit, Engine};
use super::errors::ValidationError;
use super::job_error::JobError;
use super::validate::validate_order;
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

pub async fn fetch(
    engine: &Engine,
    key: &InstallationKey,
    correlation: &str,
    actor: &str,
) -> Result<FetchSummary, JobError> {
    let started = Instant::now();
    let result = fetch_inner(engine, key, correlation, actor).await;
    let (outcome, message) = match &result {
        Ok(summary) => (AuditOutcome::Success, summary.to_string()),
        Err(e) => (AuditOutcome::Failure, e.to_string()),
    };
    engine
        .audit(Audit {
            installation: key,
            order_id: None,
            correlation_id: correlation,
            action: AuditAction::Fetch,
            outcome,
            message,
            started,
            actor,
        })
        .await;
    result
}

async fn fetch_inner(
    engine: &Engine,
    key: &InstallationKey,
    correlation: &str,
    actor: &str,
) -> Result<FetchSummary, JobError> {
    let inst = engine.active_installation(key)?;
    let clients = engine.clients(&inst)?;
    let store = engine.store();
    let installation = key.id();
    let days = i32::try_from(inst.spec.sync.order_lookback_days).unwrap_or(i32::MAX);
    let open = clients
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
        .map_err(JobError::from_linnworks)?;
    let depots = store.depots(&installation).await?.items;
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
    let mut summary = FetchSummary {
        seen: open.len(),
        ..FetchSummary::default()
    };
    let mut newly_invalid: Vec<Uuid> = Vec::new();
    for raw in open.into_iter().filter(|o| is_for_stream(&inst, o)) {
        summary.relevant += 1;
        // Each order is stored or refused on its own: what one order holds never stops the
        // rest of the page.
        let (fetched, verdict, linnworks_id, shipped) = match judge(raw) {
            Judged::Anonymous { reason } => {
                summary.bad_data += 1;
                tracing::warn!(installation = %key, "left out an open order: {reason}");
                engine
                    .audit(Audit {
                        installation: key,
                        order_id: None,
                        correlation_id: correlation,
                        action: AuditAction::Validate,
                        outcome: AuditOutcome::Failure,
                        message: format!("an open order was left out: {reason}"),
                        started: Instant::now(),
                        actor,
                    })
                    .await;
                continue;
            }
            Judged::Unreadable {
                order_id,
                snapshot,
                reason,
            } => {
                summary.bad_data += 1;
                let general = &snapshot["GeneralInfo"];
                let shipping = &snapshot["ShippingInfo"];
                let fetched = FetchedOrder {
                    installation: installation.clone(),
                    order_id: order_id.to_string(),
                    num_order_id: snapshot["NumOrderId"].as_i64(),
                    reference: text_field(&general["ReferenceNum"]),
                    postal_service_id: text_field(&shipping["PostalServiceId"]),
                    postal_service_name: text_field(&shipping["PostalServiceName"]),
                    order_type: OrderType::Delivery,
                    snapshot: Some(snapshot),
                };
                let verdict: Result<crate::domain::OrderType, ValidationError> =
                    Err(ValidationError::InvalidOrderData(reason));
                (fetched, verdict, order_id, false)
            }
            Judged::Read {
                order,
                snapshot,
                bad,
            } => {
                let verdict = match bad {
                    Some(bad) => {
                        summary.bad_data += 1;
                        Err(ValidationError::InvalidOrderData(bad))
                    }
                    None => validate_order(
                        &inst,
                        &order.shipping_info,
                        &order.customer_info,
                        Some(&depots),
                    )
                    .and_then(|m| {
                        // The order's warehouse mapping, judged as the send will judge it.
                        super::locations::resolve(
                            &inst,
                            m,
                            super::locations::open_order_location(&order.general_info),
                            known_locations.as_deref(),
                            &depots,
                        )
                        .map(|_| m.spec.order_type)
                    }),
                };
                let fetched = FetchedOrder {
                    installation: installation.clone(),
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
                (fetched, verdict, order.order_id, shipped)
            }
        };
        if shipped
            && store
                .order(&installation, &fetched.order_id)
                .await?
                .is_none()
        {
            // Tracked by someone else before the integration saw it: not ours to send.
            summary.relevant -= 1;
            continue;
        }
        let (upserted, row) = store.upsert_fetched(&fetched).await?;
        tracing::info!(order_id = %fetched.order_id, num_order_id = fetched.num_order_id, status = %row.status, upserted = ?upserted, "fetch: order seen");
        match (upserted, verdict) {
            (Upserted::Inserted, Ok(_)) => summary.queued += 1,
            (Upserted::Inserted, Err(e)) => {
                store
                    .mark_validation_failed(&installation, &fetched.order_id, &e.to_string())
                    .await?;
                audit_invalid(engine, key, &fetched.order_id, correlation, actor, &e).await;
                newly_invalid.push(linnworks_id);
                summary.invalid += 1;
            }
            (Upserted::ValidationFailed, Ok(_)) => {
                store
                    .mark_revalidated(&installation, &fetched.order_id)
                    .await?;
                summary.corrected += 1;
            }
            (Upserted::ValidationFailed, Err(e)) => {
                // Still wrong: keep the newest reason.
                store
                    .mark_validation_failed(&installation, &fetched.order_id, &e.to_string())
                    .await?;
            }
            (Upserted::Unchanged, _) => {}
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

async fn audit_invalid(
    engine: &Engine,
    key: &InstallationKey,
    order_id: &str,
    correlation: &str,
    actor: &str,
    e: &ValidationError,
) {
    engine
        .audit(Audit {
            installation: key,
            order_id: Some(order_id),
            correlation_id: correlation,
            action: AuditAction::Validate,
            outcome: AuditOutcome::Failure,
            message: e.to_string(),
            started: Instant::now(),
            actor,
        })
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

//! The fetch job: open Linnworks orders in the lookback window that ship with a Stream
//! service are queued (Pending, or Validation Failed with the reason); orders that were
//! Validation Failed are checked again, so corrections made in Linnworks are picked up.

use std::time::Instant;

use serde::Serialize;
use uuid::Uuid;

use crate::config::{InstallationConfig, InstallationKey};
use crate::linnworks::{DateFieldFilter, FieldsFilter, OpenOrder};
use crate::store::{AuditAction, AuditOutcome, FetchedOrder, OrderType, Upserted};

use super::engine::{Audit, Engine};
use super::errors::ValidationError;
use super::identifiers::ERROR_FROM_STREAM;
use super::job_error::JobError;
use super::validate::validate_order;

/// The vendor name of the postal services the master-data sync creates in Linnworks.
pub const STREAM_VENDOR: &str = "STREAM TECH";

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
}

impl std::fmt::Display for FetchSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} open orders, {} for Stream: {} queued, {} failed validation, {} corrected",
            self.seen, self.relevant, self.queued, self.invalid, self.corrected
        )
    }
}

/// Whether an open order is the integration's business: its service is mapped, or it is a
/// Stream (STREAM TECH) service that nobody has mapped yet (queued as Validation Failed so
/// the administrator sees it).
fn is_for_stream(inst: &InstallationConfig, order: &OpenOrder) -> bool {
    let s = &order.shipping_info;
    let id = s.postal_service_id.map(|id| id.to_string());
    inst.mapping_for(id.as_deref(), s.postal_service_name.as_deref())
        .is_some()
        || s.vendor.as_deref().is_some_and(|v| {
            v.trim().eq_ignore_ascii_case(STREAM_VENDOR)
                || v.trim().eq_ignore_ascii_case("STREAMTECH")
        })
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
    let inst = engine
        .installation(key)
        .ok_or(ValidationError::InstallationInactive)?;
    let clients = engine.clients(&inst)?;
    let store = engine.store();
    let installation = key.id();
    let days = i32::try_from(inst.spec.sync.order_lookback_days).unwrap_or(i32::MAX);
    let open = clients
        .linnworks
        .get_all_open_orders(
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
    let mut summary = FetchSummary {
        seen: open.len(),
        ..FetchSummary::default()
    };
    let mut newly_invalid: Vec<Uuid> = Vec::new();
    for order in open.iter().filter(|o| is_for_stream(&inst, o)) {
        summary.relevant += 1;
        let verdict = validate_order(
            &inst,
            &order.shipping_info,
            &order.customer_info,
            Some(&depots),
        );
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
            order_type: match verdict.as_ref().map(|m| m.spec.order_type) {
                Ok(crate::crd::OrderType::Collection) => OrderType::Collection,
                _ => OrderType::Delivery,
            },
            snapshot: serde_json::to_value(order).ok(),
        };
        let already_shipped = order
            .shipping_info
            .tracking_number
            .as_deref()
            .is_some_and(|t| !t.trim().is_empty());
        if already_shipped
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
        tracing::info!(order_id = %fetched.order_id, num_order_id = order.num_order_id, status = %row.status, upserted = ?upserted, "fetch: order seen");
        match (upserted, verdict) {
            (Upserted::Inserted, Ok(_)) => summary.queued += 1,
            (Upserted::Inserted, Err(e)) => {
                store
                    .mark_validation_failed(&installation, &fetched.order_id, &e.to_string())
                    .await?;
                audit_invalid(engine, key, &fetched.order_id, correlation, actor, &e).await;
                newly_invalid.push(order.order_id);
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

//! CancelLabel, as the installation's `spec.shippingIntegration.cancelLabel` says:
//!
//! - `AlwaysSucceed` (default): the guide's documented behaviour, success and nothing done in
//!   Stream.
//! - `Refuse`: the contract's error saying cancellation is not supported (what the Linnworks
//!   page asks of an integration that cannot cancel).
//! - `DeleteUnplanned`: the Stream order is deleted while Stream still allows it (not yet
//!   planned into a run), through the manual delete, which also clears the tracking number and
//!   "Sent to Stream" in Linnworks. Stream's refusal (e.g. already planned) is the error reply.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;

use crate::config::InstallationConfig;
use crate::crd::installation::CancelLabelMode;
use crate::domain::{AuditAction, AuditOutcome, OrderStatus};
use crate::sync::RunContext;
use crate::sync::manual::delete_completed;

use super::contract::{CancelLabelRequest, CancelLabelResponse};
use super::state::{ACTOR, Gateway, Prefer, find_order, job_error, store_error};

/// The `Refuse` mode's reply.
pub const CANCEL_NOT_SUPPORTED: &str = "Cancelling a label is not supported by this \
    integration: the order stays booked with Stream. Ask support to delete it from Stream if \
    it must not be delivered.";

pub async fn cancel_label(State(gw): State<Gateway>, body: Bytes) -> Json<CancelLabelResponse> {
    let started = Instant::now();
    let (request, inst) = match gw.authorise::<CancelLabelRequest>(&body) {
        Ok(x) => x,
        Err(e) => return Json(CancelLabelResponse::error(e)),
    };
    let run = RunContext::start(&gw.engine, &inst.key, ACTOR);
    let reference = request.order_reference.trim().to_string();
    let mode = inst
        .spec
        .shipping_integration
        .as_ref()
        .map(|g| g.cancel_label)
        .unwrap_or_default();
    let (outcome, message, order_id, reply) = match mode {
        CancelLabelMode::AlwaysSucceed => (
            AuditOutcome::Skipped,
            format!(
                "label of {reference} cancelled in Linnworks; nothing done in Stream (cancelLabel: AlwaysSucceed)"
            ),
            None,
            CancelLabelResponse::default(),
        ),
        CancelLabelMode::Refuse => (
            AuditOutcome::Failure,
            format!("cancelling the label of {reference} refused (cancelLabel: Refuse)"),
            None,
            CancelLabelResponse::error(CANCEL_NOT_SUPPORTED),
        ),
        CancelLabelMode::DeleteUnplanned => delete_unplanned(&gw, &inst, &reference, &run).await,
    };
    let order_ref = order_id.as_deref().unwrap_or(&reference);
    run.audit(
        AuditAction::Label,
        Some(order_ref),
        outcome,
        message,
        started,
    )
    .await;
    Json(reply)
}

type Cancelled = (AuditOutcome, String, Option<String>, CancelLabelResponse);

async fn delete_unplanned(
    gw: &Gateway,
    inst: &InstallationConfig,
    reference: &str,
    run: &RunContext,
) -> Cancelled {
    let order = match find_order(gw, inst, reference, Prefer::Reference).await {
        Ok(order) => order,
        Err(e) => {
            let message = format!(
                "the label of order {reference} cannot be cancelled: {}",
                store_error(&e)
            );
            return (
                AuditOutcome::Failure,
                message.clone(),
                None,
                CancelLabelResponse::error(message),
            );
        }
    };
    let Some(order) = order else {
        return (
            AuditOutcome::Skipped,
            format!("label of {reference} cancelled; the order was never sent to Stream"),
            None,
            CancelLabelResponse::default(),
        );
    };
    let id = Some(order.order_id.clone());
    match order.status {
        OrderStatus::Completed => {}
        OrderStatus::Deleted => {
            return (
                AuditOutcome::Skipped,
                format!("label of {reference} cancelled; the Stream order was already deleted"),
                id,
                CancelLabelResponse::default(),
            );
        }
        OrderStatus::InProgress => {
            let message = format!(
                "Order {reference} is being sent to Stream right now; cancel the label again in a moment"
            );
            return (
                AuditOutcome::Failure,
                message.clone(),
                id,
                CancelLabelResponse::error(message),
            );
        }
        other => {
            return (
                AuditOutcome::Skipped,
                format!(
                    "label of {reference} cancelled; the order is {other}, not in Stream, nothing to delete"
                ),
                id,
                CancelLabelResponse::default(),
            );
        }
    }
    let result = delete_completed(run, std::slice::from_ref(&order.order_id)).await;
    match result {
        Ok(outcomes) => match outcomes.into_iter().find(|o| o.order_id == order.order_id) {
            Some(o) if o.status.parse() == Ok(OrderStatus::Deleted) => (
                AuditOutcome::Success,
                format!("label of {reference} cancelled: {}", o.message),
                id,
                CancelLabelResponse::default(),
            ),
            Some(o) => {
                let message = format!(
                    "The label of order {reference} cannot be cancelled: {}",
                    o.message
                );
                (
                    AuditOutcome::Failure,
                    message.clone(),
                    id,
                    CancelLabelResponse::error(message),
                )
            }
            None => {
                let message = format!("The label of order {reference} was not cancelled");
                (
                    AuditOutcome::Failure,
                    message.clone(),
                    id,
                    CancelLabelResponse::error(message),
                )
            }
        },
        Err(e) => {
            let message = format!(
                "The label of order {reference} cannot be cancelled: {}",
                job_error(&e)
            );
            (
                AuditOutcome::Failure,
                message.clone(),
                id,
                CancelLabelResponse::error(message),
            )
        }
    }
}

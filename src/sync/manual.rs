//! What support staff do by hand (the guide's "manual operations"): send selected orders
//! (bypassing Order Sync Enabled), resend failed ones, delete completed ones from Stream,
//! and re-fetch. Limits are the system settings MaxUserSelectedOrders and
//! MaxUserSelectedOrdersForDelete; every action is audited with who did it.

use std::time::Instant;

use uuid::Uuid;

use crate::config::InstallationConfig;
use crate::domain::{AuditAction, AuditOutcome, OrderStatus};
use crate::linnworks::{ExtendedProperty, UpdateOrderShippingInfoRequest};
use crate::remote::text::storable;
use crate::store::{FetchedOrder, Order, StoreError, Work};

use super::engine::{Clients, Engine};
use super::job_error::JobError;
use super::process_webhooks::DISPATCH_DATE_PROPERTY;
use super::run_context::RunContext;
use super::send::{OrderOutcome, send_claimed};
use super::validation::ValidationError;
use super::write_back::TRACKING_URL_PROPERTY;
use crate::domain::identifiers::{
    ERROR_FROM_STREAM, SENT_TO_STREAM, is_day_tag, is_run_tag, is_seq_tag,
};

/// The guide's message for deleting an order that is not Completed.
pub const ONLY_COMPLETED_CAN_BE_DELETED: &str =
    "Only Completed orders can be deleted; Pending, Failed or In Progress orders cannot be deleted";

fn check_selection(selected: usize, max: u32) -> Result<(), ValidationError> {
    if selected == 0 || selected > max as usize {
        return Err(ValidationError::TooManyOrdersSelected { selected, max });
    }
    Ok(())
}

fn refused(order_id: &str, status: &str, message: impl Into<String>) -> OrderOutcome {
    OrderOutcome {
        order_id: order_id.to_string(),
        status: status.to_string(),
        message: message.into(),
    }
}

/// Sends the selected orders now, whatever Order Sync Enabled says. Orders not yet queued
/// are fetched from Linnworks first; Failed and Validation Failed ones are queued again.
pub async fn send_selected(
    run: &RunContext,
    order_ids: &[String],
) -> Result<Vec<OrderOutcome>, JobError> {
    let (engine, key) = (run.engine(), run.key());
    check_selection(order_ids.len(), engine.settings().max_user_selected_orders)?;
    let inst = engine.active_installation(key)?;
    let store = engine.store();
    let installation = key.id();
    let mut outcomes = Vec::new();
    let mut claimed = Vec::new();
    for order_id in order_ids {
        let started = Instant::now();
        let current = match store.order(&installation, order_id).await? {
            Some(order) => order,
            None => match queue_from_linnworks(engine, &inst, order_id).await? {
                Some(order) => order,
                None => {
                    let e = ValidationError::OrderNotFoundInLinnworks;
                    run.audit(
                        AuditAction::Send,
                        Some(order_id),
                        AuditOutcome::Failure,
                        e.to_string(),
                        started,
                    )
                    .await;
                    outcomes.push(refused(order_id, "Not queued", e.to_string()));
                    continue;
                }
            },
        };
        let ready = match current.status {
            OrderStatus::Pending | OrderStatus::ReadyForRetry => Ok(()),
            OrderStatus::Failed => store.resend(&installation, order_id).await.map(|_| ()),
            OrderStatus::ValidationFailed => store
                .mark_revalidated(&installation, order_id)
                .await
                .map(|_| ()),
            OrderStatus::InProgress => Err(StoreError::AlreadyInProgress {
                installation: installation.clone(),
                order_id: order_id.clone(),
            }),
            OrderStatus::Completed | OrderStatus::Deleted => {
                outcomes.push(refused(
                    order_id,
                    current.status.label(),
                    format!(
                        "already {} in Stream; nothing to send",
                        current.status.label().to_lowercase()
                    ),
                ));
                continue;
            }
        };
        let claim = match ready {
            Ok(()) => {
                store
                    .claim_order(&installation, order_id, engine.worker_id(), engine.lease())
                    .await
            }
            Err(e) => Err(e),
        };
        match claim {
            Ok(order) => claimed.push(order),
            Err(StoreError::AlreadyInProgress { .. }) => {
                let e = ValidationError::OrderAlreadyInProgress;
                run.audit(
                    AuditAction::Send,
                    Some(order_id),
                    AuditOutcome::Failure,
                    e.to_string(),
                    started,
                )
                .await;
                outcomes.push(refused(order_id, "In Progress", e.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let (_, sent) = send_claimed(run, &inst, claimed).await?;
    outcomes.extend(sent);
    // Signalled after the send, not before, so the process serving the installation does
    // not claim the selected orders first. It then sends what the manual send left in the
    // queue (an order Stream could not take now, write-backs to retry) and applies events
    // about the orders at once, not at its next interval.
    for work in [Work::Send, Work::Webhooks] {
        store.wake(&installation, work).await;
    }
    Ok(outcomes)
}

/// Reads an order the queue does not know from Linnworks and queues it as Pending.
async fn queue_from_linnworks(
    engine: &Engine,
    inst: &InstallationConfig,
    order_id: &str,
) -> Result<Option<Order>, JobError> {
    let Ok(uuid) = Uuid::parse_str(order_id) else {
        return Ok(None);
    };
    let clients = engine.clients(inst)?;
    let details = clients
        .linnworks
        .get_orders_by_id(&[uuid])
        .await
        .map_err(JobError::from_linnworks)?;
    let Some(detail) = details.into_iter().find(|d| d.order_id == uuid) else {
        return Ok(None);
    };
    let shipping = &detail.shipping_info;
    let service_id = shipping.postal_service_id.map(|id| id.to_string());
    let order_type = inst
        .mapping_for(
            service_id.as_deref(),
            shipping.postal_service_name.as_deref(),
        )
        .map(|m| m.spec.order_type)
        .unwrap_or_default();
    let fetched = FetchedOrder {
        installation: inst.key.id(),
        order_id: detail.order_id.to_string(),
        num_order_id: Some(detail.num_order_id),
        // Poisoned text is refused by the send that follows, naming the field; the queue
        // row must be storable first.
        reference: storable(detail.general_info.reference_num.clone()),
        postal_service_id: service_id,
        postal_service_name: storable(shipping.postal_service_name.clone()),
        order_type,
        snapshot: None,
    };
    let (_, order) = engine.store().upsert_fetched(&fetched).await?;
    Ok(Some(order))
}

/// Queues Failed orders again with their retry count reset, and sends them now.
pub async fn resend_failed(
    run: &RunContext,
    order_ids: &[String],
) -> Result<Vec<OrderOutcome>, JobError> {
    let (engine, key) = (run.engine(), run.key());
    check_selection(order_ids.len(), engine.settings().max_user_selected_orders)?;
    engine.active_installation(key)?;
    let mut outcomes = Vec::new();
    let mut failed = Vec::new();
    for order_id in order_ids {
        match engine.store().order(&key.id(), order_id).await? {
            Some(order) if order.status == OrderStatus::Failed => failed.push(order_id.clone()),
            Some(order) => outcomes.push(refused(
                order_id,
                order.status.label(),
                format!(
                    "only Failed orders can be resent; this order is {}",
                    order.status
                ),
            )),
            None => outcomes.push(refused(
                order_id,
                "Not queued",
                ValidationError::OrderNotFoundInDatabase.to_string(),
            )),
        }
    }
    if !failed.is_empty() {
        outcomes.extend(send_selected(run, &failed).await?);
    }
    Ok(outcomes)
}

/// Deletes Completed orders from Stream, clears in Linnworks what the integration wrote
/// (see [`clear_in_linnworks`]), and marks them Deleted. Any other status is refused with
/// the guide's message; an order whose clear failed stays Completed, audited as a failure.
pub async fn delete_completed(
    run: &RunContext,
    order_ids: &[String],
) -> Result<Vec<OrderOutcome>, JobError> {
    let engine = run.engine();
    check_selection(
        order_ids.len(),
        engine.settings().max_user_selected_orders_for_delete,
    )?;
    let inst = engine.active_installation(run.key())?;
    let clients = engine.clients(&inst)?;
    let mut outcomes = Vec::new();
    for order_id in order_ids {
        let started = Instant::now();
        let (status, outcome, message) = match delete_one(run, &clients, order_id).await? {
            Deleted::Done(message) => ("Deleted", Some(AuditOutcome::Success), message),
            Deleted::NotQueued => (
                "Not queued",
                None,
                ValidationError::OrderNotFoundInDatabase.to_string(),
            ),
            Deleted::Refused { status, message } => (status, Some(AuditOutcome::Failure), message),
        };
        if let Some(outcome) = outcome {
            run.audit(
                AuditAction::Delete,
                Some(order_id),
                outcome,
                message.clone(),
                started,
            )
            .await;
        }
        outcomes.push(refused(order_id, status, message));
    }
    Ok(outcomes)
}

/// What became of one order of a delete.
enum Deleted {
    /// Deleted in Stream, cleared in Linnworks, status Deleted.
    Done(String),
    NotQueued,
    /// Not deleted (or not cleared): the status it stays in, and why.
    Refused {
        status: &'static str,
        message: String,
    },
}

async fn delete_one(
    run: &RunContext,
    clients: &Clients,
    order_id: &str,
) -> Result<Deleted, JobError> {
    let (store, key) = (run.engine().store(), run.key());
    let installation = key.id();
    let Some(order) = store.order(&installation, order_id).await? else {
        return Ok(Deleted::NotQueued);
    };
    if order.status != OrderStatus::Completed {
        return Ok(Deleted::Refused {
            status: order.status.label(),
            message: format!(
                "{ONLY_COMPLETED_CAN_BE_DELETED} (order is {})",
                order.status
            ),
        });
    }
    let stream_no = order
        .stream_order_id
        .clone()
        .or(order.consignment_no.clone())
        .unwrap_or_default();
    if let Err(e) = clients.stream.delete_order(&stream_no).await
        && !e.is_not_found()
    {
        return Ok(Deleted::Refused {
            status: "Completed",
            message: format!("Stream refused to delete order {stream_no}: {e}"),
        });
    }
    let cleared = match Uuid::parse_str(order_id) {
        Ok(uuid) => clear_in_linnworks(clients, uuid).await,
        Err(_) => Ok(vec![
            "the order id is not a Linnworks id: nothing to clear".into(),
        ]),
    };
    match cleared {
        Ok(cleared) => {
            store.mark_deleted(&installation, order_id).await?;
            Ok(Deleted::Done(format!(
                "deleted Stream order {stream_no} and cleared it in Linnworks: {}",
                cleared.join(", ")
            )))
        }
        // Stream's order is gone, Linnworks still shows it sent: the order stays Completed,
        // so deleting it again (Stream answers not found, which is accepted) finishes the
        // clear.
        Err(e) => {
            let message = format!(
                "deleted Stream order {stream_no}, but clearing it in Linnworks failed: {e}; \
                 the order stays Completed: delete it again to finish"
            );
            tracing::warn!(installation = %key, order_id, "{message}");
            Ok(Deleted::Refused {
                status: "Completed",
                message,
            })
        }
    }
}

/// Extended properties the integration writes, emptied by a delete.
const WRITTEN_PROPERTIES: [&str; 2] = [TRACKING_URL_PROPERTY, DISPATCH_DATE_PROPERTY];

/// Clears what the integration wrote on a Linnworks order: the tracking number, the
/// StreamTrackingURL and StreamDispatchDate extended properties (emptied: the API has no
/// call that removes one property), and the Sent to Stream, Error from Stream, RUN, SEQ and
/// day identifiers. Reads the order first, so only what is there is changed. Returns what
/// was cleared; the error names every step that failed.
pub async fn clear_in_linnworks(clients: &Clients, order_id: Uuid) -> Result<Vec<String>, String> {
    let details = clients
        .linnworks
        .get_orders_by_id(&[order_id])
        .await
        .map_err(|e| format!("reading the order: {e}"))?;
    let Some(detail) = details.into_iter().find(|d| d.order_id == order_id) else {
        return Ok(vec!["the order is no longer in Linnworks".into()]);
    };
    let mut cleared = Vec::new();
    let mut failed = Vec::new();
    let tracking = detail
        .shipping_info
        .tracking_number
        .as_deref()
        .unwrap_or("");
    if !tracking.trim().is_empty() {
        let clear = UpdateOrderShippingInfoRequest {
            tracking_number: Some(String::new()),
            ..UpdateOrderShippingInfoRequest::from_current(&detail.shipping_info)
        };
        match clients
            .linnworks
            .set_order_shipping_info(order_id, &clear)
            .await
        {
            Ok(_) => cleared.push(format!("tracking number {tracking}")),
            Err(e) => failed.push(format!("the tracking number: {e}")),
        }
    }
    let emptied: Vec<ExtendedProperty> = detail
        .extended_properties
        .iter()
        .filter(|p| {
            WRITTEN_PROPERTIES
                .iter()
                .any(|w| p.name.eq_ignore_ascii_case(w))
                && !p.value.is_empty()
        })
        .map(|p| ExtendedProperty {
            value: String::new(),
            ..p.clone()
        })
        .collect();
    if !emptied.is_empty() {
        let names: Vec<&str> = emptied.iter().map(|p| p.name.as_str()).collect();
        match clients
            .linnworks
            .set_extended_properties(order_id, &emptied)
            .await
        {
            Ok(_) => cleared.push(names.join(", ")),
            Err(e) => failed.push(format!("{}: {e}", names.join(", "))),
        }
    }
    let managed = |tag: &str| {
        tag == SENT_TO_STREAM.0
            || tag == ERROR_FROM_STREAM.0
            || is_run_tag(tag)
            || is_seq_tag(tag)
            || is_day_tag(tag)
    };
    let mut tags: Vec<String> = detail
        .general_info
        .identifiers
        .iter()
        .map(|i| i.tag.trim().to_ascii_uppercase())
        .filter(|t| managed(t))
        .collect();
    tags.sort();
    tags.dedup();
    for tag in tags {
        match clients
            .linnworks
            .unassign_order_identifier(&[order_id], &tag)
            .await
        {
            Ok(_) => cleared.push(format!("identifier {tag}")),
            Err(e) => failed.push(format!("identifier {tag}: {e}")),
        }
    }
    if cleared.is_empty() && failed.is_empty() {
        cleared.push("nothing was left to clear".into());
    }
    if failed.is_empty() {
        Ok(cleared)
    } else {
        Err(failed.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selections_are_bounded_by_the_setting() {
        assert!(check_selection(5, 5).is_ok());
        let e = check_selection(6, 5).expect_err("over the limit");
        assert_eq!(
            e.to_string(),
            "Too many orders selected: 6 orders selected, the maximum is 5; reduce the selection"
        );
        assert!(check_selection(0, 5).is_err());
    }
}

//! The write side of the admin API: send selected, resend failed, delete completed, and
//! re-fetch. Each action gets a fresh correlation id (returned in the reply, and on every
//! audit entry it wrote) and is audited with the caller as the actor.
//!
//! Resend and delete are all-or-nothing at the door: when any selected order is not in the
//! status the action needs, the whole selection is refused (409, the guide's message, each
//! refusal audited) and nothing changes. Once accepted, each order's outcome is reported.

use std::collections::HashMap;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::InstallationKey;
use crate::domain::{AuditAction, AuditOutcome, OrderStatus};
use crate::sync::RunContext;
use crate::sync::manual::{
    ONLY_COMPLETED_CAN_BE_DELETED, delete_completed, resend_failed, send_selected,
};
use crate::sync::send::OrderOutcome;
use crate::sync::validation::ValidationError;

use super::AdminState;
use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::views::OutcomeView;

/// Longest order id accepted (Linnworks ids are 36-character GUIDs).
const MAX_ORDER_ID: usize = 100;

/// The message for resending an order that is not Failed.
pub const ONLY_FAILED_CAN_BE_RESENT: &str =
    "Only Failed orders can be resent; send Pending or Validation Failed orders instead";

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Selection {
    order_ids: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionReply {
    pub action: &'static str,
    pub correlation_id: String,
    pub actor: String,
    pub outcomes: Vec<OutcomeView>,
}

/// The selected order ids from a `{"orderIds": [...]}` body: trimmed, duplicates dropped,
/// at least one and at most `max`.
fn selection(headers: &HeaderMap, body: &Bytes, max: u32) -> Result<Vec<String>, ApiError> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "the body must be JSON (Content-Type: application/json): {\"orderIds\": [...]}",
        ));
    }
    let parsed: Selection = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request(format!("the body must be {{\"orderIds\": [\"...\"]}}: {e}"))
    })?;
    let mut ids: Vec<String> = Vec::with_capacity(parsed.order_ids.len());
    for (i, id) in parsed.order_ids.iter().enumerate() {
        let id = id.trim();
        let field = format!("orderIds[{i}]");
        if id.is_empty() {
            return Err(ApiError::parameter(&field, "an order id is empty"));
        }
        if id.chars().count() > MAX_ORDER_ID || id.chars().any(char::is_control) {
            return Err(ApiError::parameter(
                &field,
                format!("not an order id (at most {MAX_ORDER_ID} printable characters)"),
            ));
        }
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_string());
        }
    }
    if ids.is_empty() {
        return Err(ApiError::parameter("orderIds", "select at least one order"));
    }
    if ids.len() > max as usize {
        let e = ValidationError::TooManyOrdersSelected {
            selected: ids.len(),
            max,
        };
        return Err(ApiError {
            parameter: Some("orderIds".into()),
            ..ApiError::from(e)
        });
    }
    Ok(ids)
}

/// The reply; an order counts as done when it ended in `done` and was not there already
/// (sending an order that was Completed before reports it, but does nothing).
fn reply(
    action: &'static str,
    run: &RunContext,
    outcomes: Vec<OrderOutcome>,
    done: OrderStatus,
    before: &HashMap<String, OrderStatus>,
) -> Json<ActionReply> {
    Json(ActionReply {
        action,
        correlation_id: run.correlation().to_string(),
        actor: run.actor().to_string(),
        outcomes: outcomes
            .into_iter()
            .map(|o| {
                let ok = o.status.parse() == Ok(done) && before.get(&o.order_id) != Some(&done);
                OutcomeView::new(o, ok)
            })
            .collect(),
    })
}

/// The statuses of the selected orders that are queued, before an action.
async fn statuses(
    s: &AdminState,
    key: &InstallationKey,
    ids: &[String],
) -> Result<HashMap<String, OrderStatus>, ApiError> {
    let mut out = HashMap::new();
    for id in ids {
        if let Some(order) = s.engine.store().order(&key.id(), id).await? {
            out.insert(id.clone(), order.status);
        }
    }
    Ok(out)
}

pub async fn send(
    State(s): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActionReply>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let key = s.installation(&namespace, &name)?.key;
    let ids = selection(
        &headers,
        &body,
        s.engine.settings().max_user_selected_orders,
    )?;
    let run = RunContext::start(&s.engine, &key, caller.actor());
    let before = statuses(&s, &key, &ids).await?;
    let outcomes = send_selected(&run, &ids)
        .await
        .map_err(|e| ApiError::from(e).with("correlationId", json!(run.correlation())))?;
    Ok(reply(
        "send",
        &run,
        outcomes,
        OrderStatus::Completed,
        &before,
    ))
}

pub async fn resend(
    State(s): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActionReply>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let key = s.installation(&namespace, &name)?.key;
    let ids = selection(
        &headers,
        &body,
        s.engine.settings().max_user_selected_orders,
    )?;
    let run = RunContext::start(&s.engine, &key, caller.actor());
    let gate = Gate {
        action: AuditAction::Resend,
        verb: "resent",
        needs: OrderStatus::Failed,
        refusal: ONLY_FAILED_CAN_BE_RESENT,
    };
    let before = gate.check(&s, &run, &ids).await?;
    let outcomes = resend_failed(&run, &ids)
        .await
        .map_err(|e| ApiError::from(e).with("correlationId", json!(run.correlation())))?;
    Ok(reply(
        "resend",
        &run,
        outcomes,
        OrderStatus::Completed,
        &before,
    ))
}

pub async fn delete(
    State(s): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ActionReply>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let key = s.installation(&namespace, &name)?.key;
    let ids = selection(
        &headers,
        &body,
        s.engine.settings().max_user_selected_orders_for_delete,
    )?;
    let run = RunContext::start(&s.engine, &key, caller.actor());
    let gate = Gate {
        action: AuditAction::Delete,
        verb: "deleted",
        needs: OrderStatus::Completed,
        refusal: ONLY_COMPLETED_CAN_BE_DELETED,
    };
    let before = gate.check(&s, &run, &ids).await?;
    let outcomes = delete_completed(&run, &ids)
        .await
        .map_err(|e| ApiError::from(e).with("correlationId", json!(run.correlation())))?;
    Ok(reply(
        "delete",
        &run,
        outcomes,
        OrderStatus::Deleted,
        &before,
    ))
}

/// The status an action needs of every selected order, and what to say when one is not.
struct Gate {
    action: AuditAction,
    verb: &'static str,
    needs: OrderStatus,
    refusal: &'static str,
}

impl Gate {
    /// Refuses the whole selection (409; 404 when orders are only missing), auditing each
    /// refused order, unless every order is in the needed status. Returns their statuses.
    async fn check(
        &self,
        s: &AdminState,
        run: &RunContext,
        ids: &[String],
    ) -> Result<HashMap<String, OrderStatus>, ApiError> {
        let store = s.engine.store();
        let installation = run.key().id();
        let mut refused: Vec<(String, String)> = Vec::new();
        let mut wrong_status = false;
        let mut before = HashMap::new();
        for id in ids {
            let started = Instant::now();
            let message = match store.order(&installation, id).await? {
                Some(order) if order.status == self.needs => {
                    before.insert(id.clone(), order.status);
                    continue;
                }
                Some(order) => {
                    wrong_status = true;
                    format!("{} (order {id} is {})", self.refusal, order.status)
                }
                None => format!("{} (order {id})", ValidationError::OrderNotFoundInDatabase),
            };
            run.audit(
                self.action,
                Some(id),
                AuditOutcome::Failure,
                message.clone(),
                started,
            )
            .await;
            refused.push((id.clone(), message));
        }
        if refused.is_empty() {
            return Ok(before);
        }
        let outcomes: Vec<Value> = ids
            .iter()
            .map(|id| match refused.iter().find(|(r, _)| r == id) {
                Some((_, message)) => json!({"orderId": id, "ok": false, "message": message}),
                None => json!({
                    "orderId": id,
                    "ok": false,
                    "message": format!("not {}: the selection was refused", self.verb),
                }),
            })
            .collect();
        let message = match refused.as_slice() {
            [(_, only)] => only.clone(),
            many => format!(
                "{} of the {} selected orders cannot be {}; nothing was {}: {}",
                many.len(),
                ids.len(),
                self.verb,
                self.verb,
                many.iter()
                    .map(|(_, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        };
        let status = if wrong_status {
            StatusCode::CONFLICT
        } else {
            StatusCode::NOT_FOUND
        };
        Err(ApiError::new(status, message)
            .with("correlationId", json!(run.correlation()))
            .with("outcomes", Value::Array(outcomes)))
    }
}

pub async fn refetch(
    State(s): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let key = s.installation(&namespace, &name)?.key;
    let run = RunContext::start(&s.engine, &key, caller.actor());
    let summary = crate::sync::fetch::fetch(&run)
        .await
        .map_err(|e| ApiError::from(e).with("correlationId", json!(run.correlation())))?;
    Ok(Json(json!({
        "action": "refetch",
        "correlationId": run.correlation(),
        "actor": run.actor(),
        "message": summary.to_string(),
        "summary": summary,
    })))
}

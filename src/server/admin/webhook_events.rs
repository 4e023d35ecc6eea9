//! The webhook events view and its one action: the Stream notifications an installation
//! received, with code, status, retries, last error and the orders concerned, filtered by
//! code and status; and a manual retry of a Failed event (audited with the caller).
//!
//! Retry is deliberately narrow: one event per call, only a Failed one (the processor
//! retries Pending and Ready for Retry events by itself), and only an event of the
//! installation in the path; the event becomes Ready for Retry with its retry count reset,
//! and the process-webhooks job applies it on its next run.

use std::time::Instant;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use serde_json::{Value, json};

use crate::store::StoreError;

use crate::domain::{AuditAction, AuditOutcome, WebhookStatus};
use crate::sync::RunContext;

use super::AdminState;
use super::auth::Caller;
use super::error::ApiError;
use super::params::Params;
use super::views::WebhookView;

/// Longest event code accepted as a filter (Stream's codes are a few characters).
const MAX_CODE: usize = 64;

pub async fn list(
    State(s): State<AdminState>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let p = Params::parse(q.as_deref(), &["status", "code", "limit"])?;
    let installation = s.installation(&namespace, &name)?.key.id();
    let status = p.choice("status", WebhookStatus::ALL, WebhookStatus::label)?;
    let code = p.text("code", MAX_CODE)?;
    if let Some(bad) = code
        .as_deref()
        .and_then(|c| c.chars().find(|ch| ch.is_control()))
    {
        return Err(ApiError::parameter(
            "code",
            format!(
                "holds a control character ({:?}); event codes are plain text",
                bad
            ),
        ));
    }
    let limit = u32::try_from(p.number("limit", 100, 1, 1000)?).unwrap_or(1000);
    let store = s.engine.store();
    let events = match code.as_deref() {
        Some(code) => {
            store
                .list_webhook_events_with_code(&installation, status, code, limit)
                .await?
        }
        None => {
            store
                .list_webhook_events(&installation, status, limit)
                .await?
        }
    };
    let mut refs = store.webhook_event_refs(&installation, &events).await?;
    let events: Vec<WebhookView> = events
        .into_iter()
        .map(|e| {
            let orders = refs.remove(&e.id).unwrap_or_default();
            WebhookView::new(e, orders)
        })
        .collect();
    Ok(Json(json!({
        "installation": installation,
        "limit": limit,
        "counts": store.webhook_counts(&installation).await?,
        "events": events,
    })))
}

pub async fn retry(
    State(s): State<AdminState>,
    Extension(caller): Extension<Caller>,
    Path((namespace, name, event)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    Params::parse(q.as_deref(), &[])?;
    let started = Instant::now();
    let inst = s.installation(&namespace, &name)?;
    let installation = inst.key.id();
    let id: i64 = event
        .trim()
        .parse()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| {
            ApiError::parameter(
                "eventId",
                format!("{event:?} is not an event id (a positive whole number)"),
            )
        })?;
    let store = s.engine.store();
    // An event of another installation is answered as unknown, so one installation's
    // console rights never reach another's events.
    let Some(found) = store
        .webhook_event(id)
        .await?
        .filter(|e| e.installation == installation)
    else {
        return Err(ApiError::not_found(format!(
            "webhook event {id} is not an event of installation {installation}"
        )));
    };
    let run = RunContext::start(&s.engine, &inst.key, caller.actor());
    let (correlation, actor) = (run.correlation(), run.actor());
    let what = format!("webhook event {id} ({})", found.event_code);
    let audit = |outcome: AuditOutcome, message: String| {
        run.audit(AuditAction::Webhook, None, outcome, message, started)
    };
    match store.retry_webhook_event(id).await {
        Ok(event) => {
            let mut message = format!(
                "{what} queued for retry by {actor} (it was Failed: {})",
                found.last_error.as_deref().unwrap_or("no error recorded")
            );
            if !inst.spec.webhooks.enabled {
                message.push_str("; webhooks are disabled for this installation, so it waits");
            }
            audit(AuditOutcome::Success, message.clone()).await;
            let orders = store
                .webhook_event_refs(&installation, std::slice::from_ref(&event))
                .await?
                .remove(&id)
                .unwrap_or_default();
            Ok(Json(json!({
                "action": "retry",
                "correlationId": correlation,
                "actor": actor,
                "message": message,
                "event": WebhookView::new(event, orders),
            })))
        }
        Err(StoreError::WebhookIllegal { status, .. }) => {
            let message = format!(
                "Only Failed webhook events can be retried; {what} is {} (the processor \
                 retries Pending and Ready for Retry events by itself)",
                status.label()
            );
            audit(AuditOutcome::Failure, message.clone()).await;
            Err(ApiError::conflict(message).with("correlationId", json!(correlation)))
        }
        Err(e) => Err(e.into()),
    }
}

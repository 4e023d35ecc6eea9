//! The send job: claims queued orders, validates them against the order as Linnworks has
//! it now, creates them in Stream, and writes the result back to Linnworks (tracking number,
//! tracking URL, identifiers). Failures are recorded with Stream's status and message and
//! retried on later cycles up to MaxRetryAttempts.

use std::collections::HashMap;
use std::time::Instant;

use futures::StreamExt as _;
use serde::Serialize;
use uuid::Uuid;

use crate::config::{InstallationConfig, InstallationKey};
use crate::linnworks::{BasicExtendedProperty, OrderDetails, UpdateOrderShippingInfoRequest};
use crate::remote::RemoteError;
use crate::store::{AuditAction, AuditOutcome, Order, SendFailure, SendSuccess};
use crate::stream::{CreateOrderRequest, CreatedOrder};

use super::engine::{Audit, Clients, Engine};
use super::errors::ValidationError;
use super::identifiers::{ERROR_FROM_STREAM, SENT_TO_STREAM};
use super::job_error::JobError;
use super::transform::transform;
use super::validate::validate_order;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendSummary {
    /// Failed orders queued again for this cycle.
    pub retried: u64,
    pub claimed: usize,
    pub completed: usize,
    pub failed: usize,
    pub invalid: usize,
}

impl std::fmt::Display for SendSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} claimed ({} queued for retry): {} completed, {} failed, {} failed validation",
            self.claimed, self.retried, self.completed, self.failed, self.invalid
        )
    }
}

/// What happened to one order in a send.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderOutcome {
    pub order_id: String,
    pub status: String,
    pub message: String,
}

/// One scheduled send cycle: queue failed orders for retry, claim up to
/// MaxBatchSizePerInstallation, send them.
pub async fn send_cycle(
    engine: &Engine,
    key: &InstallationKey,
    correlation: &str,
    actor: &str,
) -> Result<SendSummary, JobError> {
    let inst = engine
        .installation(key)
        .ok_or(ValidationError::InstallationInactive)?;
    // Scheduled sends honour the flag; manual sends (`sync::manual`) bypass it.
    if !inst.spec.sync.order_sync_enabled {
        return Err(ValidationError::OrderSyncDisabled.into());
    }
    let store = engine.store();
    let installation = key.id();
    store.release_expired().await?;
    let retried = store
        .promote_failed(&installation, engine.settings().max_retry_attempts)
        .await?;
    let claimed = store
        .claim(
            &installation,
            engine.settings().max_batch_size_per_installation,
            engine.worker_id(),
            engine.lease(),
        )
        .await?;
    let (mut summary, _) = send_claimed(engine, &inst, claimed, correlation, actor).await?;
    summary.retried = retried;
    Ok(summary)
}

/// Sends orders this worker has claimed. Every claimed order ends Completed, Failed or
/// Validation Failed; none is left In Progress (a crash leaves it to lease expiry).
pub async fn send_claimed(
    engine: &Engine,
    inst: &InstallationConfig,
    claimed: Vec<Order>,
    correlation: &str,
    actor: &str,
) -> Result<(SendSummary, Vec<OrderOutcome>), JobError> {
    let mut summary = SendSummary {
        claimed: claimed.len(),
        ..SendSummary::default()
    };
    let mut outcomes = Vec::new();
    if claimed.is_empty() {
        return Ok((summary, outcomes));
    }
    let key = &inst.key;
    let store = engine.store();
    let clients = match engine.clients(inst) {
        Ok(c) => c,
        Err(e) => {
            for order in &claimed {
                fail(engine, key, order, &e, correlation, actor, Instant::now()).await?;
                outcomes.push(outcome(order, "Failed", &e.to_string()));
            }
            summary.failed = claimed.len();
            return Ok((summary, outcomes));
        }
    };
    let ids: Vec<Uuid> = claimed
        .iter()
        .filter_map(|o| Uuid::parse_str(&o.order_id).ok())
        .collect();
    let details: HashMap<String, OrderDetails> =
        match clients.linnworks.get_orders_by_id(&ids).await {
            Ok(list) => list
                .into_iter()
                .map(|d| (d.order_id.to_string(), d))
                .collect(),
            Err(e) => {
                // Linnworks could not be read: nothing was sent, so every order is retried later.
                for order in &claimed {
                    fail(engine, key, order, &e, correlation, actor, Instant::now()).await?;
                    outcomes.push(outcome(order, "Failed", &e.to_string()));
                }
                summary.failed = claimed.len();
                return Ok((summary, outcomes));
            }
        };
    let depots = store.depots(&key.id()).await?.items;
    let ctx = SendContext {
        engine,
        inst,
        clients: &clients,
        details: &details,
        depots: &depots,
        today: chrono::Utc::now().date_naive(),
        correlation,
        actor,
    };
    // Orders of a batch go out side by side: with remote latency, one at a time could not
    // come near the rate limits; the Stream throttle and the clients' 429 handling keep
    // them within.
    // Built eagerly: a stream combinator closure borrowing `ctx` would make this future
    // not `Send`-general enough to be spawned.
    let sends: Vec<_> = claimed.iter().map(|order| send_one(&ctx, order)).collect();
    let results: Vec<Result<Sent, JobError>> = futures::stream::iter(sends)
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
    let mut tagged_sent = Vec::new();
    let mut errored = Vec::new();
    for result in results {
        let sent = result?;
        match sent.result {
            SentAs::Completed => {
                summary.completed += 1;
                tagged_sent.extend(sent.linnworks_id);
            }
            SentAs::Failed => {
                summary.failed += 1;
                errored.extend(sent.linnworks_id);
            }
            SentAs::Invalid => {
                summary.invalid += 1;
                errored.extend(sent.linnworks_id);
            }
        }
        outcomes.push(sent.outcome);
    }
    tag(&clients, key, &tagged_sent, &errored).await;
    Ok((summary, outcomes))
}

/// At most this many orders of one installation are in flight at once.
pub const SEND_CONCURRENCY: usize = 16;

struct SendContext<'a> {
    engine: &'a Engine,
    inst: &'a InstallationConfig,
    clients: &'a Clients,
    details: &'a HashMap<String, OrderDetails>,
    depots: &'a [crate::store::Depot],
    today: chrono::NaiveDate,
    correlation: &'a str,
    actor: &'a str,
}

enum SentAs {
    Completed,
    Failed,
    Invalid,
}

struct Sent {
    result: SentAs,
    linnworks_id: Option<Uuid>,
    outcome: OrderOutcome,
}

/// Sends one claimed order and records the result; the order's claim ends here.
async fn send_one(ctx: &SendContext<'_>, order: &Order) -> Result<Sent, JobError> {
    let started = Instant::now();
    let (engine, key, store) = (ctx.engine, &ctx.inst.key, ctx.engine.store());
    let invalid = |e: String, id: Option<Uuid>| Sent {
        result: SentAs::Invalid,
        linnworks_id: id,
        outcome: outcome(order, "Validation Failed", &e),
    };
    let Some(claim) = order.claim() else {
        return Ok(invalid("the order is not claimed".into(), None));
    };
    let Some(detail) = ctx.details.get(&order.order_id) else {
        let e = ValidationError::OrderNotFoundInLinnworks.to_string();
        store.fail_claim_validation(&claim, &e).await?;
        audit_send(
            engine,
            key,
            order,
            ctx.correlation,
            ctx.actor,
            AuditOutcome::Failure,
            e.clone(),
            started,
        )
        .await;
        return Ok(invalid(e, None));
    };
    let mapping = match validate_order(
        ctx.inst,
        &detail.shipping_info,
        &detail.customer_info,
        Some(ctx.depots),
    ) {
        Ok(m) => m,
        Err(e) => {
            let e = e.to_string();
            store.fail_claim_validation(&claim, &e).await?;
            audit_send(
                engine,
                key,
                order,
                ctx.correlation,
                ctx.actor,
                AuditOutcome::Failure,
                e.clone(),
                started,
            )
            .await;
            return Ok(invalid(e, Some(detail.order_id)));
        }
    };
    let request = transform(ctx.inst, mapping, detail, ctx.today);
    ctx.clients.stream_throttle.acquire().await;
    match create_once(ctx.clients, &request, order.attempts).await {
        Ok(created) => {
            ctx.clients.stream_throttle.success();
            let success = SendSuccess {
                http_status: Some(200),
                stream_order_id: Some(created.order_no.clone()),
                consignment_no: Some(created.consignment_no.clone()),
                tracking_number: Some(created.tracking_id.clone()),
                tracking_url: Some(created.tracking_url.clone()),
            };
            store.complete_claim(&claim, &success).await?;
            let recovered = if created.recovered {
                " (an earlier attempt had reached Stream)"
            } else {
                ""
            };
            let kind = match request.order_type() {
                crate::stream::OrderType::Delivery => "delivery",
                crate::stream::OrderType::Collection => "collection",
            };
            let message = format!(
                "created {kind} order {}: consignment {}, tracking {}{recovered}",
                created.order_no, created.consignment_no, created.tracking_id
            );
            audit_send(
                engine,
                key,
                order,
                ctx.correlation,
                ctx.actor,
                AuditOutcome::Success,
                message.clone(),
                started,
            )
            .await;
            write_tracking(
                ctx.clients,
                key,
                detail.order_id,
                &created.tracking_id,
                &created.tracking_url,
            )
            .await;
            Ok(Sent {
                result: SentAs::Completed,
                linnworks_id: Some(detail.order_id),
                outcome: outcome(order, "Completed", &message),
            })
        }
        Err(e) => {
            if e.status == Some(429) {
                ctx.clients.stream_throttle.rate_limited(e.retry_after);
            }
            fail(engine, key, order, &e, ctx.correlation, ctx.actor, started).await?;
            Ok(Sent {
                result: SentAs::Failed,
                linnworks_id: Some(detail.order_id),
                outcome: outcome(order, "Failed", &e.to_string()),
            })
        }
    }
}

/// Creates the order in Stream, unless an earlier attempt of this order (a lost reply, or a
/// worker that died mid-send) already did: any order sent before is first looked up by its
/// order number, so Stream never gets it twice.
async fn create_once(
    clients: &Clients,
    request: &CreateOrderRequest,
    attempts: u32,
) -> Result<CreatedOrder, RemoteError> {
    if attempts > 1
        && let Some(existing) = clients.stream.find_order(&request.header.order_no).await?
    {
        return Ok(CreatedOrder {
            order_no: existing.header.order_no,
            consignment_no: existing.header.consignment_no,
            customer_order_no: existing.header.customer_order_no,
            tracking_id: existing.tracking_id,
            tracking_url: existing.tracking_url,
            warnings: Vec::new(),
            recovered: true,
        });
    }
    clients.stream.create_order(request).await
}

async fn fail(
    engine: &Engine,
    key: &InstallationKey,
    order: &Order,
    e: &RemoteError,
    correlation: &str,
    actor: &str,
    started: Instant,
) -> Result<(), JobError> {
    if let Some(claim) = order.claim() {
        let failure = SendFailure {
            http_status: e.status.map(i32::from),
            error: e.to_string(),
        };
        engine.store().fail_claim(&claim, &failure).await?;
    }
    audit_send(
        engine,
        key,
        order,
        correlation,
        actor,
        AuditOutcome::Failure,
        e.to_string(),
        started,
    )
    .await;
    Ok(())
}

/// Tracking number and URL onto a sent order. A write-back failure does not undo the send
/// (the order exists in Stream); it is logged, and a label request or resend writes it again.
async fn write_tracking(
    clients: &Clients,
    key: &InstallationKey,
    order_id: Uuid,
    tracking: &str,
    url: &str,
) {
    let info = UpdateOrderShippingInfoRequest {
        tracking_number: Some(tracking.to_string()),
        ..UpdateOrderShippingInfoRequest::default()
    };
    if let Err(e) = clients
        .linnworks
        .set_order_shipping_info(order_id, &info)
        .await
    {
        tracing::warn!(installation = %key, %order_id, "could not write the tracking number: {e}");
    }
    let props = vec![BasicExtendedProperty {
        name: "StreamTrackingURL".into(),
        value: url.to_string(),
        r#type: "Info".into(),
    }];
    if let Err(e) = clients
        .linnworks
        .add_extended_properties(order_id, props)
        .await
    {
        tracing::warn!(installation = %key, %order_id, "could not write the tracking URL: {e}");
    }
}

/// The status identifiers of a whole batch, one call per tag.
async fn tag(clients: &Clients, key: &InstallationKey, sent: &[Uuid], errored: &[Uuid]) {
    let changes = [
        (true, sent, SENT_TO_STREAM.0),
        (false, sent, ERROR_FROM_STREAM.0),
        (true, errored, ERROR_FROM_STREAM.0),
    ];
    for (assign, ids, tag) in changes {
        if ids.is_empty() {
            continue;
        }
        let result = if assign {
            clients.linnworks.assign_order_identifier(ids, tag).await
        } else {
            clients.linnworks.unassign_order_identifier(ids, tag).await
        };
        if let Err(e) = result {
            tracing::warn!(installation = %key, tag, "could not update identifiers: {e}");
        }
    }
}

fn outcome(order: &Order, status: &str, message: &str) -> OrderOutcome {
    OrderOutcome {
        order_id: order.order_id.clone(),
        status: status.into(),
        message: message.into(),
    }
}

#[allow(clippy::too_many_arguments)]
async fn audit_send(
    engine: &Engine,
    key: &InstallationKey,
    order: &Order,
    correlation: &str,
    actor: &str,
    outcome: AuditOutcome,
    message: String,
    started: Instant,
) {
    engine
        .audit(Audit {
            installation: key,
            order_id: Some(&order.order_id),
            correlation_id: correlation,
            action: AuditAction::Send,
            outcome,
            message,
            started,
            actor,
        })
        .await;
}

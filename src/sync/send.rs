//! The send job: claims queued orders, validates them against the order as Linnworks has
//! it now, creates them in Stream, and writes the result back to Linnworks (tracking number,
//! tracking URL, identifiers). Refusals are recorded with Stream's status and message and
//! retried on later cycles up to MaxRetryAttempts; outages (Stream unreachable, 5xx, 429)
//! put the order back in the queue without using a retry, behind the account's circuit
//! breaker (`sync::breaker`).

use std::collections::HashMap;
use std::time::Instant;

use futures::StreamExt as _;
use serde::Serialize;
use uuid::Uuid;

use crate::config::InstallationConfig;

use crate::domain::InstallationKey;
use crate::domain::{AuditAction, AuditOutcome};
use crate::linnworks::{BasicExtendedProperty, OrderDetails, UpdateOrderShippingInfoRequest};
use crate::remote::RemoteError;
use crate::remote::text::{clean_json, describe_issues};
use crate::store::{Order, SendFailure, SendSuccess};
use crate::stream::{CreateOrderRequest, CreatedOrder};

use super::breaker::{Admission, Breaker, ProbeGuard};
use super::engine::{Audit, Clients, Engine};
use super::errors::ValidationError;
use super::job_error::JobError;
use super::locations;
use super::transform::transform;
use super::validate::validate_order;
use crate::domain::identifiers::{ERROR_FROM_STREAM, SENT_TO_STREAM};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SendSummary {
    /// Failed orders queued again for this cycle.
    pub retried: u64,
    pub claimed: usize,
    pub completed: usize,
    pub failed: usize,
    pub invalid: usize,
    /// Pending write-backs (orders sent earlier) this cycle wrote to Linnworks.
    pub written_back: usize,
    /// Pending write-backs tried again this cycle that are still pending.
    pub write_back_failed: usize,
    /// Claimed orders put back in the queue because Stream (or Linnworks) could not be
    /// reached; they keep their retries and go out when it answers again.
    pub deferred: usize,
    /// Sends to the Stream account are paused by its circuit breaker until then; nothing was
    /// claimed.
    pub paused_until: Option<chrono::DateTime<chrono::Utc>>,
}

impl SendSummary {
    /// The orders of the batch by how they ended, as the `sends` metric counts them.
    pub fn outcomes(&self) -> [(&'static str, usize); 4] {
        [
            ("completed", self.completed),
            ("failed", self.failed),
            ("validation_failed", self.invalid),
            ("deferred", self.deferred),
        ]
    }

    /// Whether the cycle did anything at all.
    pub fn is_empty(&self) -> bool {
        self.claimed == 0 && self.written_back == 0 && self.write_back_failed == 0
    }
}

impl std::fmt::Display for SendSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} claimed ({} queued for retry): {} completed, {} failed, {} failed validation",
            self.claimed, self.retried, self.completed, self.failed, self.invalid
        )?;
        if self.deferred > 0 {
            write!(
                f,
                ", {} back in the queue (remote unavailable; retries not used)",
                self.deferred
            )?;
        }
        if let Some(until) = self.paused_until {
            write!(
                f,
                "; Stream is unavailable: sends paused until {}",
                until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )?;
        }
        if self.written_back + self.write_back_failed > 0 {
            write!(
                f,
                "; earlier write-backs retried: {} written to Linnworks, {} still pending",
                self.written_back, self.write_back_failed
            )?;
        }
        Ok(())
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
    let inst = engine.active_installation(key)?;
    // Scheduled sends honour the flag; manual sends (`sync::manual`) bypass it.
    if !inst.spec.sync.order_sync_enabled {
        return Err(ValidationError::OrderSyncDisabled.into());
    }
    let store = engine.store();
    let installation = key.id();
    // Orders sent earlier whose tracking details never reached Linnworks go first: they are
    // already in Stream, and warehouse staff look for their tracking numbers.
    let write_backs = retry_write_backs(engine, &inst, correlation, actor).await;
    store.release_expired().await?;
    let retried = store
        .promote_failed(&installation, engine.settings().max_retry_attempts)
        .await?;
    // While the account's breaker is open nothing is claimed: the orders wait in the queue
    // with their retries untouched, and the first cycle after the pause probes Stream.
    if let Admission::Open { until } = engine.breaker(&inst).peek() {
        return Ok(SendSummary {
            retried,
            written_back: write_backs.written,
            write_back_failed: write_backs.pending,
            paused_until: Some(until),
            ..SendSummary::default()
        });
    }
    // A stopping process takes no new work: the next process will.
    let claimed = if engine.stop().is_stopping() {
        Vec::new()
    } else {
        store
            .claim(
                &installation,
                engine.settings().max_batch_size_per_installation,
                engine.worker_id(),
                engine.lease(),
            )
            .await?
    };
    let (mut summary, _) = send_claimed(engine, &inst, claimed, correlation, actor).await?;
    summary.retried = retried;
    summary.written_back = write_backs.written;
    summary.write_back_failed = write_backs.pending;
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
    // Without clients, or without the orders as Linnworks has them now, nothing is sent:
    // every order goes back to the queue (Linnworks unavailable) or fails this attempt.
    let prepared = match engine.clients(inst) {
        Ok(clients) => match details_of(&clients, &claimed, true).await {
            // Warehouse-mapping entries given by name are matched against Linnworks'
            // locations, read once per batch.
            Ok(details) if locations::needs_location_names(inst) => clients
                .linnworks
                .get_stock_locations()
                .await
                .map(|known| (clients, details, Some(known))),
            Ok(details) => Ok((clients, details, None)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (clients, details, known_locations) = match prepared {
        Ok(p) => p,
        Err(e) if e.is_transient() => {
            // Linnworks is down or overloaded: the orders wait, their retries untouched.
            for order in &claimed {
                let status =
                    defer(engine, key, order, &e, correlation, actor, Instant::now()).await?;
                outcomes.push(outcome(order, status, &e.to_string()));
            }
            summary.deferred = claimed.len();
            crate::observe::metrics::sends(&key.id(), &summary.outcomes());
            return Ok((summary, outcomes));
        }
        Err(e) => {
            for order in &claimed {
                fail(engine, key, order, &e, correlation, actor, Instant::now()).await?;
                outcomes.push(outcome(order, "Failed", &e.to_string()));
            }
            summary.failed = claimed.len();
            crate::observe::metrics::sends(&key.id(), &summary.outcomes());
            return Ok((summary, outcomes));
        }
    };
    let depots = store.depots(&key.id()).await?.items;
    let breaker = engine.breaker(inst);
    let ctx = SendContext {
        engine,
        inst,
        clients: &clients,
        details: &details,
        depots: &depots,
        known_locations: known_locations.as_deref(),
        breaker: &breaker,
        today: chrono::Utc::now().date_naive(),
        correlation,
        actor,
    };
    let mut results: Vec<Result<Sent, JobError>> = Vec::new();
    let mut rest: &[Order] = &claimed;
    // After a pause one order probes Stream on its own (orders that never reach Stream, such
    // as invalid ones, pass the probe on); the rest follow only if Stream answered.
    let mut probe = match breaker.admit() {
        Admission::Probe(guard) => Some(guard),
        Admission::Closed | Admission::Open { .. } => None,
    };
    while probe.is_some()
        && let Some((order, others)) = rest.split_first()
    {
        rest = others;
        let span = tracing::info_span!("order", order_id = %order.order_id, probe = true);
        let sent = tracing::Instrument::instrument(send_one(&ctx, order, &mut probe), span);
        results.push(sent.await);
    }
    // Orders of a batch go out side by side: with remote latency, one at a time could not
    // come near the rate limits; the Stream throttle and the clients' 429 handling keep
    // them within.
    // Built eagerly: a stream combinator closure borrowing `ctx` would make this future
    // not `Send`-general enough to be spawned.
    // Each order's lines carry its id (inside the job span's installation and correlation).
    let ctx = &ctx;
    let sends: Vec<_> = rest
        .iter()
        .map(|order| {
            let span = tracing::info_span!("order", order_id = %order.order_id);
            tracing::Instrument::instrument(
                async move { send_one(ctx, order, &mut None).await },
                span,
            )
        })
        .collect();
    let mut batch: Vec<Result<Sent, JobError>> = futures::stream::iter(sends)
        .buffer_unordered(SEND_CONCURRENCY)
        .collect()
        .await;
    results.append(&mut batch);
    let mut tagged_sent = Vec::new();
    let mut errored = Vec::new();
    // Completed orders whose tracking number and URL reached Linnworks: written back once
    // their identifiers are set too.
    let mut written = Vec::new();
    for result in results {
        let sent = result?;
        match sent.result {
            SentAs::Completed => {
                summary.completed += 1;
                tagged_sent.extend(sent.linnworks_id);
                if sent.tracking_written {
                    written.push(sent.outcome.order_id.clone());
                }
            }
            SentAs::Failed => {
                summary.failed += 1;
                errored.extend(sent.linnworks_id);
            }
            SentAs::Invalid => {
                summary.invalid += 1;
                errored.extend(sent.linnworks_id);
            }
            SentAs::Deferred => summary.deferred += 1,
        }
        outcomes.push(sent.outcome);
    }
    let tags = tag(&clients, key, &tagged_sent, &errored).await;
    if tags.sent_ok() {
        for order_id in &written {
            mark_written_back(engine, key, order_id).await;
        }
    } else if !written.is_empty() {
        tracing::warn!(installation = %key, orders = written.len(), "identifiers not set; the write-back stays pending and a later send cycle retries it");
    }
    crate::observe::metrics::sends(&key.id(), &summary.outcomes());
    Ok((summary, outcomes))
}

/// Records a finished write-back; a store failure leaves it pending (a later cycle finds
/// everything in place and records it then).
async fn mark_written_back(engine: &Engine, key: &InstallationKey, order_id: &str) {
    match engine.store().mark_written_back(&key.id(), order_id).await {
        Ok(_) => tracing::info!(
            order_id,
            "write-back: tracking and identifiers are in Linnworks"
        ),
        Err(e) => {
            tracing::warn!(installation = %key, order_id, "could not record the write-back: {e}")
        }
    }
}

/// The orders as Linnworks has them now.
struct Details {
    /// By order id; orders Linnworks no longer has (or sent unreadable) are absent. Text the
    /// store could not hold is cleaned (see `remote::text`).
    orders: HashMap<String, OrderDetails>,
    /// Orders whose data had to be cleaned or could not be read, with what was wrong: they
    /// are not sent as they are.
    problems: HashMap<String, String>,
    /// Each order's packaging as Linnworks has it (split bins, item dimensions), by order id.
    packaging: HashMap<String, crate::linnworks::CalcOrderHeader>,
}

impl std::ops::Deref for Details {
    type Target = HashMap<String, OrderDetails>;

    fn deref(&self) -> &Self::Target {
        &self.orders
    }
}

/// Reads the orders from Linnworks, each judged on its own: one order with data the store
/// cannot hold, or that does not decode, must not stop the rest of the batch.
/// With `packaging`, also each order's packaging (what a send needs and a write-back does
/// not).
async fn details_of(
    clients: &Clients,
    orders: &[Order],
    packaging: bool,
) -> Result<Details, RemoteError> {
    let ids: Vec<Uuid> = orders
        .iter()
        .filter_map(|o| Uuid::parse_str(&o.order_id).ok())
        .collect();
    let values = clients.linnworks.get_order_values_by_id(&ids).await?;
    let mut details = Details {
        orders: HashMap::new(),
        problems: HashMap::new(),
        packaging: HashMap::new(),
    };
    // An outage waits like one of GetOrdersById; a refusal (an account without the
    // packaging permission, say) sends the orders as one package each, without dimensions
    // from the packaging calculation.
    let packaging = if packaging {
        clients.linnworks.get_order_packaging(&ids).await
    } else {
        Ok(Vec::new())
    };
    match packaging {
        Ok(list) => {
            details.packaging = list
                .into_iter()
                .map(|p| (p.order_id.to_string(), p))
                .collect();
        }
        Err(e) if e.is_transient() => return Err(e),
        Err(e) => tracing::warn!(
            "Linnworks refused the orders' packaging; they are sent as one package each: {e}"
        ),
    }
    for mut value in values {
        let id = value["OrderId"]
            .as_str()
            .and_then(|s| Uuid::parse_str(s).ok())
            .map(|id| id.to_string());
        let issues = clean_json(&mut value);
        match serde_json::from_value::<OrderDetails>(value) {
            Ok(detail) => {
                let id = detail.order_id.to_string();
                if !issues.is_empty() {
                    details
                        .problems
                        .insert(id.clone(), describe_issues(&issues));
                }
                details.orders.insert(id, detail);
            }
            Err(e) => {
                let Some(id) = id else {
                    tracing::warn!("Linnworks sent an order without a readable OrderId: {e}");
                    continue;
                };
                details.problems.insert(
                    id,
                    format!("Linnworks sent an order that cannot be read: {e}"),
                );
            }
        }
    }
    Ok(details)
}

/// At most this many orders of one installation are in flight at once.
pub const SEND_CONCURRENCY: usize = 16;

struct SendContext<'a> {
    engine: &'a Engine,
    inst: &'a InstallationConfig,
    clients: &'a Clients,
    details: &'a Details,
    depots: &'a [crate::store::Depot],
    /// Linnworks' locations, when a warehouse-mapping entry is given by name.
    known_locations: Option<&'a [crate::linnworks::StockLocation]>,
    breaker: &'a Breaker,
    today: chrono::NaiveDate,
    correlation: &'a str,
    actor: &'a str,
}

enum SentAs {
    Completed,
    Failed,
    Invalid,
    /// Stream could not be reached (or its breaker is open): back in the queue.
    Deferred,
}

struct Sent {
    result: SentAs,
    linnworks_id: Option<Uuid>,
    outcome: OrderOutcome,
    /// Completed and its tracking number and URL are in Linnworks.
    tracking_written: bool,
}

/// Sends one claimed order and records the result; the order's claim ends here. With a
/// `probe` permit the order is the breaker's probe: the permit is used up when the order
/// reaches Stream, and left for the next order otherwise.
async fn send_one(
    ctx: &SendContext<'_>,
    order: &Order,
    probe: &mut Option<ProbeGuard>,
) -> Result<Sent, JobError> {
    let started = Instant::now();
    let (engine, key, store) = (ctx.engine, &ctx.inst.key, ctx.engine.store());
    let invalid = |e: String, id: Option<Uuid>| Sent {
        result: SentAs::Invalid,
        linnworks_id: id,
        outcome: outcome(order, "Validation Failed", &e),
        tracking_written: false,
    };
    let Some(claim) = order.claim() else {
        return Ok(invalid("the order is not claimed".into(), None));
    };
    if let Some(problem) = ctx.details.problems.get(&order.order_id) {
        let e = ValidationError::InvalidOrderData(problem.clone()).to_string();
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
        let id = ctx.details.get(&order.order_id).map(|d| d.order_id);
        return Ok(invalid(e, id));
    }
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
    // The warehouse mapping comes before the postal service mapping's depot, method and
    // stock location.
    let resolved = validate_order(
        ctx.inst,
        &detail.shipping_info,
        &detail.customer_info,
        Some(ctx.depots),
    )
    .and_then(|mapping| {
        locations::resolve(
            ctx.inst,
            mapping,
            locations::order_location(detail),
            ctx.known_locations,
            ctx.depots,
        )
    });
    let (chosen, mapping) = match resolved {
        Ok(r) => r,
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
    let request = transform(
        ctx.inst,
        &mapping,
        detail,
        ctx.details.packaging.get(&order.order_id),
        ctx.today,
    );
    if probe.is_none() && ctx.breaker.is_open() {
        // The account went down while this batch was out (or a probe is deciding): this
        // order waits instead of adding to the failures.
        let paused = RemoteError::request(
            "Stream",
            "orders/create",
            "not sent: Stream is unavailable and sends to the account are paused",
        );
        let status = defer(
            engine,
            key,
            order,
            &paused,
            ctx.correlation,
            ctx.actor,
            started,
        )
        .await?;
        return Ok(deferred(order, status, &paused));
    }
    ctx.clients.stream_throttle.acquire().await;
    if !engine.stop().stream_call_starts(order.id) {
        // The process is stopping and has handed this claim back untouched: the next
        // process sends it. Not tagged: nothing went wrong with the order.
        return Ok(Sent {
            result: SentAs::Deferred,
            linnworks_id: None,
            outcome: outcome(order, "Pending", "not sent: the process stopped first"),
            tracking_written: false,
        });
    }
    let result = create_once(ctx.clients, &request, order.attempts).await;
    let reached = result.as_ref().map(|_| ());
    match probe.take() {
        Some(guard) => guard.record(reached),
        None => ctx.breaker.record(reached),
    }
    match result {
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
            engine.stop().stream_call_recorded(order.id);
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
                "created {kind} order {}{}: consignment {}, tracking {}{recovered}",
                created.order_no,
                chosen.describe(),
                created.consignment_no,
                created.tracking_id
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
            let written = write_tracking(
                ctx.clients,
                detail,
                &created.tracking_id,
                &created.tracking_url,
            )
            .await;
            if let Err(e) = &written {
                tracing::warn!(installation = %key, order_id = %detail.order_id, "{e}; the write-back stays pending and a later send cycle retries it");
            }
            Ok(Sent {
                result: SentAs::Completed,
                linnworks_id: Some(detail.order_id),
                outcome: outcome(order, "Completed", &message),
                tracking_written: written.is_ok(),
            })
        }
        Err(e) if e.is_transient() => {
            if e.status == Some(429) {
                ctx.clients.stream_throttle.rate_limited(e.retry_after);
            }
            // An outage, not a refusal: the order waits in the queue with its retries
            // untouched and without "Error from Stream".
            let status = defer(engine, key, order, &e, ctx.correlation, ctx.actor, started).await?;
            engine.stop().stream_call_recorded(order.id);
            Ok(deferred(order, status, &e))
        }
        Err(e) => {
            fail(engine, key, order, &e, ctx.correlation, ctx.actor, started).await?;
            engine.stop().stream_call_recorded(order.id);
            Ok(Sent {
                result: SentAs::Failed,
                linnworks_id: Some(detail.order_id),
                outcome: outcome(order, "Failed", &e.to_string()),
                tracking_written: false,
            })
        }
    }
}

fn deferred(order: &Order, status: &str, e: &RemoteError) -> Sent {
    Sent {
        result: SentAs::Deferred,
        linnworks_id: None,
        outcome: outcome(order, status, &e.to_string()),
        tracking_written: false,
    }
}

/// Puts a claimed order back in the queue because a remote could not be reached; audited,
/// and not counted against MaxRetryAttempts. Returns the status it is back in.
async fn defer(
    engine: &Engine,
    key: &InstallationKey,
    order: &Order,
    e: &RemoteError,
    correlation: &str,
    actor: &str,
    started: Instant,
) -> Result<&'static str, JobError> {
    let mut status = crate::domain::OrderStatus::Pending.label();
    if let Some(claim) = order.claim() {
        let failure = SendFailure {
            http_status: e.status.map(i32::from),
            error: e.to_string(),
        };
        status = engine
            .store()
            .defer_claim(&claim, &failure)
            .await?
            .status
            .label();
    }
    audit_send(
        engine,
        key,
        order,
        correlation,
        actor,
        AuditOutcome::Skipped,
        format!(
            "not sent, back in the queue: {e}; it goes out when the remote answers again (this does not use up MaxRetryAttempts)"
        ),
        started,
    )
    .await;
    Ok(status)
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

/// The name of the extended property that holds the Stream tracking link.
pub const TRACKING_URL_PROPERTY: &str = "StreamTrackingURL";

/// Tracking number and URL onto a sent order, as Linnworks had it when `detail` was read;
/// parts Linnworks already has are not written again. Both are tried; the error names each
/// part that failed. A failure does not undo the send (the order exists in Stream): the
/// order's write-back stays pending and a later send cycle retries it.
async fn write_tracking(
    clients: &Clients,
    detail: &OrderDetails,
    tracking: &str,
    url: &str,
) -> Result<(), String> {
    let mut problems = Vec::new();
    let current = detail
        .shipping_info
        .tracking_number
        .as_deref()
        .unwrap_or("");
    if !tracking.trim().is_empty() && current.trim() != tracking.trim() {
        let info = UpdateOrderShippingInfoRequest {
            tracking_number: Some(tracking.to_string()),
            ..UpdateOrderShippingInfoRequest::from_current(&detail.shipping_info)
        };
        if let Err(e) = clients
            .linnworks
            .set_order_shipping_info(detail.order_id, &info)
            .await
        {
            problems.push(format!("could not write the tracking number: {e}"));
        }
    }
    let has_url = detail
        .extended_properties
        .iter()
        .any(|p| p.name == TRACKING_URL_PROPERTY && p.value == url);
    if !url.trim().is_empty() && !has_url {
        let props = vec![BasicExtendedProperty {
            name: TRACKING_URL_PROPERTY.into(),
            value: url.to_string(),
            r#type: "Info".into(),
        }];
        if let Err(e) = clients
            .linnworks
            .add_extended_properties(detail.order_id, props)
            .await
        {
            problems.push(format!("could not write the tracking URL: {e}"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Which identifier changes of a batch failed.
#[derive(Default)]
struct TagResult {
    /// Why "Sent to Stream" could not be assigned or "Error from Stream" unassigned.
    sent_failed: Option<String>,
}

impl TagResult {
    fn sent_ok(&self) -> bool {
        self.sent_failed.is_none()
    }
}

/// The status identifiers of a whole batch, one call per tag.
async fn tag(
    clients: &Clients,
    key: &InstallationKey,
    sent: &[Uuid],
    errored: &[Uuid],
) -> TagResult {
    let mut result = TagResult::default();
    // (assign or unassign, orders, tag, whether it is part of the sent orders' write-back)
    let changes = [
        (true, sent, SENT_TO_STREAM.0, true),
        (false, sent, ERROR_FROM_STREAM.0, true),
        (true, errored, ERROR_FROM_STREAM.0, false),
    ];
    for (assign, ids, tag, write_back) in changes {
        if ids.is_empty() {
            continue;
        }
        let done = if assign {
            clients.linnworks.assign_order_identifier(ids, tag).await
        } else {
            clients.linnworks.unassign_order_identifier(ids, tag).await
        };
        if let Err(e) = done {
            tracing::warn!(installation = %key, tag, "could not update identifiers: {e}");
            if write_back && result.sent_failed.is_none() {
                let verb = if assign { "assign" } else { "unassign" };
                result.sent_failed = Some(format!("could not {verb} identifier {tag}: {e}"));
            }
        }
    }
    result
}

/// What retrying the pending write-backs of one installation did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WriteBackSummary {
    /// Written to Linnworks (or found there already), now recorded as written back.
    pub written: usize,
    /// Tried and failed; still pending.
    pub pending: usize,
    /// The order is gone from Linnworks or processed there: nothing left to write to.
    pub skipped: usize,
}

/// Retries the write-backs of `inst`'s Completed orders whose tracking details never reached
/// Linnworks (the write-back after the send failed, or the worker died before it), up to
/// MaxBatchSizePerInstallation of them. Only orders untouched for a claim lease are taken, so
/// a write-back another worker is still doing is not duplicated. Every order is audited
/// (`Write Back`); failures stay pending for a later cycle and never fail the caller.
pub async fn retry_write_backs(
    engine: &Engine,
    inst: &InstallationConfig,
    correlation: &str,
    actor: &str,
) -> WriteBackSummary {
    let key = &inst.key;
    let taken = engine
        .store()
        .take_pending_write_backs(
            &key.id(),
            engine.lease(),
            engine.settings().max_batch_size_per_installation,
        )
        .await;
    match taken {
        Ok(orders) => write_back(engine, inst, orders, correlation, actor).await,
        Err(e) => {
            tracing::warn!(installation = %key, "could not read the pending write-backs: {e}");
            WriteBackSummary::default()
        }
    }
}

/// Writes the tracking number, tracking URL and "Sent to Stream" identifier of Completed
/// `orders` to Linnworks, checking first what Linnworks already has so nothing is written
/// twice, and records each order that ends fully written back. Audited per order.
pub async fn write_back(
    engine: &Engine,
    inst: &InstallationConfig,
    orders: Vec<Order>,
    correlation: &str,
    actor: &str,
) -> WriteBackSummary {
    let mut summary = WriteBackSummary::default();
    if orders.is_empty() {
        return summary;
    }
    let started = Instant::now();
    let key = &inst.key;
    let audit = |order: &Order, outcome: AuditOutcome, message: String| {
        let order_id = order.order_id.clone();
        async move {
            engine
                .audit(Audit {
                    installation: key,
                    order_id: Some(&order_id),
                    correlation_id: correlation,
                    action: AuditAction::WriteBack,
                    outcome,
                    message,
                    started,
                    actor,
                })
                .await;
        }
    };
    let retry_note = format!(
        "; still pending, retried by a send cycle in {} s or later",
        engine.lease().as_secs()
    );
    let everyone_failed = |e: String| {
        let orders = &orders;
        let retry_note = &retry_note;
        async move {
            for order in orders {
                audit(
                    order,
                    AuditOutcome::Failure,
                    format!("retried write-back to Linnworks failed: {e}{retry_note}"),
                )
                .await;
            }
        }
    };
    let clients = match engine.clients(inst) {
        Ok(c) => c,
        Err(e) => {
            everyone_failed(e.to_string()).await;
            summary.pending = orders.len();
            return summary;
        }
    };
    let details = match details_of(&clients, &orders, false).await {
        Ok(d) => d,
        Err(e) => {
            everyone_failed(format!("could not read the orders from Linnworks: {e}")).await;
            summary.pending = orders.len();
            return summary;
        }
    };
    // Tracking number and URL, order by order (side by side, as sends go).
    let writes: Vec<_> = orders
        .iter()
        .map(|order| {
            let detail = details.get(&order.order_id);
            let unreadable = details
                .problems
                .get(&order.order_id)
                .filter(|_| detail.is_none());
            let clients = &clients;
            async move {
                if let Some(problem) = unreadable {
                    return Err(Some(problem.clone()));
                }
                let Some(detail) = detail else {
                    return Err(None);
                };
                if detail.processed {
                    return Err(None);
                }
                write_tracking(
                    clients,
                    detail,
                    order.tracking_number.as_deref().unwrap_or(""),
                    order.tracking_url.as_deref().unwrap_or(""),
                )
                .await
                .map_err(Some)
            }
        })
        .collect();
    let written: Vec<Result<(), Option<String>>> = futures::stream::iter(writes)
        .buffered(SEND_CONCURRENCY)
        .collect()
        .await;
    // Then the identifiers of those written, one call per change.
    let has_tag = |order: &Order, tag: &str| {
        details.get(&order.order_id).is_some_and(|d| {
            d.general_info
                .identifiers
                .iter()
                .any(|i| i.tag.eq_ignore_ascii_case(tag))
        })
    };
    let ok: Vec<&Order> = orders
        .iter()
        .zip(&written)
        .filter(|(_, w)| w.is_ok())
        .map(|(o, _)| o)
        .collect();
    let uuid = |o: &&Order| Uuid::parse_str(&o.order_id).ok();
    let to_assign: Vec<Uuid> = ok
        .iter()
        .filter(|o| !has_tag(o, SENT_TO_STREAM.0))
        .filter_map(uuid)
        .collect();
    let to_unassign: Vec<Uuid> = ok
        .iter()
        .filter(|o| has_tag(o, ERROR_FROM_STREAM.0))
        .filter_map(uuid)
        .collect();
    let mut tag_failure = None;
    if !to_assign.is_empty()
        && let Err(e) = clients
            .linnworks
            .assign_order_identifier(&to_assign, SENT_TO_STREAM.0)
            .await
    {
        tag_failure = Some(format!(
            "could not assign identifier {}: {e}",
            SENT_TO_STREAM.0
        ));
    }
    if tag_failure.is_none()
        && !to_unassign.is_empty()
        && let Err(e) = clients
            .linnworks
            .unassign_order_identifier(&to_unassign, ERROR_FROM_STREAM.0)
            .await
    {
        tag_failure = Some(format!(
            "could not unassign identifier {}: {e}",
            ERROR_FROM_STREAM.0
        ));
    }
    for (order, result) in orders.iter().zip(written) {
        let tracking = order.tracking_number.as_deref().unwrap_or("");
        match result {
            Err(None) => {
                let why = if details.contains_key(&order.order_id) {
                    "the order is processed in Linnworks, which no longer accepts changes to it"
                } else {
                    "Linnworks no longer has the order"
                };
                summary.skipped += 1;
                mark_written_back(engine, key, &order.order_id).await;
                audit(
                    order,
                    AuditOutcome::Skipped,
                    format!("retried write-back of tracking {tracking} skipped: {why}"),
                )
                .await;
            }
            Err(Some(e)) => {
                summary.pending += 1;
                audit(
                    order,
                    AuditOutcome::Failure,
                    format!("retried write-back to Linnworks failed: {e}{retry_note}"),
                )
                .await;
            }
            Ok(()) => {
                if let Some(e) = &tag_failure {
                    summary.pending += 1;
                    audit(
                        order,
                        AuditOutcome::Failure,
                        format!(
                            "retried write-back: tracking {tracking} and its URL are in Linnworks, but {e}{retry_note}"
                        ),
                    )
                    .await;
                    continue;
                }
                summary.written += 1;
                mark_written_back(engine, key, &order.order_id).await;
                audit(
                    order,
                    AuditOutcome::Success,
                    format!(
                        "retried write-back: tracking {tracking}, its {TRACKING_URL_PROPERTY} and the {} identifier are in Linnworks",
                        SENT_TO_STREAM.1
                    ),
                )
                .await;
            }
        }
    }
    summary
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
    tracing::info!(order_id = %order.order_id, num_order_id = order.num_order_id, outcome = ?outcome, "send: {message}");
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

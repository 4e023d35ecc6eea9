//! The send job: claims queued orders, validates them against the order as Linnworks has
//! it now, creates them in Stream, and writes the result back to Linnworks (tracking number,
//! tracking URL, identifiers). Refusals are recorded with Stream's status and message and
//! retried on later cycles up to MaxRetryAttempts; outages (Stream unreachable, 5xx, 429)
//! put the order back in the queue without using a retry, behind the account's circuit
//! breaker (`sync::breaker`).

use std::time::Instant;

use futures::StreamExt as _;
use serde::Serialize;
use uuid::Uuid;

use crate::config::InstallationConfig;
use crate::domain::{AuditAction, AuditOutcome};
use crate::linnworks::{OrderDetails, StockLocation};
use crate::remote::RemoteError;
use crate::store::{Order, OrderClaim, SendFailure, SendSuccess};
use crate::stream::{CreateOrderRequest, CreatedOrder};

use super::breaker::{Admission, Breaker, ProbeGuard};
use super::engine::{Clients, Engine};
use super::job_error::JobError;
use super::locations;
use super::order_details::{Details, SEND_CONCURRENCY, details_of};
use super::run_context::RunContext;
use super::transform::transform;
use super::validation::ValidationError;
use super::validation::validate_order;
use super::write_back::{self, retry_write_backs, write_tracking};

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
pub async fn send_cycle(run: &RunContext) -> Result<SendSummary, JobError> {
    let engine = run.engine();
    let inst = engine.active_installation(run.key())?;
    // Scheduled sends honour the flag; manual sends (`sync::manual`) bypass it.
    if !inst.spec.sync.order_sync_enabled {
        return Err(ValidationError::OrderSyncDisabled.into());
    }
    let store = engine.store();
    let installation = run.key().id();
    // Orders sent earlier whose tracking details never reached Linnworks go first: they are
    // already in Stream, and warehouse staff look for their tracking numbers.
    let write_backs = retry_write_backs(run, &inst).await;
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
    let (mut summary, _) = send_claimed(run, &inst, claimed).await?;
    summary.retried = retried;
    summary.written_back = write_backs.written;
    summary.write_back_failed = write_backs.pending;
    Ok(summary)
}

/// Sends orders this worker has claimed. Every claimed order ends Completed, Failed or
/// Validation Failed; none is left In Progress (a crash leaves it to lease expiry).
pub async fn send_claimed(
    run: &RunContext,
    inst: &InstallationConfig,
    claimed: Vec<Order>,
) -> Result<(SendSummary, Vec<OrderOutcome>), JobError> {
    let mut summary = SendSummary {
        claimed: claimed.len(),
        ..SendSummary::default()
    };
    if claimed.is_empty() {
        return Ok((summary, Vec::new()));
    }
    let engine = run.engine();
    let key = &inst.key;
    // Without clients, or without the orders as Linnworks has them now, nothing is sent:
    // every order goes back to the queue (Linnworks unavailable) or fails this attempt.
    let (clients, details, known_locations) = match read_batch(engine, inst, &claimed).await {
        Ok(read) => read,
        Err(e) => return unsent(run, &claimed, &e, summary).await,
    };
    let depots = engine.store().depots(&key.id()).await?.items;
    let breaker = engine.breaker(inst);
    let batch = Batch {
        run,
        inst,
        clients: &clients,
        details: &details,
        depots: &depots,
        known_locations: known_locations.as_deref(),
        breaker: &breaker,
        today: chrono::Utc::now().date_naive(),
    };
    let results = batch.send_all(&claimed).await;
    let mut outcomes = Vec::new();
    let tagging = tally(results, &mut summary, &mut outcomes)?;
    write_back::finish_batch(
        engine,
        &clients,
        key,
        &tagging.sent,
        &tagging.errored,
        &tagging.written,
    )
    .await;
    crate::observe::metrics::sends(&key.id(), &summary.outcomes());
    Ok((summary, outcomes))
}

/// The batch's clients, its orders as Linnworks has them now, and Linnworks' locations when
/// warehouse-mapping entries are given by name (matched against them, read once per batch).
async fn read_batch(
    engine: &Engine,
    inst: &InstallationConfig,
    claimed: &[Order],
) -> Result<(Clients, Details, Option<Vec<StockLocation>>), RemoteError> {
    let clients = engine.clients(inst)?;
    let details = details_of(&clients, claimed, true).await?;
    let known_locations = if locations::needs_location_names(inst) {
        Some(clients.linnworks.get_stock_locations().await?)
    } else {
        None
    };
    Ok((clients, details, known_locations))
}

/// Ends the claims of a batch that cannot be sent because its orders could not be read: when
/// Linnworks is down or overloaded the orders wait, their retries untouched; else each fails
/// this attempt.
async fn unsent(
    run: &RunContext,
    claimed: &[Order],
    e: &RemoteError,
    mut summary: SendSummary,
) -> Result<(SendSummary, Vec<OrderOutcome>), JobError> {
    let mut outcomes = Vec::new();
    for order in claimed {
        let status = if e.is_transient() {
            defer(run, order, e, Instant::now()).await?
        } else {
            fail(run, order, e, Instant::now()).await?;
            "Failed"
        };
        outcomes.push(outcome(order, status, &e.to_string()));
    }
    if e.is_transient() {
        summary.deferred = claimed.len();
    } else {
        summary.failed = claimed.len();
    }
    crate::observe::metrics::sends(&run.key().id(), &summary.outcomes());
    Ok((summary, outcomes))
}

/// The identifier changes a sent batch asks for, and the write-backs it finished.
#[derive(Default)]
struct Tagging {
    /// Completed: "Sent to Stream" on, "Error from Stream" off.
    sent: Vec<Uuid>,
    /// Failed or invalid: "Error from Stream" on.
    errored: Vec<Uuid>,
    /// Completed orders whose tracking number and URL reached Linnworks: written back once
    /// their identifiers are set too.
    written: Vec<String>,
}

/// Counts the batch's results into `summary` and its outcomes into `outcomes`; the first
/// store failure ends the batch.
fn tally(
    results: Vec<Result<Sent, JobError>>,
    summary: &mut SendSummary,
    outcomes: &mut Vec<OrderOutcome>,
) -> Result<Tagging, JobError> {
    let mut tagging = Tagging::default();
    for result in results {
        let sent = result?;
        match sent.result {
            SentAs::Completed => {
                summary.completed += 1;
                tagging.sent.extend(sent.linnworks_id);
                if sent.tracking_written {
                    tagging.written.push(sent.outcome.order_id.clone());
                }
            }
            SentAs::Failed => {
                summary.failed += 1;
                tagging.errored.extend(sent.linnworks_id);
            }
            SentAs::Invalid => {
                summary.invalid += 1;
                tagging.errored.extend(sent.linnworks_id);
            }
            SentAs::Deferred => summary.deferred += 1,
        }
        outcomes.push(sent.outcome);
    }
    Ok(tagging)
}

/// One claimed batch on its way to Stream: its run, and what its orders are judged and sent
/// with (read once per batch).
struct Batch<'a> {
    run: &'a RunContext,
    inst: &'a InstallationConfig,
    clients: &'a Clients,
    details: &'a Details,
    depots: &'a [crate::store::Depot],
    /// Linnworks' locations, when a warehouse-mapping entry is given by name.
    known_locations: Option<&'a [StockLocation]>,
    breaker: &'a Breaker,
    today: chrono::NaiveDate,
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

/// An order ready to go to Stream: as Linnworks has it, the request it becomes, and where it
/// ships from (for the audit).
struct Ready<'a> {
    detail: &'a OrderDetails,
    request: CreateOrderRequest,
    placed: String,
}

impl Batch<'_> {
    /// Sends every order of the batch; one result per order, in no particular order.
    async fn send_all(&self, claimed: &[Order]) -> Vec<Result<Sent, JobError>> {
        let mut results: Vec<Result<Sent, JobError>> = Vec::new();
        let mut rest: &[Order] = claimed;
        // After a pause one order probes Stream on its own (orders that never reach Stream,
        // such as invalid ones, pass the probe on); the rest follow only if Stream answered.
        let mut probe = match self.breaker.admit() {
            Admission::Probe(guard) => Some(guard),
            Admission::Closed | Admission::Open { .. } => None,
        };
        while probe.is_some()
            && let Some((order, others)) = rest.split_first()
        {
            rest = others;
            let span = tracing::info_span!("order", order_id = %order.order_id, probe = true);
            let sent = tracing::Instrument::instrument(self.send_one(order, &mut probe), span);
            results.push(sent.await);
        }
        // Orders of a batch go out side by side: with remote latency, one at a time could not
        // come near the rate limits; the Stream throttle and the clients' 429 handling keep
        // them within.
        // Built eagerly: a stream combinator closure borrowing the batch would make this
        // future not `Send`-general enough to be spawned.
        // Each order's lines carry its id (inside the job span's installation and
        // correlation).
        let sends: Vec<_> = rest
            .iter()
            .map(|order| {
                let span = tracing::info_span!("order", order_id = %order.order_id);
                tracing::Instrument::instrument(
                    async move { self.send_one(order, &mut None).await },
                    span,
                )
            })
            .collect();
        let mut batch: Vec<Result<Sent, JobError>> = futures::stream::iter(sends)
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        results.append(&mut batch);
        results
    }

    /// Sends one claimed order and records the result; the order's claim ends here. With a
    /// `probe` permit the order is the breaker's probe: the permit is used up when the order
    /// reaches Stream, and left for the next order otherwise.
    async fn send_one(
        &self,
        order: &Order,
        probe: &mut Option<ProbeGuard>,
    ) -> Result<Sent, JobError> {
        let started = Instant::now();
        let engine = self.run.engine();
        let Some(claim) = order.claim() else {
            return Ok(invalid(order, "the order is not claimed".into(), None));
        };
        let ready = match self.prepare(order) {
            Ok(ready) => ready,
            Err((e, id)) => return self.refuse(order, &claim, e, id, started).await,
        };
        if probe.is_none() && self.breaker.is_open() {
            // The account went down while this batch was out (or a probe is deciding): this
            // order waits instead of adding to the failures.
            let paused = RemoteError::request(
                "Stream",
                "orders/create",
                "not sent: Stream is unavailable and sends to the account are paused",
            );
            let status = defer(self.run, order, &paused, started).await?;
            return Ok(deferred(order, status, &paused));
        }
        self.clients.stream_throttle.acquire().await;
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
        let result = create_once(self.clients, &ready.request, order.attempts).await;
        let reached = result.as_ref().map(|_| ());
        match probe.take() {
            Some(guard) => guard.record(reached),
            None => self.breaker.record(reached),
        }
        match result {
            Ok(created) => self.created(order, &claim, &ready, created, started).await,
            Err(e) if e.is_transient() => {
                if e.status == Some(429) {
                    self.clients.stream_throttle.rate_limited(e.retry_after);
                }
                // An outage, not a refusal: the order waits in the queue with its retries
                // untouched and without "Error from Stream".
                let status = defer(self.run, order, &e, started).await?;
                engine.stop().stream_call_recorded(order.id);
                Ok(deferred(order, status, &e))
            }
            Err(e) => {
                fail(self.run, order, &e, started).await?;
                engine.stop().stream_call_recorded(order.id);
                Ok(Sent {
                    result: SentAs::Failed,
                    linnworks_id: Some(ready.detail.order_id),
                    outcome: outcome(order, "Failed", &e.to_string()),
                    tracking_written: false,
                })
            }
        }
    }

    /// The order checked against Linnworks' copy and turned into Stream's request; or why it
    /// cannot be sent, with its Linnworks id when known. The warehouse mapping comes before
    /// the postal service mapping's depot, method and stock location.
    fn prepare(&self, order: &Order) -> Result<Ready<'_>, (String, Option<Uuid>)> {
        if let Some(problem) = self.details.problems.get(&order.order_id) {
            let e = ValidationError::InvalidOrderData(problem.clone()).to_string();
            let id = self.details.get(&order.order_id).map(|d| d.order_id);
            return Err((e, id));
        }
        let Some(detail) = self.details.get(&order.order_id) else {
            return Err((ValidationError::OrderNotFoundInLinnworks.to_string(), None));
        };
        let resolved = validate_order(
            self.inst,
            &detail.shipping_info,
            &detail.customer_info,
            Some(self.depots),
        )
        .and_then(|mapping| {
            locations::resolve(
                self.inst,
                mapping,
                locations::order_location(detail),
                self.known_locations,
                self.depots,
            )
        });
        let (chosen, mapping) = resolved.map_err(|e| (e.to_string(), Some(detail.order_id)))?;
        let request = transform(
            self.inst,
            &mapping,
            detail,
            self.details.packaging.get(&order.order_id),
            self.today,
        );
        Ok(Ready {
            detail,
            request,
            placed: chosen.describe(),
        })
    }

    /// Fails a claimed order's validation: recorded on the order, audited, and the order
    /// counted invalid.
    async fn refuse(
        &self,
        order: &Order,
        claim: &OrderClaim,
        e: String,
        linnworks_id: Option<Uuid>,
        started: Instant,
    ) -> Result<Sent, JobError> {
        self.run
            .engine()
            .store()
            .fail_claim_validation(claim, &e)
            .await?;
        audit_send(self.run, order, AuditOutcome::Failure, e.clone(), started).await;
        Ok(invalid(order, e, linnworks_id))
    }

    /// Records an order Stream created: Completed with Stream's numbers, audited, and its
    /// tracking number and URL written to Linnworks.
    async fn created(
        &self,
        order: &Order,
        claim: &OrderClaim,
        ready: &Ready<'_>,
        created: CreatedOrder,
        started: Instant,
    ) -> Result<Sent, JobError> {
        self.clients.stream_throttle.success();
        let success = SendSuccess {
            http_status: Some(200),
            stream_order_id: Some(created.order_no.clone()),
            consignment_no: Some(created.consignment_no.clone()),
            tracking_number: Some(created.tracking_id.clone()),
            tracking_url: Some(created.tracking_url.clone()),
        };
        self.run
            .engine()
            .store()
            .complete_claim(claim, &success)
            .await?;
        self.run.engine().stop().stream_call_recorded(order.id);
        let message = created_message(&ready.request, &ready.placed, &created);
        audit_send(
            self.run,
            order,
            AuditOutcome::Success,
            message.clone(),
            started,
        )
        .await;
        let detail = ready.detail;
        let written = write_tracking(
            self.clients,
            detail,
            &created.tracking_id,
            &created.tracking_url,
        )
        .await;
        if let Err(e) = &written {
            tracing::warn!(installation = %self.inst.key, order_id = %detail.order_id, "{e}; the write-back stays pending and a later send cycle retries it");
        }
        Ok(Sent {
            result: SentAs::Completed,
            linnworks_id: Some(detail.order_id),
            outcome: outcome(order, "Completed", &message),
            tracking_written: written.is_ok(),
        })
    }
}

/// The audit message of an order Stream created.
fn created_message(request: &CreateOrderRequest, placed: &str, created: &CreatedOrder) -> String {
    let recovered = if created.recovered {
        " (an earlier attempt had reached Stream)"
    } else {
        ""
    };
    let kind = match request.order_type() {
        crate::stream::OrderType::Delivery => "delivery",
        crate::stream::OrderType::Collection => "collection",
    };
    format!(
        "created {kind} order {}{placed}: consignment {}, tracking {}{recovered}",
        created.order_no, created.consignment_no, created.tracking_id
    )
}

fn invalid(order: &Order, e: String, linnworks_id: Option<Uuid>) -> Sent {
    Sent {
        result: SentAs::Invalid,
        linnworks_id,
        outcome: outcome(order, "Validation Failed", &e),
        tracking_written: false,
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
    run: &RunContext,
    order: &Order,
    e: &RemoteError,
    started: Instant,
) -> Result<&'static str, JobError> {
    let mut status = crate::domain::OrderStatus::Pending.label();
    if let Some(claim) = order.claim() {
        let failure = SendFailure {
            http_status: e.status.map(i32::from),
            error: e.to_string(),
        };
        status = run
            .engine()
            .store()
            .defer_claim(&claim, &failure)
            .await?
            .status
            .label();
    }
    audit_send(
        run,
        order,
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
    run: &RunContext,
    order: &Order,
    e: &RemoteError,
    started: Instant,
) -> Result<(), JobError> {
    if let Some(claim) = order.claim() {
        let failure = SendFailure {
            http_status: e.status.map(i32::from),
            error: e.to_string(),
        };
        run.engine().store().fail_claim(&claim, &failure).await?;
    }
    audit_send(run, order, AuditOutcome::Failure, e.to_string(), started).await;
    Ok(())
}

fn outcome(order: &Order, status: &str, message: &str) -> OrderOutcome {
    OrderOutcome {
        order_id: order.order_id.clone(),
        status: status.into(),
        message: message.into(),
    }
}

async fn audit_send(
    run: &RunContext,
    order: &Order,
    outcome: AuditOutcome,
    message: String,
    started: Instant,
) {
    tracing::info!(order_id = %order.order_id, num_order_id = order.num_order_id, outcome = ?outcome, "send: {message}");
    run.audit(
        AuditAction::Send,
        Some(&order.order_id),
        outcome,
        message,
        started,
    )
    .await;
}

//! The webhook processing job: applies stored Stream events to the Linnworks orders they
//! concern. Delivery events add an order note (and mark the order processed when its
//! mapping says so); planning events set the RUN, SEQ and day identifiers, removing the ones
//! they replace; DISPATCHED (with IsOrderDispatchSyncEnabled) notes the dispatch on every
//! order of the run and records its date and time in the `StreamDispatchDate` extended
//! property. Every step is safe to repeat, because a failed event is processed again
//! from the start: notes already present are not added twice, identifiers are computed
//! from what the order carries now, and a processed order is not processed again.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use crate::config::InstallationConfig;
use crate::domain::{AuditAction, AuditOutcome, EventEffect};
use crate::linnworks::{
    AddOrdersNoteRequest, BasicExtendedProperty, ExtendedProperty, OrderDetails,
};
use crate::remote::RemoteError;
use crate::store::{NewWebhookEvent, Order, OrderQuery, WebhookEvent as StoredEvent};

use super::engine::Clients;
use super::job_error::JobError;
use super::run_context::RunContext;
use super::validation::ValidationError;
use crate::domain::identifiers::day_tag;
use crate::domain::identifiers::{
    MAX_RUNS, MAX_SEQUENCES, is_day_tag, is_run_tag, is_seq_tag, run_name, run_tag, seq_name,
    seq_tag,
};
use crate::stream::notification::{self, WebhookEvent};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSummary {
    pub claimed: usize,
    /// Applied to Linnworks.
    pub applied: usize,
    /// Marked processed without effect: unknown orders, codes without an action, runs
    /// outside RUN 01-20.
    pub skipped: usize,
    /// Failed and queued for another attempt.
    pub retrying: usize,
    /// Failed more than WebhookMaxRetryAttempts times: no longer retried automatically.
    pub failed: usize,
}

impl std::fmt::Display for WebhookSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} events claimed: {} applied, {} skipped, {} to retry, {} failed",
            self.claimed, self.applied, self.skipped, self.retrying, self.failed
        )
    }
}

/// The stored form of a parsed notification. `order_refs` are the references as Stream sent
/// them (consignment numbers in every shape seen), which is what keeps one order's events
/// in arrival order.
pub fn new_stored_event(
    installation: &str,
    event: &WebhookEvent,
    body: impl Into<String>,
    received_at: DateTime<Utc>,
) -> NewWebhookEvent {
    let single = match event.orders.as_slice() {
        [only] => Some(only.reference.clone()),
        _ => None,
    };
    let run = (event.run_number.is_some() || event.load_id.is_some()).then(|| {
        json!({
            "runNumber": event.run_number,
            "loadId": event.load_id,
            "deliveryDate": event.delivery_date.map(|d| d.to_string()),
        })
    });
    let group = event.is_planning().then(|| {
        json!(
            event
                .orders
                .iter()
                .map(|o| json!({"order": o.reference, "sequence": o.sequence}))
                .collect::<Vec<_>>()
        )
    });
    NewWebhookEvent {
        installation: installation.to_string(),
        dedup_key: event.dedupe_key.clone(),
        received_at,
        body: body.into(),
        event_code: event.code.clone(),
        consignment_no: single,
        order_no: None,
        order_refs: event.orders.iter().map(|o| o.reference.clone()).collect(),
        run,
        group,
    }
}

/// Events of one batch applied side by side. A batch never holds two events of one order
/// (see `Store::claim_webhook_events`), so their order does not matter; the Linnworks
/// client's pacer keeps the calls within the published limits, and the lanes only hide the
/// calls' latency.
const LANES: usize = 8;

/// What became of one claimed event.
enum Settled {
    Applied,
    Skipped,
    Retrying,
    Failed,
    /// The claim was gone before the event could be settled (nothing to count).
    Unclaimed,
}

impl WebhookSummary {
    fn add(&mut self, other: &WebhookSummary) {
        self.claimed += other.claimed;
        self.applied += other.applied;
        self.skipped += other.skipped;
        self.retrying += other.retrying;
        self.failed += other.failed;
    }
}

/// Claims one batch of up to WebhookBatchSize events of the installation (per order in
/// arrival order, round-robin across orders) and applies each. A remote failure marks that
/// event failed (Ready for Retry until WebhookMaxRetryAttempts, then Failed) and the job goes
/// on with the next.
pub async fn process_webhooks(run: &RunContext) -> Result<WebhookSummary, JobError> {
    process_batch(run, None).await
}

/// One processing cycle, what the scheduler runs every webhookInterval: batch after batch
/// while events remain, for at most `budget`. Each batch waits for one of the scheduler's
/// MaxInstallationsPerBatch `permits` and gives it back afterwards, so installations with a
/// backlog take turns batch by batch and one installation's flood never holds up another's
/// events for longer than a batch. The cycle stops early when a batch applied nothing (all
/// failed: Linnworks is down or refusing), leaving the retries to later cycles, and never
/// retries an event that failed in the same cycle.
pub async fn webhook_cycle(
    run: &RunContext,
    permits: &super::permits::Permits,
    budget: Duration,
) -> Result<WebhookSummary, JobError> {
    let started = Instant::now();
    let cycle_start = crate::store::now();
    let mut total = WebhookSummary::default();
    loop {
        let summary = {
            let Some(_permit) = permits.acquire().await else {
                break;
            };
            process_batch(run, Some(cycle_start)).await?
        };
        total.add(&summary);
        // A short batch does not mean the backlog is gone: a batch takes one event per
        // order, so the next may hold the same orders' next events.
        let stalled = summary.applied + summary.skipped == 0;
        // A stopping process finishes the batch in hand and claims no more: the next
        // process drains the rest.
        if stalled || started.elapsed() >= budget || run.engine().stop().is_stopping() {
            break;
        }
    }
    Ok(total)
}

async fn process_batch(
    run: &RunContext,
    cycle_start: Option<DateTime<Utc>>,
) -> Result<WebhookSummary, JobError> {
    let (engine, key) = (run.engine(), run.key());
    let inst = engine
        .installation(key)
        .ok_or(ValidationError::InstallationInactive)?;
    let events = engine
        .store()
        .claim_webhook_events_since(
            &key.id(),
            engine.settings().webhook_batch_size,
            engine.worker_id(),
            engine.lease(),
            cycle_start,
        )
        .await?;
    let mut summary = WebhookSummary {
        claimed: events.len(),
        ..WebhookSummary::default()
    };
    if events.is_empty() {
        return Ok(summary);
    }
    let applier = Applier { run, inst: &inst };
    let clients = engine.clients(&inst);
    // Built up front rather than in a stream closure, which would make the scheduler's
    // task future not provably Send.
    let settling: Vec<_> = events
        .iter()
        .map(|event| applier.settle(clients.as_ref(), event))
        .collect();
    let settled: Vec<Result<Settled, JobError>> = futures::stream::iter(settling)
        .buffer_unordered(LANES)
        .collect()
        .await;
    for outcome in settled {
        match outcome? {
            Settled::Applied => summary.applied += 1,
            Settled::Skipped => summary.skipped += 1,
            Settled::Retrying => summary.retrying += 1,
            Settled::Failed => summary.failed += 1,
            Settled::Unclaimed => {}
        }
    }
    Ok(summary)
}

/// Why applying an event failed; the event is retried.
#[derive(Debug, thiserror::Error)]
enum ApplyError {
    #[error("{0}")]
    Remote(RemoteError),
    /// Linnworks answered, but refused the change.
    #[error("{0}")]
    Refused(String),
}

impl From<RemoteError> for ApplyError {
    fn from(e: RemoteError) -> Self {
        ApplyError::Remote(e)
    }
}

/// What applying an event did.
struct Applied {
    /// Whether anything changed in Linnworks (else the audit outcome is Skipped).
    changed: bool,
    message: String,
}

impl Applied {
    fn skipped(message: String) -> Self {
        Self {
            changed: false,
            message,
        }
    }
}

/// One known order an event concerns.
struct Target {
    order: Order,
    id: Uuid,
    reference: String,
    sequence: Option<u32>,
}

/// Applies the events of one batch: the run it belongs to and the installation's settings
/// as the batch began.
struct Applier<'a> {
    run: &'a RunContext,
    inst: &'a InstallationConfig,
}

fn describe(event: &StoredEvent) -> String {
    let refs = match (&event.consignment_no, &event.order_no) {
        (Some(c), _) => format!(" for {c}"),
        (None, Some(o)) => format!(" for {o}"),
        _ => String::new(),
    };
    format!("event {} {}{refs}", event.id, event.event_code)
}

impl Applier<'_> {
    async fn audit(
        &self,
        order_id: Option<&str>,
        outcome: AuditOutcome,
        message: String,
        started: Instant,
    ) {
        tracing::info!(order_id = order_id.unwrap_or(""), outcome = ?outcome, "webhook: {message}");
        self.run
            .audit(AuditAction::Webhook, order_id, outcome, message, started)
            .await;
    }

    /// Applies one claimed event and records the result on it (and in the audit log). The
    /// error is the store failing: the job stops, the claim lapses and the event is claimed
    /// again.
    async fn settle(
        &self,
        clients: Result<&Clients, &RemoteError>,
        event: &StoredEvent,
    ) -> Result<Settled, JobError> {
        let store = self.run.engine().store();
        let started = Instant::now();
        let outcome = match clients {
            Ok(clients) => self.apply(clients, event).await?,
            Err(e) => Err(ApplyError::Remote(e.clone())),
        };
        let Some(claim) = event.claim() else {
            return Ok(Settled::Unclaimed);
        };
        match outcome {
            Ok(applied) => {
                store.mark_webhook_processed(&claim).await?;
                let kind = if applied.changed {
                    "applied"
                } else {
                    "skipped"
                };
                crate::observe::metrics::webhook_processed(&self.inst.key.id(), kind);
                let (settled, outcome) = if applied.changed {
                    (Settled::Applied, AuditOutcome::Success)
                } else {
                    (Settled::Skipped, AuditOutcome::Skipped)
                };
                self.audit(None, outcome, applied.message, started).await;
                Ok(settled)
            }
            Err(e) => {
                let limit = self.run.engine().settings().webhook_max_retry_attempts;
                let failed = store
                    .mark_webhook_failed(&claim, &e.to_string(), limit)
                    .await?;
                let gave_up = failed.status == crate::domain::WebhookStatus::Failed;
                let kind = if gave_up { "failed" } else { "retrying" };
                crate::observe::metrics::webhook_processed(&self.inst.key.id(), kind);
                let (settled, next) = if gave_up {
                    (
                        Settled::Failed,
                        format!(
                            "failed {} times, more than WebhookMaxRetryAttempts ({limit}): not retried automatically",
                            failed.retry_count
                        ),
                    )
                } else {
                    (
                        Settled::Retrying,
                        format!(
                            "will be retried (failure {} of {limit})",
                            failed.retry_count
                        ),
                    )
                };
                let message = format!("{}: {e}; {next}", describe(event));
                self.audit(None, AuditOutcome::Failure, message, started)
                    .await;
                Ok(settled)
            }
        }
    }

    /// The stored event read again, and what applying it means; or why it is recorded
    /// without being applied.
    fn classify(&self, event: &StoredEvent, label: &str) -> Result<(WebhookEvent, Kind), String> {
        let parsed = match notification::parse(event.body.as_bytes()) {
            Ok(p) => p,
            // Stored bodies were parsed on receipt; one that no longer parses will not parse
            // on a retry either.
            Err(e) => {
                return Err(format!(
                    "{label}: the stored body cannot be read ({e}); recorded, not applied"
                ));
            }
        };
        // Exhaustive on purpose: a new kind of effect stops the compiler here until it has
        // an applier.
        let kind = match parsed.effect() {
            EventEffect::Delivery => Kind::Delivery,
            EventEffect::Planning => Kind::Planning,
            EventEffect::Dispatch => {
                if !self.inst.spec.sync.order_dispatch_sync_enabled {
                    return Err(format!(
                        "{label}: spec.sync.orderDispatchSyncEnabled (IsOrderDispatchSyncEnabled) is off; recorded, not applied"
                    ));
                }
                Kind::Dispatch
            }
            EventEffect::None => {
                return Err(format!(
                    "{label}: no action for {} events; recorded",
                    parsed.code
                ));
            }
        };
        if kind == Kind::Planning
            && let Some(reason) = planning_not_applicable(&parsed)
        {
            return Err(format!("{label}: {reason}; recorded, not applied"));
        }
        Ok((parsed, kind))
    }

    /// Applies one event. The outer error is the store failing (the job stops; the claim
    /// lapses and the event is claimed again); the inner one fails only this event.
    async fn apply(
        &self,
        clients: &Clients,
        event: &StoredEvent,
    ) -> Result<Result<Applied, ApplyError>, JobError> {
        let label = describe(event);
        let (parsed, kind) = match self.classify(event, &label) {
            Ok(classified) => classified,
            Err(skipped) => return Ok(Ok(Applied::skipped(skipped))),
        };
        let (targets, unknown) = self.resolve(&parsed).await?;
        let mut notes = Vec::new();
        if !unknown.is_empty() {
            notes.push(format!(
                "not known to the integration: {}",
                unknown.join(", ")
            ));
        }
        if targets.is_empty() {
            return Ok(Ok(Applied::skipped(format!(
                "{label}: no order of this installation has {}; recorded, not applied",
                unknown.join(", ")
            ))));
        }
        let ids: Vec<Uuid> = targets.iter().map(|t| t.id).collect();
        let details: BTreeMap<Uuid, OrderDetails> =
            match clients.linnworks.get_orders_by_id(&ids).await {
                Ok(list) => list.into_iter().map(|d| (d.order_id, d)).collect(),
                Err(e) => return Ok(Err(e.into())),
            };
        let (found, missing): (Vec<&Target>, Vec<&Target>) =
            targets.iter().partition(|t| details.contains_key(&t.id));
        for t in &missing {
            let started = Instant::now();
            self.audit(
                Some(&t.order.order_id),
                AuditOutcome::Skipped,
                format!("{label}: the order is no longer in Linnworks; not applied"),
                started,
            )
            .await;
        }
        if !missing.is_empty() {
            notes.push(format!(
                "not found in Linnworks: {}",
                missing
                    .iter()
                    .map(|t| t.reference.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if found.is_empty() {
            return Ok(Ok(Applied::skipped(format!(
                "{label}: {}",
                notes.join("; ")
            ))));
        }
        let result = match kind {
            Kind::Delivery | Kind::Dispatch => {
                self.annotate(clients, kind, &parsed, &found, &details)
                    .await
            }
            Kind::Planning => self.plan(clients, &parsed, &found, &details).await,
        };
        let per_order = match result {
            Ok(per_order) => per_order,
            Err(e) => return Ok(Err(e)),
        };
        for (order_id, message) in &per_order {
            self.audit(
                Some(order_id),
                AuditOutcome::Success,
                format!("{label}: {message}"),
                Instant::now(),
            )
            .await;
        }
        let mut message = format!("{label}: applied to {} order(s)", per_order.len());
        if !notes.is_empty() {
            message.push_str("; ");
            message.push_str(&notes.join("; "));
        }
        Ok(Ok(Applied {
            changed: true,
            message,
        }))
    }

    /// The queue orders the event names, by consignment number, else Stream order number;
    /// and the references no order of this installation has.
    async fn resolve(&self, event: &WebhookEvent) -> Result<(Vec<Target>, Vec<String>), JobError> {
        let store = self.run.engine().store();
        let installation = self.inst.key.id();
        let mut targets: Vec<Target> = Vec::new();
        let mut unknown = Vec::new();
        for r in &event.orders {
            let mut order = store
                .order_by_consignment(&installation, &r.reference)
                .await?;
            if order.is_none() {
                let page = store
                    .list_orders(&OrderQuery {
                        installation: installation.clone(),
                        search: Some(r.reference.clone()),
                        limit: 20,
                        ..OrderQuery::default()
                    })
                    .await?;
                order = page
                    .orders
                    .into_iter()
                    .find(|o| o.stream_order_id.as_deref() == Some(r.reference.as_str()));
            }
            match order.and_then(|o| Uuid::parse_str(&o.order_id).ok().map(|id| (o, id))) {
                Some((order, id)) if !targets.iter().any(|t| t.id == id) => targets.push(Target {
                    order,
                    id,
                    reference: r.reference.clone(),
                    sequence: r.sequence,
                }),
                Some(_) => {}
                None => unknown.push(r.reference.clone()),
            }
        }
        Ok((targets, unknown))
    }

    /// Delivery and dispatch events, order by order: an internal note with the event's
    /// details, then the event's own step. DELIVERED and COLLECTED also process the order
    /// when its mapping has `processedOnDelivered` (PARTDELVRD and PARTCOLLECTED only add the
    /// note); DISPATCHED (a note with the run, date and time, on every order of the run) also
    /// records the dispatch date and time in [`DISPATCH_DATE_PROPERTY`]. A replay finds
    /// everything in place and changes nothing.
    async fn annotate(
        &self,
        clients: &Clients,
        kind: Kind,
        event: &WebhookEvent,
        targets: &[&Target],
        details: &BTreeMap<Uuid, OrderDetails>,
    ) -> Result<Vec<(String, String)>, ApplyError> {
        let dispatched_at = match kind {
            Kind::Dispatch => dispatch_date_value(event),
            Kind::Delivery | Kind::Planning => None,
        };
        let mut done = Vec::new();
        for t in targets {
            let Some(detail) = details.get(&t.id) else {
                continue;
            };
            let mut steps = Vec::new();
            if kind == Kind::Dispatch {
                let text = dispatch_note_text(event, &t.reference);
                steps.push(add_note_once(clients, detail, text, "dispatch note").await?);
                steps.push(set_dispatch_date(clients, t, detail, dispatched_at.as_deref()).await?);
            } else {
                let text = note_text(event, &t.reference);
                steps.push(add_note_once(clients, detail, text, "note").await?);
                if event.completes_order() && self.processes_on_delivery(t, detail) {
                    steps.push(process_delivered(clients, t, detail).await?);
                }
            }
            done.push((t.order.order_id.clone(), steps.join(", ")));
        }
        Ok(done)
    }

    /// Whether the order's postal service mapping marks it processed on delivery; the
    /// service is read from the order as Linnworks has it now, else as it was queued.
    fn processes_on_delivery(&self, t: &Target, detail: &OrderDetails) -> bool {
        let s = &detail.shipping_info;
        let id = s.postal_service_id.map(|id| id.to_string());
        self.inst
            .mapping_for(id.as_deref(), s.postal_service_name.as_deref())
            .or_else(|| {
                self.inst.mapping_for(
                    t.order.postal_service_id.as_deref(),
                    t.order.postal_service_name.as_deref(),
                )
            })
            .is_some_and(|m| m.spec.processed_on_delivered)
    }

    /// Planning events: RUN nn, the day of the delivery date, and (when
    /// `groupSequenceIdentifiers`) SEQ-nn; RUN, SEQ and day identifiers they replace are
    /// removed. One Linnworks call per identifier changed, for all orders of the event.
    async fn plan(
        &self,
        clients: &Clients,
        event: &WebhookEvent,
        targets: &[&Target],
        details: &BTreeMap<Uuid, OrderDetails>,
    ) -> Result<Vec<(String, String)>, ApplyError> {
        let Some(run) = event.run_number else {
            return Ok(Vec::new());
        };
        let sequences_on = self.inst.spec.webhooks.group_sequence_identifiers;
        let day = event.delivery_date.map(day_tag);
        let mut assign: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        let mut unassign: BTreeMap<String, Vec<Uuid>> = BTreeMap::new();
        let mut done = Vec::new();
        for t in targets {
            let Some(detail) = details.get(&t.id) else {
                continue;
            };
            let mut wanted = vec![run_tag(run)];
            let mut shown = vec![run_name(run)];
            let mut remarks = Vec::new();
            if let Some(day) = day {
                wanted.push(day.to_string());
                shown.push(day.to_string());
            }
            match t.sequence {
                Some(seq) if sequences_on && (1..=MAX_SEQUENCES).contains(&seq) => {
                    wanted.push(seq_tag(seq));
                    shown.push(seq_name(seq));
                }
                Some(seq) if sequences_on => {
                    remarks.push(format!("sequence {seq} is outside SEQ-01-SEQ-20"));
                }
                _ => {}
            }
            let current: Vec<String> = detail
                .general_info
                .identifiers
                .iter()
                .map(|i| i.tag.trim().to_ascii_uppercase())
                .collect();
            // SEQ identifiers go with the run they were set for: a new plan removes them even
            // when sequences are off, so no order shows a sequence of an earlier run. Day
            // identifiers are only replaced when the event names a day.
            let replaced = |tag: &str| {
                is_run_tag(tag) || is_seq_tag(tag) || (day.is_some() && is_day_tag(tag))
            };
            let mut removed = Vec::new();
            for tag in current
                .iter()
                .filter(|t| replaced(t) && !wanted.contains(t))
            {
                unassign.entry(tag.clone()).or_default().push(t.id);
                removed.push(display_name(tag));
            }
            for tag in wanted.iter().filter(|t| !current.contains(t)) {
                assign.entry(tag.clone()).or_default().push(t.id);
            }
            let mut message = format!("identifiers {}", shown.join(", "));
            if !removed.is_empty() {
                message.push_str(&format!(" (replacing {})", removed.join(", ")));
            }
            for r in remarks {
                message.push_str(&format!("; {r}"));
            }
            done.push((t.order.order_id.clone(), message));
        }
        for (tag, ids) in &unassign {
            clients
                .linnworks
                .unassign_order_identifier(ids, tag)
                .await?;
        }
        for (tag, ids) in &assign {
            clients.linnworks.assign_order_identifier(ids, tag).await?;
        }
        Ok(done)
    }
}

/// Marks a delivered order processed in Linnworks, unless it is already.
async fn process_delivered(
    clients: &Clients,
    t: &Target,
    detail: &OrderDetails,
) -> Result<String, ApplyError> {
    if detail.processed {
        return Ok("already processed".to_string());
    }
    let location = detail
        .general_info
        .location
        .or(detail.fulfilment_location_id);
    let result = clients
        .linnworks
        .process_order(t.id, false, location)
        .await?;
    if !result.processed {
        return Err(ApplyError::Refused(format!(
            "Linnworks did not process order {}: {}",
            t.order.order_id,
            result.error.as_deref().unwrap_or("no reason given")
        )));
    }
    Ok("order marked processed".to_string())
}

/// The dispatch date and time in [`DISPATCH_DATE_PROPERTY`], when the event names one; a
/// run dispatched again (re-planned after a return) replaces the old value on the same
/// property row.
async fn set_dispatch_date(
    clients: &Clients,
    t: &Target,
    detail: &OrderDetails,
    when: Option<&str>,
) -> Result<String, ApplyError> {
    let Some(value) = when else {
        return Ok(format!(
            "the event names no date: {DISPATCH_DATE_PROPERTY} not set"
        ));
    };
    let current = detail
        .extended_properties
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(DISPATCH_DATE_PROPERTY));
    match current {
        Some(p) if p.value == value => Ok(format!("{DISPATCH_DATE_PROPERTY} already {value}")),
        Some(p) => {
            clients
                .linnworks
                .set_extended_properties(
                    t.id,
                    &[ExtendedProperty {
                        row_id: p.row_id,
                        name: DISPATCH_DATE_PROPERTY.into(),
                        value: value.to_string(),
                        r#type: "Info".into(),
                    }],
                )
                .await?;
            Ok(format!("{DISPATCH_DATE_PROPERTY} {} -> {value}", p.value))
        }
        None => {
            clients
                .linnworks
                .add_extended_properties(
                    t.id,
                    vec![BasicExtendedProperty {
                        name: DISPATCH_DATE_PROPERTY.into(),
                        value: value.to_string(),
                        r#type: "Info".into(),
                    }],
                )
                .await?;
            Ok(format!("{DISPATCH_DATE_PROPERTY} set to {value}"))
        }
    }
}

/// Adds an internal note unless the order has it already (a retried or replayed event must
/// not add its note a second time); says which.
async fn add_note_once(
    clients: &Clients,
    detail: &OrderDetails,
    text: String,
    what: &str,
) -> Result<String, ApplyError> {
    if detail.notes.iter().any(|n| n.note == text) {
        return Ok(format!("{what} already present"));
    }
    clients
        .linnworks
        .add_orders_note(&AddOrdersNoteRequest {
            order_ids: vec![detail.order_id],
            note_text: text,
            is_internal: true,
            is_processing_note: false,
        })
        .await?;
    Ok(format!("{what} added"))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Delivery,
    Planning,
    Dispatch,
}

/// The extended property DISPATCHED writes: when the run left, as `yyyy-MM-ddTHH:mm:ss`
/// (Stream's event date and time, Stream's local time as sent). An extended property rather
/// than `GeneralInfo.DespatchByDate`, which is the channel's deadline: overwriting it would
/// hide a missed one.
pub const DISPATCH_DATE_PROPERTY: &str = "StreamDispatchDate";

/// The value of [`DISPATCH_DATE_PROPERTY`] for an event, when it names a date.
pub fn dispatch_date_value(event: &WebhookEvent) -> Option<String> {
    let date = event
        .event_date
        .as_deref()
        .and_then(notification::parse_stream_date)?;
    let time = event
        .event_time
        .as_deref()
        .and_then(|t| {
            chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M:%S")
                .or_else(|_| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M"))
                .ok()
        })
        .unwrap_or_default();
    Some(date.and_time(time).format("%Y-%m-%dT%H:%M:%S").to_string())
}

/// The internal note DISPATCHED adds: the run, the date and the time. The same event always
/// gives the same text, which is how a replay recognises it.
pub fn dispatch_note_text(event: &WebhookEvent, reference: &str) -> String {
    let run = match (event.run_number, &event.load_id) {
        (Some(n), Some(load)) => format!(" on run {} (load {load})", run_name(n)),
        (Some(n), None) => format!(" on run {}", run_name(n)),
        (None, Some(load)) => format!(" on load {load}"),
        (None, None) => String::new(),
    };
    event_note(
        format!("Stream: Dispatched (DISPATCHED){run}"),
        event,
        reference,
    )
}

/// Why a planning event cannot be applied, if it cannot.
fn planning_not_applicable(event: &WebhookEvent) -> Option<String> {
    match event.run_number {
        None => Some("the event names no run number".into()),
        Some(n) if !(1..=MAX_RUNS).contains(&n) => Some(format!(
            "run {n} is outside RUN 01-RUN {MAX_RUNS:02}, the runs Linnworks identifiers exist for"
        )),
        Some(_) => None,
    }
}

/// How an identifier tag is shown on orders.
fn display_name(tag: &str) -> String {
    let number = |prefix: &str| tag.strip_prefix(prefix).and_then(|n| n.parse::<u32>().ok());
    if let Some(n) = number("RUN_") {
        run_name(n)
    } else if let Some(n) = number("SEQ_") {
        seq_name(n)
    } else {
        tag.to_string()
    }
}

/// The note a delivery event adds; the same event always gives the same text, which is
/// how a retry recognises a note it already added.
pub fn note_text(event: &WebhookEvent, reference: &str) -> String {
    let what = event
        .description
        .clone()
        .unwrap_or_else(|| event.code.clone());
    event_note(format!("Stream: {what} ({})", event.code), event, reference)
}

/// `head`, then the event's date and time, the consignment and the event's text.
fn event_note(head: String, event: &WebhookEvent, reference: &str) -> String {
    let mut text = head;
    match (&event.event_date, &event.event_time) {
        (Some(d), Some(t)) => text.push_str(&format!(" on {d} at {t}")),
        (Some(d), None) => text.push_str(&format!(" on {d}")),
        _ => {}
    }
    text.push_str(&format!(". Consignment {reference}."));
    if let Some(detail) = event.text.as_deref().filter(|t| !t.trim().is_empty()) {
        text.push_str(&format!(" {}", detail.trim()));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_and_names_read_well() {
        let event = notification::parse(
            br#"{"webhook": {"event": {"event_code": "DELIVERED", "event_code_desc": "Delivered",
                "event_date": "2026-06-20", "event_time": "14:05:00", "event_text": "Left with neighbour"},
                "order": {"id": "CN1"}}}"#,
        )
        .expect("parse");
        assert_eq!(
            note_text(&event, "CN1"),
            "Stream: Delivered (DELIVERED) on 2026-06-20 at 14:05:00. Consignment CN1. Left with neighbour"
        );
        assert_eq!(display_name("RUN_03"), "RUN 03");
        assert_eq!(display_name("SEQ_11"), "SEQ-11");
        assert_eq!(display_name("FRIDAY"), "FRIDAY");
    }

    #[test]
    fn runs_outside_the_identifiers_are_not_applied() {
        let mut event = notification::parse(
            br#"{"event": {"event_code": "LOCKPLANNING"}, "run": {"description": "RUN 21"},
                "orders": [{"sequence": 1, "order": "CN1"}]}"#,
        )
        .expect("parse");
        assert!(planning_not_applicable(&event).is_some_and(|r| r.contains("run 21")));
        event.run_number = Some(20);
        assert_eq!(planning_not_applicable(&event), None);
        event.run_number = None;
        assert!(planning_not_applicable(&event).is_some());
    }

    #[test]
    fn the_stored_event_keeps_the_references_and_the_dedupe_key() {
        let event = notification::parse(
            br#"{"event": {"event_code": "OPENPLANNING", "event_date": "2026-06-20"},
                "run": {"loadId": "L1", "description": "RUN 04"},
                "orders": [{"sequence": 2, "order": "CN1"}, {"sequence": 1, "order": "CN2"}]}"#,
        )
        .expect("parse");
        let stored = new_stored_event("ns/a", &event, "{}", Utc::now());
        assert_eq!(stored.order_refs, ["CN1", "CN2"]);
        assert_eq!(stored.consignment_no, None);
        assert_eq!(stored.dedup_key, event.dedupe_key);
        assert_eq!(
            stored.run.as_ref().map(|r| r["runNumber"].clone()),
            Some(json!(4))
        );
    }
}

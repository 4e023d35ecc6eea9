//! One order sent to Stream on demand, for a caller that needs it there now (a label call
//! warehouse staff wait on). The guide's "Label Generation": find the order in the queue;
//! when it is Completed, done; when it is not synced yet, fetch it from Linnworks and send
//! it first (whatever Order Sync Enabled says); when another worker is sending it, wait
//! (polling every [`POLL_EVERY`], at most [`WAIT_AT_MOST`]); when the send fails, the
//! reason. The caller words the reasons.

use std::time::Duration;

use uuid::Uuid;

use super::engine::Engine;
use super::job_error::JobError;
use super::manual::send_selected;
use super::run_context::RunContext;
use crate::config::InstallationConfig;
use crate::domain::OrderStatus;
use crate::linnworks::{
    FieldCode, FieldsFilter, GetOpenOrdersRequest, TextFieldFilter, TextFilterType,
    UpdateOrderShippingInfoRequest,
};
use crate::remote::RemoteError;
use crate::store::{Order, StoreError};

/// How often an order another worker is sending is looked at again (the guide: every 3 s).
pub const POLL_EVERY: Duration = Duration::from_secs(3);
/// How long to wait for another worker's send (the guide: about 6 s).
pub const WAIT_AT_MOST: Duration = Duration::from_secs(6);

/// The order a caller means: by its Linnworks number, else by its reference (when that
/// order has no other number).
#[derive(Clone, Copy, Debug)]
pub struct OrderQuery<'a> {
    pub num_order_id: i64,
    pub reference: &'a str,
}

/// A Completed order, and what happened on the way.
#[derive(Debug)]
pub struct Completed {
    pub order: Order,
    /// Sent to Stream by this call.
    pub synced: bool,
    /// How long this call waited for another worker's send.
    pub waited: Duration,
}

/// Why the order is not in Stream, and its id if it was identified.
#[derive(Debug)]
pub struct Unsent {
    pub order_id: Option<String>,
    pub reason: UnsentReason,
}

#[derive(Debug)]
pub enum UnsentReason {
    /// Deleted from Stream: it cannot be sent again.
    Deleted,
    /// Another worker is still sending it after waiting this long.
    StillSending {
        waited: Duration,
    },
    /// Its send failed, for this reason when one was recorded.
    Failed {
        reason: Option<String>,
    },
    /// A send ran but left it in this status (`None`: not queued).
    NotSent {
        status: Option<OrderStatus>,
    },
    /// The send itself could not run.
    Send(JobError),
    Store(StoreError),
    /// No Linnworks client for the installation.
    LinnworksUnreachable(RemoteError),
    /// Not queued, and Linnworks could not be asked for it.
    LinnworksUnreadable(RemoteError),
    /// Not queued, and not an open order in Linnworks.
    NotOpen,
}

impl Unsent {
    fn new(reason: UnsentReason, order: Option<&Order>) -> Self {
        Self {
            order_id: order.map(|o| o.order_id.clone()),
            reason,
        }
    }

    fn store(e: StoreError, order: Option<&Order>) -> Self {
        Self::new(UnsentReason::Store(e), order)
    }

    fn failed(order: &Order, reason: Option<&str>) -> Self {
        let reason = reason.map(str::to_string);
        Self::new(UnsentReason::Failed { reason }, Some(order))
    }
}

/// The order once it is Completed, sending it or waiting for another worker as needed.
pub async fn ensure_sent(
    run: &RunContext,
    inst: &InstallationConfig,
    query: OrderQuery<'_>,
) -> Result<Completed, Unsent> {
    let engine = run.engine();
    let mut pass = Pass {
        run,
        engine,
        inst,
        installation: inst.key.id(),
        synced: false,
        waited: Duration::ZERO,
        watched_other: false,
        released: false,
    };
    let mut order = find_queued(engine, inst, query).await?;
    loop {
        order = match pass.step(order, query).await? {
            Step::Done(order) => {
                return Ok(Completed {
                    order,
                    synced: pass.synced,
                    waited: pass.waited,
                });
            }
            Step::Again(order) => order,
        };
    }
}

/// What one look at the order leads to.
enum Step {
    Done(Order),
    /// Look again at the order as it is now.
    Again(Option<Order>),
}

/// The state of one [`ensure_sent`] call.
struct Pass<'a> {
    run: &'a RunContext,
    engine: &'a Engine,
    inst: &'a InstallationConfig,
    installation: String,
    synced: bool,
    waited: Duration,
    watched_other: bool,
    released: bool,
}

impl Pass<'_> {
    async fn step(&mut self, order: Option<Order>, query: OrderQuery<'_>) -> Result<Step, Unsent> {
        let status = order.as_ref().map(|o| o.status);
        match (status, order) {
            (Some(OrderStatus::Completed), Some(o)) => Ok(Step::Done(o)),
            (Some(OrderStatus::Deleted), o) => Err(Unsent::new(UnsentReason::Deleted, o.as_ref())),
            (Some(OrderStatus::InProgress), Some(o)) if !lease_lapsed(&o) => {
                self.wait_for_other(o).await.map(Step::Again)
            }
            (Some(OrderStatus::InProgress), Some(o)) if !self.released => {
                self.release(o).await.map(Step::Again)
            }
            (Some(OrderStatus::Failed | OrderStatus::ValidationFailed), Some(o))
                if self.synced || self.watched_other =>
            {
                Err(Unsent::failed(&o, o.last_error.as_deref()))
            }
            // Stream could not be reached: the order is back in the queue with the reason.
            (Some(OrderStatus::Pending | OrderStatus::ReadyForRetry), Some(o))
                if self.synced && o.last_error.is_some() =>
            {
                Err(Unsent::failed(&o, o.last_error.as_deref()))
            }
            (_, o) if self.synced => {
                let status = o.as_ref().map(|o| o.status);
                Err(Unsent::new(UnsentReason::NotSent { status }, o.as_ref()))
            }
            (_, o) => self.send(o, query).await.map(Step::Again),
        }
    }

    async fn reread(&self, order_id: &str, known: Option<&Order>) -> Result<Option<Order>, Unsent> {
        self.engine
            .store()
            .order(&self.installation, order_id)
            .await
            .map_err(|e| Unsent::store(e, known))
    }

    /// Another worker is sending it: waits one poll, unless that would wait too long.
    async fn wait_for_other(&mut self, o: Order) -> Result<Option<Order>, Unsent> {
        if self.waited + POLL_EVERY > WAIT_AT_MOST {
            let waited = self.waited;
            return Err(Unsent::new(UnsentReason::StillSending { waited }, Some(&o)));
        }
        tokio::time::sleep(POLL_EVERY).await;
        self.waited += POLL_EVERY;
        self.watched_other = true;
        self.reread(&o.order_id, Some(&o)).await
    }

    /// The worker holding it stopped (crashed or hung past its lease): returns the order to
    /// the queue, to send it here.
    async fn release(&mut self, o: Order) -> Result<Option<Order>, Unsent> {
        self.engine
            .store()
            .release_expired()
            .await
            .map_err(|e| Unsent::store(e, Some(&o)))?;
        self.released = true;
        self.reread(&o.order_id, Some(&o)).await
    }

    /// Sends it (fetching it from Linnworks when not queued); the order as the send left it.
    async fn send(
        &mut self,
        o: Option<Order>,
        query: OrderQuery<'_>,
    ) -> Result<Option<Order>, Unsent> {
        let order_id = match &o {
            Some(o) => o.order_id.clone(),
            None => find_in_linnworks(self.engine, self.inst, query)
                .await?
                .to_string(),
        };
        let outcomes = send_selected(self.run, std::slice::from_ref(&order_id))
            .await
            .map_err(|e| Unsent::new(UnsentReason::Send(e), o.as_ref()))?;
        self.synced = true;
        let order = self.reread(&order_id, o.as_ref()).await?;
        if let Some(current) = &order
            && matches!(
                current.status,
                OrderStatus::Failed | OrderStatus::ValidationFailed
            )
        {
            let reason = outcomes
                .iter()
                .find(|x| x.order_id == order_id)
                .map(|x| x.message.as_str())
                .or(current.last_error.as_deref());
            return Err(Unsent::failed(current, reason));
        }
        Ok(order)
    }
}

/// The queued order the query means: by its number, else by its reference (when that order
/// has no other number).
async fn find_queued(
    engine: &Engine,
    inst: &InstallationConfig,
    query: OrderQuery<'_>,
) -> Result<Option<Order>, Unsent> {
    let store = engine.store();
    let installation = inst.key.id();
    let stored = |e: StoreError| Unsent::store(e, None);
    if let Some(order) = store
        .order_by_num_order_id(&installation, query.num_order_id)
        .await
        .map_err(stored)?
    {
        return Ok(Some(order));
    }
    let by_reference = store
        .order_by_reference(&installation, query.reference.trim())
        .await
        .map_err(stored)?;
    Ok(by_reference.filter(|o| o.num_order_id.is_none_or(|n| n == query.num_order_id)))
}

/// An In Progress order whose claim lapsed is free to be sent again (the claim returns it).
fn lease_lapsed(order: &Order) -> bool {
    order
        .lease_expires_at
        .is_some_and(|at| at < chrono::Utc::now())
}

/// The Linnworks id of the open order the query means, by number, else by reference.
async fn find_in_linnworks(
    engine: &Engine,
    inst: &InstallationConfig,
    query: OrderQuery<'_>,
) -> Result<Uuid, Unsent> {
    let clients = engine
        .clients(inst)
        .map_err(|e| Unsent::new(UnsentReason::LinnworksUnreachable(e), None))?;
    let reference = query.reference.trim();
    let searches = [
        (
            FieldCode::GeneralInfoOrderId,
            query.num_order_id.to_string(),
        ),
        (FieldCode::GeneralInfoReferenceNumber, reference.to_string()),
    ];
    for (field_code, text) in searches {
        if text.is_empty() {
            continue;
        }
        let page = clients
            .linnworks
            .get_open_orders(&open_order_search(field_code, text))
            .await
            .map_err(|e| Unsent::new(UnsentReason::LinnworksUnreadable(e), None))?;
        // The filter is a hint: match exactly here, as servers differ in how they compare.
        let found = page.data.iter().find(|o| {
            o.num_order_id == query.num_order_id
                || (field_code == FieldCode::GeneralInfoReferenceNumber
                    && o.general_info.reference_num.as_deref().map(str::trim) == Some(reference))
        });
        if let Some(order) = found {
            return Ok(order.order_id);
        }
    }
    Err(Unsent::new(UnsentReason::NotOpen, None))
}

fn open_order_search(field_code: FieldCode, text: String) -> GetOpenOrdersRequest {
    GetOpenOrdersRequest {
        entries_per_page: 10,
        page_number: 1,
        filters: Some(FieldsFilter {
            text_fields: vec![TextFieldFilter {
                filter_type: TextFilterType::Equal,
                text,
                field_code,
            }],
            ..FieldsFilter::default()
        }),
        sorting: Vec::new(),
        fulfilment_center: None,
        additional_filter: None,
    }
}

/// Whether the order's write-back is pending and its sender gave up on it (it is older
/// than a claim lease), so the caller should do it in full.
pub fn write_back_abandoned(engine: &Engine, order: &Order) -> bool {
    let lease = crate::store::chrono_duration(engine.lease());
    order.write_back_pending() && order.updated_at < crate::store::now() - lease
}

/// Writes the tracking number onto the Linnworks order if it is missing there; true once
/// Linnworks is known to have it. Failures are logged: the caller tries again later.
pub async fn ensure_tracking_written(
    engine: &Engine,
    inst: &InstallationConfig,
    order_id: &str,
    tracking: &str,
) -> bool {
    let Ok(uuid) = Uuid::parse_str(order_id) else {
        return false;
    };
    let clients = match engine.clients(inst) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(installation = %inst.key, order_id, "tracking number not checked: {e}");
            return false;
        }
    };
    let details = match clients.linnworks.get_orders_by_id(&[uuid]).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(installation = %inst.key, order_id, "tracking number not checked: {e}");
            return false;
        }
    };
    let Some(detail) = details.into_iter().find(|d| d.order_id == uuid) else {
        return false;
    };
    let current = detail
        .shipping_info
        .tracking_number
        .as_deref()
        .unwrap_or("");
    if !current.trim().is_empty() {
        return true;
    }
    let info = UpdateOrderShippingInfoRequest {
        tracking_number: Some(tracking.to_string()),
        ..UpdateOrderShippingInfoRequest::from_current(&detail.shipping_info)
    };
    match clients.linnworks.set_order_shipping_info(uuid, &info).await {
        Ok(_) => {
            tracing::info!(installation = %inst.key, order_id, "tracking number written back to Linnworks");
            true
        }
        Err(e) => {
            tracing::warn!(installation = %inst.key, order_id, "could not write the tracking number: {e}");
            false
        }
    }
}

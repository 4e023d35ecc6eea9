//! The orders of a batch as Linnworks has them now, read once for a send or a write-back.

use std::collections::HashMap;

use uuid::Uuid;

use crate::linnworks::OrderDetails;
use crate::remote::RemoteError;
use crate::remote::text::{clean_json, describe_issues};
use crate::store::Order;

use super::engine::Clients;

/// The orders as Linnworks has them now.
pub(super) struct Details {
    /// By order id; orders Linnworks no longer has (or sent unreadable) are absent. Text the
    /// store could not hold is cleaned (see `remote::text`).
    orders: HashMap<String, OrderDetails>,
    /// Orders whose data had to be cleaned or could not be read, with what was wrong: they
    /// are not sent as they are.
    pub(super) problems: HashMap<String, String>,
    /// Each order's packaging as Linnworks has it (split bins, item dimensions), by order id.
    pub(super) packaging: HashMap<String, crate::linnworks::CalcOrderHeader>,
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
pub(super) async fn details_of(
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

//! Orders and leases the store tests start from.

use std::time::Duration;

use linnstream::store::{FetchedOrder, Order, Store};

use linnstream::domain::OrderType;
use serde_json::json;

pub const LEASE: Duration = Duration::from_secs(300);

/// A fetched order with a snapshot, as the fetch job would store it.
pub fn fetched(installation: &str, order_id: &str, num: i64) -> FetchedOrder {
    FetchedOrder {
        installation: installation.to_string(),
        order_id: order_id.to_string(),
        num_order_id: Some(num),
        reference: Some(format!("REF-{num}")),
        postal_service_id: Some("3f1c7d4e-0000-4000-8000-000000000001".to_string()),
        postal_service_name: Some("Stream Next Day".to_string()),
        order_type: OrderType::Delivery,
        snapshot: Some(
            json!({"OrderId": order_id, "NumOrderId": num, "Items": [{"SKU": "A1", "Quantity": 2}]}),
        ),
    }
}

/// Stores `n` new orders `ORD-0`.. of `installation`, oldest first.
pub async fn seed_orders(store: &Store, installation: &str, n: usize) -> Vec<Order> {
    let mut orders = Vec::with_capacity(n);
    for i in 0..n {
        let (_, order) = store
            .upsert_fetched(&fetched(installation, &format!("ORD-{i}"), 1000 + i as i64))
            .await
            .expect("store fetched order");
        orders.push(order);
    }
    orders
}

//! An order's place in the queue and the kind of Stream order it becomes.

use super::text_enum::text_enum;

text_enum! {
    /// Where an order is in its lifecycle (the user guide's "Order Lifecycle").
    OrderStatus as "order status" {
        /// Fetched from Linnworks, waiting to be sent to Stream.
        Pending => "Pending",
        /// Claimed by a worker that is sending it; locked against duplicate sends.
        InProgress => "In Progress",
        /// Created in Stream; tracking information is populated.
        Completed => "Completed",
        /// Stream rejected it; retried automatically up to MaxRetryAttempts.
        Failed => "Failed",
        /// Missing fields or configuration; waits for a correction in Linnworks.
        ValidationFailed => "Validation Failed",
        /// A failed order queued for another send attempt.
        ReadyForRetry => "Ready for Retry",
        /// Removed from Stream and cleared in Linnworks by a manual delete.
        Deleted => "Deleted",
    }
}

text_enum! {
    /// Whether a postal service creates a Stream delivery or collection order.
    #[derive(schemars::JsonSchema, Default)]
    OrderType as "order type" {
        #[default]
        Delivery => "Delivery",
        Collection => "Collection",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_stored_name_and_label() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>(), Ok(*s));
            assert_eq!(s.label().parse::<OrderStatus>(), Ok(*s));
        }
        assert_eq!(OrderStatus::ReadyForRetry.to_string(), "Ready for Retry");
        assert_eq!(OrderStatus::ValidationFailed.as_str(), "ValidationFailed");
        let err = "Shipped".parse::<OrderStatus>().unwrap_err();
        assert_eq!(err.to_string(), "unknown order status `Shipped`");
    }
}

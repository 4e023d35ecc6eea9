//! What can go wrong in the store, with enough detail to tell the user what happened.

use crate::domain::{OrderStatus, WebhookStatus};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL names no supported backend.
    #[error(
        "unsupported database URL scheme `{scheme}`: use postgres://, postgresql:// or sqlite:"
    )]
    UnsupportedUrl { scheme: String },

    /// The database URL could not be read (the URL itself is not repeated: it may hold a password).
    #[error("invalid database URL: {reason}")]
    InvalidUrl { reason: String },

    #[error("order {order_id} of installation {installation} not found")]
    OrderNotFound {
        installation: String,
        order_id: String,
    },

    /// The lifecycle does not allow this change.
    #[error("order {order_id} of installation {installation} cannot move from {from} to {to}")]
    IllegalTransition {
        installation: String,
        order_id: String,
        from: OrderStatus,
        to: OrderStatus,
    },

    /// Another worker holds the order (the guide's "Order already in progress").
    #[error("Order already in progress: order {order_id} of installation {installation}")]
    AlreadyInProgress {
        installation: String,
        order_id: String,
    },

    /// The claim expired and the order was returned to the queue or claimed by another worker;
    /// the caller must not record its result.
    #[error(
        "claim of order {order_id} of installation {installation} by {owner} is no longer held (order is now {status})"
    )]
    OrderClaimLost {
        installation: String,
        order_id: String,
        owner: String,
        status: OrderStatus,
    },

    #[error("webhook event {id} not found")]
    WebhookEventNotFound { id: i64 },

    /// The event claim expired and another processor took the event.
    #[error("claim of webhook event {id} by {owner} is no longer held (event is now {status})")]
    WebhookClaimLost {
        id: i64,
        owner: String,
        status: WebhookStatus,
    },

    /// The webhook event is not in a status that allows the change.
    #[error("webhook event {id} is {status}; cannot {action}")]
    WebhookIllegal {
        id: i64,
        status: WebhookStatus,
        action: &'static str,
    },

    #[error("job run {id} not found")]
    JobRunNotFound { id: i64 },

    /// Writers kept changing the row between our read and our write.
    #[error("order {order_id} of installation {installation} kept changing; try again")]
    Contended {
        installation: String,
        order_id: String,
    },

    /// An argument out of its allowed range.
    #[error("{0}")]
    InvalidArgument(String),

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

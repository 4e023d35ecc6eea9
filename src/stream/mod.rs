//! The Stream (Go2Stream) API client: typed requests and replies, token handling, retries.
//! No business rules: what to send is decided by the `sync` layer.

mod client;
pub mod datetime;
pub(crate) mod envelope;
pub mod model;
pub mod notification;
pub(crate) mod subscriptions;
mod token;

pub use client::{StreamClient, StreamCredentials, WithWarnings};
pub use envelope::{ApiMessage, Severity};
pub use model::*;

//! Layer 5: the HTTP surfaces, each an axum `Router` factory over the sync engine, composed
//! into servers by the commands that run them.

pub mod admin;
pub(crate) mod errors;
pub mod gateway;
pub(crate) mod health;
pub(crate) mod ingest;
pub(crate) mod listener;
pub(crate) mod refusals;
pub(crate) mod webhooks;

pub use listener::serve;
pub use webhooks::{WebhookAuth, derive_token, webhook_router};

//! Layer 5: the HTTP surfaces, each an axum `Router` factory over the sync engine, composed
//! into servers by the commands that run them.

pub mod admin;
pub(crate) mod errors;
pub(crate) mod ingest;
pub(crate) mod listener;
pub(crate) mod refusals;
pub mod webhooks;

pub use listener::serve;

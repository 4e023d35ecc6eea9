//! Layer 5: the HTTP surfaces, each an axum `Router` factory over the sync engine, composed
//! into servers by the commands that run them.

pub mod admin;
pub mod errors;
pub mod ingest;
pub mod listener;
pub mod refusals;
pub mod webhooks;

pub use listener::serve;

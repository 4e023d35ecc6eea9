//! Layer 5: the HTTP surfaces, each an axum `Router` factory over the sync engine, composed
//! into servers by the commands that run them.

pub mod admin;
pub mod webhooks;

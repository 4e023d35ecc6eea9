//! The HTTP gateway Linnworks calls (shipping-integration endpoints).
//!
//! [`contract`] holds the request and reply types of the Linnworks shipping-integration
//! contract, with parsing and validation; [`gateway_router`] serves them for every
//! installation, wired to the sync engine and to [`crate::labels`]. See docs/gateway.md.

mod cancel;
pub mod contract;
mod label;
mod manifest;
#[cfg(test)]
mod openapi_drift;
mod routes;
mod services;
mod setup;
mod state;

pub use cancel::CANCEL_NOT_SUPPORTED;
pub use label::{POLL_EVERY, WAIT_AT_MOST, preview_png};
pub use routes::{OPENAPI_JSON, OPENAPI_PATH, gateway_paths, gateway_router};
pub use services::service_id;
pub use setup::{CONFIG_STATUS_ACTIVE, CONFIG_STATUS_SUSPENDED};
pub use state::{ACTOR, UNKNOWN_TOKEN};

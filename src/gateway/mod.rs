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

#[cfg(test)]
pub(crate) mod test_support {
    use crate::config::InstallationConfig;

    /// The example Installation with its mappings, as `linnstream run` would load it.
    pub fn example_installation() -> InstallationConfig {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let files = crate::crd::check::collect_files(&dir, false).expect("examples listed");
        let report = crate::crd::check::check_files(&files, "default");
        let snapshot =
            crate::config::files::snapshot_from_report(&report).expect("examples are valid");
        snapshot
            .installations
            .into_values()
            .next()
            .expect("one installation")
    }
}

//! Layer 4: the jobs (fetch, send, webhook processing, master data, manual operations)
//! as plain async functions over (config, clients, store), and their timing.

pub mod breaker;
pub(crate) mod country;
pub(crate) mod engine;
pub(crate) mod errors;
pub mod fetch;
pub(crate) mod job_error;
pub(crate) mod jobs;
pub(crate) mod locations;
pub mod manual;
pub mod master_data;
pub(crate) mod on_demand;
mod order_details;
pub mod permits;
pub(crate) mod pool;
pub mod process_webhooks;
pub(crate) mod run_context;
pub mod scheduler;
pub mod send;
pub(crate) mod stop;
pub(crate) mod throttle;
pub(crate) mod transform;
pub(crate) mod validate;
pub mod write_back;

pub use engine::{Clients, Engine};
pub use run_context::RunContext;

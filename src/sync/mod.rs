//! Layer 4: the jobs (fetch, send, webhook processing, master data, manual operations)
//! as plain async functions over (config, clients, store), and their timing.

pub mod breaker;
pub mod country;
pub mod engine;
pub mod errors;
pub mod fetch;

pub mod job_error;
pub mod jobs;
pub mod locations;
pub mod manual;
pub mod master_data;
pub mod on_demand;
pub mod permits;
pub mod pool;
pub mod process_webhooks;
pub mod run_context;
pub mod scheduler;
pub mod send;
pub mod stop;
pub mod throttle;
pub mod transform;
pub mod validate;
pub mod write_back;

pub use engine::{Clients, Engine};
pub use run_context::RunContext;

//! Layer 4: the jobs (fetch, send, webhook processing, master data, manual operations)
//! as plain async functions over (config, clients, store), and their timing.

pub(crate) mod breaker;
pub(crate) mod country;
pub(crate) mod engine;
pub(crate) mod fetch;
pub(crate) mod job_error;
pub(crate) mod locations;
pub(crate) mod manual;
pub(crate) mod master_data;
pub(crate) mod on_demand;
mod order_details;
pub(crate) mod permits;
pub(crate) mod pool;
pub(crate) mod process_webhooks;
pub(crate) mod run_context;
pub(crate) mod scheduler;
pub(crate) mod send;
pub(crate) mod stop;
pub(crate) mod throttle;
pub(crate) mod transform;
pub(crate) mod validation;
pub(crate) mod write_back;

// The surface the commands, the tests and the benchmarks use; every module stays private
// to the crate.
pub use breaker::{AccountKey, BreakerPolicy, BreakerView};
pub use engine::{Clients, Engine};
pub use fetch::{FetchSummary, fetch};
pub use manual::{ONLY_COMPLETED_CAN_BE_DELETED, delete_completed, resend_failed, send_selected};
pub use master_data::{sync_identifiers, sync_postal_services};
pub use permits::Permits;
pub use process_webhooks::{
    DISPATCH_DATE_PROPERTY, WebhookSummary, new_stored_event, process_webhooks, webhook_cycle,
};
pub use run_context::RunContext;
pub use scheduler::{SchedulerOptions, run_job, run_scheduler};
pub use send::{SendSummary, send_cycle};
pub use write_back::TRACKING_URL_PROPERTY;

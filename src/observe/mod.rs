//! What a platform team sees of a running process: logs ([`logs`]), metrics
//! ([`metrics`]; the gauges read from the database are `store::gauges`), HTTP request ids
//! ([`http`]) and, when asked for, OTLP trace export ([`traces`]).
//! See docs/observability.md.

pub(crate) mod http;
pub(crate) mod logs;
pub mod metrics;
pub mod traces;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use metrics::metrics;

tokio::task_local! {
    /// The installation whose work the current task does, so a remote call deep in a
    /// client is counted against it without threading it through every signature.
    static INSTALLATION: (String, String);
}

/// Runs `work` as work of `installation` (`namespace/name`).
pub fn in_installation<F: Future>(installation: &str, work: F) -> impl Future<Output = F::Output> {
    INSTALLATION.scope(metrics::split(installation), work)
}

/// `(namespace, installation)` of the current task; empty strings outside one.
pub fn current_installation() -> (String, String) {
    INSTALLATION
        .try_with(|i| i.clone())
        .unwrap_or_else(|_| (String::new(), String::new()))
}

/// When each scheduler loop of this process last went round, by installation id; a
/// worker is ready only while its loops beat.
fn beats() -> &'static Mutex<HashMap<String, Instant>> {
    static BEATS: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    BEATS.get_or_init(Default::default)
}

/// The loop of `installation` is alive.
pub fn beat(installation: &str) {
    let mut b = beats().lock().unwrap_or_else(|p| p.into_inner());
    b.insert(installation.to_string(), Instant::now());
}

/// The loop of `installation` stopped on purpose (the installation went away).
pub fn forget_beat(installation: &str) {
    let mut b = beats().lock().unwrap_or_else(|p| p.into_inner());
    b.remove(installation);
}

/// Loops that have not beaten within `within`, or `None` when no loop has beaten at all.
pub fn silent_loops(within: Duration) -> Option<Vec<String>> {
    let b = beats().lock().unwrap_or_else(|p| p.into_inner());
    if b.is_empty() {
        return None;
    }
    Some(
        b.iter()
            .filter(|(_, at)| at.elapsed() > within)
            .map(|(k, _)| k.clone())
            .collect(),
    )
}

//! One job run or one user action, as the audit log and the logs know it: the engine it runs
//! on, the installation it concerns, the correlation id that ties its entries together, and
//! who started it. Jobs take it instead of passing the four along one by one, and audit
//! through it.

use std::time::Instant;

use crate::domain::InstallationKey;
use crate::domain::{AuditAction, AuditOutcome};
use crate::store::NewAuditEntry;

use super::engine::Engine;

/// Who triggered a piece of work, for the audit log.
pub const SCHEDULER: &str = "scheduler";

/// A new correlation id for one job run or one user action.
pub fn correlation_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// One job run or user action of one installation. Cheap to clone (the engine is shared),
/// so work it starts in the background can take a copy along.
#[derive(Clone, Debug)]
pub struct RunContext {
    engine: Engine,
    key: InstallationKey,
    correlation: String,
    actor: String,
}

impl RunContext {
    /// A run under a new correlation id.
    pub fn start(engine: &Engine, key: &InstallationKey, actor: impl Into<String>) -> Self {
        Self::new(engine, key, correlation_id(), actor)
    }

    /// A run under a given correlation id (work that belongs to another run, such as the
    /// sends a fetch starts).
    pub fn new(
        engine: &Engine,
        key: &InstallationKey,
        correlation: impl Into<String>,
        actor: impl Into<String>,
    ) -> Self {
        Self {
            engine: engine.clone(),
            key: key.clone(),
            correlation: correlation.into(),
            actor: actor.into(),
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn key(&self) -> &InstallationKey {
        &self.key
    }

    pub fn correlation(&self) -> &str {
        &self.correlation
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// Writes one audit entry of this run: what was done, to which order (or reference),
    /// how it ended and why, timed from `started`. An audit failure is logged, never allowed
    /// to fail the work it describes.
    pub async fn audit(
        &self,
        action: AuditAction,
        order_id: Option<&str>,
        outcome: AuditOutcome,
        message: String,
        started: Instant,
    ) {
        let row = NewAuditEntry {
            at: chrono::Utc::now(),
            installation: self.key.id(),
            order_id: order_id.map(str::to_string),
            correlation_id: self.correlation.clone(),
            action,
            outcome,
            message,
            duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            actor: self.actor.clone(),
        };
        if let Err(e) = self.engine.store().audit(&row).await {
            tracing::warn!(installation = %self.key, "could not write the audit log: {e}");
        }
    }

    /// Audits a whole job by its result: its summary on success, its error on failure.
    pub async fn audit_result<T: std::fmt::Display, E: std::fmt::Display>(
        &self,
        action: AuditAction,
        result: &Result<T, E>,
        started: Instant,
    ) {
        let (outcome, message) = match result {
            Ok(summary) => (AuditOutcome::Success, summary.to_string()),
            Err(e) => (AuditOutcome::Failure, e.to_string()),
        };
        self.audit(action, None, outcome, message, started).await;
    }
}

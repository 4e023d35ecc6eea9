//! The jobs an installation runs, and how a run of one ends.

use std::time::Duration;

use super::text_enum::text_enum;

/// The scheduled jobs, with the names shown on the scheduler dashboard and in the audit log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Job {
    Fetch,
    Send,
    Webhooks,
    Identifiers,
    PostalServices,
    /// Deletes history past its retention. Runs once a day per database, whichever
    /// process gets to it first, so its runs are recorded under [`DATABASE_WIDE`] and
    /// shown with every installation's jobs.
    Prune,
}

/// The `installation` under which database-wide jobs record their runs and next run.
pub const DATABASE_WIDE: &str = "*";

/// How often the prune job runs.
pub const PRUNE_PERIOD: Duration = Duration::from_secs(86_400);

impl Job {
    pub const ALL: [Job; 6] = [
        Job::Fetch,
        Job::Send,
        Job::Webhooks,
        Job::Identifiers,
        Job::PostalServices,
        Job::Prune,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Job::Fetch => "fetch-orders",
            Job::Send => "send-orders",
            Job::Webhooks => "process-webhooks",
            Job::Identifiers => "sync-master-data-identifiers",
            Job::PostalServices => "sync-master-data-postal-services",
            Job::Prune => "prune-history",
        }
    }

    /// Whether the job works on the whole database rather than one installation.
    pub fn is_database_wide(self) -> bool {
        self == Job::Prune
    }

    pub fn from_name(name: &str) -> Option<Job> {
        Job::ALL.into_iter().find(|j| j.name() == name)
    }
}

text_enum! {
    /// How a job run ended (`Running` until it finishes).
    JobOutcome as "job outcome" {
        Running => "Running",
        Succeeded => "Succeeded",
        Failed => "Failed",
        Skipped => "Skipped",
    }
}

//! The jobs the master-data module provides, behind one call for the scheduler
//! and the `master-data` command.

use super::job_error::JobError;
use super::master_data::{sync_identifiers, sync_postal_services};
use super::run_context::RunContext;
use crate::domain::Job;

/// Runs a master-data job; returns its summary line.
pub async fn run_other(run: &RunContext, job: Job) -> Result<String, JobError> {
    match job {
        Job::Identifiers => Ok(sync_identifiers(run).await?.to_string()),
        Job::PostalServices => Ok(sync_postal_services(run).await?.to_string()),
        Job::Fetch | Job::Send | Job::Webhooks | Job::Prune => Err(JobError::Other(format!(
            "{} is run by the scheduler itself",
            job.name()
        ))),
    }
}

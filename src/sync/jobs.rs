//! The jobs the webhook and master-data modules provide, behind one call for the scheduler
//! and the `master-data` command.

use crate::config::InstallationKey;

use super::engine::{Engine, SCHEDULER};
use super::job_error::JobError;
use super::master_data::{sync_identifiers, sync_postal_services};
use super::process_webhooks::process_webhooks;
use super::schedule::Job;

/// Runs a webhook-processing or master-data job; returns its summary line.
pub async fn run_other(
    engine: &Engine,
    key: &InstallationKey,
    job: Job,
    correlation: &str,
) -> Result<String, JobError> {
    match job {
        Job::Webhooks => {
            let s = process_webhooks(engine, key, correlation, SCHEDULER).await?;
            Ok(if s.claimed == 0 {
                "no webhook events to process".to_string()
            } else {
                s.to_string()
            })
        }
        Job::Identifiers => Ok(sync_identifiers(engine, key, correlation, SCHEDULER)
            .await?
            .to_string()),
        Job::PostalServices => Ok(sync_postal_services(engine, key, correlation, SCHEDULER)
            .await?
            .to_string()),
        Job::Fetch | Job::Send | Job::Prune => Err(JobError::Other(format!(
            "{} is run by the scheduler itself",
            job.name()
        ))),
    }
}

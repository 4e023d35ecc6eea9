//! Surface: the operator. `build` turns an Installation into the Kubernetes objects that run
//! it, as pure functions; the controllers (`installation`, `mapping`) apply them, keep the
//! Stream webhook subscriptions, and write status from what the cluster and the store say.
//! Only the holder of the leader Lease reconciles (`leader`). See docs/operator.md.

pub mod build;
pub(crate) mod caches;
pub(crate) mod children;
pub(crate) mod config;
pub(crate) mod context;
pub(crate) mod controllers;
pub(crate) mod error;
pub(crate) mod installation;
pub(crate) mod leader;
pub(crate) mod mapping;
pub(crate) mod metrics;
#[cfg(test)]
mod mock_api;
pub(crate) mod secrets;
pub(crate) mod settings;
pub(crate) mod status;
pub(crate) mod subscriptions;

// The surface the `operator` command, the tests and the benchmarks use.
pub use config::ACTIVE_ANNOTATION;
pub use installation::CONTROLLER as INSTALLATION_CONTROLLER;
pub use leader::LeaseConfig;
pub use mapping::CONTROLLER as MAPPING_CONTROLLER;
pub use metrics::Metrics;
pub use settings::{ConfigSecret, OperatorConfig};

use std::future::Future;
use std::sync::Arc;

use futures::FutureExt;
use kube::Client;

use crate::store::{Store, StoreError, StoreOptions};
use build::CronJobApi;
use leader::{LeaderElector, LeaseLost};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("connecting to the store: {0}")]
    Store(#[from] StoreError),
    #[error("asking the API server which CronJob API it serves: {0}")]
    Discovery(kube::Error),
    #[error("stopped: leadership lost ({0})")]
    LostLease(#[from] LeaseLost),
}

/// `batch/v1` when the cluster serves CronJobs there (Kubernetes 1.21 and later), else
/// `batch/v1beta1`.
pub async fn discover_cron_job_api(client: &Client) -> Result<CronJobApi, kube::Error> {
    let batch_v1 = client.list_api_group_resources("batch/v1").await?;
    Ok(if batch_v1.resources.iter().any(|r| r.name == "cronjobs") {
        CronJobApi::BatchV1
    } else {
        CronJobApi::BatchV1Beta1
    })
}

/// A client whose every request is counted in `metrics` (`api_requests`).
pub fn counting_client(config: kube::Config, metrics: Arc<Metrics>) -> Result<Client, kube::Error> {
    Ok(kube::client::ClientBuilder::try_from(config)?
        .with_layer(&metrics::counting_layer(metrics))
        .build())
}

/// Runs the operator: waits for the leader Lease, then reconciles until `shutdown`
/// completes (in-flight reconciles finish, then the Lease is released) or leadership is
/// lost (everything stops at once and [`RunError::LostLease`] is returned: the process
/// should exit and be restarted, to start again as a candidate).
pub async fn run(
    client: Client,
    config: OperatorConfig,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let shutdown = shutdown.boxed().shared();
    // The operator only reads, a few queries per reconcile: a small pool.
    let store = Store::connect_with(
        &config.database_url,
        &StoreOptions {
            max_connections: 4,
            ..StoreOptions::default()
        },
    )
    .await?;
    metrics.set_store(store.clone());
    let cron_job_api = discover_cron_job_api(&client)
        .await
        .map_err(RunError::Discovery)?;
    tracing::info!(
        cron_jobs = cron_job_api.api_version(),
        "the cluster serves CronJobs"
    );
    let elector = LeaderElector::new(client.clone(), config.lease.clone());
    tokio::select! {
        _ = elector.acquire() => {}
        _ = shutdown.clone() => {
            store.close().await;
            return Ok(());
        }
    }
    metrics.leader.set(1);
    let wiring = context::Wiring {
        client,
        metrics: metrics.clone(),
        store: store.clone(),
        config,
        cron_job_api,
    };
    let controllers = controllers::run(wiring, shutdown);
    tokio::pin!(controllers);
    let result = tokio::select! {
        _ = &mut controllers => Ok(()),
        lost = elector.hold() => Err(RunError::LostLease(lost)),
    };
    metrics.leader.set(0);
    if result.is_ok() {
        elector.release().await;
    } else {
        tracing::error!(
            identity = elector.identity(),
            "leadership lost: stopped reconciling"
        );
    }
    store.close().await;
    result
}

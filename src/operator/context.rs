//! What every reconcile shares: the API client, the event recorder, metrics, the store, the
//! settings, the caches of watched objects, and the per-object error backoff.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::Client;
use kube::api::DynamicObject;
use kube::core::PartialObjectMeta;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::runtime::reflector::{ObjectRef, Store as Cache};

use super::build::{BuildError, CronJobApi};
use super::children::Applier;
use super::metrics::Metrics;
use super::secrets::SecretCache;
use super::settings::OperatorConfig;
use crate::crd::Installation;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("building the children: {0}")]
    Build(#[from] BuildError),
    #[error("serialising: {0}")]
    Json(#[from] serde_json::Error),
    #[error("Stream webhooks: {0}")]
    Webhooks(String),
    #[error("the object has no {0}")]
    MissingMetadata(&'static str),
    #[error("the caches of watched objects were not filled within {0} s")]
    CachesNotReady(u64),
}

impl Error {
    /// A short label for the failures metric.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Kube(_) => "kube",
            Error::Store(_) => "store",
            Error::Build(_) => "build",
            Error::Json(_) => "json",
            Error::Webhooks(_) => "webhooks",
            Error::MissingMetadata(_) => "metadata",
            Error::CachesNotReady(_) => "caches",
        }
    }
}

/// The caches (reflector stores) of everything the controllers watch.
#[derive(Clone)]
pub struct Caches {
    pub installations: Cache<Installation>,
    pub mappings: Cache<crate::crd::PostalServiceMapping>,
    pub secrets: Cache<PartialObjectMeta<Secret>>,
    pub service_accounts: Cache<PartialObjectMeta<ServiceAccount>>,
    pub roles: Cache<PartialObjectMeta<Role>>,
    pub role_bindings: Cache<PartialObjectMeta<RoleBinding>>,
    pub services: Cache<PartialObjectMeta<Service>>,
    pub deployments: Cache<Deployment>,
    pub cron_jobs: Cache<PartialObjectMeta<DynamicObject>>,
}

impl Caches {
    /// Waits until every cache has been listed once, so a reconcile never mistakes an
    /// object that is not cached yet for one that does not exist.
    pub async fn wait_ready(&self, within: Duration) -> Result<(), Error> {
        let all = async {
            let _ = self.installations.wait_until_ready().await;
            let _ = self.mappings.wait_until_ready().await;
            let _ = self.secrets.wait_until_ready().await;
            let _ = self.service_accounts.wait_until_ready().await;
            let _ = self.roles.wait_until_ready().await;
            let _ = self.role_bindings.wait_until_ready().await;
            let _ = self.services.wait_until_ready().await;
            let _ = self.deployments.wait_until_ready().await;
            let _ = self.cron_jobs.wait_until_ready().await;
        };
        tokio::time::timeout(within, all)
            .await
            .map_err(|_| Error::CachesNotReady(within.as_secs()))
    }

    /// The version of a child as last seen by its watch (see [`version_of`]).
    pub fn resource_version(
        &self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
    ) -> Option<String> {
        fn rv<K: kube::Resource<DynamicType = ()> + Clone>(
            cache: &Cache<K>,
            ns: &str,
            name: &str,
        ) -> Option<String> {
            cache
                .get(&ObjectRef::new(name).within(ns))
                .map(|o| version_of(K::kind(&()).as_ref(), o.meta()))
        }
        match kind {
            "ServiceAccount" => rv(&self.service_accounts, ns, name),
            "Role" => rv(&self.roles, ns, name),
            "RoleBinding" => rv(&self.role_bindings, ns, name),
            "Secret" => rv(&self.secrets, ns, name),
            "Service" => rv(&self.services, ns, name),
            "Deployment" => rv(&self.deployments, ns, name),
            "CronJob" => {
                let api = if api_version == "batch/v1" {
                    CronJobApi::BatchV1
                } else {
                    CronJobApi::BatchV1Beta1
                };
                self.cron_jobs
                    .get(&ObjectRef::new_with(name, api.api_resource()).within(ns))
                    .map(|o| version_of("CronJob", &o.metadata))
            }
            _ => None,
        }
    }
}

/// What tells whether a child still is as applied: for kinds with a status that others
/// update (Deployments, CronJobs) the `generation`, which only spec changes move; for the
/// rest the `resourceVersion`.
pub fn version_of(kind: &str, meta: &kube::api::ObjectMeta) -> String {
    match kind {
        "Deployment" | "CronJob" => format!("generation {}", meta.generation.unwrap_or(0)),
        _ => meta.resource_version.clone().unwrap_or_default(),
    }
}

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub store: Store,
    pub config: OperatorConfig,
    pub cron_job_api: CronJobApi,
    pub caches: Caches,
    pub secrets: SecretCache,
    pub applier: Applier,
    /// Consecutive failures per object, for the error backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// Asks the mapping controller to look at the mappings of an Installation again.
    pub mapping_triggers:
        tokio::sync::mpsc::UnboundedSender<ObjectRef<crate::crd::PostalServiceMapping>>,
}

impl Context {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        client: Client,
        recorder: Recorder,
        metrics: Arc<Metrics>,
        store: Store,
        config: OperatorConfig,
        cron_job_api: CronJobApi,
        caches: Caches,
        mapping_triggers: tokio::sync::mpsc::UnboundedSender<
            ObjectRef<crate::crd::PostalServiceMapping>,
        >,
    ) -> Self {
        Self {
            secrets: SecretCache::new(client.clone(), caches.secrets.clone()),
            applier: Applier::new(client.clone()),
            client,
            recorder,
            metrics,
            store,
            config,
            cron_job_api,
            caches,
            failures: Mutex::new(HashMap::new()),
            mapping_triggers,
        }
    }

    /// Publishes an event about `obj`; a failure is only logged (events are best effort,
    /// and a terminating namespace refuses them).
    pub async fn event<K>(&self, obj: &K, type_: EventType, reason: &str, note: String)
    where
        K: kube::Resource<DynamicType = ()>,
    {
        let reference = obj.object_ref(&());
        let event = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(note, 1000)),
            action: reason.to_string(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&event, &reference).await {
            tracing::debug!(reason, "publishing an event: {e}");
        }
    }

    /// How long to wait before retrying an object that failed: 1s, 2s, 4s ... up to 5 min.
    pub fn backoff(&self, key: &str) -> Duration {
        let Ok(mut failures) = self.failures.lock() else {
            return Duration::from_secs(30);
        };
        let n = failures.entry(key.to_string()).or_insert(0);
        *n = n.saturating_add(1);
        let secs = 1u64 << (*n - 1).min(9);
        Duration::from_secs(secs.min(300))
    }

    pub fn succeeded(&self, key: &str) {
        if let Ok(mut failures) = self.failures.lock() {
            failures.remove(key);
        }
    }
}

fn truncate(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

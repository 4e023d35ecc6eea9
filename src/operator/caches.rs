//! The caches (reflector stores) of everything the controllers watch, and what tells
//! whether a child is still as the operator applied it.

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::DynamicObject;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::{ObjectRef, Store as Cache};

use super::build::CronJobApi;
use super::error::Error;
use crate::crd::Installation;

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

//! Pure builders of an Installation's children, in the style of the Stackable operators:
//! input the Installation and the operator's settings; output the objects. (Mappings are
//! not an input: the children read them, and the Installation, live from the API.)
//! No I/O here (the one exception: a webhook token is generated when none exists yet), so
//! every rule is unit-tested without a cluster; the reconciler only applies the result.
//!
//! Children of Installation `NAME` (see [`names::ChildNames`]):
//! - ServiceAccount, Role and RoleBinding `NAME-config-reader`: the children read their
//!   Installation and mappings from the API (get/list/watch, in their namespace only);
//! - Deployment `NAME-worker`: `linnstream worker`, 1 replica, 0 when suspended;
//! - Deployment and Service `NAME-webhooks`: `linnstream webhooks`, only with webhooks on;
//! - Secret `NAME-webhook-auth`: the token Stream echoes on webhook calls, generated once;
//! - CronJobs `NAME-identifiers` and `NAME-postal-services`: `linnstream master-data ...`.
//!
//! Credentials reach pods only as `secretKeyRef` environment variables (see [`env`]).

pub(crate) mod cron_utc;
pub(crate) mod cronjobs;
pub(crate) mod env;
pub(crate) mod names;
pub(crate) mod pod;
pub(crate) mod pool;
pub(crate) mod rbac;
pub(crate) mod rollout;
pub(crate) mod webhooks;
pub(crate) mod worker;

pub use env::WORKER_PROCESS;
pub use pod::HEALTH_PORT_NAME;
pub use pool::PoolSettings;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ResourceRequirements, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;
use kube::api::DynamicObject;
use serde::Serialize;

use crate::crd::{Installation, SecretKeyRef};
use crate::settings::SystemSettings;

pub use cronjobs::CronJobApi;
pub use names::ChildNames;
pub use webhooks::WebhookToken;

/// The field manager the operator applies children with (server-side apply).
pub const FIELD_MANAGER: &str = "linnstream-operator";
/// Pod label of the children that serve `/metrics` on their `health` port: the chart's
/// PodMonitor selects it.
pub const SCRAPE_LABEL: &str = "linnstream.io/scrape";
/// Pod-template annotation: changes when what pods read only at start changes (the
/// content of the Secrets behind their environment, see [`rollout`]), so they restart.
pub const CONFIG_HASH_ANNOTATION: &str = "linnstream.io/config-hash";

/// What the operator was configured with (Helm values, flags), not per Installation.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorSettings {
    /// The `linnstream` image every child runs.
    pub image: String,
    pub image_pull_policy: String,
    /// The Secret key holding the PostgreSQL URL. A `secretKeyRef` only reaches Secrets in
    /// the pod's namespace, so this Secret must exist in every namespace with Installations.
    pub database_url: SecretKeyRef,
    /// The guide's system-level settings, passed to every child as environment variables.
    pub system: SystemSettings,
    /// Requests and limits of every child container.
    pub resources: ResourceRequirements,
    /// `--log-format` of every child.
    pub log_format: crate::observe::logs::LogFormat,
    /// The mode of Installations that do not say (`--default-worker-mode`).
    pub default_worker_mode: crate::crd::installation::WorkerMode,
    /// How long a worker's lease on an installation lasts (dedicated and pooled alike).
    pub lease_duration: std::time::Duration,
}

impl OperatorSettings {
    pub fn new(image: impl Into<String>, database_url: SecretKeyRef) -> Self {
        Self {
            image: image.into(),
            image_pull_policy: "IfNotPresent".into(),
            database_url,
            system: SystemSettings::default(),
            resources: default_resources(),
            log_format: crate::observe::logs::LogFormat::default(),
            default_worker_mode: crate::crd::installation::WorkerMode::Dedicated,
            lease_duration: std::time::Duration::from_secs(15),
        }
    }
}

/// Small by default: each process syncs one installation.
pub fn default_resources() -> ResourceRequirements {
    let q = |s: &str| Quantity(s.to_string());
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".to_string(), q("50m")),
            ("memory".to_string(), q("64Mi")),
        ])),
        limits: Some(BTreeMap::from([("memory".to_string(), q("256Mi"))])),
        ..ResourceRequirements::default()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// The Installation lacks metadata a child needs (it was not read from the cluster).
    #[error("the Installation has no metadata.{0}")]
    MissingMetadata(&'static str),
    /// A value in the spec cannot be turned into a child.
    #[error("{path}: {message}")]
    InvalidSpec { path: String, message: String },
}

/// Everything [`build`] needs.
#[derive(Clone, Debug)]
pub struct BuildInput<'a> {
    pub installation: &'a Installation,
    /// `resourceVersion` by name of the Secrets the pods read (credentials and database
    /// URL), so rotating one rolls the pods; empty when unknown.
    pub secret_versions: &'a BTreeMap<String, String>,
    pub settings: &'a OperatorSettings,
    /// The current webhook auth Secret, if one exists: its token is kept.
    pub existing_webhook_auth: Option<&'a Secret>,
    /// Which CronJob API the cluster serves.
    pub cron_job_api: CronJobApi,
    /// For `batch/v1beta1` only: the UTC offset of the time zone at this instant is used.
    pub now: DateTime<Utc>,
}

/// The desired children of one Installation.
#[derive(Clone, Debug)]
pub struct Children {
    pub names: ChildNames,
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub worker: Deployment,
    /// Present only when `spec.webhooks.enabled`.
    pub webhooks: Option<WebhookChildren>,
    /// Identifiers then postal services, in the served API version (`apiVersion` and `kind`
    /// set, ready for a server-side apply).
    pub cron_jobs: Vec<DynamicObject>,
}

#[derive(Clone, Debug)]
pub struct WebhookChildren {
    pub auth_secret: Secret,
    pub deployment: Deployment,
    pub service: Service,
}

impl Children {
    /// Every child as JSON with `apiVersion` and `kind`, in apply order (API access and
    /// Secret before the workloads that use them).
    pub fn to_json(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        let mut out = self.pooled_json()?;
        out.push(typed_json(&self.worker)?);
        if let Some(w) = &self.webhooks {
            out.push(typed_json(&w.deployment)?);
            out.push(typed_json(&w.service)?);
        }
        for c in &self.cron_jobs {
            out.push(serde_json::to_value(c)?);
        }
        Ok(out)
    }
}

impl Children {
    /// What a pooled Installation keeps of its own (the pool runs its loops, receives its
    /// webhooks and syncs its master data): the API access and the webhook token.
    pub fn pooled_json(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        let mut out = vec![
            typed_json(&self.service_account)?,
            typed_json(&self.role)?,
            typed_json(&self.role_binding)?,
        ];
        if let Some(w) = &self.webhooks {
            out.push(typed_json(&w.auth_secret)?);
        }
        Ok(out)
    }
}

/// A k8s-openapi object as JSON, with its `apiVersion` and `kind`.
pub fn typed_json<K>(obj: &K) -> Result<serde_json::Value, serde_json::Error>
where
    K: Resource<DynamicType = ()> + Serialize,
{
    let mut v = serde_json::to_value(obj)?;
    if let Some(map) = v.as_object_mut() {
        map.insert("apiVersion".into(), K::api_version(&()).into());
        map.insert("kind".into(), K::kind(&()).into());
    }
    Ok(v)
}

/// Builds every child of the Installation.
pub fn build(input: &BuildInput) -> Result<Children, BuildError> {
    let ctx = Context::new(input.installation, input.settings)?;
    let webhooks_on = input.installation.spec.webhooks.enabled;
    let token = webhooks_on.then(|| {
        input
            .existing_webhook_auth
            .and_then(WebhookToken::from_secret)
            .unwrap_or_else(WebhookToken::generate)
    });
    let hash = rollout::hash(token.as_ref(), input.secret_versions);
    let worker = worker::deployment(&ctx, &hash);
    let webhooks = token.map(|token| WebhookChildren {
        auth_secret: webhooks::auth_secret(&ctx, &token),
        deployment: webhooks::deployment(&ctx, &hash),
        service: webhooks::service(&ctx),
    });
    let cron_jobs = cronjobs::build(&ctx, input.cron_job_api, input.now)?;
    Ok(Children {
        names: ctx.names.clone(),
        service_account: rbac::service_account(&ctx),
        role: rbac::role(&ctx),
        role_binding: rbac::role_binding(&ctx),
        worker,
        webhooks,
        cron_jobs,
    })
}

/// The component label values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    Worker,
    Webhooks,
    MasterData,
    /// The API access all components share.
    ConfigReader,
}

impl Component {
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Worker => "worker",
            Component::Webhooks => "webhooks",
            Component::MasterData => "master-data",
            Component::ConfigReader => "config-reader",
        }
    }
}

/// What every child builder needs from the Installation and the settings.
#[derive(Clone, Debug)]
pub struct Context<'a> {
    pub installation: &'a Installation,
    pub settings: &'a OperatorSettings,
    pub name: String,
    pub namespace: String,
    pub names: ChildNames,
    pub owner: OwnerReference,
}

impl<'a> Context<'a> {
    pub fn new(
        installation: &'a Installation,
        settings: &'a OperatorSettings,
    ) -> Result<Self, BuildError> {
        let meta = &installation.metadata;
        let name = meta
            .name
            .clone()
            .ok_or(BuildError::MissingMetadata("name"))?;
        let namespace = meta
            .namespace
            .clone()
            .ok_or(BuildError::MissingMetadata("namespace"))?;
        if meta.uid.is_none() {
            return Err(BuildError::MissingMetadata("uid"));
        }
        let owner = OwnerReference {
            block_owner_deletion: Some(true),
            ..installation
                .controller_owner_ref(&())
                .ok_or(BuildError::MissingMetadata("uid"))?
        };
        Ok(Self {
            installation,
            settings,
            names: ChildNames::of(&name),
            name,
            namespace,
            owner,
        })
    }

    /// The labels that select one component's pods (kept stable: selectors are immutable).
    pub fn selector_labels(&self, component: Component) -> BTreeMap<String, String> {
        BTreeMap::from([
            ("app.kubernetes.io/name".into(), "linnstream".into()),
            (
                "app.kubernetes.io/instance".into(),
                names::label_value(&self.name),
            ),
            (
                "app.kubernetes.io/component".into(),
                component.as_str().into(),
            ),
        ])
    }

    pub fn labels(&self, component: Component) -> BTreeMap<String, String> {
        let mut labels = self.selector_labels(component);
        labels.insert(
            "app.kubernetes.io/managed-by".into(),
            "linnstream-operator".into(),
        );
        labels
    }

    /// Metadata of a child: name, namespace, labels and the controller owner reference.
    pub fn meta(&self, name: &str, component: Component) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(self.namespace.clone()),
            labels: Some(self.labels(component)),
            owner_references: Some(vec![self.owner.clone()]),
            ..ObjectMeta::default()
        }
    }
}

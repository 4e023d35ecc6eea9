//! The shared worker pool's objects (docs/pool.md), in the namespace of the config Secret
//! they read: a ServiceAccount allowed to read only that Secret, the worker Deployment
//! (`linnstream pool-worker`, N replicas, or none set so a HorizontalPodAutoscaler owns
//! the count) and the webhook receiver Deployment and Service (`linnstream pool-webhooks`).
//! They belong to no Installation: the operator keeps them while the pool is configured.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{EnvVar, PodTemplateSpec, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::webhooks::{WEBHOOK_PORT, WEBHOOK_PORT_NAME};
use super::{OperatorSettings, SCRAPE_LABEL, env, pod, typed_json};

/// Component label values of the pool's pods.
pub const WORKER_COMPONENT: &str = "pool-worker";
pub const WEBHOOKS_COMPONENT: &str = "pool-webhooks";

/// How the pool is run (operator flags `--pool-*`).
#[derive(Clone, Debug, PartialEq)]
pub struct PoolSettings {
    /// Base of the objects' names: `NAME` (ServiceAccount, Role, RoleBinding),
    /// `NAME-worker`, `NAME-webhooks`.
    pub name: String,
    /// Worker replicas; `None` leaves the count to a HorizontalPodAutoscaler.
    pub replicas: Option<i32>,
    /// Replicas of the shared webhook receiver.
    pub webhook_replicas: i32,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            name: "linnstream-pool".into(),
            replicas: Some(2),
            webhook_replicas: 1,
        }
    }
}

impl PoolSettings {
    pub fn worker_name(&self) -> String {
        format!("{}-worker", self.name)
    }
    pub fn webhooks_name(&self) -> String {
        format!("{}-webhooks", self.name)
    }
}

/// The pool's objects.
#[derive(Clone, Debug)]
pub struct PoolChildren {
    pub service_account: ServiceAccount,
    pub role: Role,
    pub role_binding: RoleBinding,
    pub worker: Deployment,
    pub webhooks: Deployment,
    pub service: Service,
}

impl PoolChildren {
    /// Every object as JSON with `apiVersion` and `kind`, in apply order.
    pub fn to_json(&self) -> Result<Vec<serde_json::Value>, serde_json::Error> {
        Ok(vec![
            typed_json(&self.service_account)?,
            typed_json(&self.role)?,
            typed_json(&self.role_binding)?,
            typed_json(&self.worker)?,
            typed_json(&self.webhooks)?,
            typed_json(&self.service)?,
        ])
    }
}

fn selector(pool: &PoolSettings, component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".into(), "linnstream".into()),
        (
            "app.kubernetes.io/instance".into(),
            super::names::label_value(&pool.name),
        ),
        ("app.kubernetes.io/component".into(), component.into()),
    ])
}

fn meta(pool: &PoolSettings, namespace: &str, name: &str, component: &str) -> ObjectMeta {
    let mut labels = selector(pool, component);
    labels.insert(
        "app.kubernetes.io/managed-by".into(),
        "linnstream-operator".into(),
    );
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(namespace.to_string()),
        labels: Some(labels),
        ..ObjectMeta::default()
    }
}

/// The environment of both pool processes: database URL, pod name, lease, settings.
fn pool_env(settings: &OperatorSettings) -> Vec<EnvVar> {
    let mut vars = vec![
        env::from_secret(env::DATABASE_URL, &settings.database_url),
        env::pod_name(),
        env::lease_duration(settings.lease_duration),
    ];
    vars.extend(env::system_settings(&settings.system));
    vars
}

fn config_args(namespace: &str, config_secret: &str) -> Vec<String> {
    vec![
        "--config-secret".into(),
        config_secret.into(),
        "--config-secret-namespace".into(),
        namespace.into(),
    ]
}

fn deployment(
    settings: &OperatorSettings,
    pool: &PoolSettings,
    namespace: &str,
    name: &str,
    component: &str,
    replicas: Option<i32>,
    container: k8s_openapi::api::core::v1::Container,
) -> Deployment {
    let mut pod_labels = meta(pool, namespace, name, component)
        .labels
        .unwrap_or_default();
    pod_labels.insert(SCRAPE_LABEL.to_string(), "true".to_string());
    Deployment {
        metadata: meta(pool, namespace, name, component),
        spec: Some(DeploymentSpec {
            replicas,
            selector: LabelSelector {
                match_labels: Some(selector(pool, component)),
                ..LabelSelector::default()
            },
            revision_history_limit: Some(3),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(pod::pod_spec_for(settings, &pool.name, container, "Always")),
            },
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// Builds the pool's objects in `namespace`, reading config Secret `config_secret` there.
pub fn build(
    settings: &OperatorSettings,
    pool: &PoolSettings,
    namespace: &str,
    config_secret: &str,
) -> PoolChildren {
    let access = |kind| meta(pool, namespace, &pool.name, kind);
    let mut worker_args = vec!["pool-worker".to_string()];
    worker_args.extend(config_args(namespace, config_secret));
    worker_args.extend([
        "--health-listen".into(),
        format!("0.0.0.0:{}", pod::HEALTH_PORT),
    ]);
    let worker = pod::with_health(
        pod::container_for(settings, "pool-worker", worker_args, pool_env(settings)),
        vec![],
    );
    let mut webhook_args = vec!["pool-webhooks".to_string()];
    webhook_args.extend(config_args(namespace, config_secret));
    webhook_args.extend([
        "--listen".into(),
        format!("0.0.0.0:{WEBHOOK_PORT}"),
        "--health-listen".into(),
        format!("0.0.0.0:{}", pod::HEALTH_PORT),
    ]);
    let receiver = pod::with_health(
        pod::container_for(settings, "pool-webhooks", webhook_args, pool_env(settings)),
        vec![pod::tcp_port(WEBHOOK_PORT_NAME, WEBHOOK_PORT)],
    );
    PoolChildren {
        service_account: ServiceAccount {
            metadata: access("pool"),
            automount_service_account_token: Some(false),
            ..ServiceAccount::default()
        },
        role: Role {
            metadata: access("pool"),
            // The config Secret and nothing else (they ask with fieldSelector
            // metadata.name, so list and watch can be limited to the name too).
            rules: Some(vec![PolicyRule {
                api_groups: Some(vec![String::new()]),
                resources: Some(vec!["secrets".into()]),
                resource_names: Some(vec![config_secret.to_string()]),
                verbs: ["get", "list", "watch"].map(String::from).to_vec(),
                ..PolicyRule::default()
            }]),
        },
        role_binding: RoleBinding {
            metadata: access("pool"),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: pool.name.clone(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: pool.name.clone(),
                namespace: Some(namespace.to_string()),
                ..Subject::default()
            }]),
        },
        worker: deployment(
            settings,
            pool,
            namespace,
            &pool.worker_name(),
            WORKER_COMPONENT,
            pool.replicas,
            worker,
        ),
        webhooks: deployment(
            settings,
            pool,
            namespace,
            &pool.webhooks_name(),
            WEBHOOKS_COMPONENT,
            Some(pool.webhook_replicas),
            receiver,
        ),
        service: Service {
            metadata: meta(pool, namespace, &pool.webhooks_name(), WEBHOOKS_COMPONENT),
            spec: Some(super::webhooks::service_spec(selector(
                pool,
                WEBHOOKS_COMPONENT,
            ))),
            ..Service::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::SecretKeyRef;

    fn settings() -> OperatorSettings {
        OperatorSettings::new(
            "linnstream:1",
            SecretKeyRef {
                name: "db".into(),
                key: "url".into(),
            },
        )
    }

    #[test]
    fn the_pool_runs_its_workers_on_the_config_secret_with_replicas_or_an_autoscaler() {
        let pool = PoolSettings {
            replicas: Some(3),
            ..PoolSettings::default()
        };
        let children = build(&settings(), &pool, "ops", "cfg");
        let worker = serde_json::to_value(&children.worker).unwrap();
        assert_eq!(worker["spec"]["replicas"], 3);
        let args: Vec<&str> = worker["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert_eq!(
            &args[..5],
            [
                "pool-worker",
                "--config-secret",
                "cfg",
                "--config-secret-namespace",
                "ops"
            ]
        );
        let env = &worker["spec"]["template"]["spec"]["containers"][0]["env"];
        let var = |name: &str| {
            env.as_array()
                .unwrap()
                .iter()
                .find(|v| v["name"] == name)
                .cloned()
                .unwrap_or_else(|| panic!("{name}"))
        };
        assert_eq!(
            var(env::DATABASE_URL)["valueFrom"]["secretKeyRef"]["name"],
            "db"
        );
        assert_eq!(var(env::LEASE_DURATION)["value"], "15s");
        assert_eq!(var("LINNSTREAM_MAX_INSTALLATIONS_PER_BATCH")["value"], "2");
        assert_eq!(
            worker["spec"]["template"]["spec"]["serviceAccountName"],
            "linnstream-pool"
        );
        // Its ServiceAccount reads the config Secret only.
        let role = serde_json::to_value(&children.role).unwrap();
        assert_eq!(
            role["rules"][0]["resourceNames"],
            serde_json::json!(["cfg"])
        );
        // With an autoscaler the operator leaves the count alone.
        let auto = build(
            &settings(),
            &PoolSettings {
                replicas: None,
                ..PoolSettings::default()
            },
            "ops",
            "cfg",
        );
        let worker = serde_json::to_value(&auto.worker).unwrap();
        assert!(worker["spec"].get("replicas").is_none());
        // The receiver's Service selects the receiver's pods.
        let svc = serde_json::to_value(&children.service).unwrap();
        let hooks = serde_json::to_value(&children.webhooks).unwrap();
        assert_eq!(
            svc["spec"]["selector"],
            hooks["spec"]["selector"]["matchLabels"]
        );
        assert_eq!(
            hooks["spec"]["template"]["spec"]["containers"][0]["args"][0],
            "pool-webhooks"
        );
    }
}

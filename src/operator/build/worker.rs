//! The sync worker Deployment: `linnstream worker`, the fetch, send and webhook-processing
//! loops of one Installation.

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::PodTemplateSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use std::collections::BTreeMap;

use super::pod::{self, Credentials};
use super::{CONFIG_HASH_ANNOTATION, Component, Context, env};

pub fn args(ctx: &Context) -> Vec<String> {
    let mut args = vec!["worker".to_string()];
    args.extend(pod::installation_args(ctx));
    args.push("--health-listen".into());
    args.push(format!("0.0.0.0:{}", pod::HEALTH_PORT));
    args
}

pub fn deployment(ctx: &Context, config_hash: &str) -> Deployment {
    let spec = &ctx.installation.spec;
    // No webhook token: the operator registers the subscriptions, the receiver checks them.
    let mut vars = pod::credential_env(
        ctx,
        Credentials {
            stream_client_id: true,
            stream_client_secret: true,
            linnworks: true,
            webhook_token: false,
        },
    );
    vars.push(env::lease_duration(ctx.settings.lease_duration));
    vars.extend(env::system_settings(&ctx.settings.system));
    let container = pod::with_health(pod::container(ctx, "worker", args(ctx), vars), vec![]);
    Deployment {
        metadata: ctx.meta(&ctx.names.worker, Component::Worker),
        spec: Some(DeploymentSpec {
            // Suspended: no automated work at all.
            replicas: Some(if spec.suspend { 0 } else { 1 }),
            selector: LabelSelector {
                match_labels: Some(ctx.selector_labels(Component::Worker)),
                ..LabelSelector::default()
            },
            // One worker per installation at a time: the old pod stops before the new
            // one starts, so two schedulers never run the same cycles.
            strategy: Some(DeploymentStrategy {
                type_: Some("Recreate".into()),
                rolling_update: None,
            }),
            revision_history_limit: Some(3),
            template: pod_template(
                ctx,
                Component::Worker,
                config_hash,
                pod::pod_spec(ctx, container, "Always"),
            ),
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

/// A pod template with the component's labels and the rollout hash annotation.
pub(super) fn pod_template(
    ctx: &Context,
    component: Component,
    config_hash: &str,
    spec: k8s_openapi::api::core::v1::PodSpec,
) -> PodTemplateSpec {
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some({
                let mut labels = ctx.labels(component);
                labels.insert(super::SCRAPE_LABEL.to_string(), "true".to_string());
                labels
            }),
            annotations: Some(BTreeMap::from([(
                CONFIG_HASH_ANNOTATION.to_string(),
                config_hash.to_string(),
            )])),
            ..ObjectMeta::default()
        }),
        spec: Some(spec),
    }
}

//! The webhook receiver (`linnstream webhooks`): a Deployment, its Service and the auth
//! Secret holding the token Stream echoes on every callback.

use std::collections::BTreeMap;

use base64::Engine;
use k8s_openapi::ByteString;
use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{Secret, Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use rand::RngCore;

use super::pod::{self, Credentials};
use super::worker::pod_template;
use super::{Component, Context, env, names};

/// Where the receiver listens for Stream's calls.
pub const WEBHOOK_PORT: i32 = 8080;
pub const WEBHOOK_PORT_NAME: &str = "http";
/// The Service's port (the Ingress or gateway in front of it targets this).
pub const SERVICE_PORT: i32 = 80;

/// The webhook auth token. Deliberately not `Debug`-printable, so it cannot reach a log.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookToken(String);

impl std::fmt::Debug for WebhookToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookToken(..)")
    }
}

/// Tokens shorter than this in an existing Secret are replaced (someone edited it by hand).
const MIN_TOKEN_LEN: usize = 32;

impl WebhookToken {
    /// 32 random bytes, URL-safe base64 (43 characters, header-safe).
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The token in an existing auth Secret, if it holds a usable one.
    pub fn from_secret(secret: &Secret) -> Option<Self> {
        let from_data = secret
            .data
            .as_ref()
            .and_then(|d| d.get(env::WEBHOOK_AUTH_KEY))
            .and_then(|b| String::from_utf8(b.0.clone()).ok());
        let from_string_data = || {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(env::WEBHOOK_AUTH_KEY))
                .cloned()
        };
        let token = from_data.or_else(from_string_data)?;
        let usable = token.len() >= MIN_TOKEN_LEN && token.bytes().all(|b| b.is_ascii_graphic());
        usable.then_some(Self(token))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A one-way fingerprint, safe to put in an annotation.
    pub fn fingerprint(&self) -> String {
        names::sha256_hex(self.0.as_bytes())
    }
}

pub fn auth_secret(ctx: &Context, token: &WebhookToken) -> Secret {
    Secret {
        metadata: ctx.meta(&ctx.names.webhook_auth, Component::Webhooks),
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(
            env::WEBHOOK_AUTH_KEY.to_string(),
            ByteString(token.expose().as_bytes().to_vec()),
        )])),
        ..Secret::default()
    }
}

pub fn args(ctx: &Context) -> Vec<String> {
    let mut args = vec!["webhooks".to_string()];
    args.extend(pod::installation_args(ctx));
    args.push("--listen".into());
    args.push(format!("0.0.0.0:{WEBHOOK_PORT}"));
    args.push("--health-listen".into());
    args.push(format!("0.0.0.0:{}", pod::HEALTH_PORT));
    args
}

/// The receiver only stores events (the worker processes them), so it keeps running
/// while the Installation is suspended: no Stream event is lost, and they are processed
/// on resume.
pub fn deployment(ctx: &Context, config_hash: &str) -> Deployment {
    let vars = pod::credential_env(
        ctx,
        Credentials {
            stream_client_id: true,
            stream_client_secret: false,
            linnworks: false,
            webhook_token: true,
        },
    );
    let container = pod::with_health(
        pod::container(ctx, "webhooks", args(ctx), vars),
        vec![pod::tcp_port(WEBHOOK_PORT_NAME, WEBHOOK_PORT)],
    );
    Deployment {
        metadata: ctx.meta(&ctx.names.webhooks, Component::Webhooks),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector {
                match_labels: Some(ctx.selector_labels(Component::Webhooks)),
                ..LabelSelector::default()
            },
            revision_history_limit: Some(3),
            template: pod_template(
                ctx,
                Component::Webhooks,
                config_hash,
                pod::pod_spec(ctx, container, "Always"),
            ),
            ..DeploymentSpec::default()
        }),
        ..Deployment::default()
    }
}

pub fn service(ctx: &Context) -> Service {
    Service {
        metadata: ctx.meta(&ctx.names.webhooks, Component::Webhooks),
        spec: Some(service_spec(ctx.selector_labels(Component::Webhooks))),
        ..Service::default()
    }
}

/// A ClusterIP Service on port 80 to the selected receiver pods' `http` port (the pool's
/// shared receiver has one too).
pub fn service_spec(selector: std::collections::BTreeMap<String, String>) -> ServiceSpec {
    ServiceSpec {
        type_: Some("ClusterIP".into()),
        selector: Some(selector),
        ports: Some(vec![ServicePort {
            name: Some(WEBHOOK_PORT_NAME.into()),
            port: SERVICE_PORT,
            target_port: Some(IntOrString::String(WEBHOOK_PORT_NAME.into())),
            protocol: Some("TCP".into()),
            ..ServicePort::default()
        }]),
        ..ServiceSpec::default()
    }
}

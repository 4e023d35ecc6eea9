//! Pod parts every child shares: the restricted security context, the API access that
//! reads the configuration, health probes and the credential environment.

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, HTTPGetAction,
    PodSecurityContext, PodSpec, Probe, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::{Context, env};

/// Port of `/healthz` (liveness), `/readyz` (readiness) and `/metrics` on the long-running
/// children.
pub const HEALTH_PORT: i32 = 8081;
pub const HEALTH_PORT_NAME: &str = "health";
/// Seconds a pod gets after its process's shutdown grace before Kubernetes kills it.
pub const SHUTDOWN_MARGIN_SECONDS: i64 = 10;
/// A non-root user id, so `runAsNonRoot` can be verified whatever the image declares.
pub const RUN_AS_USER: i64 = 65532;

/// Which credentials a process gets: each only what it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    /// The Stream client id (the receiver checks `party_id` against it).
    pub stream_client_id: bool,
    /// The Stream client secret (calling the Stream API).
    pub stream_client_secret: bool,
    pub linnworks: bool,
    pub webhook_token: bool,
}

/// The credential variables, all `secretKeyRef`s, plus the database URL and pod name.
pub fn credential_env(ctx: &Context, which: Credentials) -> Vec<EnvVar> {
    let spec = &ctx.installation.spec;
    let mut vars = vec![env::from_secret(
        env::DATABASE_URL,
        &ctx.settings.database_url,
    )];
    if which.stream_client_id {
        vars.push(env::from_secret(
            env::STREAM_CLIENT_ID,
            &spec.stream.client_id.secret_key_ref,
        ));
    }
    if which.stream_client_secret {
        vars.push(env::from_secret(
            env::STREAM_CLIENT_SECRET,
            &spec.stream.client_secret.secret_key_ref,
        ));
    }
    if which.linnworks {
        let lw = &spec.linnworks;
        vars.push(env::from_secret(
            env::LINNWORKS_APPLICATION_ID,
            &lw.application_id.secret_key_ref,
        ));
        vars.push(env::from_secret(
            env::LINNWORKS_APPLICATION_SECRET,
            &lw.application_secret.secret_key_ref,
        ));
        vars.push(env::from_secret(
            env::LINNWORKS_INSTALLATION_TOKEN,
            &lw.installation_token.secret_key_ref,
        ));
    }
    if which.webhook_token {
        vars.push(env::from_secret(
            env::WEBHOOK_AUTH_TOKEN,
            &crate::crd::SecretKeyRef {
                name: ctx.names.webhook_auth.clone(),
                key: env::WEBHOOK_AUTH_KEY.to_string(),
            },
        ));
    }
    vars.push(env::pod_name());
    vars
}

/// `--installation NAME --namespace NS`, common to every subcommand: the process watches
/// that Installation and the mappings of that namespace through the API.
pub fn installation_args(ctx: &Context) -> Vec<String> {
    vec![
        "--installation".into(),
        ctx.name.clone(),
        "--namespace".into(),
        ctx.namespace.clone(),
    ]
}

pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        run_as_non_root: Some(true),
        run_as_user: Some(RUN_AS_USER),
        run_as_group: Some(RUN_AS_USER),
        privileged: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        seccomp_profile: Some(runtime_default()),
        ..SecurityContext::default()
    }
}

fn runtime_default() -> SeccompProfile {
    SeccompProfile {
        type_: "RuntimeDefault".into(),
        localhost_profile: None,
    }
}

/// `name` = one of the container's ports, always with `protocol: TCP` (a 1.20 API server
/// refuses server-side applies of ports without it).
pub fn tcp_port(name: &str, port: i32) -> ContainerPort {
    ContainerPort {
        name: Some(name.to_string()),
        container_port: port,
        protocol: Some("TCP".into()),
        ..ContainerPort::default()
    }
}

fn http_probe(path: &str, period: i32) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.to_string()),
            port: IntOrString::String(HEALTH_PORT_NAME.into()),
            scheme: Some("HTTP".into()),
            ..HTTPGetAction::default()
        }),
        initial_delay_seconds: Some(5),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(3),
        success_threshold: Some(1),
        ..Probe::default()
    }
}

/// A container of the `linnstream` image running `args` (plus the operator's log format).
pub fn container(ctx: &Context, name: &str, args: Vec<String>, env: Vec<EnvVar>) -> Container {
    container_for(ctx.settings, name, args, env)
}

/// [`container`] for a child of no Installation (the pool's).
pub fn container_for(
    settings: &super::OperatorSettings,
    name: &str,
    mut args: Vec<String>,
    env: Vec<EnvVar>,
) -> Container {
    args.push(format!("--log-format={}", settings.log_format));
    Container {
        name: name.to_string(),
        image: Some(settings.image.clone()),
        image_pull_policy: Some(settings.image_pull_policy.clone()),
        args: Some(args),
        env: Some(env),
        resources: Some(settings.resources.clone()),
        security_context: Some(container_security_context()),
        volume_mounts: Some(vec![VolumeMount {
            name: "tmp".into(),
            mount_path: "/tmp".into(),
            ..VolumeMount::default()
        }]),
        ..Container::default()
    }
}

/// Adds the health port and its liveness and readiness probes.
pub fn with_health(mut c: Container, mut ports: Vec<ContainerPort>) -> Container {
    ports.push(tcp_port(HEALTH_PORT_NAME, HEALTH_PORT));
    c.ports = Some(ports);
    c.liveness_probe = Some(http_probe("/healthz", 10));
    c.readiness_probe = Some(http_probe("/readyz", 5));
    c
}

/// The pod around one container: restricted, running as the Installation's config reader
/// (its token mounted: the process watches its Installation and mappings through the
/// API), with a writable `/tmp`.
pub fn pod_spec(ctx: &Context, container: Container, restart_policy: &str) -> PodSpec {
    pod_spec_for(
        ctx.settings,
        &ctx.names.config_reader,
        container,
        restart_policy,
    )
}

/// [`pod_spec`] running as ServiceAccount `service_account`.
pub fn pod_spec_for(
    settings: &super::OperatorSettings,
    service_account: &str,
    container: Container,
    restart_policy: &str,
) -> PodSpec {
    PodSpec {
        containers: vec![container],
        restart_policy: Some(restart_policy.to_string()),
        service_account_name: Some(service_account.to_string()),
        automount_service_account_token: Some(true),
        enable_service_links: Some(false),
        // Kubernetes kills the pod this long after SIGTERM: the process's own grace, plus
        // time to hand back its claims and close the database.
        termination_grace_period_seconds: Some(
            i64::from(settings.system.shutdown_grace_seconds) + SHUTDOWN_MARGIN_SECONDS,
        ),
        security_context: Some(PodSecurityContext {
            run_as_non_root: Some(true),
            run_as_user: Some(RUN_AS_USER),
            run_as_group: Some(RUN_AS_USER),
            fs_group: Some(RUN_AS_USER),
            seccomp_profile: Some(runtime_default()),
            ..PodSecurityContext::default()
        }),
        volumes: Some(vec![Volume {
            name: "tmp".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                size_limit: Some(Quantity("64Mi".into())),
                ..EmptyDirVolumeSource::default()
            }),
            ..Volume::default()
        }]),
        ..PodSpec::default()
    }
}

use chrono::TimeZone;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, PodSpec};
use serde_json::Value;

use super::*;
use crate::crd::Installation;

const NAMESPACE: &str = "shop";
const UID: &str = "6a1f0d2e-1111-4222-8333-944455556666";

fn example<T: serde::de::DeserializeOwned>(text: &str) -> T {
    serde_saphyr::from_str(text).expect("example parses")
}

fn installation() -> Installation {
    let mut inst: Installation = example(include_str!("../../../examples/installation.yaml"));
    inst.metadata.namespace = Some(NAMESPACE.into());
    inst.metadata.uid = Some(UID.into());
    inst
}

fn settings() -> OperatorSettings {
    OperatorSettings::new(
        "registry.example/linnstream:1.2.3",
        crate::crd::SecretKeyRef {
            name: "linnstream-database".into(),
            key: "url".into(),
        },
    )
}

fn summer() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 7, 1, 12, 0, 0).unwrap()
}

fn build_with(inst: &Installation, api: CronJobApi, existing: Option<&Secret>) -> Children {
    build_versions(inst, api, existing, &BTreeMap::new())
}

fn build_versions(
    inst: &Installation,
    api: CronJobApi,
    existing: Option<&Secret>,
    secret_versions: &BTreeMap<String, String>,
) -> Children {
    let settings = settings();
    build(&BuildInput {
        installation: inst,
        secret_versions,
        settings: &settings,
        existing_webhook_auth: existing,
        cron_job_api: api,
        now: summer(),
    })
    .expect("builds")
}

fn children() -> Children {
    build_with(&installation(), CronJobApi::BatchV1, None)
}

fn pod_spec(d: &Deployment) -> &PodSpec {
    d.spec
        .as_ref()
        .and_then(|s| s.template.spec.as_ref())
        .expect("pod spec")
}

fn only_container(p: &PodSpec) -> &Container {
    assert_eq!(p.containers.len(), 1);
    &p.containers[0]
}

fn replicas(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).expect("replicas")
}

fn config_hash(d: &Deployment) -> String {
    d.spec
        .as_ref()
        .and_then(|s| s.template.metadata.as_ref())
        .and_then(|m| m.annotations.as_ref())
        .and_then(|a| a.get(CONFIG_HASH_ANNOTATION))
        .cloned()
        .expect("hash annotation")
}

fn env_names(c: &Container) -> Vec<String> {
    c.env.iter().flatten().map(|e| e.name.clone()).collect()
}

fn all_json(c: &Children) -> Vec<Value> {
    c.to_json().expect("serialises")
}

#[test]
fn every_child_is_owned_by_the_installation_and_labelled() {
    let c = children();
    let objects = all_json(&c);
    let kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "ServiceAccount/acme-config-reader",
            "Role/acme-config-reader",
            "RoleBinding/acme-config-reader",
            "Secret/acme-webhook-auth",
            "Deployment/acme-worker",
            "Deployment/acme-webhooks",
            "Service/acme-webhooks",
            "CronJob/acme-identifiers",
            "CronJob/acme-postal-services",
        ]
    );
    for o in &objects {
        let meta = &o["metadata"];
        assert_eq!(meta["namespace"], NAMESPACE, "{o}");
        let owners = meta["ownerReferences"]
            .as_array()
            .expect("owner references");
        assert_eq!(owners.len(), 1);
        let owner = &owners[0];
        assert_eq!(owner["apiVersion"], "linnstream.io/v1alpha1");
        assert_eq!(owner["kind"], "Installation");
        assert_eq!(owner["name"], "acme");
        assert_eq!(owner["uid"], UID);
        assert_eq!(owner["controller"], true);
        assert_eq!(owner["blockOwnerDeletion"], true);
        let labels = &meta["labels"];
        assert_eq!(labels["app.kubernetes.io/name"], "linnstream");
        assert_eq!(labels["app.kubernetes.io/instance"], "acme");
        assert_eq!(
            labels["app.kubernetes.io/managed-by"],
            "linnstream-operator"
        );
    }
    let component =
        |i: usize| objects[i]["metadata"]["labels"]["app.kubernetes.io/component"].clone();
    assert_eq!(component(0), "config-reader");
    assert_eq!(component(4), "worker");
    assert_eq!(component(5), "webhooks");
    assert_eq!(component(6), "webhooks");
    assert_eq!(component(7), "master-data");
    assert_eq!(component(8), "master-data");
}

#[test]
fn selectors_match_their_pods_and_the_service_selects_the_receiver() {
    let c = children();
    let w = c.webhooks.as_ref().expect("webhooks on");
    for d in [&c.worker, &w.deployment] {
        let spec = d.spec.as_ref().unwrap();
        let selector = spec.selector.match_labels.as_ref().unwrap();
        let pod_labels = spec
            .template
            .metadata
            .as_ref()
            .unwrap()
            .labels
            .as_ref()
            .unwrap();
        for (k, v) in selector {
            assert_eq!(pod_labels.get(k), Some(v), "{k}");
        }
    }
    let svc_selector = w.service.spec.as_ref().unwrap().selector.as_ref().unwrap();
    assert_eq!(
        svc_selector,
        w.deployment
            .spec
            .as_ref()
            .unwrap()
            .selector
            .match_labels
            .as_ref()
            .unwrap()
    );
    assert_ne!(
        svc_selector,
        c.worker
            .spec
            .as_ref()
            .unwrap()
            .selector
            .match_labels
            .as_ref()
            .unwrap(),
        "the Service must not send webhooks to the worker"
    );
}

#[test]
fn commands_name_the_installation() {
    let c = children();
    let worker = only_container(pod_spec(&c.worker));
    assert_eq!(
        worker.image.as_deref(),
        Some("registry.example/linnstream:1.2.3")
    );
    assert_eq!(
        worker.args.as_deref().unwrap(),
        [
            "worker",
            "--installation",
            "acme",
            "--namespace",
            NAMESPACE,
            "--health-listen",
            "0.0.0.0:8081",
            "--log-format=text",
        ]
    );
    let receiver = only_container(pod_spec(&c.webhooks.as_ref().unwrap().deployment));
    let args = receiver.args.as_deref().unwrap();
    assert_eq!(args[0], "webhooks");
    assert!(args.windows(2).any(|w| w == ["--listen", "0.0.0.0:8080"]));
    let jobs = all_json(&c);
    let job_args = |i: usize| {
        jobs[i]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        job_args(7),
        [
            "master-data",
            "identifiers",
            "--installation",
            "acme",
            "--namespace",
            NAMESPACE,
            "--log-format=text",
        ]
    );
    assert_eq!(job_args(8)[..2], ["master-data", "postal-services"]);
}

/// The children log as the operator does, and the ones serving `/metrics` carry the
/// label the chart's PodMonitor selects.
#[test]
fn children_log_in_the_operators_format_and_are_labelled_for_scraping() {
    let mut s = settings();
    s.log_format = crate::observe::logs::LogFormat::Json;
    let inst = installation();
    let c = build(&BuildInput {
        installation: &inst,
        secret_versions: &Default::default(),
        settings: &s,
        existing_webhook_auth: None,
        cron_job_api: CronJobApi::BatchV1,
        now: chrono::Utc::now(),
    })
    .unwrap();
    let mut containers = 0;
    for obj in c.to_json().unwrap() {
        let (pod, long_running) = match obj["kind"].as_str().unwrap() {
            "Deployment" => (&obj["spec"]["template"], true),
            "CronJob" => (&obj["spec"]["jobTemplate"]["spec"]["template"], false),
            _ => continue,
        };
        let args = &pod["spec"]["containers"][0]["args"];
        assert!(
            args.as_array()
                .unwrap()
                .iter()
                .any(|a| a == "--log-format=json"),
            "{args}"
        );
        let scraped = pod["metadata"]["labels"][crate::operator::build::SCRAPE_LABEL] == "true";
        assert_eq!(scraped, long_running, "{}", obj["metadata"]["name"]);
        if long_running {
            let ports = &pod["spec"]["containers"][0]["ports"];
            assert!(
                ports
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p["name"] == "health"),
                "{ports}"
            );
        }
        containers += 1;
    }
    assert_eq!(containers, 4);
}

#[test]
fn suspend_scales_the_worker_to_zero_and_suspends_both_cron_job_flavours() {
    let running = children();
    assert_eq!(replicas(&running.worker), 1);
    let mut inst = installation();
    inst.spec.suspend = true;
    for api in [CronJobApi::BatchV1, CronJobApi::BatchV1Beta1] {
        let c = build_with(&inst, api, None);
        assert_eq!(replicas(&c.worker), 0);
        // The receiver keeps storing Stream's events, to be processed on resume.
        assert_eq!(replicas(&c.webhooks.as_ref().unwrap().deployment), 1);
        for job in &c.cron_jobs {
            assert_eq!(job.data["spec"]["suspend"], true, "{api:?}");
        }
    }
    for job in &running.cron_jobs {
        assert_eq!(job.data["spec"]["suspend"], false);
    }
}

#[test]
fn webhooks_off_means_no_receiver_and_no_secret() {
    let mut inst = installation();
    inst.spec.webhooks.enabled = false;
    let c = build_with(&inst, CronJobApi::BatchV1, None);
    assert!(c.webhooks.is_none());
    let kinds: Vec<Value> = all_json(&c).iter().map(|o| o["kind"].clone()).collect();
    assert!(!kinds.contains(&"Service".into()) && !kinds.contains(&"Secret".into()));
    // The operator subscribes to Stream's webhooks, so no worker holds the token.
    let on = children();
    assert!(
        !env_names(only_container(pod_spec(&on.worker)))
            .contains(&env::WEBHOOK_AUTH_TOKEN.to_string())
    );
}

#[test]
fn credentials_reach_pods_only_as_secret_references() {
    let existing = webhooks::auth_secret(
        &Context::new(&installation(), &settings()).unwrap(),
        &WebhookToken::generate(),
    );
    let c = build_with(&installation(), CronJobApi::BatchV1, Some(&existing));
    let token = WebhookToken::from_secret(&existing).unwrap();
    let objects = all_json(&c);
    // The token is in its Secret and nowhere else.
    for o in &objects {
        let text = o.to_string();
        if o["kind"] == "Secret" {
            assert!(text.contains(&base64_of(token.expose())));
        } else {
            assert!(
                !text.contains(token.expose()),
                "token leaked into {}",
                o["metadata"]["name"]
            );
            assert!(!text.contains(&base64_of(token.expose())));
        }
    }
    // No value of the example Secrets appears anywhere.
    let secrets = include_str!("../../../examples/secrets.yaml");
    for secret in serde_saphyr::from_str_multiple::<Value, Vec<_>>(secrets).unwrap() {
        for value in secret["stringData"].as_object().unwrap().values() {
            let value = value.as_str().unwrap();
            for o in &objects {
                assert!(!o.to_string().contains(value), "{value} leaked");
            }
        }
    }
    // Every credential variable is a secretKeyRef to the Installation's own Secret and key.
    let spec = &installation().spec;
    let expected = [
        (env::DATABASE_URL, "linnstream-database", "url"),
        (env::STREAM_CLIENT_ID, "acme-stream", "client-id"),
        (env::STREAM_CLIENT_SECRET, "acme-stream", "client-secret"),
        (
            env::LINNWORKS_APPLICATION_ID,
            "acme-linnworks",
            "application-id",
        ),
        (
            env::LINNWORKS_APPLICATION_SECRET,
            "acme-linnworks",
            "application-secret",
        ),
        (
            env::LINNWORKS_INSTALLATION_TOKEN,
            "acme-linnworks",
            "installation-token",
        ),
        (env::WEBHOOK_AUTH_TOKEN, "acme-webhook-auth", "token"),
    ];
    assert_eq!(spec.stream.client_id.secret_key_ref.name, "acme-stream");
    let mut containers: Vec<Value> = Vec::new();
    for o in &objects {
        let pod = if o["kind"] == "CronJob" {
            &o["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        } else {
            &o["spec"]["template"]["spec"]
        };
        containers.extend(pod["containers"].as_array().into_iter().flatten().cloned());
    }
    assert_eq!(containers.len(), 4);
    for c in &containers {
        for var in c["env"].as_array().unwrap() {
            let name = var["name"].as_str().unwrap();
            if let Some((_, secret, key)) = expected.iter().find(|(n, _, _)| *n == name) {
                assert!(var.get("value").is_none(), "{name} has a literal value");
                assert_eq!(var["valueFrom"]["secretKeyRef"]["name"], *secret, "{name}");
                assert_eq!(var["valueFrom"]["secretKeyRef"]["key"], *key, "{name}");
            }
        }
    }
    // Each process gets only what it uses: the receiver cannot call Stream or Linnworks.
    let receiver = env_names(only_container(pod_spec(
        &c.webhooks.as_ref().unwrap().deployment,
    )));
    assert!(receiver.contains(&env::WEBHOOK_AUTH_TOKEN.to_string()));
    assert!(!receiver.contains(&env::STREAM_CLIENT_SECRET.to_string()));
    assert!(!receiver.contains(&env::LINNWORKS_INSTALLATION_TOKEN.to_string()));
    let worker = env_names(only_container(pod_spec(&c.worker)));
    for (name, _, _) in &expected[..6] {
        assert!(worker.contains(&name.to_string()), "worker lacks {name}");
    }
    assert!(worker.contains(&"LINNSTREAM_MAX_BATCH_SIZE_PER_INSTALLATION".to_string()));
}

fn base64_of(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn the_webhook_token_is_generated_once_and_then_kept() {
    let a = children();
    let b = children();
    let token_of = |c: &Children| {
        WebhookToken::from_secret(&c.webhooks.as_ref().unwrap().auth_secret).expect("usable token")
    };
    let (ta, tb) = (token_of(&a), token_of(&b));
    assert_ne!(ta, tb, "a fresh token each time there is none");
    assert!(ta.expose().len() >= 43);
    assert_eq!(format!("{ta:?}"), "WebhookToken(..)");
    let kept = build_with(
        &installation(),
        CronJobApi::BatchV1,
        Some(&a.webhooks.as_ref().unwrap().auth_secret),
    );
    assert_eq!(token_of(&kept), ta);
    // A token edited down to something weak is replaced.
    let mut weak = a.webhooks.as_ref().unwrap().auth_secret.clone();
    weak.data = Some(BTreeMap::from([(
        "token".to_string(),
        k8s_openapi::ByteString(b"short".to_vec()),
    )]));
    let replaced = build_with(&installation(), CronJobApi::BatchV1, Some(&weak));
    assert_ne!(token_of(&replaced).expose(), "short");
}

#[test]
fn secret_rotation_and_a_new_token_change_the_rollout_hash_but_spec_changes_do_not() {
    let existing = children().webhooks.unwrap().auth_secret;
    let versions = |v: &str| {
        BTreeMap::from([
            ("acme-stream".to_string(), v.to_string()),
            ("acme-linnworks".to_string(), "7".to_string()),
        ])
    };
    let hash = |inst: &Installation, versions: &BTreeMap<String, String>| {
        let c = build_versions(inst, CronJobApi::BatchV1, Some(&existing), versions);
        let (w, r) = (
            config_hash(&c.worker),
            config_hash(&c.webhooks.unwrap().deployment),
        );
        assert_eq!(w, r);
        w
    };
    let base = hash(&installation(), &versions("5"));
    assert_eq!(base, hash(&installation(), &versions("5")), "stable");
    // A rotated credential (its Secret's resourceVersion moved) restarts the pods.
    assert_ne!(base, hash(&installation(), &versions("6")));
    // Settings reach the pods live through the API: no restart for them.
    let mut changed = installation();
    changed.spec.sync.order_lookback_days = 14;
    changed.metadata.resource_version = Some("999".into());
    changed.status = Some(Default::default());
    assert_eq!(base, hash(&changed, &versions("5")));
    // A new token (its Secret was deleted) restarts the pods that read it.
    let fresh = build_versions(&installation(), CronJobApi::BatchV1, None, &versions("5"));
    assert_ne!(base, config_hash(&fresh.worker));
}

#[test]
fn children_may_read_their_installation_and_mappings_and_nothing_else() {
    let c = children();
    let role = serde_json::to_value(&c.role).unwrap();
    assert_eq!(
        role["rules"],
        serde_json::json!([{
            "apiGroups": ["linnstream.io"],
            "resources": ["installations", "postalservicemappings"],
            "verbs": ["get", "list", "watch"],
        }])
    );
    let binding = serde_json::to_value(&c.role_binding).unwrap();
    assert_eq!(
        binding["roleRef"],
        serde_json::json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "acme-config-reader"})
    );
    assert_eq!(
        binding["subjects"],
        serde_json::json!([{"kind": "ServiceAccount", "name": "acme-config-reader", "namespace": NAMESPACE}])
    );
    // Every pod runs as that ServiceAccount with its token mounted.
    let objects = all_json(&c);
    let mut pods = 0;
    for o in &objects {
        let pod = match o["kind"].as_str().unwrap() {
            "CronJob" => &o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            "Deployment" => &o["spec"]["template"]["spec"],
            _ => continue,
        };
        pods += 1;
        assert_eq!(pod["serviceAccountName"], "acme-config-reader");
        assert_eq!(pod["automountServiceAccountToken"], true);
    }
    assert_eq!(pods, 4);
    // The ServiceAccount itself mounts nothing into other pods of the namespace.
    assert_eq!(
        c.service_account.automount_service_account_token,
        Some(false)
    );
}

#[test]
fn pods_are_restricted_probed_and_sized() {
    let c = children();
    let objects = all_json(&c);
    let mut seen = 0;
    for o in &objects {
        let (pod, long_running) = match o["kind"].as_str().unwrap() {
            "CronJob" => (&o["spec"]["jobTemplate"]["spec"]["template"]["spec"], false),
            "Deployment" => (&o["spec"]["template"]["spec"], true),
            _ => continue,
        };
        seen += 1;
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
        assert_eq!(
            pod["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        let c = &pod["containers"][0];
        let sc = &c["securityContext"];
        assert_eq!(sc["runAsNonRoot"], true);
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["allowPrivilegeEscalation"], false);
        assert_eq!(sc["capabilities"]["drop"], serde_json::json!(["ALL"]));
        assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
        assert_eq!(c["resources"]["requests"]["memory"], "64Mi");
        assert_eq!(c["resources"]["limits"]["memory"], "256Mi");
        if long_running {
            assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
            assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
            assert_eq!(c["livenessProbe"]["httpGet"]["port"], "health");
            for port in c["ports"].as_array().unwrap() {
                assert_eq!(port["protocol"], "TCP", "{port}");
            }
        }
    }
    assert_eq!(seen, 4);
    let svc = &objects[6];
    assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
    assert_eq!(svc["spec"]["ports"][0]["targetPort"], "http");
}

#[test]
fn batch_v1_cron_jobs_carry_the_schedule_and_time_zone() {
    let c = children();
    assert_eq!(
        c.cron_jobs[0].types.as_ref().unwrap().api_version,
        "batch/v1"
    );
    let spec = &c.cron_jobs[0].data["spec"];
    assert_eq!(spec["schedule"], "0 3 * * *");
    assert_eq!(spec["timeZone"], "Europe/London");
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    assert_eq!(c.cron_jobs[1].data["spec"]["schedule"], "0 4 * * *");
    // The typed builder agrees with the JSON.
    let inst = installation();
    let settings = settings();
    let ctx = Context::new(&inst, &settings).unwrap();
    let typed = cronjobs::cron_job_v1(&ctx, cronjobs::MasterData::Identifiers);
    assert_eq!(
        typed.spec.unwrap().time_zone.as_deref(),
        Some("Europe/London")
    );
}

#[test]
fn batch_v1beta1_cron_jobs_fire_at_the_local_time_in_utc() {
    let settings = settings();
    let at = |now: DateTime<Utc>, inst: &Installation| {
        build(&BuildInput {
            installation: inst,
            secret_versions: &BTreeMap::new(),
            settings: &settings,
            existing_webhook_auth: None,
            cron_job_api: CronJobApi::BatchV1Beta1,
            now,
        })
    };
    let inst = installation();
    // London is UTC+1 in July and UTC+0 in January.
    let july = at(summer(), &inst).unwrap();
    let job = &july.cron_jobs[0];
    assert_eq!(job.types.as_ref().unwrap().api_version, "batch/v1beta1");
    assert_eq!(job.types.as_ref().unwrap().kind, "CronJob");
    assert_eq!(job.data["spec"]["schedule"], "0 2 * * *");
    assert!(job.data["spec"].get("timeZone").is_none());
    let notes = job.metadata.annotations.as_ref().unwrap();
    assert_eq!(notes[cronjobs::SCHEDULE_ANNOTATION], "0 3 * * *");
    assert_eq!(notes[cronjobs::TIME_ZONE_ANNOTATION], "Europe/London");
    assert_eq!(july.cron_jobs[1].data["spec"]["schedule"], "0 3 * * *");
    let january = at(Utc.with_ymd_and_hms(2025, 1, 10, 0, 0, 0).unwrap(), &inst).unwrap();
    assert_eq!(january.cron_jobs[0].data["spec"]["schedule"], "0 3 * * *");
    // The rest of the spec is the batch/v1 one.
    let v1 = children();
    let mut a = v1.cron_jobs[0].data["spec"].clone();
    let mut b = job.data["spec"].clone();
    for s in [&mut a, &mut b] {
        let map = s.as_object_mut().unwrap();
        map.remove("schedule");
        map.remove("timeZone");
    }
    assert_eq!(a, b);

    // A schedule that cannot be said in UTC is refused, naming the field.
    let mut odd = installation();
    odd.spec.schedule.time_zone = "Asia/Kolkata".into();
    odd.spec.schedule.postal_services_schedule = "0 1 1 * *".into();
    let err = at(summer(), &odd).unwrap_err();
    assert!(
        matches!(&err, BuildError::InvalidSpec { path, .. } if path == "spec.schedule.postalServicesSchedule"),
        "{err}"
    );
    let mut bad_zone = installation();
    bad_zone.spec.schedule.time_zone = "Mars/Olympus".into();
    let err = at(summer(), &bad_zone).unwrap_err();
    assert!(
        err.to_string().starts_with("spec.schedule.timeZone:"),
        "{err}"
    );
}

#[test]
fn an_installation_not_read_from_a_cluster_is_refused() {
    let mut inst = installation();
    inst.metadata.uid = None;
    let settings = settings();
    let err = build(&BuildInput {
        installation: &inst,
        secret_versions: &BTreeMap::new(),
        settings: &settings,
        existing_webhook_auth: None,
        cron_job_api: CronJobApi::BatchV1,
        now: summer(),
    })
    .unwrap_err();
    assert_eq!(err, BuildError::MissingMetadata("uid"));
}

/// Kubernetes kills a pod terminationGracePeriodSeconds after SIGTERM: every child must get
/// its shutdown grace (during which it hands its claims back) plus a margin.
#[test]
fn pods_outlive_the_shutdown_grace() {
    let mut settings = settings();
    settings.system.shutdown_grace_seconds = 45;
    let children = build(&BuildInput {
        installation: &installation(),
        secret_versions: &BTreeMap::new(),
        settings: &settings,
        existing_webhook_auth: None,
        cron_job_api: CronJobApi::BatchV1,
        now: summer(),
    })
    .expect("builds");
    let mut pods = 0;
    for obj in children.to_json().expect("json") {
        let pod = match obj["kind"].as_str() {
            Some("Deployment") => &obj["spec"]["template"]["spec"],
            Some("CronJob") => &obj["spec"]["jobTemplate"]["spec"]["template"]["spec"],
            _ => continue,
        };
        assert_eq!(pod["terminationGracePeriodSeconds"], 55, "{obj}");
        pods += 1;
    }
    assert!(pods >= 3, "worker, receiver and CronJobs: {pods}");
}
